"""The shopper's side of the web shop: marketplace and search, storefronts, cart, checkout, and the
order page reached by its link (no account needed)."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core import qr, ratelimits
from core.errors import ApplicationError, NotFound
from core.templatetags.money import format_vnd
from core.text import parse_digits, search_key
from merchants.banks import bank_by_bin
from merchants.models import Merchant, Product
from payments.models import PaymentIntent
from payments.screens import sandbox_pay_link

from ..models import Fulfilment, GoodsCategory, Market, Order, Review
from . import bank_apps, search, storefront


def _message(exc: ApplicationError) -> str:
    return "; ".join(str(m) for msgs in exc.fields.values() for m in msgs) or str(exc.message)


# Stand-ins for what differs per shopper in a cached result fragment, filled in per request.
_CSRF_SLOT = "csrf0slot0c7e1"
_NEXT_SLOT = "next0slot0c7e1"
_PARAMS_SLOT = "params0slot0c7e1"


def _card_context(*, csrf_token: str, next_path: str) -> dict[str, Any]:
    """What every product card of a page shares, computed once per page, not once per card."""
    return {
        "csrf_token": csrf_token,
        "next_path": next_path,
        "cart_add_url": reverse("cart_add"),
        "qty_label": _("Số lượng"),
        "add_label": _("Thêm"),
        "out_label": _("Hết hàng"),
    }


def _prepare_cards(products: list[Any]) -> None:
    """Money formatted once per product in Python (not by a filter per render)."""
    for p in products:
        p.price_text = format_vnd(p.price)


def _search_results(*, query: str, market: str, category: str, page: str) -> dict[str, Any]:
    """The result list and pager of a search as HTML, with its count; cached for
    ``SHOP_RESULTS_CACHE_SECONDS`` per normalised query (``search_key``), market, kind of goods,
    page and language. A new product or price shows up within that time; the cart always
    re-reads the product and its price."""
    seconds = settings.SHOP_RESULTS_CACHE_SECONDS
    parts = [search_key(query)[: search.MAX_QUERY], market, category, page, get_language()]
    cache_key = "shop:results:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
    cached = cache.get(cache_key) if seconds > 0 else None
    if cached is not None:
        return cached
    result = search.product_search(query, market=market, category=category, page=page)
    products = list(result.page.object_list)
    ratings = search.merchant_ratings(sorted({p.merchant_id for p in products}))
    stalls = _stalls_of({p.merchant_id for p in products})
    _prepare_cards(products)
    for p in products:
        stall = stalls.get(p.merchant_id)
        rating = ratings.get(p.merchant_id)
        label = p.merchant.display_name
        if stall:
            p.shop_url = reverse("shop", args=[stall.market.slug, p.merchant.slug])
            label += f" · {stall.market.name}"
        if rating:
            label += f" · ★ {number_format(rating[0])}"
        p.merchant_label = label
    html = render_to_string(
        "market/shop/_results.html",
        {
            "products": products,
            "page": result.page,
            "params_html": _PARAMS_SLOT,
            **_card_context(csrf_token=_CSRF_SLOT, next_path=_NEXT_SLOT),
        },
    )
    found = {
        "html": html,
        "count": result.page.paginator.count,
        "more": result.more,
        "fuzzy": result.fuzzy,
    }
    if seconds > 0:
        cache.set(cache_key, found, seconds)
    return found


def marketplace(request: HttpRequest) -> HttpResponse:
    """ "Chợ Số trực tuyến": search every open stall's goods, by market and by kind of goods."""
    query = request.GET.get("q", "")
    market = request.GET.get("cho", "")
    category = request.GET.get("nganh", "")
    page = request.GET.get("trang", "1")[:8]
    found = _search_results(query=query, market=market, category=category, page=page)
    params = {k: v for k, v in (("q", query), ("cho", market), ("nganh", category)) if v}
    params_html = "".join(f"{escape(k)}={escape(quote(v))}&amp;" for k, v in params.items())
    html = (
        found["html"]
        .replace(_CSRF_SLOT, escape(get_token(request)))
        .replace(_NEXT_SLOT, escape(request.get_full_path()))
        .replace(_PARAMS_SLOT, params_html)
    )
    response = render(
        request,
        "market/shop/marketplace.html",
        {
            "results_html": mark_safe(html),  # noqa: S308 (rendered by our template, escaped)
            "count": found["count"],
            "more": found["more"],
            "fuzzy": found["fuzzy"],
            "markets": Market.objects.filter(is_active=True),
            "categories": _category_choices(),
            "market": market,
            "category": category,
            "query": query,
            "cart_count": storefront.cart_count(request.session),
        },
    )
    response["Cache-Control"] = "private, max-age=30"
    return response


