"""Writes for booths by exhibitors: applications, edits (products or prices back to review),
media. Staff curation is in curation.py, leads in leads.py, visits and figures in reports.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import URLValidator, validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core import uploads
from core.audit import audit_record
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.locking import lock_row
from core.text import nfc, search_key
from merchants import services as merchant_services
from merchants.models import Merchant, Product, User

from . import images
from .models import (
    CURATE_PERMISSION,
    Booth,
    BoothMedia,
    BoothProduct,
    Exhibition,
)

MAX_BOOTH_PRODUCTS = 24
MAX_GALLERY_PHOTOS = 12
MAX_DOCUMENTS = 4
S = Booth.Status

# The review checklist: required items must all be ticked to approve; English is optional.
CHECKLIST: list[tuple[str, Any, bool]] = [
    ("business_verified", _("Doanh nghiệp / hộ kinh doanh đã xác minh (MST, địa chỉ)"), True),
    ("photos_real", _("Ảnh sản phẩm là ảnh thật và đủ"), True),
    ("prices_shown", _("Có giá và đơn vị tính cho sản phẩm trưng bày"), True),
    ("descriptions_vi", _("Mô tả bằng tiếng Việt rõ ràng"), True),
    ("descriptions_en", _("Có mô tả tiếng Anh (không bắt buộc)"), False),
]
REQUIRED_CHECKS = [key for key, _label, required in CHECKLIST if required]


def require_curator(user: User | None) -> None:
    if user is None or not user.has_perm(CURATE_PERMISSION):
        raise PermissionDenied(_("Bạn không có quyền của cán bộ tổ chức hội chợ cho thao tác này."))


def nfc_text(text: str) -> str:
    """NFC a multi-line text, keeping its paragraphs (core.text.nfc folds newlines)."""
    lines = [nfc(line) for line in (text or "").replace("\r\n", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


# --- booths (exhibitors) ----------------------------------------------------------------------


@dataclass
class BoothInput:
    category_id: int | None = None
    tagline_vi: str = ""
    tagline_en: str = ""
    story_vi: str = ""
    story_en: str = ""
    video_url: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    # Catalogue product ids in display order; None leaves the showcase as it is.
    product_ids: list[int] | None = None
    logo: UploadedFile | None = None
    panorama: UploadedFile | None = None


TEXT_FIELDS = (
    "tagline_vi",
    "tagline_en",
    "story_vi",
    "story_en",
    "video_url",
    "contact_name",
    "contact_phone",
    "contact_email",
)
VIDEO_HOSTS = ("youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be", "vimeo.com")


def _clean_booth(data: BoothInput, exhibition: Exhibition) -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    data.tagline_vi, data.tagline_en = nfc(data.tagline_vi)[:160], nfc(data.tagline_en)[:160]
    data.story_vi, data.story_en = nfc_text(data.story_vi), nfc_text(data.story_en)
    data.contact_name = nfc(data.contact_name)[:120]
    data.contact_phone = re.sub(r"[^\d+]", "", data.contact_phone or "")[:16]
    data.contact_email = (data.contact_email or "").strip()
    data.video_url = (data.video_url or "").strip()
    if len(data.story_vi) > 5000 or len(data.story_en) > 5000:
        errors["story_vi"] = [_("Câu chuyện tối đa 5.000 ký tự.")]
    if data.contact_email:
        try:
            validate_email(data.contact_email)
        except Exception:
            errors["contact_email"] = [_("Email chưa đúng.")]
    if data.video_url:
        try:
            URLValidator(schemes=["https"])(data.video_url)
            host = data.video_url.split("/")[2].lower()
            if host not in VIDEO_HOSTS:
                raise ValueError(host)
        except Exception:
            errors["video_url"] = [_("Đường dẫn video YouTube hoặc Vimeo, bắt đầu bằng https://.")]
    if (
        data.category_id is not None
        and not exhibition.categories.filter(pk=data.category_id).exists()
    ):
        errors["category"] = [_("Chọn ngành hàng của hội chợ này.")]
    return errors


def _checked_products(merchant: Merchant, product_ids: list[int]) -> list[int]:
    ids = list(dict.fromkeys(int(p) for p in product_ids))
    if len(ids) > MAX_BOOTH_PRODUCTS:
        raise ValidationFailed(fields={"products": [_("Mỗi gian trưng bày tối đa 24 sản phẩm.")]})
    found = set(
        Product.objects.filter(merchant=merchant, pk__in=ids, is_active=True).values_list(
            "pk", flat=True
        )
    )
    if set(ids) - found:
        raise ValidationFailed(
            fields={"products": [_("Chỉ chọn sản phẩm đang bán trong danh mục của cửa hàng.")]}
        )
    return ids


def _booth_search_text(booth: Booth) -> str:
    parts = [
        booth.merchant.display_name,
        booth.tagline_vi,
        booth.tagline_en,
        booth.story_vi,
        booth.story_en,
        booth.category.name_vi if booth.category else "",
    ]
    return search_key(" ".join(parts))


def _booth_images(data: BoothInput) -> dict[str, images.Resized]:
    """The logo and panorama sent, checked and re-encoded: before any write or row lock."""
    prepared = {
        "logo": images.webp(data.logo, field="logo", box=images.LOGO_BOX, name="logo"),
        "panorama": images.panorama(data.panorama),
    }
    return {name: image for name, image in prepared.items() if image is not None}


def _save_booth_images(
    booth: Booth, prepared: dict[str, images.Resized], files: uploads.FilesWritten
) -> list[str]:
    if "logo" in prepared:
        files.save(booth.logo, prepared["logo"].content, "logo.webp")
    if "panorama" in prepared:
        files.save(booth.panorama, prepared["panorama"].content, "panorama.jpg")
    return list(prepared)


def _set_products(booth: Booth, product_ids: list[int]) -> bool:
    """Make the showcase these products in this order; True when the set of products changed.

    Approved rows that are dropped are only marked for removal (visitors keep seeing them until
    staff approve the change); rows never approved are simply deleted."""
    current = {bp.product_id: bp for bp in booth.products.all()}
    changed = False
    for position, product_id in enumerate(product_ids):
        row = current.pop(product_id, None)
        if row is None:
            BoothProduct.objects.create(booth=booth, product_id=product_id, position=position)
            changed = True
        else:
            if row.remove_requested:
                changed = True
            row.position, row.remove_requested = position, False
            row.save(update_fields=["position", "remove_requested"])
    for row in current.values():
        changed = True
        if row.approved:
            row.remove_requested = True
            row.save(update_fields=["remove_requested"])
        else:
            row.delete()
    return changed


def booth_apply(
    *, actor: User, merchant: Merchant, exhibition: Exhibition, data: BoothInput, submit: bool
) -> Booth:
    """A business applies for a booth (saved as a draft, or submitted for review at once)."""
    if not exhibition.is_published or not exhibition.takes_applications():
        raise Conflict(_("Hội chợ này hiện không nhận đăng ký."), code="applications_closed")
    errors = _clean_booth(data, exhibition)
    if errors:
        raise ValidationFailed(fields=errors)
    product_ids = _checked_products(merchant, data.product_ids or [])
    prepared = _booth_images(data)
    try:
        with uploads.saving() as files, transaction.atomic():
            booth = Booth(
                exhibition=exhibition,
                merchant=merchant,
                category_id=data.category_id,
                created_by=actor,
                contact_name=data.contact_name or actor.full_name,
                contact_phone=data.contact_phone or merchant.phone,
            )
            for name in TEXT_FIELDS:
                if name not in ("contact_name", "contact_phone") or getattr(data, name):
                    setattr(booth, name, getattr(data, name))
            booth.save()
            _save_booth_images(booth, prepared, files)
            _set_products(booth, product_ids)
            booth.search_text = _booth_search_text(booth)
            booth.save()
            audit_record(actor=actor, action="booth.apply", target=booth)
            if submit:
                _submit(booth, actor)
    except IntegrityError:
        raise Conflict(
            _("Cửa hàng đã có gian hàng (hoặc đơn đăng ký) ở hội chợ này."), code="booth_exists"
        ) from None
    return booth


def _submit_errors(booth: Booth) -> dict[str, list[Any]]:
    errors: dict[str, list[Any]] = {}
    if not booth.story_vi:
        errors["story_vi"] = [_("Hãy kể câu chuyện gian hàng bằng tiếng Việt.")]
    if booth.category_id is None:
        errors["category"] = [_("Chọn ngành hàng.")]
    if not booth.products.filter(remove_requested=False).exists():
        errors["products"] = [_("Chọn ít nhất một sản phẩm để trưng bày.")]
    if not (booth.contact_phone or booth.contact_email):
        errors["contact_phone"] = [_("Cần số điện thoại hoặc email liên hệ.")]
    return errors


def _submit(booth: Booth, actor: User | None, actor_label: str = "") -> None:
    errors = _submit_errors(booth)
    if errors:
        raise ValidationFailed(
            _("Gian hàng chưa đủ thông tin để gửi duyệt."), fields=errors, code="booth_incomplete"
        )
    booth.status = S.PENDING
    booth.submitted_at = timezone.now()
    booth.save(update_fields=["status", "submitted_at", "updated_at"])
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="booth.submit",
        target=booth,
        data={"changes": booth.pending_changes},
    )


def booth_submit(*, actor: User | None, booth: Booth, actor_label: str = "") -> Booth:
    """Send a draft, or a booth whose changes staff asked for, to review."""
    with transaction.atomic():
        booth = lock_row(Booth, booth.pk)
        if booth.status == S.PENDING:
            return booth
        if booth.status == S.REJECTED:
            raise Conflict(_("Đơn đã bị từ chối."), code="booth_rejected")
        if booth.status == S.APPROVED and not booth.pending_changes:
            raise Conflict(_("Gian hàng đã được duyệt, không có gì mới để gửi."), code="nothing")
        _submit(booth, actor, actor_label)
    return booth


def _price_drift(booth: Booth) -> bool:
    """An approved product whose catalogue price is no longer the approved one."""
    return any(
        bp.approved_price != bp.product.price
        for bp in booth.products.select_related("product").filter(approved=True)
    )


def booth_update(
    *, actor: User | None, booth: Booth, data: BoothInput, actor_label: str = ""
) -> Booth:
    """The exhibitor edits the booth. Text and images apply at once; on a booth approved before,
    a change of showcased products (or a catalogue price that moved) sends it back to review,
    while visitors keep seeing what was approved."""
    errors = _clean_booth(data, booth.exhibition)
    if errors:
        raise ValidationFailed(fields=errors)
    product_ids = (
        _checked_products(booth.merchant, data.product_ids)
        if data.product_ids is not None
        else None
    )
    prepared = _booth_images(data)
    with uploads.saving() as files, transaction.atomic():
        booth = lock_row(Booth, booth.pk)
        if booth.status == S.REJECTED:
            raise Conflict(_("Đơn đã bị từ chối, không sửa được nữa."), code="booth_rejected")
        changed = [n for n in TEXT_FIELDS if getattr(booth, n) != getattr(data, n)]
        for name in TEXT_FIELDS:
            setattr(booth, name, getattr(data, name))
        if data.category_id != booth.category_id:
            changed.append("category")
            booth.category_id = data.category_id
        changed += _save_booth_images(booth, prepared, files)
        products_changed = product_ids is not None and _set_products(booth, product_ids)
        booth.search_text = _booth_search_text(booth)
        needs_review: list[str] = []
        if booth.was_approved:
            if products_changed:
                needs_review.append("products")
            if _price_drift(booth):
                needs_review.append("prices")
        booth.save()
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="booth.update",
            target=booth,
            data={"fields": changed, "products_changed": products_changed, "review": needs_review},
        )
        if needs_review:
            booth.pending_changes = sorted(set(booth.pending_changes) | set(needs_review))
            booth.save(update_fields=["pending_changes"])
            if booth.status == S.APPROVED:  # a booth asked for changes is resubmitted by hand
                _submit(booth, actor, actor_label)
    return booth


def booth_product_price(*, actor: User, booth: Booth, product_id: int, price: int) -> Booth:
    """Change a showcased product's price (in the shared catalogue): back to review."""
    row = booth.products.select_related("product").filter(product_id=product_id).first()
    if row is None:
        raise NotFound(_("Sản phẩm không có trong gian hàng."))
    merchant_services.product_update(actor=actor, product=row.product, price=price)
    return booth_recheck_prices(actor=actor, booth=booth)


