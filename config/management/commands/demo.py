"""Da Nang demo data: markets, stalls, traders with catalogues and bank accounts, one staff user.

Idempotent: run it again and nothing is duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from stdnum.vn import mst

from core.phone import display_vn_phone
from market.models import GoodsCategory, Market, Stall, StallApplication, Storefront
from market.sales.demo import demo_sales_history
from merchants import services as merchant_services
from merchants.models import Merchant, Product, User
from virtual_expo.demo import load_demo_exhibitions

DEMO_PASSWORD = "cho-so-2026"  # noqa: S105 - printed for the demo on purpose
STAFF_GROUP = "Sở Công Thương — quản lý chợ"
STAFF_PERMISSIONS = [
    "market.review_stallapplication",
    "market.view_market_dashboard",
    "market.view_stallapplication",
    "market.add_market",
    "market.change_market",
    "market.view_market",
    "market.add_stall",
    "market.change_stall",
    "market.view_stall",
    "merchants.view_merchant",
    "market.moderate_review",
    "virtual_expo.curate_exhibition",
]
# issue 16: the community digital-technology team registers elderly traders on their behalf;
# the demo staff member belongs to it too.
ONBOARDING_GROUP = "Tổ công nghệ số cộng đồng"
ONBOARDING_PERMISSIONS = ["merchants.register_on_behalf"]

G = GoodsCategory

MARKETS = [
    # name, slug, district, address, zones: (zone letter, count, category)
    (
        "Chợ Hàn",
        "cho-han",
        "Hải Châu",
        "119 Trần Phú, Hải Châu, Đà Nẵng",
        [("A", 6, G.VEGETABLES), ("B", 5, G.SEAFOOD), ("C", 5, G.SPECIALTIES)],
    ),
    (
        "Chợ Cồn",
        "cho-con",
        "Hải Châu",
        "290 Hùng Vương, Hải Châu, Đà Nẵng",
        [("A", 5, G.MEAT), ("B", 5, G.DRY_GOODS), ("D", 4, G.FOOD)],
    ),
    (
        "Chợ Bắc Mỹ An",
        "cho-bac-my-an",
        "Ngũ Hành Sơn",
        "Nguyễn Bá Lân, Mỹ An, Ngũ Hành Sơn, Đà Nẵng",
        [("A", 4, G.VEGETABLES), ("B", 4, G.SEAFOOD), ("C", 2, G.FLOWERS)],
    ),
]


@dataclass
class Trader:
    phone: str
    full_name: str
    shop: str
    personal_id: str
    sector: str
    market: str
    stall: str | None
    bank_bin: str
    account: str
    products: list[tuple[str, str, int, bool, str]]  # name, unit, price, by weight, tax


STOREFRONT_TAGLINES = {
    "Rau sạch Cô Lan": "Rau hái sáng sớm từ vườn Hòa Vang, bó gọn, rửa sạch.",
    "Hải sản Hùng Thọ Quang": "Cá biển tươi mỗi sáng từ cảng Thọ Quang, làm sạch miễn phí.",
}

D, P = Merchant.Sector.DISTRIBUTION, Merchant.Sector.PRODUCTION
KCT = Product.TaxCategory.NOT_SUBJECT

TRADERS = [
    Trader(
        "0905111001",
        "Nguyễn Thị Lan",
        "Rau sạch Cô Lan",
        "048175001234",
        D,
        "cho-han",
        "A-1",
        "970436",
        "0041000123456",
        [
            ("Rau muống", "bó", 10000, False, KCT),
            ("Cải ngọt", "bó", 12000, False, KCT),
            ("Cà chua", "kg", 25000, True, KCT),
            ("Rau thơm các loại", "bó", 5000, False, KCT),
            ("Khổ qua", "kg", 30000, True, KCT),
        ],
    ),
    Trader(
        "0905111002",
        "Trần Văn Hùng",
        "Hải sản Hùng Thọ Quang",
        "048072004567",
        D,
        "cho-han",
        "B-2",
        "970415",
        "101870123456",
        [
            ("Cá thu", "kg", 180000, True, KCT),
            ("Mực lá", "kg", 320000, True, KCT),
            ("Tôm sú", "kg", 280000, True, KCT),
            ("Cá nục", "kg", 60000, True, KCT),
            # Sold by the piece: the README's sale keys a weight and taps this twice.
            ("Ghẹ xanh", "con", 45000, False, KCT),
        ],
    ),
    Trader(
        "0905111003",
        "Lê Thị Mai",
        "Đặc sản Bà Mai",
        "048168007890",
        P,
        "cho-han",
        "C-1",
        "970418",
        "56010000123456",
        [
            ("Bánh tráng nướng", "gói", 25000, False, "5%"),
            ("Chả bò Đà Nẵng", "kg", 260000, True, "5%"),
            ("Mắm nêm Ông Già Cả", "chai", 35000, False, "5%"),
            ("Tré bà Đệ", "chục", 60000, False, "5%"),
        ],
    ),
    Trader(
        "0905111004",
        "Phạm Văn Tư",
        "Thịt heo Tư Cồn",
        "048069002345",
        D,
        "cho-con",
        "A-3",
        "970405",
        "2004205123456",
        [
            ("Thịt heo ba chỉ", "kg", 140000, True, KCT),
            ("Thịt heo nạc", "kg", 130000, True, KCT),
            ("Sườn non", "kg", 160000, True, KCT),
            ("Giò heo", "kg", 90000, True, KCT),
        ],
    ),
    Trader(
        "0905111005",
        "Hoàng Thị Hoa",
        "Gạo - Đồ khô Hoa",
        "048180003456",
        D,
        "cho-con",
        "B-1",
        "970407",
        "19034567890123",
        [
            ("Gạo ST25", "kg", 32000, True, KCT),
            ("Đậu phộng", "kg", 55000, True, KCT),
            ("Nấm mèo", "gói", 20000, False, KCT),
            ("Mực khô", "kg", 1200000, True, KCT),
        ],
    ),
    Trader(
        "0905111006",
        "Võ Văn Nam",
        "Mì Quảng Bà Vị",
        "048085006789",
        P,
        "cho-con",
        "D-2",
        "970422",
        "0801234567890",
        [
            ("Mì Quảng gà", "tô", 35000, False, "8%"),
            ("Mì Quảng tôm thịt", "tô", 40000, False, "8%"),
            ("Bánh xèo", "đĩa", 30000, False, "8%"),
            ("Trà đá", "ly", 5000, False, "8%"),
        ],
    ),
    Trader(
        "0905111007",
        "Đặng Thị Thu",
        "Rau củ Mỹ An",
        "048178005678",
        D,
        "cho-bac-my-an",
        "A-2",
        "970416",
        "25767885",
        [
            ("Rau muống", "bó", 10000, False, KCT),
            ("Bí đỏ", "kg", 18000, True, KCT),
            ("Chuối", "chục", 25000, False, KCT),
            ("Cà rốt", "kg", 22000, True, KCT),
        ],
    ),
    # Applied for a stall; the application waits for staff.
    Trader(
        "0905111008",
        "Bùi Văn Long",
        "Cá biển Long Mỹ An",
        "048090001122",
        D,
        "cho-bac-my-an",
        None,
        "970432",
        "155123456",
        [
            ("Cá ngừ", "kg", 150000, True, KCT),
            ("Cá bạc má", "kg", 70000, True, KCT),
            ("Ghẹ", "kg", 350000, True, KCT),
        ],
    ),
]

# An enterprise that will exhibit and sell online later: a 10-digit tax code with check digit.
ENTERPRISE_BASE = "040123456"


class Command(BaseCommand):
    help = "Load Da Nang demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--sales-days",
            type=int,
            default=28,
            help="Days of demo sales history to make at each stall (0: none).",
        )

    def handle(self, *args, **options) -> None:
        with transaction.atomic():
            staff = self._staff()
            self._markets()
            traders = [self._trader(t) for t in TRADERS]
            self._storefronts(traders)
            self._enterprise(traders[2][0])
        # Outside the transaction above: sales use the services' own durable transactions.
        if options["sales_days"] > 0:
            self._sales(traders, days=options["sales_days"])
        self._invoicing(traders)
        self._print_logins(staff)
        load_demo_exhibitions(stdout=self.stdout)

    def _staff(self) -> User:
        group, _ = Group.objects.get_or_create(name=STAFF_GROUP)
        perms = []
        for dotted in STAFF_PERMISSIONS:
            app_label, codename = dotted.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)
        staff = User.objects.filter(phone="+84905000001").first()
        if staff is None:
            staff = User.objects.create_user(
                "0905000001",
                DEMO_PASSWORD,
                full_name="Ngô Minh Quân (Sở Công Thương)",
                is_staff=True,
            )
        staff.groups.add(group)
        team, _ = Group.objects.get_or_create(name=ONBOARDING_GROUP)
        team.permissions.set(
            Permission.objects.get(content_type__app_label=app, codename=codename)
            for app, codename in (p.split(".") for p in ONBOARDING_PERMISSIONS)
        )
        staff.groups.add(team)
        return staff

    def _markets(self) -> None:
        for name, slug, district, address, zones in MARKETS:
            market, _ = Market.objects.get_or_create(
                slug=slug, defaults={"name": name, "district": district, "address": address}
            )
            for zone, count, category in zones:
                for n in range(1, count + 1):
                    Stall.objects.get_or_create(
                        market=market, code=f"{zone}-{n}", defaults={"goods_category": category}
                    )

    def _trader(self, t: Trader) -> tuple[Merchant, User]:
        user = User.objects.filter(phone=f"+84{t.phone[1:]}").first()
        if user is None:
            user = merchant_services.user_register(
                phone=t.phone, full_name=t.full_name, password=DEMO_PASSWORD
            )
        merchant = Merchant.objects.filter(tax_code=t.personal_id).first()
        if merchant is None:
            merchant = merchant_services.merchant_create(
                user=user,
                kind=Merchant.Kind.HOUSEHOLD,
                legal_name=f"Hộ kinh doanh {t.full_name}",
                display_name=t.shop,
                tax_code=t.personal_id,
                address=dict((m[1], m[3]) for m in MARKETS)[t.market],
                sector=t.sector,
                phone=t.phone,
            )
        if not merchant.bank_accounts.exists():
            merchant_services.bank_account_add(
                actor=user,
                merchant=merchant,
                bank_bin=t.bank_bin,
                account_number=t.account,
                holder_name=t.full_name,
            )
        # The first two of each catalogue are the stall's favourites ("hay bán"), first on the POS.
        for n, (name, unit, price, by_weight, tax) in enumerate(t.products):
            if not merchant.products.filter(name=name, unit=unit).exists():
                merchant_services.product_create(
                    actor=user,
                    merchant=merchant,
                    name=name,
                    unit=unit,
                    price=price,
                    sold_by_weight=by_weight,
                    tax_category=tax,
                    pos_favourite=n < 2,
                )
        market = Market.objects.get(slug=t.market)
        if t.stall:
            Stall.objects.filter(market=market, code=t.stall, merchant__isnull=True).update(
                merchant=merchant
            )
        elif not merchant.stall_applications.exists():
            StallApplication.objects.create(
                merchant=merchant,
                market=market,
                requested_code="B-3",
                goods_category=GoodsCategory.SEAFOOD,
                created_by=user,
                note="Tôi bán cá ở Mỹ An 10 năm nay, xin sạp B-3 gần cổng phụ.",
            )
        return merchant, user

    def _storefronts(self, traders: list[tuple[Merchant, User]]) -> None:
        """Every trader with a stall sells online too; every other one also delivers (15.000 or
        20.000 đ). Set once: a trader's own changes survive another run of the demo."""
        with_stalls = [m for (m, _u), t in zip(traders, TRADERS, strict=True) if t.stall]
        for n, merchant in enumerate(with_stalls):
            delivers = n % 2 == 1
            Storefront.objects.get_or_create(
                merchant=merchant,
                defaults={
                    "is_open": True,
                    "tagline": STOREFRONT_TAGLINES.get(merchant.display_name, ""),
                    "opens_at": time(5, 0),
                    "closes_at": time(18, 0),
                    "pickup_slot_minutes": 30,
                    "pickup_lead_minutes": 30,
                    "delivers": delivers,
                    "delivery_fee": (15_000 if n % 4 == 1 else 20_000) if delivers else 0,
                    "delivery_area": "Hải Châu, Thanh Khê, Sơn Trà" if delivers else "",
                },
            )

    def _sales(self, traders: list[tuple[Merchant, User]], days: int) -> None:
        """Four weeks of mornings at the stalls, so reports have something to show. Adoption
        grows at most stalls; the last stall still takes only cash (the dashboard flags it)."""
        with_stalls = [(m, u) for (m, u), t in zip(traders, TRADERS, strict=True) if t.stall]
        for n, (merchant, user) in enumerate(with_stalls):
            if merchant.orders.exists():
                continue
            last = n == len(with_stalls) - 1
            demo_sales_history(
                merchant=merchant,
                cashier=user,
                days=days,
                cashless_from=0.0 if last else 0.2 + 0.05 * n,
                cashless_to=0.0 if last else 0.55 + 0.05 * n,
                seed=2026 + n,
            )

    def _invoicing(self, traders: list[tuple[Merchant, User]]) -> None:
        """E-invoices: the first three stalls issue a cash-register sales invoice for every paid
        sale (prefix as if the tax authority had assigned it). They registered their series
        yesterday morning, so yesterday's and today's demo sales have their invoices already
        (automatic invoicing covers sales from the series' registration on); every sale made in
        the demo gets one too. The enterprise has a VAT invoice series for invoices on request."""
        from einvoice.models import Series
        from einvoice.services import series_create
        from market.sales.invoicing import invoices_issue_due

        today = timezone.localdate()
        year = today.strftime("%y")
        registered = timezone.make_aware(
            datetime.combine(today - timedelta(days=1), time(0, 0)), timezone.get_current_timezone()
        )
        if registered.year != today.year:  # 1 January: a series is for one year
            registered = timezone.make_aware(datetime.combine(today, time(0, 0)))
        for n, (merchant, _user) in enumerate(traders[:3]):
            if not Series.objects.filter(merchant=merchant).exists():
                series = series_create(
                    merchant=merchant,
                    form="2",
                    symbol=f"C{year}MA{'ABC'[n]}",
                    register_prefix=f"DNG0{n + 1}",
                    auto_issue=True,
                    actor_label="demo",
                )
                Series.objects.filter(pk=series.pk).update(created_at=registered)
        invoices_issue_due()
        enterprise = Merchant.objects.filter(kind=Merchant.Kind.ENTERPRISE).first()
        if enterprise and not Series.objects.filter(merchant=enterprise).exists():
            series_create(merchant=enterprise, form="1", symbol=f"C{year}TSH", actor_label="demo")

    def _enterprise(self, owner: Merchant) -> None:
        tax_code = ENTERPRISE_BASE + mst.calc_check_digit(ENTERPRISE_BASE)
        if Merchant.objects.filter(tax_code=tax_code).exists():
            return
        user = owner.memberships.first().user  # type: ignore[union-attr]
        merchant_services.merchant_create(
            user=user,
            kind=Merchant.Kind.ENTERPRISE,
            legal_name="Công ty TNHH Đặc sản Sông Hàn",
            display_name="Đặc sản Sông Hàn",
            tax_code=tax_code,
            address="12 Bạch Đằng, Hải Châu, Đà Nẵng",
            sector=P,
        )

    def _print_logins(self, staff: User) -> None:
        out = self.stdout
        out.write(
            self.style.SUCCESS(f"Demo data ready. Logins (password for all: {DEMO_PASSWORD}):")
        )
        out.write(f"  staff (Sở Công Thương) {display_vn_phone(staff.phone)}  {staff.full_name}")
        for t in TRADERS:
            where = f"{t.market} {t.stall}" if t.stall else f"{t.market} (application pending)"
            phone = f"{t.phone[:4]} {t.phone[4:7]} {t.phone[7:]}"
            out.write(f"  trader {phone}  {t.full_name:<16} {t.shop} · {where}")
