"""Writes for markets, stalls and stall applications."""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core import uploads
from core.audit import audit_record
from core.errors import ApplicationError, Conflict, PermissionDenied, ValidationFailed
from core.locking import lock_row
from core.sms import send_sms_after_commit
from core.text import nfc, search_key
from merchants.models import Membership, Merchant, User

from ..models import GoodsCategory, Market, Stall, StallApplication, StandeeJob
from . import selectors, standee
from .selectors import STANDEE_PERMISSION

logger = logging.getLogger(__name__)

STALL_CODE = re.compile(r"^[A-Z]{1,3}-?\d{1,4}$")
REVIEW_PERMISSION = "market.review_stallapplication"
DOCUMENT_MAX_SIDE = 2000  # an application's photo of an ID card or licence stays legible


def normalize_stall_code(raw: str) -> str:
    """'a12', 'A 12', 'a-12' -> 'A-12'. Raises ValidationFailed when it is not zone + number."""
    text = re.sub(r"[\s_]", "", (raw or "").upper())
    if not STALL_CODE.match(text):
        raise ValidationFailed(fields={"code": [_("Mã sạp gồm chữ khu và số, ví dụ A-12.")]})
    letters = re.match(r"[A-Z]+", text).group(0)  # type: ignore[union-attr]
    return f"{letters}-{text[len(letters) :].lstrip('-')}"


def _require_perm(user: User, perm: str) -> None:
    if not user.has_perm(perm):
        raise PermissionDenied(_("Bạn không có quyền của cán bộ quản lý chợ cho thao tác này."))


def market_create(*, actor: User, name: str, district: str, address: str) -> Market:
    _require_perm(actor, "market.add_market")
    name = nfc(name)
    if not name:
        raise ValidationFailed(fields={"name": [_("Vui lòng nhập tên chợ.")]})
    try:
        with transaction.atomic():
            market = Market.objects.create(
                name=name,
                slug=slugify(search_key(name)),
                district=nfc(district),
                address=nfc(address),
            )
            audit_record(actor=actor, action="market.create", target=market)
    except IntegrityError:
        raise ValidationFailed(fields={"name": [_("Chợ này đã có.")]}) from None
    return market


def stall_create(*, actor: User, market: Market, code: str, goods_category: str) -> Stall:
    _require_perm(actor, "market.add_stall")
    code = normalize_stall_code(code)
    if goods_category not in GoodsCategory.values:
        raise ValidationFailed(fields={"goods_category": [_("Chọn ngành hàng trong danh sách.")]})
    try:
        with transaction.atomic():
            stall = Stall.objects.create(market=market, code=code, goods_category=goods_category)
            audit_record(actor=actor, action="stall.create", target=stall)
    except IntegrityError:
        raise ValidationFailed(fields={"code": [_("Chợ đã có sạp mang mã này.")]}) from None
    return stall


def stall_application_submit(
    *,
    actor: User | None,
    merchant: Merchant,
    market: Market,
    goods_category: str,
    requested_code: str = "",
    note: str = "",
    document: UploadedFile | None = None,
    actor_label: str = "",
) -> StallApplication:
    """A trader asks for a stall: a given code, or any free one ("assign me one").

    actor is None for an API key; actor_label then names the key in the audit row.
    """
    errors: dict[str, list[Any]] = {}
    code = ""
    stall = None
    if requested_code.strip():
        try:
            code = normalize_stall_code(requested_code)
        except ValidationFailed as exc:
            errors["requested_code"] = exc.fields["code"]
        else:
            stall = Stall.objects.filter(market=market, code=code).first()
            if stall is None:
                errors["requested_code"] = [_("Chợ này không có sạp mang mã đó.")]
            elif stall.merchant_id is not None and stall.merchant_id != merchant.pk:
                errors["requested_code"] = [_("Sạp này đã có người kinh doanh.")]
            elif stall.merchant_id == merchant.pk:
                errors["requested_code"] = [_("Sạp này đã là của bạn.")]
    if not goods_category and stall is not None:
        goods_category = stall.goods_category  # the stall named already sells a kind of goods
    if goods_category not in GoodsCategory.values:
        errors["goods_category"] = [
            _("Chọn ngành hàng trong danh sách.")
            if goods_category or code
            else _("Chọn ngành hàng, hoặc ghi mã sạp bạn đang bán.")
        ]
    if not market.is_active:
        errors["market"] = [_("Chợ này hiện không nhận đăng ký.")]
    if errors:
        raise ValidationFailed(fields=errors)
    # Checked and re-encoded (no EXIF: the GPS position of the trader's home) before any write.
    stored_document = uploads.clean_image(
        document,
        field="document",
        box=(DOCUMENT_MAX_SIDE, DOCUMENT_MAX_SIDE),
        fmt="JPEG",
        quality=85,
    )
    try:
        with uploads.saving() as files, transaction.atomic():
            application = StallApplication(
                merchant=merchant,
                market=market,
                requested_code=code,
                goods_category=goods_category,
                note=nfc(note),
                created_by=actor,
            )
            if stored_document is not None:
                files.save(application.document, stored_document.content)
            application.save()
            audit_record(
                actor=actor,
                action="stall_application.submit",
                target=application,
                actor_label=actor_label,
            )
    except IntegrityError:
        raise Conflict(
            _("Bạn đã có một đơn đang chờ duyệt ở chợ này."), code="application_pending"
        ) from None
    return application


