"""Writes for merchants: one function per use case (see STYLE.md rule 1)."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from core import thumbs, uploads
from core.audit import audit_record
from core.db import select_rows, table
from core.errors import Conflict, ValidationFailed
from core.images import validated_photo
from core.locking import lock_row
from core.phone import normalize_vn_mobile
from core.taxcode import normalize_tax_code
from core.text import ascii_upper, nfc, search_key

from .banks import bank_by_bin
from .models import ApiKey, BankAccount, Membership, Merchant, Product, User

API_KEY_PREFIX = "cs_live_"
MAX_PRICE_VND = 10_000_000_000  # ten billion đồng: far above anything sold at a stall


def _fail(field: str, message: Any) -> ValidationFailed:
    return ValidationFailed(fields={field: [message]})


# --- people -----------------------------------------------------------------------------------


def user_register(*, phone: str, full_name: str, password: str, email: str = "") -> User:
    try:
        normalized = normalize_vn_mobile(phone)
    except ValidationError as exc:
        raise _fail("phone", exc.messages[0]) from None
    full_name = nfc(full_name)
    if not full_name:
        raise _fail("full_name", _("Vui lòng nhập họ và tên."))
    candidate = User(phone=normalized, full_name=full_name, email=email.strip())
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationFailed(fields={"password": exc.messages}) from None
    if User.objects.filter(phone=normalized).exists():
        raise _fail("phone", _("Số điện thoại này đã có tài khoản. Vui lòng đăng nhập."))
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        raise _fail("phone", _("Số điện thoại này đã có tài khoản. Vui lòng đăng nhập.")) from None
    return candidate


# --- merchants --------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(search_key(name))[:80] or "cua-hang"
    slug, n = base, 2
    while Merchant.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def merchant_create(
    *,
    user: User,
    kind: str,
    legal_name: str,
    display_name: str,
    tax_code: str,
    address: str,
    sector: str,
    phone: str = "",
) -> Merchant:
    """Register a business; the user who registers it becomes its owner."""
    errors: dict[str, list[Any]] = {}
    if kind not in Merchant.Kind.values:
        errors["kind"] = [_("Chọn hộ kinh doanh hoặc doanh nghiệp.")]
    if sector not in Merchant.Sector.values:
        errors["sector"] = [_("Chọn ngành nghề kinh doanh.")]
    legal_name, display_name, address = nfc(legal_name), nfc(display_name), nfc(address)
    if not legal_name:
        errors["legal_name"] = [_("Vui lòng nhập tên đăng ký kinh doanh.")]
    elif len(legal_name) > 200:
        errors["legal_name"] = [_("Tên đăng ký tối đa 200 ký tự.")]
    if not display_name:
        display_name = legal_name[:80]
    if len(display_name) > 80:
        errors["display_name"] = [_("Tên hiển thị tối đa 80 ký tự.")]
    if not address:
        errors["address"] = [_("Vui lòng nhập địa chỉ.")]
    elif len(address) > 255:
        errors["address"] = [_("Địa chỉ tối đa 255 ký tự.")]
    try:
        tax_code = normalize_tax_code(tax_code)
    except ValidationError as exc:
        errors["tax_code"] = exc.messages
    if kind == Merchant.Kind.ENTERPRISE and "tax_code" not in errors and len(tax_code) == 12:
        errors["tax_code"] = [_("Doanh nghiệp dùng mã số thuế 10 số, không dùng số định danh.")]
    contact = ""
    if phone:
        try:
            contact = normalize_vn_mobile(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if errors:
        raise ValidationFailed(fields=errors)
    if Merchant.objects.filter(tax_code=tax_code).exists():
        raise _fail("tax_code", _("Mã số thuế này đã được đăng ký trên Chợ Số."))
    try:
        with transaction.atomic():
            merchant = Merchant.objects.create(
                kind=kind,
                legal_name=legal_name,
                display_name=display_name,
                slug=_unique_slug(display_name),
                tax_code=tax_code,
                address=address,
                sector=sector,
                phone=contact,
                created_by=user,
            )
            Membership.objects.create(user=user, merchant=merchant, role=Membership.Role.OWNER)
            audit_record(actor=user, action="merchant.create", target=merchant)
    except IntegrityError:
        raise _fail("tax_code", _("Mã số thuế này đã được đăng ký trên Chợ Số.")) from None
    return merchant


def membership_add(*, actor: User, merchant: Merchant, phone: str, role: str) -> Membership:
    """An owner adds a family member as cashier (or co-owner) by their registered phone."""
    if role not in Membership.Role.values:
        raise _fail("role", _("Vai trò không hợp lệ."))
    try:
        normalized = normalize_vn_mobile(phone)
    except ValidationError as exc:
        raise _fail("phone", exc.messages[0]) from None
    user = User.objects.filter(phone=normalized).first()
    if user is None:
        raise _fail(
            "phone", _("Chưa có tài khoản với số điện thoại này; người đó cần đăng ký trước.")
        )
    with transaction.atomic():
        membership, created = Membership.objects.get_or_create(
            user=user, merchant=merchant, defaults={"role": role}
        )
        if not created:
            raise Conflict(_("Người này đã là thành viên của cửa hàng."))
        audit_record(actor=actor, action="membership.add", target=membership, data={"role": role})
    return membership


# --- bank accounts ----------------------------------------------------------------------------


def bank_account_add(
    *,
    actor: User | None,
    merchant: Merchant,
    bank_bin: str,
    account_number: str,
    holder_name: str,
    make_default: bool = True,
) -> BankAccount:
    errors: dict[str, list[Any]] = {}
    if bank_by_bin(bank_bin) is None:
        errors["bank_bin"] = [_("Chọn ngân hàng trong danh sách NAPAS.")]
    account_number = "".join((account_number or "").split())
    if not (
        account_number.isascii() and account_number.isalnum() and 4 <= len(account_number) <= 19
    ):
        errors["account_number"] = [_("Số tài khoản gồm 4–19 chữ số hoặc chữ cái, không dấu.")]
    holder = ascii_upper(holder_name)
    if not holder:
        errors["holder_name"] = [_("Vui lòng nhập tên chủ tài khoản.")]
    elif len(holder) > 50:
        errors["holder_name"] = [_("Tên chủ tài khoản tối đa 50 ký tự.")]
    if errors:
        raise ValidationFailed(fields=errors)
    try:
        with transaction.atomic():
            return _bank_account_insert(
                actor=actor,
                merchant=merchant,
                bank_bin=bank_bin,
                account_number=account_number,
                holder=holder,
                make_default=make_default,
            )
    except IntegrityError:  # the same account added at the same moment elsewhere
        raise _fail("account_number", _("Tài khoản này đã được đăng ký trên Chợ Số.")) from None


def _bank_account_insert(
    *,
    actor: User | None,
    merchant: Merchant,
    bank_bin: str,
    account_number: str,
    holder: str,
    make_default: bool,
) -> BankAccount:
    # Where money lands: changes for one merchant happen one at a time (rule 3).
    lock_row(Merchant, merchant.pk)
    existing = BankAccount.objects.filter(bank_bin=bank_bin, account_number=account_number).first()
    if existing is not None:
        if existing.merchant_id == merchant.pk:
            raise _fail("account_number", _("Tài khoản này đã được thêm."))
        # A notification for this account must name exactly one receiving merchant.
        raise _fail(
            "account_number", _("Tài khoản này đã được đăng ký cho một cửa hàng khác trên Chợ Số.")
        )
    has_default = merchant.bank_accounts.filter(is_default=True).exists()
    if make_default and has_default:
        merchant.bank_accounts.filter(is_default=True).update(is_default=False)
    account = BankAccount.objects.create(
        merchant=merchant,
        bank_bin=bank_bin,
        account_number=account_number,
        holder_name=holder,
        is_default=make_default or not has_default,
    )
    audit_record(
        actor=actor,
        action="bank_account.add",
        target=account,
        data={"bank_bin": bank_bin, "account_number": account_number},
    )
    return account


def bank_account_remove(*, actor: User | None, account: BankAccount) -> None:
    with transaction.atomic():
        merchant = account.merchant
        was_default = account.is_default
        audit_record(
            actor=actor,
            action="bank_account.remove",
            target=account,
            data={"bank_bin": account.bank_bin, "account_number": account.account_number},
        )
        account.delete()
        if was_default:
            replacement = merchant.bank_accounts.order_by("id").first()
            if replacement:
                replacement.is_default = True
                replacement.save(update_fields=["is_default"])


# --- catalogue --------------------------------------------------------------------------------


PRODUCT_DESCRIPTION_MAX = 2000


def nfc_text(text: object) -> str:
    """A multi-line text (a description) in NFC: lines kept, each trimmed, no runs of blank
    lines."""
    lines = [nfc(line) for line in str(text or "").replace("\r\n", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _search_name(name: str) -> str:
    # Transliteration can lengthen a name ("鱼" -> "Yu"): cut the key to fit its column.
    return search_key(name)[: Product._meta.get_field("search_name").max_length]


def _product_fields(
    *, name: str, unit: str, price: int, tax_category: str
) -> tuple[str, dict[str, list[Any]]]:
    errors: dict[str, list[Any]] = {}
    name = nfc(name)
    if not name:
        errors["name"] = [_("Vui lòng nhập tên sản phẩm.")]
    elif len(name) > 120:
        errors["name"] = [_("Tên sản phẩm tối đa 120 ký tự.")]
    if unit not in Product.Unit.values:
        errors["unit"] = [_("Chọn đơn vị tính trong danh sách.")]
    if not isinstance(price, int) or isinstance(price, bool) or not 0 <= price <= MAX_PRICE_VND:
        errors["price"] = [_("Giá là số đồng nguyên, từ 0 đến 10 tỷ.")]
    if tax_category not in Product.TaxCategory.values:
        errors["tax_category"] = [_("Chọn loại thuế trong danh sách.")]
    return name, errors


def product_create(
    *,
    actor: User | None,
    merchant: Merchant,
    name: str,
    unit: str,
    price: int,
    sold_by_weight: bool = False,
    tax_category: str = Product.TaxCategory.NOT_SUBJECT,
    photo: UploadedFile | None = None,
    is_active: bool = True,
    actor_label: str = "",
    description: str = "",
    in_stock: bool = True,
    pos_favourite: bool = False,
) -> Product:
    name, errors = _product_fields(name=name, unit=unit, price=price, tax_category=tax_category)
    description = nfc_text(description)
    if len(description) > PRODUCT_DESCRIPTION_MAX:
        errors["description"] = [_("Mô tả tối đa 2.000 ký tự.")]
    if errors:
        raise ValidationFailed(fields=errors)
    stored_photo = validated_photo(photo)  # checked and re-encoded before anything is written
    if Product.objects.filter(merchant=merchant, name=name, unit=unit).exists():
        raise _fail("name", _("Sản phẩm cùng tên và đơn vị đã có trong danh mục."))
    with uploads.saving() as files, transaction.atomic():
        product = Product(
            merchant=merchant,
            name=name,
            search_name=_search_name(name),
            unit=unit,
            price=price,
            sold_by_weight=sold_by_weight,
            tax_category=tax_category,
            is_active=is_active,
            in_stock=in_stock,
            description=description,
            pos_favourite=pos_favourite,
        )
        if stored_photo is not None:
            files.save(product.photo, stored_photo)
            _save_thumbnail(files, product)
        product.save()
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="product.create",
            target=product,
            data={"price": price},
        )
    return product


def _save_thumbnail(files: uploads.FilesWritten, product: Product) -> None:
    """The POS's small square of the photo just saved, written in the same step."""
    photo = product.photo
    files.save_as(
        photo.storage,
        thumbs.thumb_name(photo.name or "", thumbs.POS_THUMB_SIDE),
        thumbs.thumbnail_content(photo),
    )