def _category_choices() -> list[tuple[str, str]]:
    """The kinds of goods with their labels in the active language, built once per language."""
    language = get_language()
    if language not in _CATEGORY_LABELS:
        _CATEGORY_LABELS[language] = [(v, str(label)) for v, label in GoodsCategory.choices]
    return _CATEGORY_LABELS[language]


_CATEGORY_LABELS: dict[str | None, list[tuple[str, str]]] = {}


def _stalls_of(merchant_ids: set[int]) -> dict[int, Any]:
    from ..models import Stall

    found: dict[int, Any] = {}
    for stall in Stall.objects.filter(merchant_id__in=merchant_ids).select_related("market"):
        if stall.merchant_id is not None:
            found.setdefault(stall.merchant_id, stall)
    return found


def shop(request: HttpRequest, market_slug: str, merchant_slug: str) -> HttpResponse:
    """A merchant's storefront: who, where, when open, goods with price per unit, rating."""
    merchant = (
        Merchant.objects.filter(
            slug=merchant_slug, storefront__is_open=True, stalls__market__slug=market_slug
        )
        .select_related("storefront")
        .first()
    )
    if merchant is None:
        raise NotFound(_("Cửa hàng này chưa bán trực tuyến hoặc không ở chợ này."))
    stall = merchant.stalls.select_related("market").filter(market__slug=market_slug).first()
    goods = (
        _storefront_goods(merchant)
        .replace(_CSRF_SLOT, escape(get_token(request)))
        .replace(_NEXT_SLOT, escape(request.get_full_path()))
    )
    rating = search.merchant_ratings([merchant.pk]).get(merchant.pk)
    # A reported review stays up until staff hide it: a report alone must not silence a shopper.
    reviews = (
        Review.objects.filter(merchant=merchant)
        .exclude(status=Review.Status.HIDDEN)
        .select_related("product")[:20]
    )
    return render(
        request,
        "market/shop/storefront.html",
        {
            "merchant": merchant,
            "storefront": merchant.storefront,
            "stall": stall,
            "goods_html": mark_safe(goods),  # noqa: S308 (rendered by our template, escaped)
            "rating": rating,
            "reviews": reviews,
            "cart_count": storefront.cart_count(request.session),
        },
    )


def _storefront_goods(merchant: Merchant) -> str:
    """A storefront's goods as HTML (with the CSRF and path slots), cached per merchant and
    language under a version of its catalogue (how many products, the last change): a price or
    stock change shows at once. One small aggregate query instead of the products on a hit."""
    seconds = settings.SHOP_RESULTS_CACHE_SECONDS
    cache_key = ""
    if seconds > 0:
        version = Product.objects.filter(merchant=merchant).aggregate(
            n=Count("pk"), last=Max("updated_at")
        )
        last = version["last"].isoformat() if version["last"] else ""
        parts = [merchant.pk, version["n"], last, get_language()]
        cache_key = "shop:goods:" + hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]
        cached = cache.get(cache_key)
        if cached is not None:
            return str(cached)
    products = list(search.open_products().filter(merchant=merchant).order_by("-in_stock", "name"))
    _prepare_cards(products)
    html = render_to_string(
        "market/shop/_goods.html",
        {"products": products, **_card_context(csrf_token=_CSRF_SLOT, next_path=_NEXT_SLOT)},
    )
    if cache_key:
        cache.set(cache_key, html, seconds)
    return html


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return fallback


@require_POST
def cart_add(request: HttpRequest) -> HttpResponse:
    text = request.POST.get("product", "")
    try:
        product = storefront.cart_add(
            request.session,
            product_id=parse_digits(text, 0),
            quantity=request.POST.get("qty", "1") or "1",
            source=request.POST.get("source", ""),
        )
    except ApplicationError as exc:
        messages.error(request, _message(exc))
        return redirect(_safe_next(request, reverse("marketplace")))
    messages.success(request, _("Đã thêm “%(name)s” vào giỏ.") % {"name": product.name})
    return redirect(_safe_next(request, reverse("cart")))


