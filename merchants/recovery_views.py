"""Pages that work by a code sent by SMS: "Quên mật khẩu?" (reset a forgotten password) and
staff registering a trader on their behalf (đăng ký hộ). Services: merchants/verification.py.

Limits (core/ratelimits.py), each answered 429 with Retry-After and the form: codes asked for
per client (RATE_SMS_CODE_PER_IP) and per number whether or not it has an account
(RATE_SMS_CODE_PER_PHONE), codes tried per client (RATE_SMS_CODE_CHECK_PER_IP); each code also
allows VERIFICATION_CODE_MAX_ATTEMPTS wrong tries.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import ratelimits
from core.errors import ApplicationError
from core.forms import apply_error
from core.phone import display_vn_phone, normalize_vn_mobile
from merchants.auth import AuthedRequest

from . import extensions, verification
from .recovery_forms import OnboardingCodeForm, OnboardingForm, ResetConfirmForm, ResetRequestForm

SESSION_PHONE = "password_reset_phone"
PERMISSION = verification.REGISTER_ON_BEHALF


def _phone_or_empty(raw: str) -> str:
    try:
        return normalize_vn_mobile(raw or "")
    except Exception:
        return ""


def _code_request_limited(request: HttpRequest, phone: str) -> ratelimits.Verdict:
    """Count one code asked for, per client and (when it is a number) per number."""
    verdict = ratelimits.hit(request, group="sms-code:ip", rate="RATE_SMS_CODE_PER_IP")
    if verdict.limited or not phone:
        return verdict
    return ratelimits.hit(
        request,
        group="sms-code:phone",
        rate="RATE_SMS_CODE_PER_PHONE",
        key=lambda group, req: f"phone:{phone}",
    )


def _too_many(
    request: HttpRequest, template: str, context: dict, verdict: ratelimits.Verdict, text: str
) -> HttpResponse:
    form = context["form"]
    form.add_error(
        None,
        _("%(text)s Vui lòng thử lại sau %(wait)s.")
        % {"text": text, "wait": ratelimits.wait_text(verdict.retry_after)},
    )
    response = render(request, template, context, status=429)
    response["Retry-After"] = str(verdict.retry_after)
    return response


# --- password reset ---------------------------------------------------------------------------


def password_reset_request(request: HttpRequest) -> HttpResponse:
    form = ResetRequestForm(request.POST or None)
    template = "merchants/password_reset_request.html"
    if request.method == "POST" and form.is_valid():
        phone = _phone_or_empty(form.cleaned_data["phone"])
        verdict = _code_request_limited(request, phone)
        if verdict.limited:
            text = _("Bạn đã xin mã quá nhiều lần.")
            return _too_many(request, template, {"form": form}, verdict, text)
        try:
            verification.password_reset_request(phone=form.cleaned_data["phone"])
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            request.session[SESSION_PHONE] = phone
            return redirect("password_reset_code")
    status = 422 if form.errors else 200
    return render(request, template, {"form": form}, status=status)


def password_reset_code(request: HttpRequest) -> HttpResponse:
    phone = request.session.get(SESSION_PHONE, "")
    initial = {"phone": display_vn_phone(phone)} if phone else {}
    form = ResetConfirmForm(request.POST or None, initial=initial)
    template = "merchants/password_reset_code.html"
    context = {"form": form, "phone": phone, "minutes": settings.VERIFICATION_CODE_TTL_MINUTES}
    if request.method == "POST" and form.is_valid():
        verdict = ratelimits.hit(
            request, group="sms-code-check:ip", rate="RATE_SMS_CODE_CHECK_PER_IP"
        )
        if verdict.limited:
            text = _("Có quá nhiều lần nhập mã từ mạng của bạn.")
            return _too_many(request, template, context, verdict, text)
        data = form.cleaned_data
        try:
            user = verification.password_reset_confirm(
                phone=data["phone"], code=data["code"], password=data["password"]
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            request.session.pop(SESSION_PHONE, None)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Đã đặt mật khẩu mới. Bạn đã đăng nhập."))
            return redirect("home")
    status = 422 if form.errors else 200
    return render(request, template, context, status=status)


# --- register a trader on their behalf (staff) -----------------------------------------------


def _markets():
    return extensions.markets()  # market's, registered at start-up (merchants/extensions.py)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def onboarding_start(request: AuthedRequest) -> HttpResponse:
    markets = _markets()
    form = OnboardingForm(request.POST or None, markets=markets)
    template = "merchants/onboarding_start.html"
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        verdict = _code_request_limited(request, _phone_or_empty(data["phone"]))
        if verdict.limited:
            text = _("Đã gửi quá nhiều mã.")
            return _too_many(request, template, {"form": form}, verdict, text)
        market = next((m for m in markets if m.pk == data.get("market")), None)
        try:
            registration = verification.onboarding_start(
                actor=request.user,
                full_name=data["full_name"],
                phone=data["phone"],
                shop_name=data.get("shop_name") or "",
                market_id=market.pk if market else None,
                market_name=market.name if market else "",
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            return redirect("onboarding_confirm", registration_id=registration.pk)
    status = 422 if form.errors else 200
    return render(request, template, {"form": form}, status=status)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def onboarding_confirm(request: AuthedRequest, registration_id: int) -> HttpResponse:
    registration = verification.registration_for(
        actor=request.user, registration_id=registration_id
    )
    if registration.user_id is not None:
        return redirect("onboarding_done", registration_id=registration.pk)
    form = OnboardingCodeForm(request.POST or None)
    template = "merchants/onboarding_confirm.html"
    context = {"form": form, "registration": registration}
    if request.method == "POST" and form.is_valid():
        verdict = ratelimits.hit(
            request, group="sms-code-check:ip", rate="RATE_SMS_CODE_CHECK_PER_IP"
        )
        if verdict.limited:
            text = _("Có quá nhiều lần nhập mã từ mạng của bạn.")
            return _too_many(request, template, context, verdict, text)
        try:
            verification.onboarding_confirm(
                actor=request.user, registration_id=registration.pk, code=form.cleaned_data["code"]
            )
        except ApplicationError as exc:
            apply_error(form, exc)
        else:
            return redirect("onboarding_done", registration_id=registration.pk)
    status = 422 if form.errors else 200
    return render(request, template, context, status=status)


@login_required
@permission_required(PERMISSION, raise_exception=True)
def onboarding_done(request: AuthedRequest, registration_id: int) -> HttpResponse:
    registration = verification.registration_for(
        actor=request.user, registration_id=registration_id
    )
    if registration.user_id is None:
        return redirect("onboarding_confirm", registration_id=registration.pk)
    return render(request, "merchants/onboarding_done.html", {"registration": registration})