def product_update(
    *, actor: User | None, product: Product, actor_label: str = "", **changes: Any
) -> Product:
    allowed = {
        "name",
        "unit",
        "price",
        "sold_by_weight",
        "tax_category",
        "is_active",
        "photo",
        "in_stock",
        "description",
        "pos_favourite",
    }
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(fields={f: [_("Không sửa được trường này.")] for f in unknown})
    merged = {
        "name": changes.get("name", product.name),
        "unit": changes.get("unit", product.unit),
        "price": changes.get("price", product.price),
        "tax_category": changes.get("tax_category", product.tax_category),
    }
    name, errors = _product_fields(**merged)
    if errors:
        raise ValidationFailed(fields=errors)
    description = nfc_text(changes.get("description", product.description))
    if len(description) > PRODUCT_DESCRIPTION_MAX:
        raise _fail("description", _("Mô tả tối đa 2.000 ký tự."))
    photo = validated_photo(changes.get("photo"))
    clash = Product.objects.filter(
        merchant_id=product.merchant_id, name=name, unit=merged["unit"]
    ).exclude(pk=product.pk)
    if clash.exists():
        raise _fail("name", _("Sản phẩm cùng tên và đơn vị đã có trong danh mục."))
    with uploads.saving() as files, transaction.atomic():
        old_price = product.price
        product.name, product.search_name = name, _search_name(name)
        product.unit, product.price = merged["unit"], merged["price"]
        product.tax_category = merged["tax_category"]
        if "sold_by_weight" in changes:
            product.sold_by_weight = bool(changes["sold_by_weight"])
        if "is_active" in changes:
            product.is_active = bool(changes["is_active"])
        if "in_stock" in changes:
            product.in_stock = bool(changes["in_stock"])
        if "pos_favourite" in changes:
            product.pos_favourite = bool(changes["pos_favourite"])
        product.description = description
        if photo is not None:
            files.save(product.photo, photo)
            _save_thumbnail(files, product)
        product.save()
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="product.update",
            target=product,
            data={"fields": sorted(changes), "old_price": old_price, "price": product.price},
        )
    return product