def _free_stall(application: StallApplication, stall_code: str) -> Stall:
    """The stall to give: the one staff named, else the one requested, else a free one."""
    code = stall_code or application.requested_code
    stalls = Stall.objects.select_for_update().filter(market=application.market)
    if code:
        stall = stalls.filter(code=normalize_stall_code(code)).first()
        if stall is None:
            raise ValidationFailed(fields={"stall_code": [_("Chợ này không có sạp mang mã đó.")]})
        if stall.merchant_id is not None:
            raise ValidationFailed(
                fields={"stall_code": [_("Sạp %(code)s đã có người kinh doanh.") % {"code": code}]}
            )
        return stall
    free = stalls.filter(merchant__isnull=True)
    stall = (
        free.filter(goods_category=application.goods_category).order_by("code").first()
        or free.order_by("code").first()
    )
    if stall is None:
        raise ValidationFailed(
            fields={"stall_code": [_("Chợ không còn sạp trống; hãy từ chối hoặc thêm sạp.")]}
        )
    return stall


def stall_application_approve(
    *, actor: User, application_id: int, stall_code: str = "", reason: str = ""
) -> StallApplication:
    _require_perm(actor, REVIEW_PERMISSION)
    with transaction.atomic(durable=True):
        application = lock_row(StallApplication, application_id)
        if application.status == StallApplication.Status.APPROVED:
            return application  # already done: replaying the decision changes nothing
        if application.status != StallApplication.Status.PENDING:
            raise Conflict(_("Đơn này đã được xử lý."), code="application_decided")
        stall = _free_stall(application, stall_code)
        stall.merchant = application.merchant
        stall.save(update_fields=["merchant"])
        application.status = StallApplication.Status.APPROVED
        application.stall = stall
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.decision_reason = nfc(reason)
        application.save()
        audit_record(
            actor=actor,
            action="stall_application.approve",
            target=application,
            reason=application.decision_reason,
            data={"stall": stall.code},
        )
        _decision_sms(application)
    return application


def stall_application_reject(*, actor: User, application_id: int, reason: str) -> StallApplication:
    _require_perm(actor, REVIEW_PERMISSION)
    reason = nfc(reason)
    if not reason:
        raise ValidationFailed(
            fields={"reason": [_("Vui lòng ghi lý do từ chối để thương nhân biết cần làm gì.")]}
        )
    with transaction.atomic(durable=True):
        application = lock_row(StallApplication, application_id)
        if application.status == StallApplication.Status.REJECTED:
            return application
        if application.status != StallApplication.Status.PENDING:
            raise Conflict(_("Đơn này đã được xử lý."), code="application_decided")
        application.status = StallApplication.Status.REJECTED
        application.decided_by = actor
        application.decided_at = timezone.now()
        application.decision_reason = reason
        application.save()
        audit_record(
            actor=actor, action="stall_application.reject", target=application, reason=reason
        )
        _decision_sms(application)
    return application


