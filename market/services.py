"""Writes for markets, stalls and stall applications."""

from __future__ import annotations

import re
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from core.audit import audit_record
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.locking import lock_row
from core.text import nfc, search_key
from merchants.models import Merchant, User
from merchants.services import _validated_photo

from .models import GoodsCategory, Market, Stall, StallApplication

STALL_CODE = re.compile(r"^[A-Z]{1,3}-?\d{1,4}$")
REVIEW_PERMISSION = "market.review_stallapplication"


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
    actor: User,
    merchant: Merchant,
    market: Market,
    goods_category: str,
    requested_code: str = "",
    note: str = "",
    document: UploadedFile | None = None,
) -> StallApplication:
    """A trader asks for a stall: a given code, or any free one ("assign me one")."""
    errors: dict[str, list[Any]] = {}
    if goods_category not in GoodsCategory.values:
        errors["goods_category"] = [_("Chọn ngành hàng trong danh sách.")]
    code = ""
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
    if not market.is_active:
        errors["market"] = [_("Chợ này hiện không nhận đăng ký.")]
    if errors:
        raise ValidationFailed(fields=errors)
    document = _validated_photo(document)
    try:
        with transaction.atomic():
            application = StallApplication(
                merchant=merchant,
                market=market,
                requested_code=code,
                goods_category=goods_category,
                note=nfc(note),
                created_by=actor,
            )
            if document is not None:
                application.document.save(document.name or "document.jpg", document, save=False)
            application.save()
            audit_record(actor=actor, action="stall_application.submit", target=application)
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
    return application