# --- API keys ---------------------------------------------------------------------------------


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_key_create(*, actor: User, merchant: Merchant, name: str) -> tuple[ApiKey, str]:
    """Create a key; returns (record, the raw key). The raw key is never stored or shown again."""
    name = nfc(name) or "API"
    raw = API_KEY_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        key = ApiKey.objects.create(
            merchant=merchant,
            name=name[:80],
            prefix=raw[: len(API_KEY_PREFIX) + 6],
            key_hash=hash_api_key(raw),
            created_by=actor,
        )
        audit_record(actor=actor, action="api_key.create", target=key, data={"name": key.name})
    return key, raw


def api_key_revoke(*, actor: User, key: ApiKey) -> ApiKey:
    with transaction.atomic():
        if key.revoked_at is None:
            key.revoked_at = timezone.now()
            key.save(update_fields=["revoked_at"])
            audit_record(actor=actor, action="api_key.revoke", target=key)
    return key


def api_key_authenticate(raw: str) -> ApiKey | None:
    if not raw or not raw.startswith(API_KEY_PREFIX):
        return None
    # The key with its merchant (select_related), written once rather than compiled per request.
    merchants = table(Merchant)
    found = select_rows(
        ApiKey,
        f'INNER JOIN {merchants.name} ON {merchants.name}."id" = "merchants_apikey"."merchant_id" '
        'WHERE "merchants_apikey"."key_hash" = %s AND "merchants_apikey"."revoked_at" IS NULL '
        'ORDER BY "merchants_apikey"."id" LIMIT 1',
        [hash_api_key(raw)],
        extra=merchants.select_list,
    )
    key = found[0] if found else None
    if key is not None:
        key.merchant = merchants.instances([key._extra], connection)[0]  # type: ignore[attr-defined]
        now = timezone.now()
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key