def _trader_phone(application: StallApplication) -> str:
    """Who hears of a decision: the member who applied, else the merchant's first owner."""
    members = Membership.objects.filter(merchant_id=application.merchant_id).select_related("user")
    applicant = (
        members.filter(user_id=application.created_by_id).first()
        if application.created_by_id
        else None
    )
    owner = members.filter(role=Membership.Role.OWNER).order_by("id").first()
    chosen = applicant or owner
    return chosen.user.phone if chosen else ""


def _decision_sms(application: StallApplication) -> None:
    """Tell the trader by SMS once the decision commits. Called only by the step that made the
    decision (a replay returns before it), and the reference makes the provider send it once
    even if the task runs twice."""
    phone = _trader_phone(application)
    if not phone:
        return
    values = {
        "market": application.market.name,
        "merchant": application.merchant.display_name,
        "stall": application.stall.code if application.stall else "",
        "reason": application.decision_reason,
    }
    with translation.override("vi"):
        if application.status == StallApplication.Status.APPROVED:
            text = gettext(
                "Chợ Số: Sạp %(stall)s ở %(market)s đã được duyệt cho %(merchant)s. "
                "Mở Chợ Số để in bảng QR cho sạp."
            )
        else:
            text = gettext(
                "Chợ Số: Đơn đăng ký sạp ở %(market)s của %(merchant)s chưa được duyệt. "
                "Lý do: %(reason)s"
            )
    text = (text % values)[:600]
    send_sms_after_commit(phone, text, reference=f"stall-decision-{application.pk}")


def stall_application_notice_dismiss(*, actor: User, application_id: int) -> StallApplication:
    """Hide a decision's notice on the trader's home (any member of the merchant may)."""
    application = selectors.decided_application_of_user(user=actor, application_id=application_id)
    if application.notice_dismissed_at is None:
        StallApplication.objects.filter(pk=application.pk, notice_dismissed_at=None).update(
            notice_dismissed_at=timezone.now()
        )
    return application


# --- stall standees (bảng QR) ---------------------------------------------------------------


def standee_job_start(*, actor: User, market: Market) -> StandeeJob:
    """Queue a job that prints the standees of every stall of the market as one PDF.

    The task is sent after commit; with eager Celery (the embedded default) the job has finished
    when the outermost transaction commits.
    """
    _require_perm(actor, STANDEE_PERMISSION)
    with transaction.atomic():
        job = StandeeJob.objects.create(market=market, requested_by=actor)
        audit_record(actor=actor, action="standee_job.start", target=job)
        transaction.on_commit(partial(_send_standee_job, job.pk))
    return job


def _send_standee_job(job_id: int) -> None:
    from ..tasks import build_market_standees  # tasks import this module

    build_market_standees.delay(job_id)


def _standee_job_update(job_id: int, **fields: Any) -> None:
    StandeeJob.objects.filter(pk=job_id).update(**fields)


def standee_job_run(*, job_id: int) -> StandeeJob:
    """Build the job's PDF, reporting progress stall by stall. Safe to run twice: only a queued
    job is claimed. Any error ends the job ``failed`` with the error text, visible to staff."""
    claimed = StandeeJob.objects.filter(pk=job_id, status=StandeeJob.Status.QUEUED).update(
        status=StandeeJob.Status.RUNNING, started_at=timezone.now()
    )
    job = StandeeJob.objects.select_related("market").get(pk=job_id)
    if not claimed:
        return job  # already running elsewhere, done or failed
    try:
        eligible, skipped = selectors.standee_counts(market=job.market)
        _standee_job_update(job_id, total=eligible, skipped=skipped)

        def progress(done: int, total: int) -> None:
            _standee_job_update(job_id, done=done, total=total)

        pdf = standee.render_market_standees(job.market, progress=progress)
        job.refresh_from_db()
        job.pdf.save(f"bang-qr-{job.market.slug}-{job.pk}.pdf", ContentFile(pdf), save=False)
        _standee_job_update(
            job_id,
            pdf=job.pdf.name,
            status=StandeeJob.Status.DONE,
            finished_at=timezone.now(),
        )
    except Exception as exc:
        logger.exception("standee job %s failed", job_id)
        if isinstance(exc, ApplicationError):
            message = str(exc.message)
        else:
            message = f"{type(exc).__name__}: {exc}".rstrip(": ")
        _standee_job_update(
            job_id,
            status=StandeeJob.Status.FAILED,
            error=message[:2000],
            finished_at=timezone.now(),
        )
    job.refresh_from_db()
    return job
