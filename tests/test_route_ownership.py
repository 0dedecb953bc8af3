"""Who may reach every route of the project: pages, the JSON API under /api/v1/, webhooks, admin.

`ROUTES` states each route's audience. `test_it_lists_every_route_of_the_project` walks Django's
URL resolver (django-ninja's operations are URL patterns too, one per operation), so a new page
or endpoint cannot ship without a row here; its failure message prints the row to add.

Then, for every route that is not public, with real objects (tests/factories.py, made on demand
by tests/routes_world.py; a row becomes a request in tests/routes.py) in its URL and nothing
written (row counts of the key tables unchanged):

- an anonymous visitor is sent to the sign-in page (pages) or gets 401 `not_authenticated` (API);
- a trader of ANOTHER merchant gets 404 (the house answer: whether a merchant or its object
  exists is not told to outsiders; tests/merchants/test_ownership.py does the same);
- a cashier gets 403 where only an owner may go, and is let in where any member may;
- a signed-in user without the route's staff permission gets 403;
- another merchant's API key gets 404 where a key of the merchant is a credential, and the
  merchant's own key gets 401 where it is not (`key_ok`);
- a webhook without a signature gets 401;
- a shopper's link with a guessed token is 404;
- /admin/ sends a trader (not staff) to the admin's own sign-in.

POST-only pages are sent a POST with an empty body: the refusal comes before the form is read.
API writes are sent a body valid enough to reach the handler (`body=`): django-ninja checks the
schema before the handler runs, so an outsider's empty body is a 422 that names no merchant
(the same for a merchant that does not exist); what is tested is that the handler refuses them.
Sign-in (401) comes before the schema.

To add a route: one row in ROUTES (the failure message prints it). A new URL kwarg name needs
its object in tests/routes.py DEFAULT_FILL (and, if new, a cached_property on World).
"""

from __future__ import annotations

import pytest

from tests.routes import (
    KWARG,
    Route,
    api,
    assert_api_error,
    assert_sent_to_sign_in,
    names_merchant_and_object,
    page,
    project_routes,
    request,
)
from tests.routes_world import World, row_counts, user_with_perm

pytestmark = pytest.mark.django_db

PUBLIC = "public"  # anyone, signed in or not
SHOPPER = "shopper"  # anyone holding the link's token (receipt, order, inquiry thread)
SIGNED_IN = "signed-in"  # any signed-in user; what they see is their own
MEMBER = "member"  # a signed-in owner or cashier of the merchant the URL names (or owns)
OWNER = "owner"  # an owner of that merchant; a cashier gets 403
STAFF = "staff"  # a user holding `perm`
WEBHOOK = "webhook"  # an outside system proving itself with a signature / key
ADMIN = "admin"  # Django admin: is_staff users through the admin's own sign-in

REVIEW = "market.review_stallapplication"
STANDEES = "market.review_stallapplication"
DASHBOARD = "market.view_market_dashboard"
MODERATE = "market.moderate_review"
CURATE = "virtual_expo.curate_exhibition"
ON_BEHALF = "merchants.register_on_behalf"


M = "/cua-hang/<int:merchant_id>"
MQ = "?merchant_id={merchant_id}"  # API routes that name their merchant in the query
EXPO = {"slug": "exhibition.slug"}
LIVE = {"slug": "exhibition.slug", "booth_id": "live_booth.pk"}
SHOP = {"merchant_id": "storefront.merchant.pk"}
ONLINE = {"token": "online_order.receipt_token"}
# Bodies of API writes, valid enough that the handler runs: its refusal of an outsider is what
# is tested, not the schema's ("{name}" takes the URL kwarg of that name from the world).
ACCOUNT = {"bank_bin": "970436", "account_number": "999888777", "holder_name": "KE GIAN"}
PRODUCT = {"name": "Hàng lạ", "unit": "kg", "price": 1}
REASON = {"reason": "Nhập sai"}
APPLICATION = {"merchant_id": "{merchant_id}", "market": "{slug}", "goods_category": "seafood"}
SALE = {"merchant_id": "{merchant_id}", "lines": [{"unit_price": 50_000}]}
INTENT = {"merchant_id": "{merchant_id}", "amount": 150_000}
GOODS = [{"name": "Cá thu", "quantity": "1", "unit_price": 100_000, "amount": 100_000}]
INVOICE = {"merchant_id": "{merchant_id}", "lines": GOODS}
CORRECTION = {"lines": GOODS, **REASON}
SERIES = {"merchant_id": "{merchant_id}", "form": "2", "symbol": "C26TBB"}
PURCHASE = {"merchant_id": "{merchant_id}", "file": "{purchase_file}"}

