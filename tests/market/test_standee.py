"""Stall standees (bảng QR): one stall's A6 PDF for its trader, a whole market's for staff."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

import pytest
from django.urls import reverse

from core import qr
from market.models import StandeeJob
from market.stalls import standee
from market.stalls.services import standee_job_run
from merchants.models import BankAccount, Membership
from payments import vietqr
from tests.factories import (
    BankAccountFactory,
    MarketFactory,
    MembershipFactory,
    MerchantFactory,
    StallFactory,
    UserFactory,
    staff_reviewer,
)

pytestmark = pytest.mark.django_db

ACCOUNT = "0041000123456"
A6_MEDIA_BOX = rb"/MediaBox\s*\[\s*0\s+0\s+297\.63\d*\s+419\.52\d*\s*\]"


# --- helpers ----------------------------------------------------------------------------------


def _trader_stall(*, role: str = Membership.Role.OWNER, with_account: bool = True, **stall):
    """A stall whose merchant has a member with ``role`` and (by default) a default account."""
    merchant = MerchantFactory(display_name="Cá tươi Cô Lan")
    if with_account:
        # The first stall of a test gets a known account; a second one (another merchant) its own.
        taken = BankAccount.objects.filter(account_number=ACCOUNT).exists()
        BankAccountFactory(merchant=merchant, **({} if taken else {"account_number": ACCOUNT}))
    user = UserFactory()
    MembershipFactory(user=user, merchant=merchant, role=role)
    return user, StallFactory(merchant=merchant, **stall)


def _pdf_objects(pdf: bytes) -> bytes:
    """The PDF with every Flate stream inflated: WeasyPrint packs page objects in object streams."""
    parts = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        try:
            parts.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            continue
    return b"\n".join(parts)


def _page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![A-Za-z])", _pdf_objects(pdf)))


def _pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (apt poppler-utils) is not installed: cannot read the PDF's text")
    path = tmp_path / "standee.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return result.stdout.decode()


@pytest.fixture
def eager_celery():
    """Run tasks in-process even in the test pass that has a real Redis broker."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


def _market_with_stalls(eligible: int, *, without_trader: int = 0, without_account: int = 0):
    market = MarketFactory(name="Chợ Hàn", slug="cho-han")
    for n in range(eligible):
        merchant = MerchantFactory()
        BankAccountFactory(merchant=merchant)
        StallFactory(market=market, code=f"A-{n + 1}", merchant=merchant)
    for n in range(without_trader):
        StallFactory(market=market, code=f"B-{n + 1}")
    for n in range(without_account):
        merchant = MerchantFactory()
        BankAccountFactory(merchant=merchant, is_default=False)
        StallFactory(market=market, code=f"C-{n + 1}", merchant=merchant)
    return market


# --- the stall's PDF --------------------------------------------------------------------------


def test_it_renders_one_a6_page_per_stall():
    _, stall = _trader_stall()

    pdf = standee.render_stall_standee(stall)

    assert pdf.startswith(b"%PDF")
    assert _page_count(pdf) == 1
    assert re.search(A6_MEDIA_BOX, _pdf_objects(pdf))


def test_it_prints_the_stall_code_merchant_and_account(tmp_path):
    _, stall = _trader_stall(code="A-12", market=MarketFactory(name="Chợ Hàn"))

    text = _pdf_text(standee.render_stall_standee(stall), tmp_path)

    assert "A-12" in text
    assert "Cá tươi Cô Lan" in text
    assert "Chợ Hàn".upper() in text
    assert "Quét mã để thanh toán" in text
    assert "Scan with any Vietnamese banking app to pay" in text
    assert "VietQR · NAPAS 247" in text
    assert "Vietcombank" in text
    assert ACCOUNT in text
    assert "NGUYEN VAN SO" in text


