"""Inquiries without an account: validated, honeypot, rate limit per IP, live to the exhibitor;
leads move new → answered → negotiating → won/lost with a follow-up date; moderation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core import live
from core.errors import Conflict, PermissionDenied, RateLimited, ValidationFailed
from virtual_expo import leads
from virtual_expo.models import Inquiry

pytestmark = pytest.mark.django_db


def _ask(booth, **kwargs):
    data = {
        "name": "Anh Khoa",
        "phone": "0905 222 333",
        "message": "Giá sỉ 200 bộ?",
        "ip": "1.2.3.4",
    }
    data.update(kwargs)
    return leads.inquiry_submit(booth=booth, **data)


def test_an_inquiry_arrives_live_on_the_exhibitors_channel(
    live_booth, django_capture_on_commit_callbacks
):
    listener = live.listen(live_booth.merchant_id, timeout=1)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            inquiry = _ask(live_booth, company="Khách sạn Biển Xanh", quantity="200 bộ")
        event = next(e for e in listener if e is not None)
    finally:
        listener.close()
    assert event["type"] == "expo_inquiry" and event["inquiry_id"] == inquiry.pk
    assert event["company"] == "Khách sạn Biển Xanh"
    assert inquiry.phone == "+84905222333" and inquiry.status == Inquiry.Status.NEW


def test_it_needs_a_name_a_message_and_a_way_to_answer(live_booth):
    with pytest.raises(ValidationFailed) as exc:
        _ask(live_booth, name=" ", message="", phone="")
    assert {"name", "message", "phone"} <= set(exc.value.fields)
    with pytest.raises(ValidationFailed):
        _ask(live_booth, phone="12", email="khong-phai-email")


def test_a_bot_filling_the_honeypot_is_told_nothing_and_nothing_is_stored(live_booth):
    assert _ask(live_booth, honeypot="http://spam.example") is None
    assert not Inquiry.objects.exists()


def test_one_ip_is_rate_limited(live_booth, settings):
    settings.RATE_EXPO_INQUIRY = "3/15m"
    for _ in range(3):
        _ask(live_booth)
    with pytest.raises(RateLimited) as exc:
        _ask(live_booth)
    assert exc.value.status == 429 and exc.value.retry_after > 0  # type: ignore[attr-defined]
    _ask(live_booth, ip="5.6.7.8")  # another visitor is not affected


def test_an_unpublished_booth_takes_no_inquiry(curator, live_booth):
    from virtual_expo import curation

    curation.booth_publish(actor=curator, booth_id=live_booth.pk, published=False)
    with pytest.raises(Exception) as exc:
        _ask(live_booth)
    assert getattr(exc.value, "status", None) == 404


def test_the_exhibitor_answers_and_follows_the_lead(live_booth, potter_owner):
    inquiry = _ask(live_booth)
    leads.inquiry_answer(actor=potter_owner, inquiry=inquiry, text="Dạ, 300.000 đ/bộ ạ.")
    inquiry.refresh_from_db()
    assert inquiry.status == Inquiry.Status.ANSWERED and inquiry.first_answered_at is not None
    first = inquiry.first_answered_at
    tomorrow = timezone.localdate() + timedelta(days=1)
    leads.inquiry_update(
        actor=potter_owner, inquiry=inquiry, status="negotiating", follow_up_on=tomorrow
    )
    leads.inquiry_answer(actor=potter_owner, inquiry=inquiry, text="Gửi anh mẫu.")
    inquiry = leads.inquiry_update(actor=potter_owner, inquiry=inquiry, status="won")
    assert (inquiry.status, inquiry.follow_up_on, inquiry.first_answered_at) == (
        "won",
        tomorrow,
        first,
    )
    with pytest.raises(Conflict):
        leads.inquiry_update(actor=potter_owner, inquiry=inquiry, status="new")
    with pytest.raises(ValidationFailed):
        leads.inquiry_update(
            actor=potter_owner,
            inquiry=inquiry,
            follow_up_on=timezone.localdate() - timedelta(days=1),
        )


def test_reported_spam_is_hidden_by_curators_only(curator, live_booth, potter_owner):
    inquiry = _ask(live_booth, message="Mua backlink giá rẻ")
    leads.inquiry_report(actor=potter_owner, inquiry=inquiry, reason="Quảng cáo")
    with pytest.raises(PermissionDenied):
        leads.inquiry_moderate(actor=potter_owner, inquiry_id=inquiry.pk, hide=True)
    leads.inquiry_moderate(actor=curator, inquiry_id=inquiry.pk, hide=True)
    inquiry.refresh_from_db()
    assert inquiry.moderation == Inquiry.Moderation.HIDDEN
    from virtual_expo import reports

    assert reports.exhibition_report(exhibition=live_booth.exhibition).total.inquiries == 0