ROUTES: list[Route] = [
    # --- config: probes, PWA, API docs, admin ----------------------------------------------
    page("/healthz", PUBLIC),
    page("/readyz", PUBLIC, ok=503),  # 200, or 503 while a dependency (e.g. the beat) is not ready
    page("/favicon.ico", PUBLIC),
    page("/manifest.webmanifest", PUBLIC),
    page("/sw.js", PUBLIC),
    page("/ngoai-tuyen/<str:lang>/", PUBLIC),
    page("/dang-xuat/", PUBLIC, method="post"),
    page("/i18n/setlang/", PUBLIC),
    page("/api/docs", PUBLIC),
    page("/api/v1/", PUBLIC, ok=404),  # ninja's root: nothing there
    page("/api/v1/openapi.json", PUBLIC),
    page("/api/v1/docs", PUBLIC),
    page("/admin/", ADMIN),  # the whole admin site: every page of it behind its own sign-in
    api("GET /health", PUBLIC),
    # --- merchants: pages -------------------------------------------------------------------
    page("/", PUBLIC),  # a visitor goes to the marketplace
    page("/trang-chinh/", SIGNED_IN),
    page("/dang-ky/", PUBLIC),
    page("/dang-nhap/", PUBLIC),
    page("/doi-mat-khau/", SIGNED_IN),
    page("/quen-mat-khau/", PUBLIC),
    page("/quen-mat-khau/nhap-ma/", PUBLIC),
    page("/quan-ly/dang-ky-ho/", STAFF, perm=ON_BEHALF),
    page("/quan-ly/dang-ky-ho/<int:registration_id>/", STAFF, perm=ON_BEHALF),
    # back to the code's page until the trader has confirmed
    page("/quan-ly/dang-ky-ho/<int:registration_id>/xong/", STAFF, perm=ON_BEHALF, ok=302),
    page("/cua-hang/moi/", SIGNED_IN),
    page(f"{M}/", MEMBER),
    page(f"{M}/ngan-hang/them/", OWNER),
    page(f"{M}/ngan-hang/<int:account_id>/xoa/", OWNER, method="post"),
    page(f"{M}/san-pham/them/", OWNER),
    page(f"{M}/san-pham/<int:product_id>/", OWNER),
    page(f"{M}/san-pham/<int:product_id>/con-hang/", MEMBER, method="post"),
    page(f"{M}/nguoi-ban/them/", OWNER),
    page(f"{M}/khoa-api/them/", OWNER),
    page(f"{M}/khoa-api/<int:key_id>/thu-hoi/", OWNER, method="post"),
    # --- merchants: API ---------------------------------------------------------------------
    api("GET /merchants/banks", PUBLIC),
    api("GET /merchants/", SIGNED_IN, key_ok=True),  # the caller's own merchants
    api("POST /merchants/", SIGNED_IN),
    api("GET /merchants/<merchant_id>", MEMBER, key_ok=True),
    api("GET /merchants/<merchant_id>/bank-accounts", MEMBER, key_ok=True),
    api("POST /merchants/<merchant_id>/bank-accounts", OWNER, body=ACCOUNT),
    api("DELETE /merchants/<merchant_id>/bank-accounts/<account_id>", OWNER),
    api("GET /merchants/<merchant_id>/products", MEMBER, key_ok=True),
    api("POST /merchants/<merchant_id>/products", OWNER, key_ok=True, body=PRODUCT),
    api("GET /merchants/<merchant_id>/products/<product_id>", MEMBER, key_ok=True),
    api("PATCH /merchants/<merchant_id>/products/<product_id>", OWNER, key_ok=True),
    api("GET /merchants/<merchant_id>/api-keys", OWNER),
    api("POST /merchants/<merchant_id>/api-keys", OWNER, body={"name": "lấy trộm"}),
    api("POST /merchants/<merchant_id>/api-keys/<key_id>/revoke", OWNER),
    # --- market: stalls, applications, standees ---------------------------------------------
    page("/sap/dang-ky/", SIGNED_IN),
    page("/sap/don/<int:application_id>/da-xem/", MEMBER, method="post"),
    page("/cho/", PUBLIC),
    page("/cho/<slug:slug>/", PUBLIC),
    page("/quan-ly/don-dang-ky/", STAFF, perm=REVIEW),
    page("/quan-ly/don-dang-ky/<int:application_id>/", STAFF, perm=REVIEW),
    page(
        "/quan-ly/don-dang-ky/<int:application_id>/quyet-dinh/", STAFF, perm=REVIEW, method="post"
    ),
    page("/sap/<int:stall_id>/bang-qr.pdf", MEMBER),
    page("/quan-ly/cho/<slug:slug>/bang-qr/", STAFF, perm=STANDEES),
    page("/quan-ly/cho/<slug:slug>/bang-qr/<int:job_id>/trang-thai/", STAFF, perm=STANDEES),
    page("/quan-ly/cho/<slug:slug>/bang-qr/<int:job_id>/bang-qr.pdf", STAFF, perm=STANDEES),
    api("GET /market/markets", PUBLIC),
    api("GET /market/markets/<slug>/stalls", PUBLIC),
    api("POST /market/applications", MEMBER, key_ok=True, body=APPLICATION),
    api("GET /market/applications", MEMBER, key_ok=True, query=MQ),
    api("GET /market/review/applications", STAFF, perm=REVIEW),
    api("POST /market/review/applications/<application_id>/approve", STAFF, perm=REVIEW),
    api(
        "POST /market/review/applications/<application_id>/reject",
        STAFF,
        perm=REVIEW,
        body=REASON,
    ),
    # --- market: the till (POS, sales, receipts) --------------------------------------------
    page(f"{M}/ban-hang/", MEMBER),
    page(f"{M}/thu-tien/", MEMBER),
    page(f"{M}/thu-tien/<int:intent_id>/huy/", MEMBER, method="post"),
    page(f"{M}/don/", MEMBER),
    page(f"{M}/don/<int:order_id>/", MEMBER),
    page(f"{M}/don/<int:order_id>/thanh-toan-lai/", MEMBER, method="post"),
    page(f"{M}/don/<int:order_id>/huy/", MEMBER, method="post"),
    page(f"{M}/don/<int:order_id>/hoan-tien/", OWNER, method="post"),
    page("/bien-nhan/<str:token>/", SHOPPER),
    api("POST /market/orders", MEMBER, key_ok=True, body=SALE),
    api("GET /market/orders", MEMBER, key_ok=True, query=MQ),
    api("GET /market/orders/<order_id>", MEMBER, key_ok=True),
    api("POST /market/orders/<order_id>/pay", MEMBER, key_ok=True),
    api("POST /market/orders/<order_id>/cancel", MEMBER, key_ok=True),
    api("POST /market/orders/<order_id>/refunds", OWNER, key_ok=True, body=REASON),
    api("GET /market/receipts/<token>", SHOPPER),
    # --- market: books and reports ----------------------------------------------------------
    page(f"{M}/chot-so/", OWNER),
    page(f"{M}/chot-so/lich-su/", OWNER),
    page(f"{M}/chot-so/<int:close_id>/", OWNER),
    page(f"{M}/chot-so/<int:close_id>/chot-so.csv", OWNER),
    page(f"{M}/doanh-thu/", OWNER),
    page(f"{M}/thue/", OWNER),
    page(f"{M}/thue/so-doanh-thu.csv", OWNER),
    page(f"{M}/thue/so-doanh-thu.pdf", OWNER),
    page("/quan-ly/cho/<slug:slug>/bao-cao/", STAFF, perm=DASHBOARD),
    page("/quan-ly/cho/<slug:slug>/bao-cao.csv", STAFF, perm=DASHBOARD),
    api("GET /reports/merchants/<merchant_id>/takings", OWNER, key_ok=True),
    api("GET /reports/merchants/<merchant_id>/tax-estimate", OWNER, key_ok=True),
    api("GET /reports/merchants/<merchant_id>/closes", OWNER, key_ok=True),
    api(
        "POST /reports/merchants/<merchant_id>/closes", OWNER, key_ok=True, body={"cash_counted": 0}
    ),
    api("GET /reports/merchants/<merchant_id>/closes/preview", OWNER, key_ok=True),
    api("GET /reports/merchants/<merchant_id>/closes/<close_id>", OWNER, key_ok=True),
    api("GET /reports/markets/<slug>/dashboard", STAFF, perm=DASHBOARD),
    # --- market: the web shop ---------------------------------------------------------------
    page("/mua/", PUBLIC),
    page("/gio-hang/", PUBLIC),
    page("/gio-hang/them/", PUBLIC, method="post"),
    # a shopper checks out at a stall that sells online
    page("/gio-hang/<int:merchant_id>/dat-hang/", PUBLIC, fill=SHOP),
    page("/don-hang/<str:token>/", SHOPPER, fill=ONLINE),
    page("/don-hang/<str:token>/trang-thai/", SHOPPER, fill=ONLINE),
    page("/don-hang/<str:token>/ma-qr.png", SHOPPER, fill=ONLINE, ok=404),  # paid: no QR
    page("/don-hang/<str:token>/danh-gia/", SHOPPER, method="post", fill=ONLINE),
    # any reader may report a review (it stays up until staff decide)
    page("/danh-gia/<int:review_id>/bao-cao/", PUBLIC, method="post"),
    page("/cho/<slug:market_slug>/<slug:merchant_slug>/", PUBLIC),
    page(f"{M}/ban-online/", OWNER),
    page(f"{M}/don-online/", MEMBER),
    page(f"{M}/don-online/danh-sach/", MEMBER),
    page(f"{M}/don-online/<int:order_id>/chuyen/", MEMBER, method="post"),
    page(f"{M}/danh-gia/", MEMBER),
    page(f"{M}/danh-gia/<int:review_id>/tra-loi/", OWNER, method="post"),
    page(f"{M}/danh-gia/<int:review_id>/bao-cao/", OWNER, method="post"),
    page("/quan-ly/danh-gia/", STAFF, perm=MODERATE),
    page("/quan-ly/danh-gia/<int:review_id>/", STAFF, perm=MODERATE, method="post"),
    api("GET /shop/markets", PUBLIC),
    api("GET /shop/merchants", PUBLIC),
    api("GET /shop/merchants/<slug>", PUBLIC, fill={"slug": "storefront.merchant.slug"}),
    api("GET /shop/products", PUBLIC),
    api("POST /shop/checkout", PUBLIC),
    api("GET /shop/orders/<token>", SHOPPER, fill=ONLINE),
    api("POST /shop/orders/<token>/reviews", SHOPPER, body={"rating": 5}, fill=ONLINE),
    api("GET /shop/merchant/<merchant_id>/online-orders", MEMBER, key_ok=True),
    api(
        "POST /shop/merchant/online-orders/<order_id>/advance",
        MEMBER,
        key_ok=True,
        body={"to": "accepted"},
    ),
    api("PATCH /shop/merchant/products/<product_id>", MEMBER, key_ok=True),
    # --- payments ---------------------------------------------------------------------------
    page("/thu-tien/", SIGNED_IN, ok=302),  # to the caller's own merchant's "Thu tiền"
    page(f"{M}/thu-tien/<int:intent_id>/", MEMBER),
    page(f"{M}/thu-tien/<int:intent_id>/hoan-tien/", OWNER, method="post"),
    page(f"{M}/tien-vao/", MEMBER),
    page(f"{M}/su-kien/", MEMBER),
    page("/cua-hang/su-kien/", SIGNED_IN),
    page(f"{M}/bao-co/", OWNER),
    page(f"{M}/bao-co/<int:connection_id>/", OWNER),
    page(f"{M}/bao-co/<int:connection_id>/trang-thai/", OWNER),
    page(f"{M}/bao-co/<int:connection_id>/gui-thu/", OWNER, method="post"),
    page(f"{M}/bao-co/<int:connection_id>/ngat/", OWNER, method="post"),
    api("POST /payments/intents", MEMBER, key_ok=True, body=INTENT),
    api("GET /payments/intents", MEMBER, key_ok=True, query=MQ),
    api("GET /payments/intents/<intent_id>", MEMBER, key_ok=True),
    api("POST /payments/intents/<intent_id>/cancel", MEMBER, key_ok=True),
    api(
        "POST /payments/intents/<intent_id>/refund",
        OWNER,
        key_ok=True,
        body={"amount": 1_000, **REASON},
    ),
    api("POST /payments/webhooks/ewallet", WEBHOOK),
    api("POST /payments/webhooks/momo", WEBHOOK),
    api("POST /payments/webhooks/banknotify", WEBHOOK),
    api("POST /payments/webhooks/sepay/<connection_id>", WEBHOOK),
    api(
        "POST /payments/webhooks/banknotify/<connection_id>",
        WEBHOOK,
        fill={"connection_id": "banknotify_connection.pk"},
    ),
    # --- e-invoices -------------------------------------------------------------------------
    page("/hoa-don/tra-cuu/", PUBLIC),
    page("/hoa-don/<str:code>/", SHOPPER),
    page("/hoa-don/<str:code>/pdf/", SHOPPER),
    page("/hoa-don/<str:code>/xml/", SHOPPER, ok=409),  # until the tax authority's code
    page(f"{M}/hoa-don/", MEMBER),
    page(f"{M}/hoa-don/<int:invoice_id>/", MEMBER),
    page(f"{M}/hoa-don/<int:invoice_id>/pdf/", MEMBER),
    page(f"{M}/hoa-don/<int:invoice_id>/xml/", MEMBER),
    page(f"{M}/hoa-don/<int:invoice_id>/thay-the/", OWNER, method="post"),
    page(f"{M}/hoa-don/<int:invoice_id>/huy/", OWNER, method="post"),
    page(f"{M}/hoa-don/dau-vao/", MEMBER),
    page(f"{M}/hoa-don/dau-vao/<int:purchase_id>/", MEMBER),
    page(f"{M}/hoa-don/dau-vao/<int:purchase_id>/xml/", MEMBER),
    page(f"{M}/hoa-don/ky-hieu/", OWNER),
    page(f"{M}/hoa-don/ky-hieu/<int:series_id>/", OWNER, method="post"),
    api("POST /einvoice/invoices", MEMBER, key_ok=True, body=INVOICE),  # at the till
    api("GET /einvoice/invoices", MEMBER, key_ok=True, query=MQ),
    api("GET /einvoice/invoices/<invoice_id>", MEMBER, key_ok=True),
    api("GET /einvoice/invoices/<invoice_id>/xml", MEMBER, key_ok=True),
    api("GET /einvoice/invoices/<invoice_id>/pdf", MEMBER, key_ok=True),
    api("POST /einvoice/invoices/<invoice_id>/cancel", OWNER, key_ok=True, body=REASON),
    api("POST /einvoice/invoices/<invoice_id>/adjust", OWNER, key_ok=True, body=CORRECTION),
    api("POST /einvoice/invoices/<invoice_id>/replace", OWNER, key_ok=True, body=CORRECTION),
    api("GET /einvoice/series", MEMBER, key_ok=True, query=MQ),  # the page is owner-only
    api("POST /einvoice/series", OWNER, key_ok=True, body=SERIES),
    api("GET /einvoice/purchases", MEMBER, key_ok=True, query=MQ),
    api("POST /einvoice/purchases", MEMBER, key_ok=True, body=PURCHASE, multipart=True),
    api("GET /einvoice/purchases/<purchase_id>", MEMBER, key_ok=True, query=MQ),
    # --- virtual exhibitions ----------------------------------------------------------------
    page("/hoi-cho/", PUBLIC),
    page("/hoi-cho/hoi-dap/<str:token>/", SHOPPER, fill={"token": "inquiry.token"}),
    page("/hoi-cho/<slug:slug>/", PUBLIC, fill=EXPO),
    page("/hoi-cho/<slug:slug>/gian/<int:booth_id>/", PUBLIC, fill=LIVE),
    page("/hoi-cho/<slug:slug>/gian/<int:booth_id>/hoi-hang/", PUBLIC, method="post"),
    page(f"{M}/hoi-cho/", OWNER),
    page(f"{M}/hoi-cho/dang-ky/<slug:slug>/", OWNER, fill=EXPO),
    page(f"{M}/hoi-cho/gian/<int:booth_id>/", OWNER),
    page(f"{M}/hoi-cho/gian/<int:booth_id>/tep/", OWNER, method="post"),
    page(f"{M}/hoi-cho/gian/<int:booth_id>/duyet-lai-gia/", OWNER, method="post"),
    page(f"{M}/hoi-cho/khach-hoi/", OWNER),
    page(f"{M}/hoi-cho/khach-hoi/<int:inquiry_id>/", OWNER),
    page("/quan-ly/hoi-cho/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/moi/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/spam/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/<int:exhibition_id>/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/<int:exhibition_id>/sua/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/<int:exhibition_id>/bao-cao/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/<int:exhibition_id>/bao-cao.csv", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/gian/<int:booth_id>/", STAFF, perm=CURATE),
    page("/quan-ly/hoi-cho/gian/<int:booth_id>/thao-tac/", STAFF, perm=CURATE, method="post"),
    api("GET /expo/exhibitions", PUBLIC),
    api("GET /expo/exhibitions/<slug>", PUBLIC, fill=EXPO),
    api("GET /expo/exhibitions/<slug>/booths", PUBLIC, fill=EXPO),
    api("GET /expo/exhibitions/<slug>/booths/<booth_id>", PUBLIC, fill=LIVE),
    api("GET /expo/exhibitions/<slug>/products", PUBLIC, fill=EXPO, query="?q=gom"),
    api("POST /expo/exhibitions/<slug>/booths/<booth_id>/inquiries", PUBLIC),
    api("GET /expo/merchants/<merchant_id>/booths", OWNER, key_ok=True),
    api("PATCH /expo/merchants/<merchant_id>/booths/<booth_id>", OWNER, key_ok=True),
    api("POST /expo/merchants/<merchant_id>/booths/<booth_id>/submit", OWNER, key_ok=True),
    api("GET /expo/merchants/<merchant_id>/leads", OWNER, key_ok=True),
    api("PATCH /expo/merchants/<merchant_id>/leads/<inquiry_id>", OWNER, key_ok=True),
    api(
        "POST /expo/merchants/<merchant_id>/leads/<inquiry_id>/answers",
        OWNER,
        key_ok=True,
        body={"text": "Dạ được ạ"},
    ),
    api("GET /expo/staff/exhibitions/<exhibition_id>/applications", STAFF, perm=CURATE),
    api(
        "POST /expo/staff/booths/<booth_id>/decision",
        STAFF,
        perm=CURATE,
        body={"decision": "approve"},
    ),
    api("POST /expo/staff/booths/<booth_id>/publish", STAFF, perm=CURATE),
    api("GET /expo/staff/exhibitions/<exhibition_id>/report", STAFF, perm=CURATE),
]


# --- the table covers every route --------------------------------------------------------------


def test_it_lists_every_route_of_the_project():
    tabled = {r.route for r in ROUTES}
    assert len(tabled) == len(ROUTES), "a route is listed twice in ROUTES"
    missing = sorted(set(project_routes()) - tabled)

    def row(route: str) -> str:
        if " " in route:
            method, path = route.split(" ", 1)
            return f'    api("{method} {path.removeprefix("/api/v1")}", AUDIENCE),'
        return f'    page("{route}", AUDIENCE),'

    assert not missing, (
        "These routes are not in tests/test_route_ownership.py ROUTES: say who may reach each by "
        "adding its row, with AUDIENCE one of PUBLIC, SHOPPER, SIGNED_IN, MEMBER, OWNER, "
        "STAFF (with perm=...), WEBHOOK, ADMIN (and method='post' for a POST-only page, "
        "key_ok=True where a merchant's API key may call it):\n" + "\n".join(map(row, missing))
    )


def test_it_lists_no_route_that_is_gone():
    stale = sorted({r.route for r in ROUTES} - set(project_routes()))
    assert not stale, f"Remove these rows of ROUTES, no such route any more: {stale}"


# --- helpers ---------------------------------------------------------------------------------


GETS = [r for r in ROUTES if r.http_method == "get"]


def rows(*audiences: str, api_only: bool = False, key: bool = False) -> list[Route]:
    return [
        r
        for r in ROUTES
        if r.audience in audiences and (r.is_api or not api_only) and (r.key_ok or not key)
    ]


NOT_PUBLIC = [r for r in ROUTES if r.audience not in (PUBLIC, SHOPPER, WEBHOOK, ADMIN)]


@pytest.fixture
def victim() -> World:
    return World()


@pytest.fixture
def intruder() -> World:
    return World()


# --- anonymous ---------------------------------------------------------------------------------


@pytest.mark.parametrize("route", NOT_PUBLIC, ids=str)
def test_an_anonymous_visitor_is_sent_to_sign_in_or_gets_401(client, victim, route):
    req = request(route, victim)
    before = row_counts()

    response = req.send(client)

    if route.is_api:
        assert_api_error(response, 401, "not_authenticated")
    else:
        assert_sent_to_sign_in(response)
    assert row_counts() == before


# --- another merchant's trader -----------------------------------------------------------------


@pytest.mark.parametrize("route", rows(MEMBER, OWNER), ids=str)
def test_another_merchants_trader_gets_404(client, victim, intruder, route):
    req = request(route, victim)
    before = row_counts()
    client.force_login(intruder.owner)

    response = req.send(client)

    if route.is_api:
        assert_api_error(response, 404, "not_found")
    else:
        assert response.status_code == 404
    assert row_counts() == before


@pytest.mark.parametrize(
    "route", [r for r in rows(MEMBER, OWNER) if names_merchant_and_object(r)], ids=str
)
def test_another_merchants_object_under_ones_own_merchant_is_404(client, victim, intruder, route):
    req = request(route, victim, merchant_id=str(intruder.merchant.pk))
    before = row_counts()
    client.force_login(intruder.owner)

    response = req.send(client)

    if route.is_api:
        assert_api_error(response, 404, "not_found")
    else:
        assert response.status_code == 404
    assert row_counts() == before


@pytest.mark.parametrize("route", rows(MEMBER, OWNER, key=True), ids=str)
def test_another_merchants_api_key_gets_404(client, victim, intruder, route):
    req = request(route, victim)
    raw = intruder.raw_key
    before = row_counts()

    response = req.send(client, Authorization=f"Bearer {raw}")

    assert_api_error(response, 404, "not_found")
    assert row_counts() == before


@pytest.mark.parametrize("route", [r for r in GETS if r.audience == SIGNED_IN], ids=str)
def test_what_a_signed_in_trader_sees_is_their_own(client, victim, intruder, route):
    from merchants.models import Merchant

    secret = "Sạp Bí Mật Của Người Khác"
    Merchant.objects.filter(pk=victim.merchant.pk).update(display_name=secret)
    req = request(route, intruder)
    client.force_login(intruder.owner)

    response = req.send(client)

    if not response.streaming:  # the live events' stream sends only on news
        assert secret not in response.content.decode()


@pytest.mark.parametrize(
    "route", [r for r in ROUTES if "<int:registration_id>" in r.route], ids=str
)
def test_another_staff_members_registration_on_behalf_is_404(client, victim, route):
    req = request(route, victim)
    client.force_login(user_with_perm(ON_BEHALF))  # not the one who started it
    before = row_counts()

    response = req.send(client)

    assert response.status_code == 404
    assert row_counts() == before


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.is_api and r.audience not in (PUBLIC, SHOPPER) and not r.key_ok],
    ids=str,
)
def test_an_api_key_is_no_credential_where_the_table_says_so(client, victim, route):
    req = request(route, victim)
    raw = victim.raw_key  # the merchant's own key
    before = row_counts()

    response = req.send(client, Authorization=f"Bearer {raw}")

    if route.audience == WEBHOOK:
        assert response.status_code == 401
    else:
        assert_api_error(response, 401, "not_authenticated")
    assert row_counts() == before


