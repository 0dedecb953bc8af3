"""Issue 16: a new trader's first day. The checklist on home (stall → bank account → first
product → a test sale paid by bank), read in one query; each saved step leads straight to the
next; "Bán hàng" is not the main action before the shop can be paid; the product form asks for
the kind of goods, not a tax code, and suggests the stall's."""

from __future__ import annotations

import pytest

from market.models import GoodsCategory, Order, StallApplication
from merchants import selectors
from merchants.models import Product
from tests import factories

pytestmark = pytest.mark.django_db

HOME = "/"


_paid_sale = factories.paid_sale


def _done(merchant) -> dict[str, bool]:
    return {step.key: step.done for step in selectors.first_day_steps(merchant)}


@pytest.fixture
def trader():
    merchant = factories.MerchantFactory(display_name="Cá tươi Cô Lan")
    user = factories.owner_of(merchant, phone="+84905123456", full_name="Nguyễn Thị Lan")
    return merchant, user


def test_it_reads_every_step_in_one_query(trader, django_assert_num_queries):
    merchant, _user = trader
    with django_assert_num_queries(1):
        steps = selectors.first_day_steps(merchant)
    assert [s.key for s in steps] == ["stall", "bank_account", "product", "sale"]
    assert not any(s.done for s in steps)
    with django_assert_num_queries(1):
        assert selectors.first_day_done(merchant) is False
    other = factories.MerchantFactory()
    with django_assert_num_queries(1):
        days = selectors.first_days(merchants=[merchant, other])
    assert set(days) == {merchant.pk, other.pk}


def test_it_marks_each_step_done_from_the_data(trader):
    merchant, _user = trader
    refused = factories.StallApplicationFactory(
        merchant=merchant, status=StallApplication.Status.REJECTED
    )
    assert _done(merchant)["stall"] is False  # a refused application is not a stall
    refused.delete()
    factories.StallApplicationFactory(merchant=merchant)  # sent, waiting for the market
    stall = selectors.first_day_steps(merchant)[0]
    assert stall.done and "đang xem xét" in str(stall.note)
    factories.BankAccountFactory(merchant=merchant)
    factories.ProductFactory(merchant=merchant)
    _paid_sale(merchant, method=Order.PaymentMethod.CASH)  # cash proves nothing about the QR
    assert _done(merchant) == {"stall": True, "bank_account": True, "product": True, "sale": False}
    assert selectors.first_day_done(merchant) is False
    _paid_sale(merchant)
    assert selectors.first_day_done(merchant) is True


def test_it_shows_the_checklist_with_the_next_step_and_no_sell_button(client, trader):
    merchant, user = trader
    client.force_login(user)
    page = client.get(HOME).content.decode()
    assert 'id="first-day"' in page
    assert 'id="first-day-next" href="/sap/dang-ky/"' in page
    assert f'href="/cua-hang/{merchant.pk}/ban-hang/"' not in page  # cannot be paid yet
    assert 'id="sell"' not in page

    factories.StallApplicationFactory(merchant=merchant)
    factories.BankAccountFactory(merchant=merchant)
    page = client.get(HOME).content.decode()
    assert f'id="first-day-next" href="/cua-hang/{merchant.pk}/san-pham/them/"' in page
    assert 'id="sell"' in page  # a bank account: the shop can be paid


def test_it_hides_the_checklist_once_every_step_is_done(client, trader):
    merchant, user = trader
    factories.StallFactory(merchant=merchant)
    factories.BankAccountFactory(merchant=merchant)
    factories.ProductFactory(merchant=merchant)
    _paid_sale(merchant)
    client.force_login(user)
    # Done: home opens on the keypad, and the full home ("Trang chính") has no checklist.
    assert client.get(HOME).url == f"/cua-hang/{merchant.pk}/ban-hang/"
    page = client.get("/trang-chinh/").content.decode()
    assert 'class="card first-day"' not in page
    assert f'href="/cua-hang/{merchant.pk}/ban-hang/"' in page


def test_it_shows_only_the_traders_own_shops_and_not_to_a_cashier(client, trader):
    merchant, _owner = trader
    other = factories.MerchantFactory(display_name="Rau Bà Tư")
    factories.owner_of(other)
    cashier = factories.member_of(merchant, role="cashier")
    client.force_login(cashier)
    page = client.get(HOME).content.decode()
    assert 'class="card first-day"' not in page  # setting up the shop is the owner's work
    assert "Rau Bà Tư" not in page


def test_a_new_account_without_a_shop_is_shown_how_to_start(client):
    client.force_login(factories.UserFactory())
    page = client.get(HOME).content.decode()
    assert 'id="first-day"' in page and 'href="/cua-hang/moi/"' in page


