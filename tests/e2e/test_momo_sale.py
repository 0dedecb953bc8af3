"""End to end in Chromium at 360×740, with MoMo as the e-wallet provider: the trader keys
85.000 đ and taps the e-wallet button; the QR on the screen is MoMo's pay page (the sandbox's);
the shopper approves there; MoMo's signed IPN reaches the live server; the trader's screen turns
green and says the amount aloud; the owner later gives part back through MoMo's refund API."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from payments.models import LedgerEntry, PaymentIntent
from sandboxes.momo import MomoSandbox
from tests.e2e.test_collect_payment import _read_qr, start_wallet_sale_of_85_000
from tests.e2e.test_trader_onboarding import Steps

pytestmark = pytest.mark.e2e


@pytest.fixture
def momo(live_server, settings):
    sandbox = MomoSandbox(
        partner_code="MOMOE2E", access_key="e2e-access", secret_key="e2e-secret", backoff_base=0.05
    ).start()
    settings.EWALLET_PROVIDER = "momo"
    settings.MOMO_ENDPOINT = sandbox.url
    settings.MOMO_PARTNER_CODE = "MOMOE2E"
    settings.MOMO_ACCESS_KEY = "e2e-access"
    settings.MOMO_SECRET_KEY = "e2e-secret"
    settings.MOMO_IPN_URL = f"{live_server.url}/api/v1/payments/webhooks/momo"
    yield sandbox
    sandbox.stop()


@pytest.mark.django_db(transaction=True)
def test_a_momo_sale_is_approved_by_the_shopper_spoken_and_refunded(
    chromium_available, live_server, momo, page: Page, context, artifacts_dir
):
    merchant = start_wallet_sale_of_85_000(page, live_server.url)
    steps = Steps(page, artifacts_dir, "e2e-momo")

    expect(page.locator("#amount")).to_have_text("85.000 đ")
    steps.shot("ma-qr-momo")
    pay_url = _read_qr(page.locator("#qr").screenshot())
    intent = PaymentIntent.objects.get(merchant=merchant)
    assert pay_url == intent.qr_payload == f"{momo.url}/pay/{intent.provider_payment_id}"

    # The shopper's phone opens MoMo's pay page from the QR and approves.
    shopper = context.new_page()
    shopper.goto(pay_url)
    expect(shopper.get_by_text("85.000 đ")).to_be_visible()
    shopper.get_by_role("button", name="Xác nhận thanh toán").click()
    expect(shopper.get_by_text("Đã thanh toán")).to_be_visible()
    shopper.close()

    expect(page.locator("#collect.paid")).to_be_visible(timeout=10_000)
    page.wait_for_function("window.__spoken.length > 0")
    assert page.evaluate("window.__spoken")[0]["text"] == "Đã nhận tám mươi lăm nghìn đồng"
    steps.shot("da-nhan-momo")
    assert momo.wait_idle(timeout=10)
    assert LedgerEntry.objects.filter(intent=intent).count() == 1

    # Later the owner gives 20.000 đ back: through MoMo's refund API.
    page.reload()
    page.get_by_label("Số tiền hoàn (đồng)").fill("20000")
    page.get_by_label("Lý do").fill("Hết mì gà, đổi món rẻ hơn")
    page.get_by_role("button", name="Hoàn tiền qua ví điện tử").click()
    expect(page.get_by_text("Đã hoàn tiền cho khách.")).to_be_visible()
    expect(page.locator("#refunds").get_by_text("Đã hoàn")).to_be_visible()
    paid = momo.orders[intent.provider_payment_id or ""]
    assert [r["amount"] for r in paid.refunds] == [20_000]
