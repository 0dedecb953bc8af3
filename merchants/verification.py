"""One-time codes by SMS: password reset (quên mật khẩu) and staff registering a trader on their
behalf (đăng ký hộ), who confirms by reading out the code sent to their phone.

Codes are six digits, stored only as an HMAC keyed with SECRET_KEY and bound to the purpose and
the phone (a leaked table gives no code, and a 10⁶ space cannot be searched offline without the
key), used once, dead after VERIFICATION_CODE_TTL_MINUTES or VERIFICATION_CODE_MAX_ATTEMPTS
wrong tries. How many may be asked for per number and per client is the pages' business
(core/ratelimits.py, merchants/recovery_views.py).

No account enumeration: asking for a reset code answers the same whether or not the number has
an account, and a wrong, expired, used or never-sent code all get the same message.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.locking import lock_row
from core.phone import normalize_vn_mobile
from core.sms import send_sms_after_commit
from core.text import nfc, parse_digits

from .forms import login_failures_key
from .models import User, VerificationCode

REGISTER_ON_BEHALF = "merchants.register_on_behalf"
CODE_DIGITS = 6
Purpose = VerificationCode.Purpose


def bad_code_error() -> ValidationFailed:
    """The one answer to every code that does not work (wrong, expired, used, never sent)."""
    return ValidationFailed(
        fields={"code": [_("Mã không đúng hoặc đã hết hạn. Kiểm tra tin nhắn hoặc xin mã mới.")]}
    )


def phone_normalized(raw: str, field: str = "phone") -> str:
    try:
        return normalize_vn_mobile(raw or "")
    except ValidationError as exc:
        raise ValidationFailed(fields={field: exc.messages}) from None


def code_hash(*, purpose: str, phone: str, code: str) -> str:
    return salted_hmac(
        "merchants.VerificationCode", f"{purpose}:{phone}:{code}", algorithm="sha256"
    ).hexdigest()


def _code_issue(
    *, purpose: str, phone: str, created_by: User | None = None, payload: dict | None = None
) -> tuple[VerificationCode, str]:
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = timezone.now()
    row = VerificationCode.objects.create(
        purpose=purpose,
        phone=phone,
        code_hash=code_hash(purpose=purpose, phone=phone, code=code),
        expires_at=now + timedelta(minutes=settings.VERIFICATION_CODE_TTL_MINUTES),
        created_at=now,
        created_by=created_by,
        payload=payload or {},
    )
    return row, code


def _code_works(row: VerificationCode | None, code: str) -> bool | None:
    """True: the code is right (the caller marks it used). False: wrong, one try counted.
    None: nothing to try (no code, used, expired, out of tries)."""
    if (
        row is None
        or row.used_at is not None
        or row.expires_at <= timezone.now()
        or row.attempts >= settings.VERIFICATION_CODE_MAX_ATTEMPTS
    ):
        return None
    expected = code_hash(purpose=row.purpose, phone=row.phone, code=code)
    if constant_time_compare(expected, row.code_hash):
        return True
    row.attempts += 1
    row.save(update_fields=["attempts"])
    return False


def _clean_code(raw: str) -> str:
    digits = parse_digits((raw or "").replace(" ", ""))
    if digits is None or len(raw.replace(" ", "")) != CODE_DIGITS:
        raise bad_code_error()
    return f"{digits:0{CODE_DIGITS}d}"


def _minutes() -> int:
    return settings.VERIFICATION_CODE_TTL_MINUTES


# --- password reset ---------------------------------------------------------------------------


def password_reset_request(*, phone: str) -> None:
    """Send a reset code if ``phone`` has an active account; say nothing either way. A new code
    retires the number's earlier ones."""
    normalized = phone_normalized(phone)
    with transaction.atomic():
        user = User.objects.filter(phone=normalized, is_active=True).first()
        if user is None:
            return
        VerificationCode.objects.filter(
            purpose=Purpose.RESET, phone=normalized, used_at__isnull=True
        ).update(expires_at=timezone.now())
        _, code = _code_issue(purpose=Purpose.RESET, phone=normalized)
        with translation.override(settings.LANGUAGE_CODE):
            text = gettext(
                "Chợ Số: mã đặt lại mật khẩu của bạn là %(code)s (hết hạn sau %(minutes)s phút). "
                "Không đưa mã này cho ai."
            ) % {"code": code, "minutes": _minutes()}
        send_sms_after_commit(normalized, text)


def password_reset_confirm(*, phone: str, code: str, password: str) -> User:
    """Set a new password with the code sent to ``phone``; the code is then used up, and the
    number's sign-in lock-out (LOGIN_MAX_FAILURES) is lifted."""
    normalized = phone_normalized(phone)
    code = _clean_code(code)
    works: bool | None = None
    with transaction.atomic(durable=True):
        row = (
            VerificationCode.objects.select_for_update()
            .filter(purpose=Purpose.RESET, phone=normalized, used_at__isnull=True)
            .order_by("-created_at", "-id")
            .first()
        )
        user = User.objects.filter(phone=normalized, is_active=True).first()
        works = _code_works(row, code) if user is not None else None
        if works:
            assert row is not None and user is not None
            try:
                validate_password(password, user=user)
            except ValidationError as exc:
                raise ValidationFailed(fields={"password": exc.messages}) from None
            user.set_password(password)
            user.save(update_fields=["password"])
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            audit_record(actor=user, action="user.password_reset", target=user, reason="sms code")
    if not works or user is None:
        raise bad_code_error()
    cache.delete(login_failures_key(normalized))
    return user


