"""End to end in Chromium: the Content-Security-Policy blocks nothing of ours. The 360° viewer
(Pannellum) opens, a bank account's "Xóa" still asks first, the API docs (Swagger UI) and the
admin run; the browser reports no policy violation on any of them."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from tests import factories
from tests.e2e.test_pos_sale import _login
from tests.virtual_expo.conftest import approve, booth_input, make_curator, make_exhibition
from virtual_expo import services
from virtual_expo.demo import panorama_jpeg

pytestmark = pytest.mark.e2e

# Every violation the page sees, reported by the browser itself.
RECORD_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


def _violations(page: Page) -> list[str]:
    return page.evaluate("() => window.__csp || []")


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 360, "height": 740}, "locale": "vi-VN"}


@pytest.fixture
def watched(page: Page) -> Page:
    page.add_init_script(RECORD_VIOLATIONS)
    return page


@pytest.mark.django_db(transaction=True)
def test_the_policy_blocks_nothing_of_ours(chromium_available, live_server, watched: Page) -> None:
    page = watched
    base = live_server.url

    # A published booth with a panorama: the viewer loads on tap and draws.
    curator = make_curator()
    exhibition = make_exhibition(curator)
    potter = factories.merchant_with_account(display_name="Gốm Thanh Hà")
    owner = factories.member_of(potter, phone="+84905111099")
    product = factories.ProductFactory(merchant=potter, name="Bình gốm", sold_by_weight=False)
    booth = services.booth_apply(
        actor=owner,
        merchant=potter,
        exhibition=exhibition,
        data=booth_input(
            exhibition,
            [product],
            panorama=SimpleUploadedFile("pano.jpg", panorama_jpeg(1024), "image/jpeg"),
        ),
        submit=True,
    )
    approve(curator, booth)
    response = page.goto(f"{base}/hoi-cho/{exhibition.slug}/gian/{booth.pk}/")
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page.get_by_role("button", name="Xem 360°").click()
    expect(page.locator("#pano canvas")).to_be_visible(timeout=10_000)
    expect(page.locator("#pano .pnlm-load-box")).to_be_hidden(timeout=10_000)
    assert _violations(page) == []

    # The owner's "Xóa" on a bank account asks before it removes.
    _login(page, base, "0905 111 099")
    page.goto(f"{base}/cua-hang/{potter.pk}/")
    accounts = page.locator("#bank-accounts")
    expect(accounts.get_by_role("button", name="Xóa")).to_have_count(1)
    page.once("dialog", lambda dialog: dialog.dismiss())
    accounts.get_by_role("button", name="Xóa").click()
    page.wait_for_timeout(300)
    expect(accounts.get_by_role("button", name="Xóa")).to_have_count(1)  # kept
    asked = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    accounts.get_by_role("button", name="Xóa").click()
    expect(accounts.get_by_role("button", name="Xóa")).to_have_count(0)
    assert asked == ["Xóa tài khoản này?"]
    assert _violations(page) == []

    # The API docs (Swagger UI from django-ninja's static files).
    page.goto(f"{base}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Chợ Số API")
    expect(page.locator(".opblock").first).to_be_visible()
    assert _violations(page) == []

    # The admin, as a superuser: index, a list with its actions, a form with its widgets.
    factories.UserFactory(phone="+84905999999", is_staff=True, is_superuser=True)
    page.goto(f"{base}/admin/login/")
    page.locator("#id_username").fill("+84905999999")
    page.locator("#id_password").fill(factories.PASSWORD)
    page.locator("input[type=submit]").click()
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(f"{base}/admin/merchants/merchant/")
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_contain_text("1")
    page.goto(f"{base}/admin/merchants/merchant/{potter.pk}/change/")
    expect(page.locator("#content-main form")).to_be_visible()
    assert _violations(page) == []

    # And the policy is really enforced (and watched): an injected inline script does not run.
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.__ran = true"; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.__ran === true") is False
    assert any(v.startswith("script-src") for v in _violations(page)), _violations(page)
