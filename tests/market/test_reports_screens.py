"""The figures pages at 360×740 in Chromium: takings, daily close (preview, confirm, detail,
history), tax estimate and the staff dashboard. Screenshots go to test-artifacts/reports-*.png."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import Page, expect

from market.sales import orders
from market.sales.orders import LineInput
from tests import factories

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _login(page: Page, base: str, phone: str) -> None:
    page.goto(f"{base}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill(phone)
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()


def _sell(merchant, stall, lines, method="cash"):
    return orders.order_create(
        merchant=merchant, lines=lines, payment_method=method, actor=None, stall=stall
    )


def _pay(client, order):
    intent = order.intent
    payload = factories.banknotify_payload(
        account=intent.bank_account, amount=intent.amount, description=intent.reference_code
    )
    assert factories.banknotify_deliver(client, payload).status_code == 200


@pytest.fixture
def stall_month(client):
    """A fish stall with 40 days of sales, a refund and a stranger's transfer today."""
    market = factories.MarketFactory(name="Chợ Cồn", slug="cho-con")
    merchant = factories.merchant_with_account(display_name="Cá tươi Bà Lan")
    owner = factories.owner_of(merchant, phone="+84905123456", full_name="Trần Thị Lan")
    stall = factories.StallFactory(market=market, code="C-12", merchant=merchant)
    fish = factories.ProductFactory(merchant=merchant, name="Cá thu", unit="kg", price=180_000)
    squid = factories.ProductFactory(merchant=merchant, name="Mực ống", unit="kg", price=260_000)
    greens = factories.ProductFactory(
        merchant=merchant, name="Rau muống", unit="bó", price=10_000, sold_by_weight=False
    )
    now = timezone.now().replace(second=0, microsecond=0)
    for back in range(40, 0, -1):
        with time_machine.travel(now - timedelta(days=back, hours=3), tick=False):
            k = back % 5 + 1
            _pay(
                client,
                _sell(
                    merchant,
                    stall,
                    [LineInput(product_id=fish.pk, quantity=Decimal(k) / 2)],
                    "bank_qr",
                ),
            )
            _sell(merchant, stall, [LineInput(product_id=greens.pk, quantity=Decimal(k))])
            if back % 3 == 0:
                _sell(merchant, stall, [LineInput(product_id=squid.pk, quantity=Decimal("0.8"))])
    # Earlier today in Da Nang whatever the hour the test runs (at 00:39 "two hours ago" would be
    # yesterday's business day).
    day_start = timezone.localtime(now).replace(hour=0, minute=0)
    with time_machine.travel(day_start + (now - day_start) / 2, tick=False):
        qr = _sell(
            merchant,
            stall,
            [
                LineInput(product_id=fish.pk, quantity=Decimal("0.35")),
                LineInput(product_id=greens.pk, quantity=Decimal(2)),
            ],
            "bank_qr",
        )
        _pay(client, qr)
        _sell(merchant, stall, [LineInput(product_id=greens.pk, quantity=Decimal(5))])
        line = qr.lines.get(name="Rau muống")
        orders.order_refund(
            order_id=qr.pk, amount=None, line_id=line.pk, reason="Rau héo", actor=owner
        )
        payload = factories.banknotify_payload(
            account=merchant.bank_accounts.get(),
            amount=50_000,
            description="chuyen tien ca",
            counter_name="LÊ VĂN KHÁCH",
        )
        assert factories.banknotify_deliver(client, payload).status_code == 200
    # Neighbours: one only takes cash (needs help).
    neighbour = factories.merchant_with_account(display_name="Rau Cô Ba")
    factories.owner_of(neighbour, phone="+84905777888", full_name="Phạm Thị Ba")
    n_stall = factories.StallFactory(market=market, code="C-13", merchant=neighbour)
    _sell(neighbour, n_stall, [LineInput(unit_price=35_000)])
    return merchant


def test_the_figures_pages_at_360(
    page: Page, live_server, stall_month, artifacts_dir, chromium_available
):
    base = live_server.url
    merchant = stall_month
    _login(page, base, "0905123456")

    page.goto(f"{base}/cua-hang/{merchant.pk}/doanh-thu/")
    expect(page.locator("h1")).to_have_text("Doanh thu")
    page.screenshot(path=str(artifacts_dir / "reports-takings.png"), full_page=True)

    page.goto(f"{base}/cua-hang/{merchant.pk}/chot-so/")
    expect(page.locator("main")).to_contain_text("LÊ VĂN KHÁCH")
    page.screenshot(path=str(artifacts_dir / "reports-close-preview.png"), full_page=True)
    page.get_by_label("Tiền mặt đếm được (đ)").fill("abc")
    page.get_by_role("button", name="Chốt sổ", exact=True).click()
    expect(page.locator(".error")).to_contain_text("Nhập số tiền mặt đếm được")
    page.screenshot(path=str(artifacts_dir / "reports-close-error.png"), full_page=False)
    page.get_by_label("Tiền mặt đếm được (đ)").fill("48.000")
    page.get_by_role("button", name="Chốt sổ", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("Đã chốt sổ")
    page.screenshot(path=str(artifacts_dir / "reports-close-detail.png"), full_page=True)
    page.goto(f"{base}/cua-hang/{merchant.pk}/chot-so/")
    expect(page.locator("main")).to_contain_text("Hôm nay đã chốt sổ")
    page.screenshot(path=str(artifacts_dir / "reports-close-done.png"), full_page=False)
    page.goto(f"{base}/cua-hang/{merchant.pk}/chot-so/lich-su/")
    page.screenshot(path=str(artifacts_dir / "reports-close-history.png"), full_page=True)

    page.goto(f"{base}/cua-hang/{merchant.pk}/thue/")
    expect(page.locator("main")).to_contain_text("ƯỚC TÍNH")
    page.screenshot(path=str(artifacts_dir / "reports-tax.png"), full_page=True)
    with page.expect_download() as download:
        page.get_by_role("button", name="Tải PDF").click()
    download.value.save_as(artifacts_dir / "reports-revenue-book.pdf")
    assert (artifacts_dir / "reports-revenue-book.pdf").read_bytes().startswith(b"%PDF")


def test_the_dashboard_at_360(
    page: Page, live_server, stall_month, artifacts_dir, chromium_available
):
    staff = factories.UserFactory(phone="+84905000009", is_staff=True, full_name="Ngô Minh Quân")
    staff.user_permissions.add(
        Permission.objects.get(codename="view_market_dashboard", content_type__app_label="market")
    )
    base = live_server.url
    _login(page, base, "0905000009")
    page.goto(f"{base}/quan-ly/cho/cho-con/bao-cao/")
    expect(page.locator("#needs-help")).to_contain_text("Phạm Thị Ba")
    page.screenshot(path=str(artifacts_dir / "reports-dashboard.png"), full_page=True)
