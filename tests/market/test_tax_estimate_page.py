"""Household-tax estimate page: revenue by month from paid sales net of refunds, the sector's
rates and the threshold from the rules table, quarters, sources; the revenue book (CSV, PDF)."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from market.figures import tax_figures
from market.figures.tax_rules import RULES_2026_1, public_source
from market.sales import orders
from market.sales.orders import LineInput
from merchants.models import Merchant
from tests.factories import api_key_for, member_of, merchant_with_account

pytestmark = pytest.mark.django_db(transaction=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
M = 1_000_000


def at(month: int, day: int = 10, hour: int = 9, year: int = 2026):
    return time_machine.travel(datetime(year, month, day, hour, tzinfo=VN), tick=False)


def sell(merchant, amount: int, method: str = "cash", name: str = "Gạo ST25"):
    return orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=amount, name=name)],
        payment_method=method,
        actor=None,
    )


@pytest.fixture
def trader():
    return merchant_with_account(
        display_name="Gạo Bà Năm", sector=Merchant.Sector.DISTRIBUTION, kind="household"
    )


@pytest.fixture
def owner(trader):
    return member_of(trader)


@pytest.fixture
def year_of_rice(trader, owner):
    """A goods trader (distribution): 200 million đồng in each of January to April 2026 = 800
    million by mid-April; plus a 10-million sale in January refunded in full in February
    (it counts nothing), and a sale in December 2025 (another year)."""
    with at(12, year=2025):
        sell(trader, 50 * M)
    for month in (1, 2, 3, 4):
        with at(month):
            sell(trader, 120 * M)
            sell(trader, 80 * M, name="Nếp cái hoa vàng")
    with at(1, day=20):
        returned = sell(trader, 10 * M)
    with at(2, day=3):
        orders.order_refund(order_id=returned.pk, amount=10 * M, reason="Gạo ẩm", actor=owner)


def test_it_estimates_a_goods_trader_with_800_million_by_hand(trader, year_of_rice):
    rates = RULES_2026_1.sectors["distribution"]
    vat, pit = rates.vat_rate.value / 100, rates.pit_rate.value / 100  # 1 %, 0,5 %
    threshold = RULES_2026_1.exemption_threshold.value  # 500 million
    assert (vat, pit, threshold) == (Decimal("0.01"), Decimal("0.005"), 500 * M)
    assert RULES_2026_1.vat_deducts_threshold.value is False  # VAT on all revenue once over
    assert RULES_2026_1.pit_deducts_threshold.value is True  # PIT on revenue above 500 million

    with at(4, day=15):
        page = tax_figures.tax_estimate(merchant=trader)
    est = page.estimate
    assert page.revenue_by_month == [200 * M] * 4
    assert est.revenue_ytd == 800 * M
    # Over the threshold from March (cumulative 600 million > 500 million).
    assert (est.threshold_crossed, est.threshold_crossed_month) == (True, 3)
    # Year to date: VAT 800m × 1 % = 8.000.000; PIT (800m − 500m) × 0,5 % = 1.500.000.
    assert est.vat_ytd == int(800 * M * vat) == 8_000_000
    assert est.pit_ytd == int((800 * M - threshold) * pit) == 1_500_000
    # Q1 (Jan–Mar, cumulative 600m): VAT 6.000.000, PIT (600m − 500m) × 0,5 % = 500.000.
    # Q2 so far (April, cumulative 800m): VAT 8.000.000 − 6.000.000, PIT 1.500.000 − 500.000.
    q1, q2, q3, q4 = est.quarters
    assert (q1.revenue, q1.vat, q1.pit) == (600 * M, int(600 * M * vat), int(100 * M * pit))
    assert (q1.vat, q1.pit) == (6_000_000, 500_000)
    assert (q2.revenue, q2.vat, q2.pit) == (200 * M, 2_000_000, 1_000_000)
    assert (q3.revenue, q4.revenue) == (0, 0)
    assert q1.vat + q2.vat == est.vat_ytd
    # The whole year at the same pace: 200m × 12 = 2,4 billion.
    assert est.projected_revenue == 2_400 * M
    assert est.projected_vat == int(2_400 * M * vat) == 24_000_000
    assert est.projected_pit == int((2_400 * M - threshold) * pit) == 9_500_000


def test_it_owes_nothing_under_the_threshold(trader, owner):
    with at(1):
        sell(trader, 499 * M)
    with at(2):
        sell(trader, 1 * M)
    with at(2, day=20):
        page = tax_figures.tax_estimate(merchant=trader)
    assert page.revenue_by_month == [499 * M, 1 * M]
    assert page.estimate.revenue_ytd == 500 * M  # exactly the threshold: still exempt
    assert (page.estimate.vat_ytd, page.estimate.pit_ytd) == (0, 0)


def test_the_page_shows_the_estimate_its_rules_and_their_sources(
    client, trader, owner, year_of_rice
):
    client.force_login(owner)
    with at(4, day=15):
        response = client.get(f"/cua-hang/{trader.pk}/thue/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "ƯỚC TÍNH" in html
    assert "800.000.000 đ" in html
    assert "500.000.000 đ" in html
    assert "8.000.000 đ" in html and "1.500.000 đ" in html
    assert "Đã vượt ngưỡng từ tháng 3." in html
    assert "1%" in html and "0,5%" in html
    # The rule set version and every rule's source and confidence come from the table.
    assert "<b>2026.1</b>" in html
    rates = RULES_2026_1.sectors["distribution"]
    # The sources as traders read them: the laws, without the research notes' file names.
    for rule in (RULES_2026_1.exemption_threshold, rates.vat_rate, rates.pit_rate):
        assert public_source(rule.source) in html
    assert public_source(RULES_2026_1.vat_deducts_threshold.source) in html
    assert html.count('class="conf conf-') >= 10
    # Only the trader's sector is listed.
    assert public_source(RULES_2026_1.sectors["services"].vat_rate.source) not in html


def test_an_enterprise_sees_that_the_estimate_is_for_households(client):
    company = merchant_with_account(kind=Merchant.Kind.ENTERPRISE)
    owner = member_of(company)
    with at(1):
        sell(company, 400 * M)
        sell(company, 200 * M)
    client.force_login(owner)
    with at(1, day=20):
        html = client.get(f"/cua-hang/{company.pk}/thue/").content.decode()
        api = client.get(f"/api/v1/reports/merchants/{company.pk}/tax-estimate").json()
    assert "Ước tính này dành cho hộ kinh doanh" in html
    assert "600.000.000 đ" in html
    assert "Ước tính theo quý" not in html
    assert (api["applies"], api["vat_ytd"], api["revenue_ytd"]) == (False, None, 600 * M)
    assert "hộ kinh doanh" in api["note"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?nam=abc", "Năm không hợp lệ"),
        ("?nam=2025", "thuế khoán"),
        ("?nam=2031", "Năm chưa tới"),
    ],
)
def test_a_bad_year_is_a_clear_4xx(client, trader, owner, query, message):
    client.force_login(owner)
    with at(4):
        response = client.get(f"/cua-hang/{trader.pk}/thue/{query}")
    assert 400 <= response.status_code < 500
    assert message in response.content.decode()


def test_the_api_gives_the_estimate_with_its_sources(client, trader, year_of_rice):
    auth = {"Authorization": f"Bearer {api_key_for(trader)}"}
    with at(4, day=15):
        data = client.get(
            f"/api/v1/reports/merchants/{trader.pk}/tax-estimate", headers=auth
        ).json()
    assert data["is_estimate"] is True
    assert "ƯỚC TÍNH" in data["label"]
    assert (data["rule_set_version"], data["threshold"]) == ("2026.1", 500 * M)
    assert (data["vat_rate"], data["pit_rate"]) == ("1", "0.5")
    assert (data["vat_ytd"], data["pit_ytd"]) == (8_000_000, 1_500_000)
    assert [q["vat"] for q in data["quarters"]] == [6_000_000, 2_000_000, 0, 0]
    rules = {r["name"]: r for r in data["rules"]}
    assert rules["exemption_threshold"]["confidence"] == "[V]"
    assert rules["vat_deducts_threshold"]["confidence"] == "[U]"
    assert rules["sectors.distribution.vat_rate"]["source"].startswith("Thông tư 40/2021/TT-BTC")
    bad = client.get(f"/api/v1/reports/merchants/{trader.pk}/tax-estimate?year=2025", headers=auth)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "no_rules_for_year"


# --- revenue book ------------------------------------------------------------------------------


def test_the_revenue_book_csv_lists_each_sale_with_refunds_and_totals(
    client, trader, owner, year_of_rice
):
    client.force_login(owner)
    with at(4, day=15):
        response = client.get(
            f"/cua-hang/{trader.pk}/thue/so-doanh-thu.csv?tu=2026-01-01&den=2026-01-31"
        )
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert 'filename="so-doanh-thu-20260101-20260131.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][0] == "Sổ doanh thu"
    sales = rows[4:-1]
    assert [(r[0], r[3], r[4], r[5], r[6], r[7]) for r in sales] == [
        ("10/01/2026", "Tiền mặt", "Gạo ST25 × 1", str(120 * M), "0", str(120 * M)),
        ("10/01/2026", "Tiền mặt", "Nếp cái hoa vàng × 1", str(80 * M), "0", str(80 * M)),
        ("20/01/2026", "Tiền mặt", "Gạo ST25 × 1", str(10 * M), str(10 * M), "0"),
    ]
    assert rows[-1] == ["Tổng cộng", "", "3", "", "", str(210 * M), str(10 * M), str(200 * M)]


def test_the_revenue_book_pdf_is_a_pdf(client, trader, owner):
    with at(1):
        sell(trader, 45_000, name="Bánh tráng Đại Lộc")
    client.force_login(owner)
    with at(1, day=20):
        response = client.get(f"/cua-hang/{trader.pk}/thue/so-doanh-thu.pdf?tu=01/01/2026")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?tu=2026-13-01", "Ngày không hợp lệ"),
        ("?tu=hôm-qua", "Ngày không hợp lệ"),
        ("?tu=2026-03-01&den=2026-02-01", "Ngày bắt đầu phải trước ngày kết thúc"),
        ("?tu=2024-01-01&den=2026-01-01", "tối đa 366 ngày"),
    ],
)
def test_the_revenue_book_refuses_bad_dates_with_a_message(client, trader, owner, query, message):
    client.force_login(owner)
    for ext in ("csv", "pdf"):
        response = client.get(f"/cua-hang/{trader.pk}/thue/so-doanh-thu.{ext}{query}")
        assert response.status_code == 422
        assert message in response.content.decode()


def test_tax_pages_are_for_the_owner_only(client, trader):
    urls = [
        f"/cua-hang/{trader.pk}/thue/",
        f"/cua-hang/{trader.pk}/thue/so-doanh-thu.csv",
        f"/cua-hang/{trader.pk}/thue/so-doanh-thu.pdf",
        f"/api/v1/reports/merchants/{trader.pk}/tax-estimate",
    ]
    client.force_login(member_of(trader, role="cashier"))
    for url in urls:
        assert client.get(url).status_code == 403, url
    client.force_login(member_of(merchant_with_account()))
    for url in urls:
        assert client.get(url).status_code == 404, url