# --- cashiers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", rows(OWNER), ids=str)
def test_a_cashier_gets_403_where_only_an_owner_may_go(client, victim, route):
    req = request(route, victim)
    client.force_login(victim.cashier)
    before = row_counts()

    response = req.send(client)

    if route.is_api:
        assert_api_error(response, 403, "permission_denied")
    else:
        assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize("route", [r for r in rows(MEMBER) if r.http_method == "get"], ids=str)
def test_a_cashier_may_open_what_any_member_may(client, victim, route):
    req = request(route, victim)
    client.force_login(victim.cashier)

    response = req.send(client)

    assert response.status_code == route.ok, response.status_code


# --- the ones let in (so a refusal above is the route's, not a URL that leads nowhere) ----------


@pytest.mark.parametrize("route", [r for r in GETS if r.audience in (OWNER, SIGNED_IN)], ids=str)
def test_the_owner_may_open_it(client, victim, route):
    req = request(route, victim)
    client.force_login(victim.owner)

    response = req.send(client)

    assert response.status_code == route.ok, response.status_code


@pytest.mark.parametrize("route", [r for r in GETS if r.audience == STAFF], ids=str)
def test_staff_with_the_permission_may_open_it(client, victim, route):
    req = request(route, victim)
    # on behalf: only the staff member who started a registration sees it
    staff = (
        victim.registration.created_by if route.perm == ON_BEHALF else user_with_perm(route.perm)
    )
    client.force_login(staff)

    response = req.send(client)

    assert response.status_code == route.ok, response.status_code