def cart(request: HttpRequest) -> HttpResponse:
    status = 200
    if request.method == "POST":
        text = request.POST.get("product", "")
        try:
            storefront.cart_set(
                request.session,
                product_id=parse_digits(text, 0),
                quantity=request.POST.get("qty", "0"),
            )
        except ApplicationError as exc:
            messages.error(request, _message(exc))
            status = exc.status
        else:
            return redirect("cart")
    groups = []
    for merchant, lines in storefront.cart_lines(request.session).items():
        groups.append(
            {
                "merchant": merchant,
                "lines": lines,
                "total": sum(line.amount for line in lines if line.available),
                "changed": any(line.price_changed for line in lines),
                "unavailable": any(not line.available for line in lines),
            }
        )
    return render(request, "market/shop/cart.html", {"groups": groups}, status=status)


@ratelimits.limit_page(
    group="shop:checkout",
    rate="RATE_CHECKOUT",
    methods=["POST"],
    message=lambda: _("Bạn đặt hàng quá nhiều lần trong thời gian ngắn."),
)
def checkout(request: HttpRequest, merchant_id: int) -> HttpResponse:
    """Name, phone, pickup time or delivery address, optional e-invoice details, pay by QR."""
    merchant = (
        Merchant.objects.filter(pk=merchant_id, storefront__is_open=True)
        .select_related("storefront")
        .first()
    )
    if merchant is None:
        raise NotFound(_("Cửa hàng này chưa bán trực tuyến."))
    shop_settings = merchant.storefront
    lines = next(
        (ls for m, ls in storefront.cart_lines(request.session).items() if m.pk == merchant.pk), []
    )
    if not lines:
        return redirect("cart")
    fee = shop_settings.delivery_fee if shop_settings.delivers else 0
    goods_total = sum(line.amount for line in lines)
    slots = storefront.pickup_slots(shop_settings)
    values: dict[str, str] = {"fulfilment": Fulfilment.PICKUP, "payment_method": "bank_qr"}
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {
            k: request.POST.get(k, "").strip()
            for k in (
                "name",
                "phone",
                "fulfilment",
                "pickup_at",
                "address",
                "note",
                "tax_code",
                "email",
                "invoice_name",
                "invoice_address",
                "payment_method",
                "expected_total",
            )
        }
        pickup_at = _slot(values["pickup_at"], slots)
        expected = values["expected_total"]
        try:
            order = storefront.checkout_from_cart(
                request.session,
                merchant=merchant,
                data=storefront.CheckoutInput(
                    name=values["name"],
                    phone=values["phone"],
                    fulfilment=values["fulfilment"],
                    payment_method=values["payment_method"],
                    pickup_at=pickup_at,
                    address=values["address"],
                    note=values["note"],
                    tax_code=values["tax_code"],
                    email=values["email"],
                    invoice_name=values["invoice_name"],
                    invoice_address=values["invoice_address"],
                    expected_total=parse_digits(expected),
                ),
            )
        except ApplicationError as exc:
            errors = {k: [str(m) for m in v] for k, v in exc.fields.items()}
            if not errors:
                errors = {"general": [str(exc.message)]}
            status = exc.status
        else:
            return redirect("shop_order", token=order.receipt_token)
    return render(
        request,
        "market/shop/checkout.html",
        {
            "merchant": merchant,
            "storefront": shop_settings,
            "lines": lines,
            "goods_total": goods_total,
            "fee": fee,
            "slots": slots,
            "values": values,
            "errors": errors,
            "changed": any(line.price_changed for line in lines),
            "pickup_place": _pickup_place(merchant),
        },
        status=status,
    )


def _pickup_place(merchant: Merchant) -> str:
    """Where a pickup order is collected: the stall, or, for a seller with none (an exhibitor
    selling from a fair booth), the shop's address."""
    stall = merchant.stalls.select_related("market").order_by("pk").first()
    if stall is not None:
        return _("Lấy tại sạp %(code)s · %(market)s") % {
            "code": stall.code,
            "market": stall.market.name,
        }
    if merchant.address:
        return _("Lấy tại cửa hàng · %(address)s") % {"address": merchant.address}
    return _("Lấy tại cửa hàng")


def _slot(text: str, slots: list[datetime]) -> datetime | None:
    for slot in slots:
        if slot.isoformat() == text:
            return slot
    return None


def _timeline(order: Order) -> list[dict[str, Any]]:
    labels = {
        "placed": _("Đã đặt hàng"),
        "paid": _("Đã thanh toán"),
        "accepted": _("Người bán đã nhận đơn"),
        "ready": _("Hàng đã sẵn sàng, mời lấy tại sạp"),
        "out_for_delivery": _("Đang giao hàng"),
        "completed": _("Đã hoàn thành"),
        "canceled": _("Đã hủy"),
    }
    return [
        {"label": labels.get(e.kind, e.kind), "at": e.created_at, "note": e.note, "kind": e.kind}
        for e in order.events.all()
    ]