def test_each_saved_step_leads_straight_to_the_next(client):
    user = factories.UserFactory(full_name="Nguyễn Thị Lan")
    market = factories.MarketFactory()
    factories.StallFactory(market=market, code="B-07", goods_category=GoodsCategory.SEAFOOD)
    client.force_login(user)

    form = client.get("/cua-hang/moi/").content.decode()
    assert 'value="Hộ kinh doanh Nguyễn Thị Lan"' in form  # pre-filled
    response = client.post(
        "/cua-hang/moi/",
        {
            "kind": "household",
            "legal_name": "Hộ kinh doanh Nguyễn Thị Lan",
            "tax_code": "048175009999",
            "address": "Chợ Cồn, Đà Nẵng",
            "sector": "distribution",
        },
    )
    merchant = user.memberships.get().merchant
    assert response["Location"] == "/sap/dang-ky/"

    response = client.post(
        "/sap/dang-ky/",
        {
            "merchant": merchant.pk,
            "market": market.pk,
            "requested_code": "B-07",
            "goods_category": GoodsCategory.SEAFOOD,
        },
    )
    assert response["Location"] == f"/cua-hang/{merchant.pk}/ngan-hang/them/"
    form = client.get(response["Location"]).content.decode()
    assert 'value="Nguyễn Thị Lan"' in form  # the holder: the owner's own name

    response = client.post(
        response["Location"],
        {
            "bank_bin": "970436",
            "account_number": "0041000123456",
            "holder_name": "Nguyễn Thị Lan",
            "is_default": "on",
        },
    )
    assert response["Location"] == f"/cua-hang/{merchant.pk}/san-pham/them/"

    response = client.post(
        response["Location"],
        {
            "name": "Cá thu",
            "unit": "kg",
            "price": "180000",
            "tax_category": "KCT",
            "is_active": "on",
            "in_stock": "on",
        },
    )
    assert response["Location"] == f"/cua-hang/{merchant.pk}/ban-hang/"
    assert "Bán thử một đơn" in client.get(response["Location"]).content.decode()

    # A shop long set up: a second product goes back to the shop's page as before.
    _paid_sale(merchant)
    response = client.post(
        f"/cua-hang/{merchant.pk}/san-pham/them/",
        {"name": "Mực lá", "unit": "kg", "price": "320000", "tax_category": "KCT"},
    )
    assert response["Location"] == f"/cua-hang/{merchant.pk}/"


@pytest.mark.parametrize(
    ("goods", "suggested"),
    [
        (GoodsCategory.SEAFOOD, Product.TaxCategory.NOT_SUBJECT),
        (GoodsCategory.VEGETABLES, Product.TaxCategory.NOT_SUBJECT),
        (GoodsCategory.FOOD, Product.TaxCategory.EIGHT),
        (GoodsCategory.CLOTHING, Product.TaxCategory.EIGHT),
    ],
)
def test_the_product_form_asks_the_kind_of_goods_and_suggests_the_stalls(
    client, trader, goods, suggested
):
    merchant, user = trader
    factories.StallApplicationFactory(merchant=merchant, goods_category=goods)
    client.force_login(user)
    page = client.get(f"/cua-hang/{merchant.pk}/san-pham/them/").content.decode()
    assert "Món này thuộc loại nào?" in page
    assert "Loại thuế" not in page
    assert "Không kê khai, tính nộp thuế GTGT" not in page  # the code's name, not a question
    assert f'value="{suggested}"' in page
    checked = page.split(f'value="{suggested}"')[1].split(">")[0]
    assert "checked" in checked


def test_the_plain_choice_stores_the_same_tax_code(client, trader):
    merchant, user = trader
    client.force_login(user)
    client.post(
        f"/cua-hang/{merchant.pk}/san-pham/them/",
        {"name": "Bánh xèo", "unit": "đĩa", "price": "30000", "tax_category": "8%"},
    )
    assert merchant.products.get().tax_category == "8%"
    response = client.post(
        f"/cua-hang/{merchant.pk}/san-pham/them/",
        {"name": "Bánh bèo", "unit": "đĩa", "price": "20000", "tax_category": "VAT?"},
    )
    assert response.status_code == 422
    assert "Món này thuộc loại nào?" in response.content.decode()


def test_the_english_page_asks_in_english(client, trader):
    merchant, user = trader
    client.force_login(user)
    page = client.get(HOME, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "First day" in page
    page = client.get(
        f"/cua-hang/{merchant.pk}/san-pham/them/", HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "What kind of goods is this?" in page


def test_a_stall_named_by_its_code_needs_no_kind_of_goods(client, trader):
    merchant, user = trader
    market = factories.MarketFactory()
    factories.StallFactory(market=market, code="C-3", goods_category=GoodsCategory.MEAT)
    client.force_login(user)
    response = client.post(
        "/sap/dang-ky/",
        {"merchant": merchant.pk, "market": market.pk, "requested_code": "", "goods_category": ""},
    )
    assert response.status_code == 422
    assert "Chọn ngành hàng, hoặc ghi mã sạp bạn đang bán." in response.content.decode()
    response = client.post(
        "/sap/dang-ky/",
        {"merchant": merchant.pk, "market": market.pk, "requested_code": "c-3"},
    )
    assert response.status_code == 302
    application = StallApplication.objects.get(merchant=merchant)
    assert (application.requested_code, application.goods_category) == ("C-3", "meat")
