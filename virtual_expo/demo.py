"""Demo exhibition for ``manage.py demo``: a live fair of Quảng Nam–Đà Nẵng crafts and
specialties with a Thanh Hà pottery booth (360° panorama made here with Pillow) and a
specialties booth, applied for, reviewed and published through the real services.

Idempotent: nothing is created twice (the exhibition is found by its slug)."""

from __future__ import annotations

import io
import math
from datetime import time, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image, ImageDraw

from market.shop.storefront import storefront_of
from merchants import services as merchant_services
from merchants.models import Merchant, Product, User

from . import curation, services
from .models import Booth, Exhibition

DEMO_SLUG = "hoi-cho-thu-cong-dac-san-da-nang-2026"
ENTERPRISE_NAME = "Đặc sản Sông Hàn"


def _png(color: tuple[int, int, int], size: tuple[int, int] = (640, 480), label: str = "") -> bytes:
    """A product photo stand-in: a coloured pot shape on a light table."""
    image = Image.new("RGB", size, (238, 232, 220))
    draw = ImageDraw.Draw(image)
    w, h = size
    draw.rectangle([0, int(h * 0.72), w, h], fill=(196, 170, 140))
    draw.ellipse([w * 0.32, h * 0.22, w * 0.68, h * 0.78], fill=color)
    draw.rectangle([w * 0.42, h * 0.12, w * 0.58, h * 0.3], fill=color)
    draw.ellipse([w * 0.38, h * 0.08, w * 0.62, h * 0.16], fill=tuple(c // 2 for c in color))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def panorama_jpeg(width: int = 2048) -> bytes:
    """An equirectangular (2:1) demo panorama: sky and floor gradients, a ring of shelves with
    pots all around, so turning the view shows it really is 360°."""
    height = width // 2
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    horizon = height // 2
    for y in range(height):
        if y < horizon:
            t = y / horizon
            color = (int(120 + 100 * t), int(170 + 60 * t), int(230 - 20 * t))
        else:
            t = (y - horizon) / (height - horizon)
            color = (int(170 - 60 * t), int(120 - 40 * t), int(80 - 30 * t))
        draw.line([(0, y), (width, y)], fill=color)
    shelves = 8
    for i in range(shelves):
        x0 = int(i * width / shelves + width / shelves * 0.12)
        x1 = int((i + 1) * width / shelves - width / shelves * 0.12)
        draw.rectangle([x0, horizon - height // 5, x1, horizon + height // 12], fill=(122, 78, 45))
        for row in range(2):
            y_base = horizon - height // 5 + 10 + row * (height // 7)
            for k in range(3):
                cx = x0 + (k + 0.5) * (x1 - x0) / 3
                r = (x1 - x0) / 9
                hue = (i * 37 + k * 53 + row * 11) % 360
                color = (
                    int(150 + 90 * math.sin(math.radians(hue))),
                    int(90 + 50 * math.sin(math.radians(hue + 120))),
                    int(60 + 40 * math.sin(math.radians(hue + 240))),
                )
                draw.ellipse([cx - r, y_base, cx + r, y_base + r * 2.2], fill=color)
    # a lantern string across the top, Hội An style
    for i in range(24):
        x = int((i + 0.5) * width / 24)
        y = int(height * 0.18 + 20 * math.sin(i))
        draw.ellipse(
            [x - 14, y - 18, x + 14, y + 18], fill=(220, 40, 40) if i % 2 else (250, 190, 40)
        )
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=82)
    return buffer.getvalue()


def _upload(name: str, data: bytes, content_type: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def _pottery_merchant() -> tuple[Merchant, User] | None:
    """The demo's enterprise "Đặc sản Sông Hàn" (made by market's demo), which sells Thanh Hà
    pottery and gifts: its catalogue, bank account and open web shop are added here once."""
    merchant = Merchant.objects.filter(display_name=ENTERPRISE_NAME).first()
    if merchant is None:
        return None
    user = merchant.memberships.select_related("user").get(role="owner").user
    if merchant.products.exists():
        return merchant, user
    if not merchant.bank_accounts.exists():
        merchant_services.bank_account_add(
            actor=user,
            merchant=merchant,
            bank_bin="970436",
            account_number="0041000765432",
            holder_name="Cong ty TNHH Dac san Song Han",
        )
    # The web shop open, so booth visitors can buy. The company has no market stall: it keeps
    # office hours at its address and delivers across the city.
    shop = storefront_of(merchant)
    shop.is_open, shop.tagline = True, "Gốm Thanh Hà và quà Đà Nẵng"
    shop.opens_at, shop.closes_at = time(8, 0), time(20, 0)
    shop.delivers, shop.delivery_fee = True, 30_000
    shop.delivery_area = "Toàn Đà Nẵng"
    shop.save(
        update_fields=[
            "is_open",
            "tagline",
            "opens_at",
            "closes_at",
            "delivers",
            "delivery_fee",
            "delivery_area",
            "updated_at",
        ]
    )
    for name, unit, price, color in [
        ("Bình gốm Thanh Hà men nâu", Product.Unit.PIECE, 350_000, (150, 75, 40)),
        ("Bộ ấm chén gốm đỏ", Product.Unit.SET, 480_000, (180, 60, 40)),
        ("Tượng gốm con giáp", Product.Unit.PIECE, 120_000, (200, 120, 60)),
    ]:
        merchant_services.product_create(
            actor=user,
            merchant=merchant,
            name=name,
            unit=unit,
            price=price,
            tax_category=Product.TaxCategory.FIVE,
            photo=_upload("gom.png", _png(color), "image/png"),
        )
    return merchant, user


def load_demo_exhibitions(stdout=None) -> None:
    if Exhibition.objects.filter(slug=DEMO_SLUG).exists():
        return
    staff = User.objects.filter(phone="+84905000001").first()
    if staff is None:
        return
    staff = User.objects.get(pk=staff.pk)  # fresh permissions
    now = timezone.now()
    exhibition = curation.exhibition_create(
        actor=staff,
        data=curation.ExhibitionInput(
            title_vi="Hội chợ Thủ công & Đặc sản Đà Nẵng 2026",
            title_en="Da Nang Crafts & Specialties Fair 2026",
            theme="Làng nghề và đặc sản miền Trung",
            description_vi=(
                "Gian hàng của các làng nghề và hộ kinh doanh không kịp dự hội chợ trực tiếp: "
                "xem sản phẩm, hỏi hàng và mua ngay trên điện thoại."
            ),
            description_en=(
                "Booths of craft villages and small businesses that could not attend the "
                "offline fair: browse, ask and buy from your phone."
            ),
            categories=[
                ("Gốm sứ", "Ceramics"),
                ("Đặc sản", "Local specialties"),
                ("Hải sản khô", "Dried seafood"),
            ],
            applications_open_at=now - timedelta(days=20),
            applications_close_at=now + timedelta(days=20),
            opens_at=now - timedelta(days=2),
            closes_at=now + timedelta(days=28),
            stays_open_after=True,
            is_published=True,
        ),
    )
    categories = {c.slug: c for c in exhibition.categories.all()}
    found = _pottery_merchant()
    if found is None:
        return
    pottery, potter = found
    booth = services.booth_apply(
        actor=potter,
        merchant=pottery,
        exhibition=exhibition,
        data=services.BoothInput(
            category_id=categories["gom-su"].pk,
            tagline_vi="Gốm đỏ làng Thanh Hà, nặn tay bên sông Thu Bồn",
            tagline_en="Hand-thrown red pottery from Thanh Ha village",
            story_vi=(
                "Chúng tôi đặt gốm của các gia đình làng Thanh Hà đã bốn đời làm nghề. Đất sét "
                "sông Thu Bồn được nặn tay trên bàn xoay và nung củi, cho màu đỏ gạch đặc trưng."
                "\n\n"
                "Nhận làm quà tặng doanh nghiệp, in logo theo yêu cầu từ 50 sản phẩm."
            ),
            story_en=(
                "Pottery from Thanh Ha families, four generations in the craft. Thu Bon clay, "
                "thrown by hand and wood-fired. Corporate gifts with your logo from 50 pieces."
            ),
            contact_name=potter.full_name,
            contact_phone=potter.phone,
            video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            product_ids=list(pottery.products.values_list("pk", flat=True)),
            panorama=_upload("pano.jpg", panorama_jpeg(), "image/jpeg"),
            logo=_upload("logo.png", _png((150, 75, 40), (256, 256)), "image/png"),
        ),
        submit=True,
    )
    for color, caption in [((150, 75, 40), "Lò nung củi"), ((180, 60, 40), "Bàn xoay")]:
        services.booth_media_add(
            actor=potter,
            booth=booth,
            kind="photo",
            upload=_upload("anh.png", _png(color), "image/png"),
            caption=caption,
        )
    checks = {key: True for key, _label, _required in services.CHECKLIST}
    curation.booth_review(
        actor=staff, booth_id=booth.pk, decision="approve", checklist=checks, publish=True
    )
    curation.booth_feature(actor=staff, booth_id=booth.pk, featured=True)

    specialties = Merchant.objects.filter(display_name="Đặc sản Bà Mai").first()
    if specialties is not None:
        owner = specialties.memberships.select_related("user").get(role="owner").user
        second = services.booth_apply(
            actor=owner,
            merchant=specialties,
            exhibition=exhibition,
            data=services.BoothInput(
                category_id=categories["dac-san"].pk,
                tagline_vi="Chả bò, tré, mắm nêm chuẩn vị Đà Nẵng",
                story_vi="Ba mươi năm ở chợ Hàn, giờ gửi đặc sản Đà Nẵng đi khắp nơi.",
                contact_name=owner.full_name,
                contact_phone=owner.phone,
                product_ids=list(specialties.products.values_list("pk", flat=True)),
            ),
            submit=True,
        )
        curation.booth_review(
            actor=staff, booth_id=second.pk, decision="approve", checklist=checks, publish=True
        )
    if stdout is not None:
        stdout.write(f"  exhibition /hoi-cho/{exhibition.slug}/ ({Booth.objects.count()} booths)")