def booth_recheck_prices(*, actor: User, booth: Booth) -> Booth:
    """After a catalogue price change: send an approved booth back to review for its prices."""
    with transaction.atomic():
        booth = lock_row(Booth, booth.pk)
        if not booth.was_approved or booth.status == S.REJECTED or not _price_drift(booth):
            return booth
        booth.pending_changes = sorted(set(booth.pending_changes) | {"prices"})
        booth.save(update_fields=["pending_changes"])
        audit_record(actor=actor, action="booth.prices_changed", target=booth)
        if booth.status == S.APPROVED:
            _submit(booth, actor)
    return booth


def booth_media_add(
    *, actor: User, booth: Booth, kind: str, upload: UploadedFile, caption: str = ""
) -> BoothMedia:
    """A gallery photo (resized to ≤ 1280 px plus a 480 px copy) or a PDF document. Media are
    presentation: they apply at once without review."""
    if kind == BoothMedia.Kind.PHOTO:
        if booth.media.filter(kind=kind).count() >= MAX_GALLERY_PHOTOS:
            raise ValidationFailed(fields={"photo": [_("Tối đa 12 ảnh mỗi gian.")]})
        big, small = images.gallery_photo(upload)
    elif kind == BoothMedia.Kind.DOCUMENT:
        if booth.media.filter(kind=kind).count() >= MAX_DOCUMENTS:
            raise ValidationFailed(fields={"document": [_("Tối đa 4 tài liệu mỗi gian.")]})
        pdf = images.read_pdf(upload)
    else:
        raise ValidationFailed(fields={"kind": [_("Chọn ảnh hoặc tài liệu PDF.")]})
    # Everything is checked: only now is anything written (and removed again on failure).
    with uploads.saving() as files, transaction.atomic():
        media = BoothMedia(
            booth=booth,
            kind=kind,
            caption=nfc(caption)[:160],
            position=booth.media.filter(kind=kind).count(),
        )
        if kind == BoothMedia.Kind.PHOTO:
            files.save(media.file, big.content, "photo.webp")
            files.save(media.thumb, small.content, "photo-480.webp")
            media.width, media.height = big.width, big.height
            media.size_bytes = big.content.size
        else:
            assert pdf is not None
            name = uploads.file_stem(upload.name, default="tai-lieu")
            files.save(media.file, ContentFile(pdf), f"{name}.pdf")
            media.size_bytes = len(pdf)
        media.save()
        audit_record(actor=actor, action="booth.media_add", target=booth, data={"kind": kind})
    return media


def booth_media_remove(*, actor: User, booth: Booth, media_id: int) -> None:
    with transaction.atomic():
        media = booth.media.filter(pk=media_id).first()
        if media is None:
            raise NotFound(_("Không tìm thấy tệp."))
        audit_record(
            actor=actor, action="booth.media_remove", target=booth, data={"kind": media.kind}
        )
        media.delete()
