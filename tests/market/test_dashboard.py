"""Staff dashboard per market: active stalls, cashless share by count and value, 8-week trend,
stalls needing help, CSV, API; only with the explicit permission."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth.models import Permission

from market.figures import dashboard
from market.sales import orders
from market.sales.orders import LineInput
from merchants.models import User
from tests.factories import (
    MarketFactory,
    StallFactory,
    UserFactory,
    banknotify_deliver,
    banknotify_payload,
    member_of,
    merchant_with_account,
    owner_of,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db(transaction=True)

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2026, 3, 18)  # Wednesday


def at(day: date, hour: int = 9):
    return time_machine.travel(datetime(day.year, day.month, day.day, hour, tzinfo=VN), tick=False)


def dashboard_staff() -> User:
    user = UserFactory(is_staff=True, full_name="Ngô Minh Quân")
    user.user_permissions.add(
        Permission.objects.get(codename="view_market_dashboard", content_type__app_label="market")
    )
    return User.objects.get(pk=user.pk)


def sell(merchant, stall, amount, method="cash", client=None):
    order = orders.order_create(
        merchant=merchant,
        lines=[LineInput(unit_price=amount)],
        payment_method=method,
        actor=None,
        stall=stall,
    )
    if method == "bank_qr":
        intent = order.intent
        payload = banknotify_payload(
            account=intent.bank_account, amount=amount, description=intent.reference_code
        )
        assert banknotify_deliver(client, payload).status_code == 200
    return order


@pytest.fixture
def market(client):
    """Chợ Thử: A-1 sells by QR and cash, A-2 only cash, A-3 only walk-in transfers to its
    static QR, A-4 sold last month only (inactive), A-5 has no trader.
      A-1: 16/03 QR 100.000, cash 50.000; 18/03 QR 30.000
      A-2: 17/03 cash 20.000, cash 20.000
      A-3: 18/03 walk-in transfer 60.000 (no code)
      A-4: 20/02 cash 10.000 (outside 7 days, inside 30)
    Another market's stall sells by QR too (must not count)."""
    market = MarketFactory(name="Chợ Thử Hòa Khánh", slug="cho-thu-hk")
    traders = {}
    for code, name, phone in [
        ("A-1", "Lê Thị Một", "0905111111"),
        ("A-2", "Phạm Văn Hai", "0905222222"),
        ("A-3", "Võ Thị Ba", "0905333333"),
        ("A-4", "Đặng Văn Bốn", "0905444444"),
    ]:
        merchant = merchant_with_account(display_name=f"Sạp {name}")
        owner_of(merchant, full_name=name, phone=f"+84{phone[1:]}")
        traders[code] = (merchant, StallFactory(market=market, code=code, merchant=merchant))
    StallFactory(market=market, code="A-5")
    elsewhere = merchant_with_account()
    other_stall = StallFactory(merchant=elsewhere)
    (m1, s1), (m2, s2), (m3, _s3), (m4, s4) = traders.values()
    with at(date(2026, 2, 20)):
        sell(m4, s4, 10_000)
    with at(date(2026, 3, 16)):
        sell(m1, s1, 100_000, "bank_qr", client)
        sell(m1, s1, 50_000)
    with at(date(2026, 3, 17)):
        sell(m2, s2, 20_000)
        sell(m2, s2, 20_000)
        sell(elsewhere, other_stall, 999_000, "bank_qr", client)
    with at(TODAY):
        sell(m1, s1, 30_000, "bank_qr", client)
        account = m3.bank_accounts.get()
        payload = banknotify_payload(account=account, amount=60_000, description="tien rau")
        assert banknotify_deliver(client, payload).status_code == 200
    return market


def test_it_counts_active_stalls_and_the_cashless_share(market):
    with at(TODAY, 18):
        data = dashboard.market_dashboard(market=market, days=30)

    assert (data.stall_count, data.occupied_count, data.active_count) == (5, 4, 3)
    # Sales: A-1 3 (2 cashless), A-2 2 (cash), A-3 1 walk-in (cashless), A-4 1 (cash) = 7.
    assert (data.sales_count, data.cashless_count) == (7, 3)
    # Value: 100 + 50 + 30 + 20 + 20 + 60 + 10 = 290 thousand; cashless 100 + 30 + 60 = 190.
    assert (data.sales_total, data.cashless_total) == (290_000, 190_000)
    assert str(data.share_by_count) == "42.9"  # 3 / 7 = 42,857…
    assert str(data.share_by_value) == "65.5"  # 190 / 290 = 65,517…
    stalls = {s.code: s for s in data.stalls}
    assert (stalls["A-3"].walk_in_count, stalls["A-3"].cashless_total) == (1, 60_000)
    assert stalls["A-4"].active is False
    # Who needs help: occupied stalls without a cashless sale in the period, with contacts.
    assert [(s.code, s.trader_name, s.trader_phone) for s in data.needs_help] == [
        ("A-2", "Phạm Văn Hai", "0905 222 222"),
        ("A-4", "Đặng Văn Bốn", "0905 444 444"),
    ]