# --- staff register a trader on their behalf ------------------------------------------------


def _require_onboarder(actor: User) -> None:
    if not (actor.is_active and actor.has_perm(REGISTER_ON_BEHALF)):
        raise PermissionDenied(_("Bạn không có quyền đăng ký giúp tiểu thương."))


def onboarding_start(
    *,
    actor: User,
    full_name: str,
    phone: str,
    shop_name: str = "",
    market_id: int | None = None,
    market_name: str = "",
) -> VerificationCode:
    """Send the trader a confirmation code; nothing is created until they confirm it."""
    _require_onboarder(actor)
    errors: dict[str, list[Any]] = {}
    full_name, shop_name = nfc(full_name), nfc(shop_name)
    if not full_name:
        errors["full_name"] = [_("Vui lòng nhập họ và tên.")]
    elif len(full_name) > 120:
        errors["full_name"] = [_("Họ và tên tối đa 120 ký tự.")]
    if len(shop_name) > 80:
        errors["shop_name"] = [_("Tên cửa hàng tối đa 80 ký tự.")]
    try:
        normalized = normalize_vn_mobile(phone or "")
    except ValidationError as exc:
        errors["phone"] = exc.messages
    else:
        if User.objects.filter(phone=normalized).exists():
            errors["phone"] = [
                _("Số này đã có tài khoản. Người dùng có thể bấm “Quên mật khẩu?” để đặt lại.")
            ]
    if errors:
        raise ValidationFailed(fields=errors)
    payload: dict[str, Any] = {"full_name": full_name, "shop_name": shop_name}
    if market_id:
        payload |= {"market_id": market_id, "market_name": market_name}
    with transaction.atomic():
        row, code = _code_issue(
            purpose=Purpose.CONFIRM_PHONE, phone=normalized, created_by=actor, payload=payload
        )
        audit_record(actor=actor, action="user.register_on_behalf.start", target=row)
        with translation.override(settings.LANGUAGE_CODE):
            text = gettext(
                "Chợ Số: %(staff)s đang đăng ký tài khoản giúp bạn. Mã xác nhận: %(code)s "
                "(hết hạn sau %(minutes)s phút). Chỉ đọc mã cho cán bộ nếu bạn đồng ý."
            ) % {"staff": actor.full_name, "code": code, "minutes": _minutes()}
        send_sms_after_commit(normalized, text)
    return row


def registration_for(*, actor: User, registration_id: int) -> VerificationCode:
    """A registration this staff member started (another's is 404, as every foreign id)."""
    _require_onboarder(actor)
    row = VerificationCode.objects.filter(
        pk=registration_id, purpose=Purpose.CONFIRM_PHONE, created_by=actor
    ).first()
    if row is None:
        raise NotFound(_("Không tìm thấy lượt đăng ký này."))
    return row


def onboarding_confirm(*, actor: User, registration_id: int, code: str) -> User:
    """The trader read out the right code: create their account (no password yet) and send
    them the way to set one. Replaying a confirmed registration answers its account."""
    registration_for(actor=actor, registration_id=registration_id)
    code = _clean_code(code)
    works: bool | None = None
    user: User | None = None
    with transaction.atomic(durable=True):
        row = lock_row(VerificationCode, registration_id)
        if row.user_id is not None:
            return User.objects.get(pk=row.user_id)
        works = _code_works(row, code)
        if works:
            payload = row.payload
            try:
                with transaction.atomic():
                    user = User.objects.create_user(
                        row.phone, password=None, full_name=payload.get("full_name", "")
                    )
            except IntegrityError:
                raise Conflict(
                    _("Số này vừa có tài khoản. Người dùng hãy bấm “Quên mật khẩu?”."),
                    code="phone_taken",
                ) from None
            row.used_at = timezone.now()
            row.user = user
            row.save(update_fields=["used_at", "user"])
            audit_record(
                actor=actor,
                action="user.register_on_behalf",
                target=user,
                reason="sms code read out to staff",
                data={"registration": row.pk, **payload},
            )
            with translation.override(settings.LANGUAGE_CODE):
                text = gettext(
                    "Chợ Số: tài khoản của bạn đã được tạo. Để đặt mật khẩu, mở "
                    "%(url)s/quen-mat-khau/ và nhập số điện thoại này."
                ) % {"url": settings.EINVOICE_PUBLIC_URL.rstrip("/")}
            send_sms_after_commit(row.phone, text, reference=f"onboarded-{row.pk}")
    if not works or user is None:
        raise bad_code_error()
    return user


def verification_codes_sweep() -> int:
    """Forget codes (and unconfirmed registrations) a day after they expired; confirmed
    registrations stay, with their audit rows."""
    cutoff = timezone.now() - timedelta(days=1)
    deleted, _ = VerificationCode.objects.filter(expires_at__lt=cutoff, user__isnull=True).delete()
    return deleted