@pytest.mark.parametrize("route", [r for r in GETS if r.audience in (PUBLIC, SHOPPER)], ids=str)
def test_an_anonymous_visitor_may_open_what_is_public(client, victim, route):
    req = request(route, victim)

    response = req.send(client)

    assert response.status_code < 400 or response.status_code == route.ok, response.status_code
    assert not response.get("Location", "").startswith("/dang-nhap/")


# --- staff -------------------------------------------------------------------------------------


@pytest.mark.parametrize("route", rows(STAFF), ids=str)
def test_a_trader_without_the_staff_permission_gets_403(client, victim, route):
    req = request(route, victim)
    client.force_login(victim.owner)
    before = row_counts()

    response = req.send(client)

    if route.is_api:
        assert_api_error(response, 403, "permission_denied")
    else:
        assert response.status_code == 403
    assert row_counts() == before


@pytest.mark.parametrize("route", rows(STAFF), ids=str)
def test_staff_with_another_permission_gets_403(client, victim, route):
    req = request(route, victim)
    other = next(p for p in (CURATE, MODERATE) if p != route.perm)
    client.force_login(user_with_perm(other))
    before = row_counts()

    response = req.send(client)

    assert response.status_code == 403
    assert row_counts() == before


# --- webhooks, shoppers' links, admin ------------------------------------------------------------


@pytest.mark.parametrize("route", rows(WEBHOOK), ids=str)
def test_a_webhook_without_a_signature_gets_401(client, victim, route):
    req = request(route, victim)
    before = row_counts()

    response = client.post(req.url, data=b'{"id": "x"}', content_type="application/json")

    assert response.status_code == 401, response.content[:300]
    assert row_counts() == before


@pytest.mark.parametrize("route", rows(SHOPPER), ids=str)
def test_a_shoppers_link_with_a_guessed_token_is_404(client, victim, route):
    secret = next(n for n in KWARG.findall(route.path) if n in ("token", "code"))
    guessed = request(route, victim, **{secret: "KhongCoThat0123456789abcdefXYZ"})
    before = row_counts()

    response = guessed.send(client)

    assert response.status_code == 404, (guessed.url, response.status_code)
    assert row_counts() == before


@pytest.mark.parametrize("path", ["/admin/", "/admin/merchants/merchant/"])
def test_the_admin_sends_a_trader_to_its_own_sign_in(client, victim, path):
    client.force_login(victim.owner)

    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
