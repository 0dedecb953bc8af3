"""Writes for trade-department staff: exhibitions (create, edit, categories, banner), review
decisions on booths with the checklist, publishing, featuring and ordering booths. Each
decision is audited. The permission is checked here, not only in the views."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from core import uploads
from core.audit import audit_record
from core.errors import Conflict, NotFound, ValidationFailed
from core.locking import lock_row
from core.text import nfc, search_key
from merchants.models import User

from . import images
from .models import Booth, BoothProduct, BoothReview, Exhibition, ExhibitionCategory
from .services import CHECKLIST, REQUIRED_CHECKS, S, nfc_text, require_curator

# --- exhibitions (staff) ----------------------------------------------------------------------


@dataclass
class ExhibitionInput:
    title_vi: str
    applications_open_at: datetime
    applications_close_at: datetime
    opens_at: datetime
    closes_at: datetime
    title_en: str = ""
    description_vi: str = ""
    description_en: str = ""
    theme: str = ""
    # (Vietnamese name, English name) in display order.
    categories: list[tuple[str, str]] = field(default_factory=list)
    stays_open_after: bool = True
    is_published: bool = False
    banner: UploadedFile | None = None


def parse_categories(text: str) -> list[tuple[str, str]]:
    """One category a line, "Gốm sứ | Ceramics" (the English part optional)."""
    result: list[tuple[str, str]] = []
    for line in (text or "").splitlines():
        vi, _sep, en = line.partition("|")
        vi, en = nfc(vi), nfc(en)
        if vi:
            result.append((vi[:80], en[:80]))
    return result


def _check_exhibition(data: ExhibitionInput) -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    data.title_vi, data.title_en = nfc(data.title_vi), nfc(data.title_en)
    data.theme = nfc(data.theme)
    if not data.title_vi:
        errors["title_vi"] = [_("Vui lòng nhập tên hội chợ bằng tiếng Việt.")]
    elif len(data.title_vi) > 160:
        errors["title_vi"] = [_("Tên tối đa 160 ký tự.")]
    if len(data.title_en) > 160:
        errors["title_en"] = [_("Tên tối đa 160 ký tự.")]
    if len(data.theme) > 160:
        errors["theme"] = [_("Chủ đề tối đa 160 ký tự.")]
    for name in ("applications_open_at", "applications_close_at", "opens_at", "closes_at"):
        value = getattr(data, name)
        if not isinstance(value, datetime) or timezone.is_naive(value):
            errors[name] = [_("Vui lòng nhập ngày giờ.")]
    dates_ok = not any(errors.get(n) for n in ("applications_open_at", "applications_close_at"))
    if dates_ok and data.applications_close_at <= data.applications_open_at:
        errors["applications_close_at"] = [_("Hạn đăng ký phải sau ngày mở đăng ký.")]
    if not (errors.get("closes_at") or errors.get("opens_at")) and data.closes_at <= data.opens_at:
        errors["closes_at"] = [_("Ngày bế mạc phải sau ngày khai mạc.")]
    if not data.categories:
        errors["categories"] = [_("Cần ít nhất một ngành hàng.")]
    slugs = [slugify(search_key(vi))[:60] for vi, _en in data.categories]
    if len(set(slugs)) != len(slugs) or not all(slugs):
        errors["categories"] = [_("Tên ngành hàng bị trùng hoặc không hợp lệ.")]
    return errors


def _unique_exhibition_slug(title: str) -> str:
    base = slugify(search_key(title))[:70] or "hoi-cho"
    slug, n = base, 2
    while Exhibition.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def _banner(banner: UploadedFile | None) -> images.Resized | None:
    """The banner sent, checked and re-encoded before anything is written."""
    return images.webp(banner, field="banner", box=images.BANNER_BOX, name="banner")


def _sync_categories(exhibition: Exhibition, categories: list[tuple[str, str]]) -> None:
    wanted = {}
    for position, (vi, en) in enumerate(categories):
        wanted[slugify(search_key(vi))[:60]] = (vi, en, position)
    for category in exhibition.categories.all():
        if category.slug not in wanted:
            if category.booths.exists():
                raise ValidationFailed(
                    fields={
                        "categories": [
                            _("Ngành hàng “%(name)s” đang có gian hàng, không bỏ được.")
                            % {"name": category.name_vi}
                        ]
                    }
                )
            category.delete()
    for slug, (vi, en, position) in wanted.items():
        ExhibitionCategory.objects.update_or_create(
            exhibition=exhibition,
            slug=slug,
            defaults={"name_vi": vi, "name_en": en, "position": position},
        )


def exhibition_create(*, actor: User, data: ExhibitionInput) -> Exhibition:
    require_curator(actor)
    errors = _check_exhibition(data)
    if errors:
        raise ValidationFailed(fields=errors)
    banner = _banner(data.banner)  # checked and re-encoded before anything is written
    with uploads.saving() as files, transaction.atomic():
        exhibition = Exhibition(
            slug=_unique_exhibition_slug(data.title_vi),
            title_vi=data.title_vi,
            title_en=data.title_en,
            description_vi=nfc_text(data.description_vi),
            description_en=nfc_text(data.description_en),
            theme=data.theme,
            applications_open_at=data.applications_open_at,
            applications_close_at=data.applications_close_at,
            opens_at=data.opens_at,
            closes_at=data.closes_at,
            stays_open_after=data.stays_open_after,
            is_published=data.is_published,
            created_by=actor,
        )
        if banner is not None:
            files.save(exhibition.banner, banner.content, "banner.webp")
        exhibition.save()
        _sync_categories(exhibition, data.categories)
        audit_record(
            actor=actor,
            action="exhibition.create",
            target=exhibition,
            data={"title": exhibition.title_vi, "published": exhibition.is_published},
        )
    return exhibition


def exhibition_update(*, actor: User, exhibition_id: int, data: ExhibitionInput) -> Exhibition:
    require_curator(actor)
    errors = _check_exhibition(data)
    if errors:
        raise ValidationFailed(fields=errors)
    banner = _banner(data.banner)
    with uploads.saving() as files, transaction.atomic():
        exhibition = _lock_exhibition(exhibition_id)
        for name in (
            "title_vi",
            "title_en",
            "theme",
            "applications_open_at",
            "applications_close_at",
            "opens_at",
            "closes_at",
            "stays_open_after",
            "is_published",
        ):
            setattr(exhibition, name, getattr(data, name))
        exhibition.description_vi = nfc_text(data.description_vi)
        exhibition.description_en = nfc_text(data.description_en)
        if banner is not None:
            files.save(exhibition.banner, banner.content, "banner.webp")
        exhibition.save()
        _sync_categories(exhibition, data.categories)
        audit_record(
            actor=actor,
            action="exhibition.update",
            target=exhibition,
            data={"published": exhibition.is_published},
        )
    return exhibition


def _lock_exhibition(exhibition_id: int) -> Exhibition:
    try:
        return lock_row(Exhibition, exhibition_id)
    except Exhibition.DoesNotExist:
        raise NotFound(_("Không tìm thấy hội chợ.")) from None


# --- review and curation (staff) --------------------------------------------------------------


def _thumb_for(row: BoothProduct) -> None:
    photo = row.product.photo
    if not photo:
        row.thumb = ""
        return
    try:
        with photo.open("rb") as f:
            data = f.read()
        resized = images.product_thumb(data, name="product")
    except Exception:  # a missing or broken catalogue photo: show the booth without it
        row.thumb = ""
        return
    row.thumb.save(f"product-{row.product_id}.webp", resized.content, save=False)


def booth_review(
    *,
    actor: User,
    booth_id: int,
    decision: str,
    checklist: dict[str, bool] | None = None,
    comment: str = "",
    publish: bool = False,
) -> Booth:
    """Staff decide on a submitted booth: approve (all required checks ticked), ask for changes
    (with comments the applicant sees) or reject (with the reason). Audited."""
    require_curator(actor)
    if decision not in BoothReview.Decision.values:
        raise ValidationFailed(
            fields={"decision": [_("Chọn duyệt, yêu cầu bổ sung hoặc từ chối.")]}
        )
    checks = {key: bool((checklist or {}).get(key)) for key, _l, _r in CHECKLIST}
    comment = nfc_text(comment)
    D = BoothReview.Decision
    if decision == D.APPROVE and not all(checks[k] for k in REQUIRED_CHECKS):
        missing = [str(label) for key, label, req in CHECKLIST if req and not checks[key]]
        raise ValidationFailed(
            _("Cần đánh dấu đủ các mục bắt buộc trước khi duyệt."),
            fields={"checklist": missing},
            code="checklist_incomplete",
        )
    if decision == D.REQUEST_CHANGES and not comment:
        raise ValidationFailed(
            fields={"comment": [_("Ghi rõ cần bổ sung gì để doanh nghiệp sửa.")]}
        )
    if decision == D.REJECT and not comment:
        raise ValidationFailed(fields={"comment": [_("Vui lòng ghi lý do từ chối.")]})
    with transaction.atomic(durable=True):
        try:
            booth = lock_row(Booth, booth_id)
        except Booth.DoesNotExist:
            raise NotFound(_("Không tìm thấy gian hàng.")) from None
        if booth.status != S.PENDING:
            raise Conflict(_("Gian hàng này không ở trạng thái chờ duyệt."), code="not_pending")
        now = timezone.now()
        if decision == D.APPROVE:
            rows = list(booth.products.select_related("product"))
            for row in rows:
                if row.remove_requested:
                    row.delete()
                    continue
                if not row.approved or row.approved_price != row.product.price or not row.thumb:
                    row.approved, row.approved_price = True, row.product.price
                    _thumb_for(row)
                    row.save()
            booth.status = S.APPROVED
            booth.approved_at = now
            booth.pending_changes = []
            if publish:
                booth.is_published = True
        elif decision == D.REQUEST_CHANGES:
            booth.status = S.CHANGES_REQUESTED
        else:
            booth.status = S.REJECTED
            booth.is_published = False
        booth.save()
        BoothReview.objects.create(
            booth=booth, decision=decision, checklist=checks, comment=comment, reviewer=actor
        )
        audit_record(
            actor=actor,
            action=f"booth.{decision}",
            target=booth,
            reason=comment,
            data={"checklist": checks, "published": booth.is_published},
        )
    return booth


def booth_publish(*, actor: User, booth_id: int, published: bool) -> Booth:
    require_curator(actor)
    with transaction.atomic():
        booth = lock_row(Booth, booth_id)
        if published and not booth.was_approved:
            raise Conflict(_("Chỉ công bố gian hàng đã được duyệt."), code="not_approved")
        if published and booth.status == S.REJECTED:
            raise Conflict(_("Gian hàng đã bị từ chối."), code="booth_rejected")
        if booth.is_published != published:
            booth.is_published = published
            booth.save(update_fields=["is_published", "updated_at"])
            audit_record(
                actor=actor,
                action="booth.publish" if published else "booth.unpublish",
                target=booth,
            )
    return booth


def booth_feature(*, actor: User, booth_id: int, featured: bool) -> Booth:
    require_curator(actor)
    with transaction.atomic():
        booth = lock_row(Booth, booth_id)
        if booth.featured != featured:
            booth.featured = featured
            booth.save(update_fields=["featured", "updated_at"])
            audit_record(actor=actor, action="booth.feature", target=booth, data={"on": featured})
    return booth


def booth_move(*, actor: User, booth_id: int, direction: int) -> Booth:
    """Move a booth one place up (-1) or down (+1) in its exhibition's order."""
    require_curator(actor)
    with transaction.atomic():
        booth = lock_row(Booth, booth_id)
        siblings = list(
            Booth.objects.select_for_update()
            .filter(exhibition_id=booth.exhibition_id)
            .order_by("-featured", "position", "id")
        )
        ids = [b.pk for b in siblings]
        i = ids.index(booth.pk)
        j = min(max(i + (1 if direction > 0 else -1), 0), len(ids) - 1)
        ids[i], ids[j] = ids[j], ids[i]
        _write_order(siblings, ids)
        audit_record(actor=actor, action="booth.reorder", target=booth, data={"order": ids})
    booth.refresh_from_db()
    return booth


def booths_reorder(*, actor: User, exhibition: Exhibition, booth_ids: list[int]) -> None:
    """Staff give the whole order of an exhibition's booths."""
    require_curator(actor)
    with transaction.atomic():
        siblings = list(Booth.objects.select_for_update().filter(exhibition=exhibition))
        known = {b.pk for b in siblings}
        if set(booth_ids) != known or len(booth_ids) != len(known):
            raise ValidationFailed(
                fields={"booth_ids": [_("Cần đủ các gian hàng của hội chợ, mỗi gian một lần.")]}
            )
        _write_order(siblings, booth_ids)
        audit_record(
            actor=actor, action="exhibition.reorder", target=exhibition, data={"order": booth_ids}
        )


def _write_order(booths: list[Booth], ids: list[int]) -> None:
    by_id = {b.pk: b for b in booths}
    for position, pk in enumerate(ids):
        booth = by_id[pk]
        if booth.position != position:
            booth.position = position
            booth.save(update_fields=["position"])
