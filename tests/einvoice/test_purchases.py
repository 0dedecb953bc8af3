"""Purchases (hóa đơn đầu vào): upload a supplier's XML on the page or the API, once per invoice,
findings shown, only the merchant's own members see them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from core.models import AuditLog
from einvoice import purchases
from einvoice.models import PurchaseInvoice
from merchants.models import Membership
from tests.factories import PASSWORD, api_key_for, member_of

from .conftest import seller

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).parent / "fixtures" / "real_world"
API = "/api/v1/einvoice/purchases"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def upload(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, fixture(name) if content is None else content, "text/xml")


def signed_in(user, **headers) -> Client:
    client = Client(**headers)
    assert client.login(username=user.phone, password=PASSWORD)
    return client


@pytest.fixture
def shop():
    merchant = seller(tax_code="048099000001")
    return merchant, signed_in(member_of(merchant))


def post_file(client: Client, merchant, name: str, content: bytes | None = None):
    url = reverse("einvoice_purchases", args=[merchant.pk])
    return client.post(url, {"file": upload(name, content)})


def test_it_files_an_uploaded_invoice_and_shows_it(shop):
    merchant, client = shop

    response = post_file(client, merchant, "coded_vat_34char.xml")

    purchase = PurchaseInvoice.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "einvoice_purchase_detail", args=[merchant.pk, purchase.pk]
    )
    assert (purchase.seller_tax_code, purchase.form, purchase.symbol, purchase.number) == (
        "0309887764",
        "1",
        "C25TAB",
        345,
    )
    # 2 085 681.81 + 130 193.18 → whole đồng; the payable as written (2 215 875).
    assert (purchase.total_before_tax, purchase.total_tax, purchase.total_payable) == (
        2_085_682,
        130_193,
        2_215_875,
    )
    assert purchase.original_before_tax == Decimal("2085681.81")
    assert purchase.findings == [] and purchase.lines_count == 2
    assert purchase.xml == fixture("coded_vat_34char.xml").decode()
    assert AuditLog.objects.filter(action="einvoice.purchase_import").count() == 1
    page = client.get(response["Location"]).content.decode()
    assert "Công ty Cổ phần Thực phẩm Sông Hàn" in page and "Không phát hiện lỗi" in page
    listing = client.get(reverse("einvoice_purchases", args=[merchant.pk])).content.decode()
    assert "00000345" in listing and "Tháng 10/2025" in listing and "2.215.875" in listing


def test_it_does_not_file_the_same_invoice_twice(shop):
    merchant, client = shop
    first = post_file(client, merchant, "adjustment.xml")

    again = post_file(client, merchant, "adjustment.xml")

    assert PurchaseInvoice.objects.count() == 1
    assert again.status_code == 302 and again["Location"] == first["Location"]
    page = client.get(again["Location"]).content.decode()
    assert "1 hóa đơn đã có, không lưu lại." in page
    assert PurchaseInvoice.objects.get().kind == "adjustment"


def test_it_files_every_invoice_of_a_message_once_and_sums_each_month(shop):
    merchant, client = shop
    post_file(client, merchant, "tdiep_200.xml")  # invoice 346, not yet coded

    response = post_file(client, merchant, "tdiep_202.xml")  # 346 again (coded) and 347

    assert response.status_code == 302
    numbers = sorted(PurchaseInvoice.objects.values_list("number", flat=True))
    assert numbers == [346, 347]
    page = client.get(response["Location"]).content.decode()
    assert "Đã lưu 1 hóa đơn đầu vào." in page and "1 hóa đơn đã có" in page
    assert "2 hóa đơn" in page  # October 2025
    assert "1.323.750" in page  # 1 128 750 + 195 000
    stored = PurchaseInvoice.objects.get(number=347).xml
    assert stored.startswith("<HDon>") and "<SHDon>347</SHDon>" in stored


def test_it_converts_foreign_currency_to_dong_by_the_exchange_rate(shop):
    merchant, client = shop

    post_file(client, merchant, "foreign_currency_usd.xml")

    purchase = PurchaseInvoice.objects.get()
    rate = Decimal("25345.5")
    expected = int((Decimal("1771.55") * rate).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert (purchase.currency, purchase.exchange_rate) == ("USD", rate)
    assert purchase.total_payable == expected == 44_900_821
    assert purchase.original_payable == Decimal("1771.55")
    page = client.get(reverse("einvoice_purchase_detail", args=[merchant.pk, purchase.pk]))
    assert "1771,55 USD, tỷ giá 25345,5" in page.content.decode()  # Vietnamese decimal comma


def test_it_files_a_sales_invoice_without_totals_before_tax(shop):
    merchant, client = shop

    post_file(client, merchant, "sales_form2.xml")

    purchase = PurchaseInvoice.objects.get()
    assert (purchase.total_before_tax, purchase.total_tax, purchase.total_payable) == (
        503_000,
        0,
        503_000,
    )


def test_it_files_a_broken_invoice_and_shows_what_is_wrong(shop):
    merchant, client = shop

    response = post_file(client, merchant, "broken_totals.xml")

    purchase = PurchaseInvoice.objects.get()
    assert [f["code"] for f in purchase.findings] == [
        "line_amount_mismatch",
        "amount_in_words_missing",
        "rate_total_mismatch",
        "rate_tax_mismatch",
        "total_payable_mismatch",
    ]
    page = client.get(response["Location"]).content.decode()
    assert "Hóa đơn có 5 lỗi" in page
    assert "Thuế suất 8%: tổng các dòng 1500000 khác LTSuat/ThTien 1600000." in page
    listing = client.get(reverse("einvoice_purchases", args=[merchant.pk])).content.decode()
    assert "5 lỗi" in listing


def test_it_shows_findings_in_english_when_asked(shop):
    merchant, _ = shop
    client = signed_in(merchant.memberships.get().user, HTTP_ACCEPT_LANGUAGE="en")
    response = post_file(client, merchant, "broken_tax_codes.xml")

    page = client.get(response["Location"]).content.decode()

    assert "The year in symbol C24TBH differs from the issue year 2025." in page


@pytest.mark.parametrize(
    ("content", "status", "says"),
    [
        (b"%PDF-1.4 this is not xml", 400, "Không phải tệp XML hợp lệ"),
        (b"<html><body>hi</body></html>", 400, "Không phải hóa đơn điện tử (HDon)"),
        (b"<TDiep><TTChung><MLTDiep>999</MLTDiep></TTChung></TDiep>", 400, "không chứa hóa đơn"),
        (b"<HDon><DLHDon><TTChung/></DLHDon></HDon>", 422, "Không lưu được hóa đơn"),
        (b" " * (purchases.MAX_PURCHASE_BYTES + 1), 413, "Tệp quá lớn"),
    ],
    ids=["not-xml", "other-xml", "no-invoice", "no-identity", "too-large"],
)
def test_it_refuses_a_bad_file_with_a_clear_4xx(shop, content, status, says):
    merchant, client = shop

    response = post_file(client, merchant, "coded_vat_34char.xml", content)

    assert response.status_code == status
    assert says in response.content.decode()
    assert PurchaseInvoice.objects.count() == 0


def test_it_asks_for_a_file_when_none_is_sent(shop):
    merchant, client = shop

    response = client.post(reverse("einvoice_purchases", args=[merchant.pk]), {})

    assert response.status_code == 400
    assert "Chọn một tệp hóa đơn XML" in response.content.decode()


def test_it_answers_a_bad_file_in_english_when_asked(shop):
    merchant, _ = shop
    client = signed_in(merchant.memberships.get().user, HTTP_ACCEPT_LANGUAGE="en")

    response = post_file(client, merchant, "x.xml", b"not xml at all")

    assert response.status_code == 400
    assert "Not a well-formed XML file" in response.content.decode()


def test_a_cashier_of_the_merchant_sees_and_uploads_purchases(shop):
    merchant, _ = shop
    cashier = signed_in(member_of(merchant, role=Membership.Role.CASHIER))

    assert post_file(cashier, merchant, "sales_form2.xml").status_code == 302
    assert cashier.get(reverse("einvoice_purchases", args=[merchant.pk])).status_code == 200


def test_another_merchant_cannot_see_or_add_purchases(shop):
    merchant, client = shop
    post_file(client, merchant, "sales_form2.xml")
    purchase = PurchaseInvoice.objects.get()
    other_merchant = seller()
    other = signed_in(member_of(other_merchant))

    urls = [
        reverse("einvoice_purchases", args=[merchant.pk]),
        reverse("einvoice_purchase_detail", args=[merchant.pk, purchase.pk]),
        reverse("einvoice_purchase_xml", args=[merchant.pk, purchase.pk]),
    ]
    assert [other.get(url).status_code for url in urls] == [404, 404, 404]
    assert post_file(other, merchant, "coded_vat_34char.xml").status_code == 404
    assert PurchaseInvoice.objects.count() == 1
    # Their own list does not show it.
    own = other.get(reverse("einvoice_purchases", args=[other_merchant.pk])).content.decode()
    assert "Hộ kinh doanh Trần Văn Hùng" not in own
    anonymous = Client().get(urls[0])
    assert anonymous.status_code == 302 and "/dang-nhap/" in anonymous["Location"]


def test_another_merchants_id_under_my_merchant_is_not_found(shop):
    merchant, client = shop
    theirs = seller()
    purchases.purchase_import(merchant=theirs, data=fixture("sales_form2.xml"))
    purchase = PurchaseInvoice.objects.get(merchant=theirs)

    response = client.get(reverse("einvoice_purchase_detail", args=[merchant.pk, purchase.pk]))

    assert response.status_code == 404


def test_the_same_invoice_may_be_filed_by_two_merchants():
    for merchant in (seller(), seller()):
        outcome = purchases.purchase_import(merchant=merchant, data=fixture("sales_form2.xml"))
        assert len(outcome.created) == 1
    assert PurchaseInvoice.objects.count() == 2


# --- the API -------------------------------------------------------------------------------------


def api_client(merchant) -> Client:
    return Client(headers={"Authorization": f"Bearer {api_key_for(merchant)}"})


def test_the_api_uploads_lists_and_reads_purchases():
    merchant = seller()
    client = api_client(merchant)

    first = client.post(API, {"merchant_id": merchant.pk, "file": upload("tdiep_202.xml")})
    again = client.post(API, {"merchant_id": merchant.pk, "file": upload("tdiep_202.xml")})

    assert first.status_code == 201, first.content
    assert [p["number"] for p in first.json()["created"]] == [346, 347]
    assert again.status_code == 200
    assert (len(again.json()["created"]), len(again.json()["existing"])) == (0, 2)
    listed = client.get(API, {"merchant_id": merchant.pk}).json()
    assert listed["count"] == 2
    one = listed["items"][0]
    got = client.get(f"{API}/{one['id']}", {"merchant_id": merchant.pk})
    assert got.status_code == 200 and got.json()["seller_tax_code"] == "0309887764"
    assert got.json()["findings"] == []


def test_the_api_answers_a_bad_file_400_in_the_error_shape():
    merchant = seller()

    response = api_client(merchant).post(
        API, {"merchant_id": merchant.pk, "file": upload("x.xml", b'{"json": true}')}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unreadable_invoice"
    assert "Không phải tệp XML hợp lệ" in error["message"]


def test_the_api_returns_findings_of_a_broken_invoice():
    merchant = seller()

    response = api_client(merchant).post(
        API, {"merchant_id": merchant.pk, "file": upload("broken_tax_codes.xml")}
    )

    assert response.status_code == 201
    findings = response.json()["created"][0]["findings"]
    assert [f["code"] for f in findings] == [
        "symbol_year_mismatch",
        "tax_code_invalid",
        "tax_code_invalid",
    ]
    assert findings[1]["message_en"].startswith("Tax code '0401234567' is not valid")


def test_the_api_keeps_purchases_to_their_merchant():
    merchant, other = seller(), seller()
    purchases.purchase_import(merchant=merchant, data=fixture("sales_form2.xml"))
    purchase = PurchaseInvoice.objects.get()
    theirs = api_client(other)

    assert theirs.get(API, {"merchant_id": merchant.pk}).status_code == 404
    assert theirs.get(f"{API}/{purchase.pk}", {"merchant_id": merchant.pk}).status_code == 404
    assert theirs.get(f"{API}/{purchase.pk}", {"merchant_id": other.pk}).status_code == 404
    upload_there = theirs.post(
        API, {"merchant_id": merchant.pk, "file": upload("coded_vat_34char.xml")}
    )
    assert upload_there.status_code == 404
    assert PurchaseInvoice.objects.count() == 1
    assert theirs.get(API, {"merchant_id": other.pk}).json()["count"] == 0


def test_it_reports_an_invoice_filed_by_a_concurrent_upload_as_already_there(monkeypatch):
    merchant = seller()
    purchases.purchase_import(merchant=merchant, data=fixture("sales_form2.xml"))
    # The other upload committed between our look-up and our insert: the unique constraint
    # refuses the insert and the row already there is answered.
    real_filter = PurchaseInvoice.objects.filter
    looked = []

    def filter_missing_once(**kwargs):
        looked.append(kwargs)
        return PurchaseInvoice.objects.none() if len(looked) == 1 else real_filter(**kwargs)

    monkeypatch.setattr(PurchaseInvoice.objects, "filter", filter_missing_once)

    outcome = purchases.purchase_import(merchant=merchant, data=fixture("sales_form2.xml"))

    assert (len(outcome.created), len(outcome.existing)) == (0, 1)
    assert len(looked) == 1  # the row came from the IntegrityError path's get()
    assert PurchaseInvoice.objects.count() == 1


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("<TgTTTBSo>503000<", "<TgTTTBSo>9000000000000000000<"),
        ("<TgTTTBSo>503000<", "<TgTTTBSo>503000.0000001<"),
    ],
    ids=["huge", "too-many-decimals"],
)
def test_it_refuses_amounts_it_cannot_store(shop, old, new):
    merchant, client = shop
    content = fixture("sales_form2.xml").decode().replace(old, new).encode()

    response = post_file(client, merchant, "sales_form2.xml", content)

    assert response.status_code == 422
    assert "quá lớn" in response.content.decode()
    assert PurchaseInvoice.objects.count() == 0