def test_it_encodes_a_static_qr_for_the_merchants_default_account(monkeypatch):
    _, stall = _trader_stall()
    BankAccountFactory(
        merchant=stall.merchant, bank_bin="970418", account_number="999888777", is_default=False
    )
    drawn: list[str] = []
    real_qr_png = qr.qr_png
    monkeypatch.setattr(
        standee.qr,
        "qr_png",
        lambda payload, **kwargs: drawn.append(payload) or real_qr_png(payload, **kwargs),
    )

    standee.render_stall_standee(stall)

    assert len(drawn) == 1
    payload = vietqr.parse(drawn[0])
    assert payload.initiation == "static"
    assert (payload.bin, payload.account) == ("970436", ACCOUNT)
    assert payload.amount is None
    assert payload.purpose == ""


# --- the trader's download --------------------------------------------------------------------


@pytest.mark.parametrize("role", [Membership.Role.OWNER, Membership.Role.CASHIER])
def test_it_lets_the_stalls_owner_or_cashier_download_it(client, role):
    user, stall = _trader_stall(role=role)
    client.force_login(user)

    response = client.get(reverse("stall_standee", args=[stall.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert response.content.startswith(b"%PDF")


def test_it_hides_another_merchants_stall(client):
    _, stall = _trader_stall()
    other, _ = _trader_stall()
    client.force_login(other)

    response = client.get(reverse("stall_standee", args=[stall.pk]))

    assert response.status_code == 404


def test_it_sends_anonymous_visitors_to_sign_in(client):
    _, stall = _trader_stall()

    response = client.get(reverse("stall_standee", args=[stall.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_explains_when_the_merchant_has_no_default_account(client):
    user, stall = _trader_stall(with_account=False)
    BankAccountFactory(merchant=stall.merchant, is_default=False)
    client.force_login(user)

    response = client.get(reverse("stall_standee", args=[stall.pk]))

    assert response.status_code == 409
    assert "chưa có tài khoản ngân hàng nhận tiền mặc định" in response.content.decode()
    assert reverse("merchant_detail", args=[stall.merchant.pk]) in response.content.decode()


def test_it_explains_to_staff_when_the_stall_has_no_trader(client):
    stall = StallFactory(code="B-7")
    client.force_login(staff_reviewer())

    response = client.get(reverse("stall_standee", args=[stall.pk]))

    assert response.status_code == 409
    assert "Sạp B-7 chưa có thương nhân" in response.content.decode()


def test_it_links_each_stall_from_the_traders_home(client):
    user, stall = _trader_stall()
    client.force_login(user)

    # A trader ready to sell lands on the keypad; the full home ("Trang chính") lists the stalls.
    response = client.get(reverse("trader_home"))

    assert reverse("stall_standee", args=[stall.pk]) in response.content.decode()
    assert "In bảng QR cho sạp" in response.content.decode()


# --- staff: a whole market as one PDF ---------------------------------------------------------


def test_it_refuses_the_market_job_without_permission(client):
    market = _market_with_stalls(1)
    user, _ = _trader_stall()
    client.force_login(user)
    page = reverse("market_standees", args=[market.slug])

    assert client.get(page).status_code == 403
    assert client.post(page).status_code == 403
    assert not StandeeJob.objects.exists()
    job = StandeeJob.objects.create(market=market)
    assert client.get(reverse("standee_job_status", args=[market.slug, job.pk])).status_code == 403
    assert client.get(reverse("standee_job_pdf", args=[market.slug, job.pk])).status_code == 403


def test_it_links_the_staff_page_from_the_market_list_only_for_staff(client):
    market = _market_with_stalls(1)
    link = reverse("market_standees", args=[market.slug])
    user, _ = _trader_stall()
    client.force_login(user)
    assert link not in client.get(reverse("market_list")).content.decode()

    client.force_login(staff_reviewer())
    assert link in client.get(reverse("market_list")).content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_builds_every_eligible_stall_into_one_pdf(client, eager_celery):
    market = _market_with_stalls(3, without_trader=2, without_account=1)
    client.force_login(staff_reviewer())

    page = client.post(reverse("market_standees", args=[market.slug]), follow=True)

    job = StandeeJob.objects.get()
    assert job.status == StandeeJob.Status.DONE
    assert (job.done, job.total, job.skipped) == (3, 3, 3)
    assert job.started_at and job.finished_at
    pdf_url = reverse("standee_job_pdf", args=[market.slug, job.pk])
    assert pdf_url in page.content.decode()  # eager Celery: the link is there at once
    assert "3/3 sạp" in page.content.decode()
    status = client.get(reverse("standee_job_status", args=[market.slug, job.pk])).json()
    assert status["status"] == "done"
    assert status["finished"] is True
    assert status["pdf_url"] == pdf_url
    assert status["progress_text"] == "3/3 sạp"
    download = client.get(pdf_url)
    assert download.status_code == 200
    pdf = b"".join(download.streaming_content)
    assert pdf.startswith(b"%PDF")
    assert _page_count(pdf) == 3


def test_it_reports_progress_stall_by_stall(monkeypatch):
    market = _market_with_stalls(3)
    job = StandeeJob.objects.create(market=market)
    seen: list[tuple[int, int]] = []
    real_render = standee.render_market_standees

    def render(market, progress=None):
        def spy(done, total):
            progress(done, total)
            current = StandeeJob.objects.get(pk=job.pk)
            seen.append((current.status, current.done, current.total))

        return real_render(market, progress=spy)

    monkeypatch.setattr(standee, "render_market_standees", render)
    standee_job_run(job_id=job.pk)

    assert seen == [("running", 0, 3), ("running", 1, 3), ("running", 2, 3), ("running", 3, 3)]


def test_it_shows_a_failing_render_as_failed(
    client, monkeypatch, django_capture_on_commit_callbacks, eager_celery
):
    market = _market_with_stalls(2)
    client.force_login(staff_reviewer())

    def broken(market, progress=None):
        raise RuntimeError("máy in hết mực")

    monkeypatch.setattr(standee, "render_market_standees", broken)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("market_standees", args=[market.slug]))

    job = StandeeJob.objects.get()
    assert job.status == StandeeJob.Status.FAILED
    assert job.error == "RuntimeError: máy in hết mực"
    assert not job.pdf
    status = client.get(reverse("standee_job_status", args=[market.slug, job.pk])).json()
    assert status["status"] == "failed"
    assert status["finished"] is True
    assert status["error"] == "RuntimeError: máy in hết mực"
    assert status["pdf_url"] is None
    assert (
        "máy in hết mực"
        in client.get(reverse("market_standees", args=[market.slug])).content.decode()
    )
    assert client.get(reverse("standee_job_pdf", args=[market.slug, job.pk])).status_code == 404


def test_it_fails_visibly_when_no_stall_can_have_a_standee():
    market = _market_with_stalls(0, without_trader=2)
    job = StandeeJob.objects.create(market=market)

    standee_job_run(job_id=job.pk)

    job.refresh_from_db()
    assert job.status == StandeeJob.Status.FAILED
    assert "chưa có sạp nào" in job.error
    assert job.skipped == 2


def test_it_runs_a_job_only_once(monkeypatch):
    market = _market_with_stalls(1)
    job = StandeeJob.objects.create(market=market)
    calls = []
    real_render = standee.render_market_standees
    monkeypatch.setattr(
        standee,
        "render_market_standees",
        lambda market, progress=None: calls.append(market) or real_render(market, progress),
    )

    first = standee_job_run(job_id=job.pk)
    second = standee_job_run(job_id=job.pk)

    assert first.status == second.status == StandeeJob.Status.DONE
    assert len(calls) == 1
    assert second.pdf.name == first.pdf.name


def test_it_hides_a_job_behind_another_markets_address(client):
    market = _market_with_stalls(1)
    other = MarketFactory()
    job = StandeeJob.objects.create(market=market)
    client.force_login(staff_reviewer())

    response = client.get(reverse("standee_job_status", args=[other.slug, job.pk]))

    assert response.status_code == 404
