"""Inquiries (hỏi hàng) as leads: a visitor asks without an account, the exhibitor answers from
the phone and follows the lead (new → answered → negotiating → won / lost), staff moderate
inquiries reported as abuse."""

from __future__ import annotations

import hashlib
import logging
from datetime import date
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import live, ratelimits
from core.audit import audit_record
from core.clientip import rate_key_for
from core.errors import Conflict, NotFound, ValidationFailed
from core.locking import lock_row
from core.text import nfc
from merchants.models import User

from .models import Booth, Inquiry, InquiryReply
from .services import nfc_text, require_curator

log = logging.getLogger(__name__)

I = Inquiry.Status  # noqa: E741 - short like S elsewhere

INQUIRY_RATE_GROUP = "expo:inquiry"

# Moves the exhibitor may make by hand (answering moves new → answered by itself).
STATUS_MOVES = {
    I.NEW: {I.ANSWERED, I.NEGOTIATING, I.WON, I.LOST},
    I.ANSWERED: {I.NEGOTIATING, I.WON, I.LOST},
    I.NEGOTIATING: {I.ANSWERED, I.WON, I.LOST},
    I.WON: {I.NEGOTIATING},
    I.LOST: {I.NEGOTIATING},
}


def hash_ip(ip: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:ip:{ip}".encode()).hexdigest()


def _rate_key(ip_hash: str) -> str:
    return f"ip:{ip_hash}"


def _clean_phone(raw: str) -> str:
    text = (raw or "").strip()
    if not text:
        return ""
    try:
        number = phonenumbers.parse(text, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(
            fields={"phone": [_("Số điện thoại chưa đúng (ví dụ 0905 123 456 hoặc +65 ...).")]}
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def inquiry_submit(
    *,
    booth: Booth,
    name: str,
    message: str,
    phone: str = "",
    email: str = "",
    company: str = "",
    quantity: str = "",
    product_id: int | None = None,
    ip: str = "",
    honeypot: str = "",
    language: str = "vi",
) -> Inquiry | None:
    """A visitor's inquiry to a visible booth. Returns None (and stores nothing) when the
    honeypot field was filled: a bot is told it worked, and learns nothing."""
    ip_hash = hash_ip(ip or "unknown")
    # At most RATE_EXPO_INQUIRY inquiries from one client (a spam burst, not a busy buyer);
    # `ip` comes from core.clientip, which believes X-Forwarded-For only from our own proxies.
    key = _rate_key(hash_ip(rate_key_for(ip)))
    verdict = ratelimits.peek(None, group=INQUIRY_RATE_GROUP, rate="RATE_EXPO_INQUIRY", key=key)
    if verdict.limited:
        raise ratelimits.RateLimitExceeded(
            _("Bạn đã gửi nhiều câu hỏi liên tiếp, vui lòng thử lại sau ít phút."),
            retry_after=verdict.retry_after,
        )
    if honeypot.strip():
        log.info("expo inquiry honeypot filled for booth %s", booth.pk)
        return None
    errors: dict[str, list[Any]] = {}
    name, company = nfc(name)[:120], nfc(company)[:160]
    message, quantity = nfc_text(message), nfc(quantity)[:60]
    email = (email or "").strip()[:254]
    if not name:
        errors["name"] = [_("Vui lòng cho biết tên của bạn.")]
    if not message:
        errors["message"] = [_("Vui lòng nhập nội dung cần hỏi.")]
    elif len(message) > 2000:
        errors["message"] = [_("Nội dung tối đa 2.000 ký tự.")]
    try:
        phone = _clean_phone(phone)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        phone = ""
    if email:
        try:
            validate_email(email)
        except Exception:
            errors["email"] = [_("Email chưa đúng.")]
    if not phone and not email and "phone" not in errors and "email" not in errors:
        errors["phone"] = [_("Cần số điện thoại hoặc email để gian hàng trả lời bạn.")]
    if product_id is not None and not booth.products.filter(product_id=product_id).exists():
        product_id = None
    if errors:
        raise ValidationFailed(fields=errors)
    published = Booth.objects.filter(pk=booth.pk, is_published=True).exists()
    if not (published and booth.exhibition.is_visitable()):
        raise NotFound(_("Không tìm thấy gian hàng."))
    with transaction.atomic():
        inquiry = Inquiry.objects.create(
            booth=booth,
            exhibition_id=booth.exhibition_id,
            name=name,
            company=company,
            phone=phone,
            email=email,
            message=message,
            quantity=quantity,
            product_id=product_id,
            ip_hash=ip_hash,
            language=(language or "vi")[:8],
        )
        audit_record(actor=None, actor_label="visitor", action="inquiry.create", target=inquiry)
        transaction.on_commit(lambda: _announce(inquiry))
    ratelimits.hit(None, group=INQUIRY_RATE_GROUP, rate="RATE_EXPO_INQUIRY", key=key)
    return inquiry


def _announce(inquiry: Inquiry) -> None:
    """Live on the exhibitor's phone, through the merchant's event channel (core.live)."""
    try:
        live.publish(
            inquiry.booth.merchant_id,
            {
                "type": "expo_inquiry",
                "amount": 0,  # the channel's SSE view reads it for payments
                "inquiry_id": inquiry.pk,
                "booth_id": inquiry.booth_id,
                "name": inquiry.name,
                "company": inquiry.company,
                "message": inquiry.message[:140],
                "quantity": inquiry.quantity,
                "at": inquiry.created_at.isoformat(),
            },
        )
    except Exception:  # the inquiry is safe in the database; the list shows it on reload
        log.exception("could not publish inquiry %s", inquiry.pk)


def inquiry_answer(
    *, actor: User | None, inquiry: Inquiry, text: str, actor_label: str = ""
) -> InquiryReply:
    """The exhibitor answers; the first answer sets the response time and the status."""
    text = nfc_text(text)
    if not text:
        raise ValidationFailed(fields={"text": [_("Vui lòng nhập câu trả lời.")]})
    if len(text) > 4000:
        raise ValidationFailed(fields={"text": [_("Câu trả lời tối đa 4.000 ký tự.")]})
    with transaction.atomic():
        locked = lock_row(Inquiry, inquiry.pk)
        if locked.moderation == Inquiry.Moderation.HIDDEN:
            raise Conflict(_("Câu hỏi này đã bị ẩn vì spam."), code="inquiry_hidden")
        reply = InquiryReply.objects.create(
            inquiry=locked,
            text=text,
            author=actor,
            author_label=actor.full_name if actor else actor_label,
        )
        if locked.first_answered_at is None:
            locked.first_answered_at = reply.created_at
        if locked.status == I.NEW:
            locked.status = I.ANSWERED
        locked.save()
        audit_record(actor=actor, actor_label=actor_label, action="inquiry.answer", target=locked)
    inquiry.refresh_from_db()
    return reply


def inquiry_update(
    *,
    actor: User | None,
    inquiry: Inquiry,
    status: str | None = None,
    actor_label: str = "",
    follow_up_on: date | str | None = "",
) -> Inquiry:
    """Move a lead along and/or set its follow-up reminder ("" leaves it, None clears it)."""
    with transaction.atomic():
        locked = lock_row(Inquiry, inquiry.pk)
        data: dict[str, Any] = {}
        if status is not None and status != locked.status:
            if status not in I.values:
                raise ValidationFailed(fields={"status": [_("Trạng thái không hợp lệ.")]})
            if status not in STATUS_MOVES[I(locked.status)]:
                raise Conflict(
                    _("Không chuyển được từ “%(a)s” sang “%(b)s”.")
                    % {"a": locked.get_status_display(), "b": I(status).label},
                    code="bad_status_move",
                )
            data["status"] = [locked.status, status]
            locked.status = status
        if follow_up_on != "":
            if follow_up_on is not None and not isinstance(follow_up_on, date):
                raise ValidationFailed(fields={"follow_up_on": [_("Ngày chưa đúng.")]})
            if follow_up_on is not None and follow_up_on < timezone.localdate():
                raise ValidationFailed(
                    fields={"follow_up_on": [_("Ngày hẹn phải từ hôm nay trở đi.")]}
                )
            data["follow_up_on"] = str(follow_up_on or "")
            locked.follow_up_on = follow_up_on
        locked.save()
        if data:
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action="inquiry.update",
                target=locked,
                data=data,
            )
    return locked


def inquiry_report(*, actor: User, inquiry: Inquiry, reason: str) -> Inquiry:
    """The exhibitor reports an inquiry as spam or abuse: staff decide."""
    reason = nfc(reason)[:255] or str(_("Spam / lạm dụng"))
    with transaction.atomic():
        locked = lock_row(Inquiry, inquiry.pk)
        if locked.moderation == Inquiry.Moderation.VISIBLE:
            locked.moderation = Inquiry.Moderation.REPORTED
            locked.report_reason = reason
            locked.save()
            audit_record(actor=actor, action="inquiry.report", target=locked, reason=reason)
    return locked


def inquiry_moderate(*, actor: User, inquiry_id: int, hide: bool, reason: str = "") -> Inquiry:
    """Staff hide a reported inquiry (spam, abuse) or restore it."""
    require_curator(actor)
    with transaction.atomic():
        try:
            locked = lock_row(Inquiry, inquiry_id)
        except Inquiry.DoesNotExist:
            raise NotFound(_("Không tìm thấy câu hỏi.")) from None
        target = Inquiry.Moderation.HIDDEN if hide else Inquiry.Moderation.VISIBLE
        if locked.moderation != target:
            locked.moderation = target
            locked.save()
            audit_record(
                actor=actor,
                action="inquiry.hide" if hide else "inquiry.restore",
                target=locked,
                reason=nfc(reason),
            )
    return locked