def shop_order(request: HttpRequest, token: str) -> HttpResponse:
    """The shopper's order page: pay (QR), then follow it; receipt, invoice, contact, review."""
    found = Order.objects.filter(receipt_token=token).exclude(channel=Order.Channel.POS).first()
    if found is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    order = found
    intent: PaymentIntent | None = order.intent
    waiting = order.status == Order.Status.AWAITING_PAYMENT and intent is not None
    bank = bank_by_bin(intent.bank_bin) if intent else None
    reviewed = set(order.reviews.values_list("product_id", flat=True))
    from ..sales.views import _invoice_of

    return render(
        request,
        "market/shop/order.html",
        {
            "order": order,
            "merchant": order.merchant,
            "stall": order.merchant.stalls.select_related("market").first(),
            "lines": order.lines.all(),
            "intent": intent,
            "waiting": waiting,
            "qr_svg": qr.qr_svg(intent.qr_payload) if waiting and intent else "",
            "qr_filename": _qr_filename(order),
            "bank_apps": bank_apps.deeplinks(
                bank_bin=intent.bank_bin,
                account_number=intent.account_number,
                amount=order.total,
                content=intent.reference_code,
            )
            if waiting and intent and intent.method == PaymentIntent.Method.BANK_QR
            else [],
            "bank_name": bank.short_name if bank else "",
            "sandbox_pay_url": sandbox_pay_link(intent) if waiting and intent else "",
            "timeline": _timeline(order),
            "can_review": storefront.review_allowed(order),
            "reviewable": [
                line
                for line in order.lines.all()
                if line.product_id and line.product_id not in reviewed
            ],
            "merchant_reviewed": None in reviewed,
            "refunds": order.refunds.filter(payment_refund__status="succeeded").select_related(
                "payment_refund"
            ),
            "invoice": _invoice_of(order),
            "now": timezone.now(),
        },
    )


def shop_order_qr_png(request: HttpRequest, token: str) -> HttpResponse:
    """The payment QR as a PNG, for "Lưu ảnh mã QR": only while the order waits for payment."""
    found = Order.objects.filter(receipt_token=token).exclude(channel=Order.Channel.POS).first()
    intent = found.intent if found is not None else None
    if (
        found is None
        or intent is None
        or found.status != Order.Status.AWAITING_PAYMENT
        or intent.status in (PaymentIntent.Status.EXPIRED, PaymentIntent.Status.CANCELED)
    ):
        raise NotFound(_("Không tìm thấy mã thanh toán."))
    response = HttpResponse(qr.qr_png(intent.qr_payload, box_size=10), content_type="image/png")
    response["Content-Disposition"] = f'inline; filename="{_qr_filename(found)}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _qr_filename(order: Order) -> str:
    return f"cho-so-{order.number}-{order.total}d.png"


def shop_order_status(request: HttpRequest, token: str) -> JsonResponse:
    """For the order page's polling: a small answer, no personal data."""
    found = Order.objects.filter(receipt_token=token).exclude(channel=Order.Channel.POS).first()
    if found is None:
        raise NotFound(_("Không tìm thấy đơn hàng."))
    order = found
    return JsonResponse(
        {
            "status": order.status,
            "fulfilment_status": order.fulfilment_status,
            "events": order.events.count(),
        }
    )


@require_POST
def shop_review(request: HttpRequest, token: str) -> HttpResponse:
    if not Order.objects.filter(receipt_token=token).exists():  # a guessed link: no such order
        raise NotFound(_("Không tìm thấy đơn hàng."))
    product_text = request.POST.get("product", "")
    rating_text = request.POST.get("rating", "")
    try:
        storefront.review_create(
            token=token,
            product_id=parse_digits(product_text),
            rating=parse_digits(rating_text, 0),
            text=request.POST.get("text", ""),
            author_name=request.POST.get("author", ""),
        )
    except ApplicationError as exc:
        messages.error(request, _message(exc))
    else:
        messages.success(request, _("Cảm ơn bạn đã đánh giá!"))
    return redirect("shop_order", token=token)


@require_POST
def review_report(request: HttpRequest, review_id: int) -> HttpResponse:
    review = Review.objects.filter(pk=review_id).select_related("merchant").first()
    if review is None:
        raise NotFound(_("Không tìm thấy đánh giá."))
    storefront.review_report(review_id=review.pk, reason=request.POST.get("reason", ""))
    messages.success(request, _("Đã gửi báo cáo. Cán bộ sẽ xem xét đánh giá này."))
    return redirect(_safe_next(request, reverse("marketplace")))
