from __future__ import annotations

from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Query, Router, Status
from ninja.pagination import paginate

from core.errors import PermissionDenied, ValidationFailed
from core.schemas import errors

from . import selectors, services
from .auth import merchant_auth, principal, session_auth
from .banks import BANKS
from .schemas import (
    ApiKeyCreatedOut,
    ApiKeyIn,
    ApiKeyOut,
    BankAccountIn,
    BankAccountOut,
    BankOut,
    MerchantIn,
    MerchantOut,
    ProductIn,
    ProductOut,
    ProductPatch,
)

router = Router(tags=["merchants"])


@router.get("/banks", response=list[BankOut], auth=None, summary="NAPAS banks (by BIN)")
def list_banks(request: HttpRequest):
    return list(BANKS)


@router.get("/", response=list[MerchantOut], auth=merchant_auth)
def list_merchants(request: HttpRequest):
    who = principal(request)
    if who.api_key is not None:
        return [who.api_key.merchant]
    return list(selectors.merchants_for_user(user=who.user))  # type: ignore[arg-type]


@router.post("/", response={201: MerchantOut, **errors(403)}, auth=session_auth)
def create_merchant(request: HttpRequest, payload: MerchantIn):
    merchant = services.merchant_create(user=request.user, **payload.dict())  # type: ignore[arg-type]
    return Status(201, merchant)


@router.get("/{merchant_id}", response={200: MerchantOut, **errors(404)}, auth=merchant_auth)
def get_merchant(request: HttpRequest, merchant_id: int):
    return selectors.merchant_for(principal=principal(request), merchant_id=merchant_id)


@router.get(
    "/{merchant_id}/bank-accounts",
    response={200: list[BankAccountOut], **errors(404)},
    auth=merchant_auth,
)
def list_bank_accounts(request: HttpRequest, merchant_id: int):
    merchant = selectors.merchant_for(principal=principal(request), merchant_id=merchant_id)
    return list(selectors.bank_accounts_of(merchant=merchant))


@router.post(
    "/{merchant_id}/bank-accounts",
    response={201: BankAccountOut, **errors(403, 404)},
    auth=session_auth,
)
def add_bank_account(request: HttpRequest, merchant_id: int, payload: BankAccountIn):
    # Bank accounts decide where money goes: only an owner, signed in, may change them.
    merchant = selectors.merchant_for(
        principal=principal(request), merchant_id=merchant_id, owner=True
    )
    account = services.bank_account_add(
        actor=request.user,  # type: ignore[arg-type]
        merchant=merchant,
        bank_bin=payload.bank_bin,
        account_number=payload.account_number,
        holder_name=payload.holder_name,
        make_default=payload.is_default,
    )
    return Status(201, account)


@router.delete(
    "/{merchant_id}/bank-accounts/{account_id}",
    response={204: None, **errors(403, 404)},
    auth=session_auth,
)
def remove_bank_account(request: HttpRequest, merchant_id: int, account_id: int):
    merchant = selectors.merchant_for(
        principal=principal(request), merchant_id=merchant_id, owner=True
    )
    account = selectors.bank_account_of(merchant=merchant, account_id=account_id)
    services.bank_account_remove(actor=request.user, account=account)  # type: ignore[arg-type]
    return Status(204, None)


@router.get(
    "/{merchant_id}/products", response={200: list[ProductOut], **errors(404)}, auth=merchant_auth
)
@paginate
def list_products(request: HttpRequest, merchant_id: int, q: Query[str] = "", active: bool = False):
    merchant = selectors.merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.products_of(merchant=merchant, query=q, active_only=active)


@router.post(
    "/{merchant_id}/products", response={201: ProductOut, **errors(403, 404)}, auth=merchant_auth
)
def create_product(request: HttpRequest, merchant_id: int, payload: ProductIn):
    who = principal(request)
    merchant = selectors.merchant_for(principal=who, merchant_id=merchant_id, owner=True)
    product = services.product_create(
        actor=who.user, actor_label=who.label, merchant=merchant, **payload.dict()
    )
    return Status(201, product)


@router.get(
    "/{merchant_id}/products/{product_id}",
    response={200: ProductOut, **errors(404)},
    auth=merchant_auth,
)
def get_product(request: HttpRequest, merchant_id: int, product_id: int):
    merchant = selectors.merchant_for(principal=principal(request), merchant_id=merchant_id)
    return selectors.product_of(merchant=merchant, product_id=product_id)


@router.patch(
    "/{merchant_id}/products/{product_id}",
    response={200: ProductOut, **errors(403, 404)},
    auth=merchant_auth,
)
def update_product(request: HttpRequest, merchant_id: int, product_id: int, payload: ProductPatch):
    who = principal(request)
    merchant = selectors.merchant_for(principal=who, merchant_id=merchant_id, owner=True)
    product = selectors.product_of(merchant=merchant, product_id=product_id)
    changes = payload.dict(exclude_unset=True)
    nulls = [name for name, value in changes.items() if value is None]
    if nulls:
        raise ValidationFailed(fields={name: [_("Không được để trống.")] for name in nulls})
    return services.product_update(
        actor=who.user, actor_label=who.label, product=product, **changes
    )


@router.get(
    "/{merchant_id}/api-keys",
    response={200: list[ApiKeyOut], **errors(403, 404)},
    auth=session_auth,
)
def list_api_keys(request: HttpRequest, merchant_id: int):
    merchant = selectors.merchant_for(
        principal=principal(request), merchant_id=merchant_id, owner=True
    )
    return list(selectors.api_keys_of(merchant=merchant))


@router.post(
    "/{merchant_id}/api-keys",
    response={201: ApiKeyCreatedOut, **errors(403, 404)},
    auth=session_auth,
)
def create_api_key(request: HttpRequest, merchant_id: int, payload: ApiKeyIn):
    who = principal(request)
    if who.user is None:  # pragma: no cover - session_auth guarantees a user
        raise PermissionDenied()
    merchant = selectors.merchant_for(principal=who, merchant_id=merchant_id, owner=True)
    key, raw = services.api_key_create(actor=who.user, merchant=merchant, name=payload.name)
    return Status(201, {**ApiKeyOut.from_orm(key).dict(), "key": raw})


@router.post(
    "/{merchant_id}/api-keys/{key_id}/revoke",
    response={200: ApiKeyOut, **errors(403, 404)},
    auth=session_auth,
)
def revoke_api_key(request: HttpRequest, merchant_id: int, key_id: int):
    merchant = selectors.merchant_for(
        principal=principal(request), merchant_id=merchant_id, owner=True
    )
    key = selectors.api_key_of(merchant=merchant, key_id=key_id)
    return services.api_key_revoke(actor=request.user, key=key)  # type: ignore[arg-type]