def test_it_narrows_to_the_last_7_days(market):
    with at(TODAY, 18):
        data = dashboard.market_dashboard(market=market, days=7)
    assert (data.sales_count, data.sales_total) == (6, 280_000)
    assert [s.code for s in data.needs_help] == ["A-2", "A-4"]
    assert data.first == date(2026, 3, 12)


def test_it_gives_an_8_week_trend(market):
    with at(TODAY, 18):
        weeks = dashboard.market_dashboard(market=market).weeks
    assert len(weeks) == 8
    assert (weeks[0].week_start, weeks[-1].week_start) == (date(2026, 1, 26), date(2026, 3, 16))
    this_week = weeks[-1]
    assert (this_week.count, this_week.cashless_count) == (6, 3)
    assert (this_week.total, this_week.cashless_total) == (280_000, 190_000)
    feb16 = next(w for w in weeks if w.week_start == date(2026, 2, 16))
    assert (feb16.count, feb16.cashless_count, feb16.share_by_value) == (1, 0, 0)
    assert sum(w.count for w in weeks) == 7


def test_the_page_shows_the_dashboard_to_staff_with_the_permission(client, market):
    client.force_login(dashboard_staff())
    with at(TODAY, 18):
        response = client.get("/quan-ly/cho/cho-thu-hk/bao-cao/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "65,5%" in html and "42,9%" in html
    assert "Phạm Văn Hai" in html and "0905 222 222" in html
    assert 'role="img"' in html and html.count("<rect ") == 8
    assert "Tỷ lệ không dùng tiền mặt theo tuần (8 tuần)" in html


def test_the_csv_lists_every_stall(client, market):
    client.force_login(dashboard_staff())
    with at(TODAY, 18):
        response = client.get("/quan-ly/cho/cho-thu-hk/bao-cao.csv?ngay=30")
    assert response.status_code == 200
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["Báo cáo chợ", "Chợ Thử Hòa Khánh", "17/02/2026", "18/03/2026"]
    by_code = {r[0]: r for r in rows[2:]}
    assert set(by_code) == {"A-1", "A-2", "A-3", "A-4"}
    assert by_code["A-1"][4:9] == ["3", "2", "180000", "130000", "72,2"]
    assert by_code["A-2"][2:4] == ["Phạm Văn Hai", "0905 222 222"]
    assert by_code["A-4"][-1] == "Không"


def test_the_api_gives_the_dashboard(client, market):
    client.force_login(dashboard_staff())
    with at(TODAY, 18):
        data = client.get("/api/v1/reports/markets/cho-thu-hk/dashboard?days=30").json()
    assert (data["active_count"], data["sales_total"], data["cashless_total"]) == (
        3,
        290_000,
        190_000,
    )
    assert data["share_by_value"] == "65.5"
    assert data["needs_help"] == ["A-2", "A-4"]
    assert len(data["weeks"]) == 8


@pytest.mark.parametrize(
    "who",
    [
        staff_reviewer,  # staff with another permission only
        lambda: UserFactory(is_staff=True),
        lambda: owner_of(merchant_with_account()),
    ],
)
def test_without_the_permission_it_is_forbidden(client, market, who):
    client.force_login(who())
    assert client.get("/quan-ly/cho/cho-thu-hk/bao-cao/").status_code == 403
    assert client.get("/quan-ly/cho/cho-thu-hk/bao-cao.csv").status_code == 403
    assert client.get("/api/v1/reports/markets/cho-thu-hk/dashboard").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, market):
    response = client.get("/quan-ly/cho/cho-thu-hk/bao-cao/")
    assert response.status_code == 302
    assert "/dang-nhap/" in response["Location"]
    assert client.get("/api/v1/reports/markets/cho-thu-hk/dashboard").status_code == 401


def test_bad_input_is_a_clear_4xx(client, market):
    client.force_login(dashboard_staff())
    response = client.get("/quan-ly/cho/cho-thu-hk/bao-cao/?ngay=abc")
    assert response.status_code == 422
    assert "Chọn 7, 30 hoặc 90 ngày" in response.content.decode()
    assert client.get("/quan-ly/cho/khong-co/bao-cao/").status_code == 404
    assert client.get("/api/v1/reports/markets/cho-thu-hk/dashboard?days=5").status_code == 422


def test_the_demo_staff_user_can_see_the_dashboard():
    from django.core.management import call_command

    call_command("demo", stdout=io.StringIO())
    staff = User.objects.get(phone="+84905000001")
    assert staff.has_perm("market.view_market_dashboard")
    member = member_of(merchant_with_account())
    assert not member.has_perm("market.view_market_dashboard")
