"""JSON API for selling online, mounted at /api/v1/shop/.

Public reads (no sign-in, ``Cache-Control: public, max-age=60``): markets, open storefronts with
their rating, one storefront with its products and pickup times, product search that ignores
diacritics and case. The shopper's calls: a stateless checkout (honours Idempotency-Key), an order
by its token, a review. The merchant's calls (API key or session): the online-order queue, moving
an order on, and quick catalogue changes (stock, price) from the phone.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from ninja import Header, Query, Router, Status

from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.idempotency import idempotent_post
from core.schemas import (
    MAX_OFFSET,
    errors,
)
from merchants import services as merchant_services
from merchants.auth import merchant_auth, principal
from merchants.models import Membership, Merchant, Product
from merchants.selectors import Principal, merchant_for, role_in

from ..models import (
    Fulfilment,
    FulfilmentStatus,
    Market,
    Order,
    OrderEvent,
    Review,
    Stall,
    Storefront,
)
from ..sales import orders
from ..sales.api import payment_out
from . import storefront as shop
from .schemas import (
    AdvanceIn,
    CheckoutConflictOut,
    CheckoutIn,
    OnlineOrderPage,
    ProductPatchIn,
    ReviewIn,
    ReviewOut,
    ShopMarketPage,
    ShopMerchantDetailOut,
    ShopMerchantPage,
    ShopOrderOut,
    ShopProductOut,
    ShopProductPage,
)
from .search import PER_PAGE, merchant_ratings, open_merchants, product_search

router = Router(tags=["shop"])

FS = FulfilmentStatus
PUBLIC_CACHE = "public, max-age=60"
MAX_PAGE = 1000

EVENT_LABELS: dict[str, Any] = {
    "placed": _("Đã đặt hàng, chờ thanh toán"),
    "paid": _("Đã thanh toán"),
    **dict(FS.choices),
}


def _public(response: HttpResponse) -> None:
    """Anyone may cache a public read for a minute (a CDN, the shopper's browser)."""
    response["Cache-Control"] = PUBLIC_CACHE


def _page(rows: QuerySet[Any], page: int, per_page: int = PER_PAGE) -> tuple[dict[str, int], list]:
    paginator = Paginator(rows, per_page)
    current = paginator.get_page(page)
    meta = {"count": paginator.count, "page": current.number, "pages": paginator.num_pages}
    return meta, list(current.object_list)


# --- public reads -------------------------------------------------------------------------------


@router.get("/markets", response=ShopMarketPage, auth=None, summary="Markets with online stalls")
def list_markets(request: HttpRequest, response: HttpResponse, page: int = Query(1, ge=1)):
    rows = (
        Market.objects.filter(is_active=True)
        .annotate(
            open_merchants=Count(
                "stalls__merchant",
                filter=Q(stalls__merchant__storefront__is_open=True),
                distinct=True,
            )
        )
        .order_by("name")
    )
    meta, items = _page(rows, min(page, MAX_PAGE))
    _public(response)
    return {**meta, "items": items}


def _storefront(merchant: Merchant) -> Storefront:
    try:
        return merchant.storefront
    except Storefront.DoesNotExist:
        return shop.storefront_of(merchant)


def _merchant_cards(merchants: list[Merchant]) -> list[dict[str, Any]]:
    ratings = merchant_ratings([m.pk for m in merchants])
    stalls: dict[int, Stall] = {}
    for found in Stall.objects.filter(merchant__in=merchants).select_related("market"):
        stalls.setdefault(found.merchant_id or 0, found)
    out = []
    for m in merchants:
        front = _storefront(m)
        stall = stalls.get(m.pk)
        rating, count = ratings.get(m.pk, (None, 0))
        out.append(
            {
                "id": m.pk,
                "slug": m.slug,
                "name": m.display_name,
                "tagline": front.tagline,
                "photo_url": front.photo.url if front.photo else None,
                "market": stall.market.slug if stall else None,
                "market_name": stall.market.name if stall else None,
                "stall": stall.code if stall else None,
                "opens_at": front.opens_at,
                "closes_at": front.closes_at,
                "delivers": front.delivers,
                "delivery_fee": front.delivery_fee,
                "delivery_area": front.delivery_area,
                "rating": rating,
                "review_count": count,
            }
        )
    return out


@router.get(
    "/merchants", response=ShopMerchantPage, auth=None, summary="Open storefronts, with rating"
)
def list_merchants(
    request: HttpRequest, response: HttpResponse, market: str = "", page: int = Query(1, ge=1)
):
    rows = open_merchants(market=market[:80]).select_related("storefront")
    meta, items = _page(rows, min(page, MAX_PAGE))
    _public(response)
    return {**meta, "items": _merchant_cards(items)}


def _product_out(p: Product) -> dict[str, Any]:
    return {
        "id": p.pk,
        "merchant_id": p.merchant_id,
        "merchant_slug": p.merchant.slug,
        "merchant_name": p.merchant.display_name,
        "name": p.name,
        "unit": p.unit,
        "price": p.price,
        "sold_by_weight": p.sold_by_weight,
        "in_stock": p.in_stock,
        "description": p.description,
        "photo_url": p.photo.url if p.photo else None,
    }


@router.get(
    "/merchants/{slug}",
    response={200: ShopMerchantDetailOut, **errors(404)},
    auth=None,
    summary="One storefront: terms, the next pickup times, products",
)
def get_merchant(request: HttpRequest, response: HttpResponse, slug: str):
    merchant = open_merchants().filter(slug=slug).first()
    if merchant is None:
        raise NotFound(_("Không tìm thấy cửa hàng."))
    front = _storefront(merchant)
    products = merchant.products.filter(is_active=True).select_related("merchant").order_by("name")
    _public(response)
    return {
        **_merchant_cards([merchant])[0],
        "address": merchant.address,
        "phone": merchant.phone,
        "pickup_slots": shop.pickup_slots(front)[:48],
        "products": [_product_out(p) for p in products[:300]],
    }


@router.get(
    "/products",
    response=ShopProductPage,
    auth=None,
    summary="Search products of open storefronts; ignores diacritics and case (NFC or NFD)",
)
def search_products(
    request: HttpRequest,
    response: HttpResponse,
    q: str = Query("", max_length=200),
    market: str = Query("", max_length=80),
    category: str = Query("", max_length=16),
    page: int = Query(1, ge=1),
):
    result = product_search(q, market=market, category=category, page=min(page, MAX_PAGE))
    _public(response)
    return {
        "count": result.page.paginator.count,
        "page": result.page.number,
        "pages": result.page.paginator.num_pages,
        "query": result.key,
        "fuzzy": result.fuzzy,
        "more": result.more,
        "items": [_product_out(p) for p in result.page.object_list],
    }


# --- the shopper: checkout, order by token, review ----------------------------------------------


def _order_out(order: Order) -> dict[str, Any]:
    intent = order.intent
    return {
        "id": order.pk,
        "number": order.number,
        "merchant_id": order.merchant_id,
        "merchant_name": order.merchant.display_name,
        "channel": order.channel,
        "status": order.status,
        "payment_method": order.payment_method,
        "fulfilment": order.fulfilment,
        "fulfilment_status": order.fulfilment_status,
        "pickup_at": order.pickup_at,
        "delivery_address": order.delivery_address,
        "shopper_note": order.shopper_note,
        "buyer_name": order.buyer_name,
        "buyer_phone": order.buyer_phone,
        "total": order.total,
        "amount_refunded": order.amount_refunded,
        "receipt_token": order.receipt_token,
        "lines": list(order.lines.all()),
        "payment": payment_out(intent),
        "timeline": [
            {
                "kind": e.kind,
                "label": str(EVENT_LABELS.get(e.kind, e.kind)),
                "note": e.note,
                "at": e.created_at,
            }
            for e in OrderEvent.objects.filter(order=order).order_by("created_at", "id")
        ],
        "created_at": order.created_at,
        "paid_at": order.paid_at,
    }


def _fresh(order_id: int) -> dict[str, Any]:
    order = Order.objects.select_related("merchant", "intent").get(pk=order_id)
    return ShopOrderOut.model_validate(_order_out(order)).model_dump(mode="json")


class PriceChanged(Conflict):
    """409 ``price_changed``, with the new total for the shopper to confirm."""

    def __init__(self, message: Any, *, total: int) -> None:
        super().__init__(message, code="price_changed")
        self.total = total

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        body["error"]["total"] = self.total
        return body


def _checkout_lines(merchant: Merchant, payload: CheckoutIn) -> list[tuple[int, Decimal]]:
    products = merchant.products.in_bulk([line.product_id for line in payload.lines])
    lines: list[tuple[int, Decimal]] = []
    for line in payload.lines:
        product = products.get(line.product_id)
        if product is None:
            raise ValidationFailed(
                fields={"lines": [_("Có món không còn bán, vui lòng xem lại giỏ hàng.")]}
            )
        quantity = orders.parse_quantity(line.quantity)
        if not product.sold_by_weight and quantity != quantity.to_integral_value():
            raise ValidationFailed(
                fields={
                    "lines": [
                        _("“%(name)s” bán theo %(unit)s, số lượng là số nguyên.")
                        % {"name": product.name, "unit": product.unit}
                    ]
                }
            )
        lines.append((product.pk, quantity))
    return lines


def _total_now(merchant: Merchant, lines: list[tuple[int, Decimal]], fulfilment: str) -> int:
    prices = dict(
        merchant.products.filter(pk__in=[p for p, _q in lines]).values_list("pk", "price")
    )
    total = sum(orders.line_amount(prices[p], q) for p, q in lines)
    if fulfilment == Fulfilment.DELIVERY:
        total += shop.storefront_of(merchant).delivery_fee
    return total


@router.post(
    "/checkout",
    response={201: ShopOrderOut, 200: ShopOrderOut, 409: CheckoutConflictOut, **errors(404, 503)},
    auth=None,
    summary="Place an order with one storefront and get its payment QR; honours Idempotency-Key",
    description=(
        "Stateless: the lines are in the body. Pickup needs `pickup_at`, one of the storefront's "
        "`pickup_slots`; delivery needs `address`. If `expected_total` differs from today's "
        "prices, nothing is placed: 409 `price_changed` with `error.total`. The order reaches "
        "the merchant once the payment settles; follow it with `GET /orders/{receipt_token}`."
    ),
)
def checkout(
    request: HttpRequest,
    payload: CheckoutIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key"),
):
    merchant = Merchant.objects.filter(pk=payload.merchant_id).first()
    if merchant is None:
        raise NotFound(_("Không tìm thấy cửa hàng."))
    pickup_at = payload.pickup_at
    if pickup_at is not None and timezone.is_naive(pickup_at):
        pickup_at = timezone.make_aware(pickup_at)

    def handler() -> tuple[int, Any]:
        lines = _checkout_lines(merchant, payload)
        data = shop.CheckoutInput(
            name=payload.name,
            phone=payload.phone,
            fulfilment=payload.fulfilment,
            payment_method=payload.payment_method,
            pickup_at=pickup_at,
            address=payload.address,
            note=payload.note,
            tax_code=payload.tax_code,
            email=payload.email,
            expected_total=payload.expected_total,
        )
        try:
            order = shop.checkout(merchant=merchant, lines=lines, data=data, source=payload.source)
        except Conflict as exc:
            if exc.code != "price_changed":
                raise
            raise PriceChanged(
                exc.message, total=_total_now(merchant, lines, payload.fulfilment)
            ) from None
        return 201, _fresh(order.pk)

    return idempotent_post(
        request,
        scope=f"shop:checkout:{merchant.pk}",
        key=idempotency_key,
        payload=payload.dict(),
        handler=handler,
    )


def _order_by_token(token: str) -> Order:
    order = (
        Order.objects.filter(receipt_token=token[:64]).exclude(channel=Order.Channel.POS).first()
    )
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    return order


@router.get(
    "/orders/{token}",
    response={200: ShopOrderOut, **errors(404)},
    auth=None,
    summary="An online order by its link: status, progress timeline, lines, total",
)
def get_order(request: HttpRequest, response: HttpResponse, token: str):
    order = _order_by_token(token)
    response["Cache-Control"] = "no-store"
    return _fresh(order.pk)


@router.post(
    "/orders/{token}/reviews",
    response={201: ReviewOut, **errors(404, 409)},
    auth=None,
    summary="Review a completed, bank- or wallet-confirmed order (one per product of the order)",
)
def create_review(request: HttpRequest, token: str, payload: ReviewIn):
    order = _order_by_token(token)
    review = shop.review_create(
        token=order.receipt_token,
        product_id=payload.product_id,
        rating=payload.rating,
        text=payload.text,
    )
    return Status(201, Review.objects.get(pk=review.pk))


# --- the merchant: online orders and quick catalogue changes -----------------------------------


ORDER_FILTERS: dict[str, list[str]] = {
    "open": [FS.NEW, FS.ACCEPTED, FS.READY, FS.OUT_FOR_DELIVERY],
    **{value: [value] for value in FS.values},
}


@router.get(
    "/merchant/{merchant_id}/online-orders",
    response={200: OnlineOrderPage, **errors(404)},
    auth=merchant_auth,
    summary="Paid online orders; status: new, accepted, ready, out_for_delivery, completed, "
    "canceled, or open (not yet finished)",
)
def list_online_orders(
    request: HttpRequest,
    merchant_id: int,
    status: str = "",
    limit: int = Query(50, ge=1, le=100),
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
):
    merchant = merchant_for(principal=principal(request), merchant_id=merchant_id)
    if status and status not in ORDER_FILTERS:
        raise ValidationFailed(
            fields={
                "status": [_("Trạng thái không hợp lệ: %(s)s.") % {"s": ", ".join(ORDER_FILTERS)}]
            }
        )
    rows = (
        merchant.orders.exclude(fulfilment_status="")
        .exclude(channel=Order.Channel.POS)
        .select_related("merchant", "intent")
        .prefetch_related("lines")
        .order_by("-paid_at", "-id")
    )
    if status:
        rows = rows.filter(fulfilment_status__in=ORDER_FILTERS[status])
    return {
        "count": rows.count(),
        "items": [_order_out(o) for o in rows[offset : offset + limit]],
    }


def _online_order_of(who: Principal, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).only("pk", "merchant_id").first()
    if order is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    try:
        merchant_for(principal=who, merchant_id=order.merchant_id)
    except NotFound:
        raise NotFound(_("Không tìm thấy đơn hàng.")) from None
    return order


@router.post(
    "/merchant/online-orders/{order_id}/advance",
    response={200: ShopOrderOut, **errors(403, 404, 409, 503)},
    auth=merchant_auth,
    summary="Accept, mark ready / out for delivery, complete (any member), or cancel (refunds a "
    "paid order: an owner or the merchant's API key; 403 for a cashier)",
)
def advance_order(request: HttpRequest, order_id: int, payload: AdvanceIn):
    who = principal(request)
    order = _online_order_of(who, order_id)
    shop.order_advance(
        order_id=order.pk,
        to=payload.to,
        actor=who.user,
        reason=payload.reason,
        actor_label=who.label,
    )
    return _fresh(order.pk)


@router.patch(
    "/merchant/products/{product_id}",
    response={200: ShopProductOut, **errors(403, 404)},
    auth=merchant_auth,
    summary="Mark a product sold out or back in stock (any member), or change its price, name, "
    "description, on sale (owner)",
)
def patch_product(request: HttpRequest, product_id: int, payload: ProductPatchIn):
    who = principal(request)
    product = Product.objects.select_related("merchant").filter(pk=product_id).first()
    if product is None:
        raise NotFound(_("Không tìm thấy sản phẩm."))
    changes = payload.dict(exclude_unset=True)
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        merchant_for(principal=who, merchant_id=product.merchant_id)
    except NotFound:
        raise NotFound(_("Không tìm thấy sản phẩm.")) from None
    # Prices and names are the owner's; a cashier may only mark stock.
    if (
        set(changes) - {"in_stock"}
        and who.user is not None
        and role_in(user=who.user, merchant=product.merchant) != Membership.Role.OWNER
    ):
        raise PermissionDenied(_("Chỉ chủ cửa hàng mới được sửa giá, tên, mô tả."))
    if changes:
        product = merchant_services.product_update(
            actor=who.user, product=product, actor_label=who.label, **changes
        )
    return _product_out(product)
