"""End to end on the phone (360 × 740, Vietnamese): a stall owner connects their own SePay
bank-alert account, copies the webhook URL and the key (shown once), presses "Gửi thử", and the
page shows the sandbox SePay's test notification arriving over the live channel."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from payments.models import BankAlertConnection, BankNotification
from sandboxes.sepay import SePaySandbox
from tests import factories
from tests.e2e.a11y import assert_accessible
from tests.e2e.test_csp import RECORD_VIOLATIONS
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


@pytest.fixture
def sepay(settings):
    sandbox = SePaySandbox("e2e-sepay-token", interval=0.05).start()
    settings.SEPAY_API_URL = sandbox.url
    settings.SANDBOX_LINKS = True
    yield sandbox
    sandbox.stop()


@pytest.mark.django_db(transaction=True)
def test_a_trader_connects_sepay_and_sees_the_test_notification_arrive(
    chromium_available, live_server, sepay, page: Page, artifacts_dir
):
    merchant = factories.MerchantFactory(display_name="Hải sản Hùng Thọ Quang")
    factories.BankAccountFactory(
        merchant=merchant, bank_bin="970422", account_number="0905111002", holder_name="TRAN HUNG"
    )
    factories.owner_of(merchant, phone="+84905111002", full_name="Trần Văn Hùng")
    steps = Steps(page, artifacts_dir, "e2e-bao-co")
    page.add_init_script(RECORD_VIOLATIONS)  # the strict CSP must block nothing of ours

    page.goto(f"{live_server.url}/dang-nhap/")
    page.get_by_label("Số điện thoại").fill("0905 111 002")
    page.get_by_label("Mật khẩu").fill(factories.PASSWORD)
    page.get_by_role("button", name="Đăng nhập").click()
    page.goto(f"{live_server.url}/cua-hang/{merchant.pk}/")
    page.get_by_role("link", name="Báo có ngân hàng").click()

    expect(page.get_by_role("heading", name="Kết nối tài khoản báo có")).to_be_visible()
    page.get_by_label("Nhà cung cấp").select_option("sepay")
    page.get_by_label("Cách xác thực").select_option("apikey")
    steps.shot("ket-noi")
    assert_accessible(page)
    page.get_by_role("button", name="Kết nối").click()

    # The key, once; the webhook URL carries the connection's id.
    connection = BankAlertConnection.objects.get(merchant=merchant)
    expect(page.get_by_text("Sao chép khóa này ngay: nó chỉ hiện một lần.")).to_be_visible()
    expect(page.locator("#webhook-url")).to_have_text(
        f"{live_server.url}/api/v1/payments/webhooks/sepay/{connection.pk}"
    )
    secret = page.locator("#webhook-secret").inner_text().strip()
    assert len(secret) >= 24 and secret not in connection.secret_encrypted
    page.get_by_role("button", name="Chép địa chỉ webhook").click()
    expect(page.locator("#copied")).to_contain_text("Đã chép")
    steps.shot("khoa-mot-lan")
    assert_accessible(page)
    page.get_by_role("link", name="Tiếp tục: gửi thử").click()

    # Shown once: the connection's own page has the URL but never the key again.
    expect(page.locator("#webhook-url")).to_be_visible()
    assert secret not in page.content()
    expect(page.locator("#test-status")).to_have_text("Chưa gửi thử.")
    # SePay's test arrives a moment after the press, while the page is listening.
    sepay.set_knobs({"delay_ms": 1500})
    page.get_by_role("button", name="Gửi thử").click()

    expect(page.locator("#test-status")).to_have_text("Đang chờ thông báo thử…")
    expect(page.locator("#test-status")).to_have_text(
        re.compile(r"^✓ Đã nhận thông báo thử lúc \d{1,2}:\d{2}:\d{2}"), timeout=10_000
    )
    expect(page.locator("#test.done")).to_be_visible()
    steps.shot("da-nhan-thu")
    assert_accessible(page)
    assert page.evaluate("() => window.__csp") == []
    connection.refresh_from_db()
    assert connection.last_test_at is not None
    assert not BankNotification.objects.exists()  # a test is never money
    (attempt,) = sepay.attempts()
    assert (attempt["status"], attempt["ok"]) == (200, True)
