"""Sales benchmark driver: orders created per second, and a market morning with bank payments.

Run through `bash bench/sales.sh`, which starts the stack (throw-away PostgreSQL + Redis, demo data,
gunicorn sync workers) and exports the settings this driver shares with it (DATABASE_URL,
REDIS_URL, SECRET_KEY, BANKNOTIFY_WEBHOOK_SECRET). The driver loads Django only to prepare (API
keys, the morning's stalls) and to verify in the database afterwards; everything measured goes over
HTTP on loopback. Helpers shared with bench/payments.py are imported from it.

1. create order + intent: wrk (bench/sales.lua) on POST /api/v1/market/orders, a bank-QR sale of
   a weighed product and a free amount, at a few concurrency levels, each next to wrk on the bare
   endpoint at the same concurrency; then every order counted and checked in the database;
2. a market morning: S new stalls (merchant, bank account, catalogue, API key) sell open-loop on a
   compressed 05:00-11:00 with a 10x peak at 06:30-07:30; 70% of sales by bank QR, paid a few
   hundred ms later by a signed bank notification (some late, a few delivered twice, a few never
   paid); then the orders, notifications and ledger are checked in the database.
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import os
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

# The project first: Python put bench/ on the path, where payments.py would shadow the app.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_payments() -> Any:
    """bench/payments.py as module `bench_payments` (the name `payments` is the app's)."""
    spec = importlib.util.spec_from_file_location(
        "bench_payments", Path(__file__).with_name("payments.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bp = _bench_payments()
pct, ms, say, session, latencies = bp.pct, bp.ms, bp.say, bp.session, bp.latencies

ORDERS = "/api/v1/market/orders"
LUA = Path(__file__).with_name("sales.lua")
TIMEOUT = bp.TIMEOUT  # seconds, a wrk or setup call
DAY_TIMEOUT = 30.0  # seconds, a call of the morning: an overloaded stack queues, it is measured
FREE_PRICE = 45_000  # the free-amount line of the wrk sale (bench/sales.lua)


# --- options ----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/sales.py",
        description="Driver of bench/sales.sh (which passes the --api-url and stack options).",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=32),
    )
    add = p.add_argument
    add("--only", choices=("wrk", "day"), help="run one part: wrk (create) or day (morning)")
    add("--levels", default="4,16,32", metavar="C,..", help="wrk connections (4,16,32)")
    add("--wrk-duration", default="15s", metavar="D", help="each wrk run, -d (15s)")
    add("--wrk-warmup", default="3s", metavar="D", help="warm-up before each, 0 to skip (3s)")
    add("--stalls", type=int, default=60, metavar="S", help="morning: stalls (60)")
    add("--morning", type=float, default=90, metavar="SEC", help="05:00-11:00 in SEC s (90)")
    add("--peak-rate", type=float, default=40, metavar="R", help="sales/s at the peak (40)")
    add("--qr-share", type=float, default=0.7, metavar="F", help="sales by bank QR (0.7)")
    add("--late", type=float, default=0.05, metavar="F", help="QR paid 5-15 s later (0.05)")
    add("--dup", type=float, default=0.03, metavar="F", help="QR notified twice (0.03)")
    add("--abandon", type=float, default=0.02, metavar="F", help="QR never paid (0.02)")
    add("--poll-share", type=float, default=0.1, metavar="F", help="QR sales polled (0.1)")
    add("--client-threads", type=int, default=512, metavar="T", help="open-loop senders (512)")
    add("--seed", type=int, default=2026, metavar="N", help="random seed of the morning (2026)")
    add(
        "--idempotency",
        action="store_true",
        help="wrk: a fresh Idempotency-Key on every order, as the POS till sends",
    )
    add(
        "--bare-rps",
        type=float,
        metavar="R",
        help="use this bare figure (measured by the caller, e.g. bench/all.sh) instead of wrk",
    )
    # Passed by bench/sales.sh.
    for name in ("--api-url", "--workers", "--work", "--load"):
        add(name, default="?", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.api_url == "?":
        p.error("run it through bench/sales.sh, which starts the stack and passes the URL")
    args.levels = [int(c) for c in args.levels.split(",") if c.strip()]
    return args


# --- 1. create order + intent with wrk --------------------------------------------------------


@dataclass
class WrkShop:
    merchant_id: int
    key: str
    product_id: int  # an active product sold by weight


def wrk_shops() -> list[WrkShop]:
    """An API key for each demo merchant with a default bank account and a weighed product."""
    from django.db import connections

    from merchants.models import BankAccount, Membership, Product
    from merchants.services import api_key_create

    shops = []
    for account in BankAccount.objects.filter(is_default=True).select_related("merchant"):
        merchant = account.merchant
        owner = Membership.objects.filter(merchant=merchant, role=Membership.Role.OWNER).first()
        product = (
            Product.objects.filter(merchant=merchant, is_active=True, sold_by_weight=True)
            .order_by("pk")
            .first()
        )
        if owner is None or product is None:
            continue
        _, raw = api_key_create(actor=owner.user, merchant=merchant, name="bench sales")
        shops.append(WrkShop(merchant.pk, raw, product.pk))
    connections.close_all()
    if len(shops) < 2:
        raise SystemExit("bench: want several demo merchants with a bank account and products")
    return shops


def wrk_body(shop: WrkShop, tag: str) -> dict[str, Any]:
    """The sale bench/sales.lua sends (one fixed weight here)."""
    return {
        "merchant_id": shop.merchant_id,
        "payment_method": "bank_qr",
        "lines": [
            {"product_id": shop.product_id, "quantity": "0.35"},
            {"unit_price": FREE_PRICE, "name": tag},
        ],
    }


def check_wrk_sale(base: str, shops: list[WrkShop]) -> None:
    """Each shop's sale answers 201 with a QR first: a 4xx is fast and would flatter wrk."""
    for shop in shops:
        r = session().post(
            base + ORDERS,
            json=wrk_body(shop, "bench check"),
            headers={"Authorization": f"Bearer {shop.key}"},
            timeout=TIMEOUT,
        )
        payment = r.json().get("payment") if r.status_code == 201 else None
        if not payment or not payment.get("reference_code") or not payment.get("qr_payload"):
            raise SystemExit(f"bench: a wrk sale answered {r.status_code}: {r.text[:300]}")


@dataclass
class WrkRun:
    rps: float
    p50: float
    p99: float
    requests: int
    ok: int  # 2xx, counted by bench/sales.lua
    other: int  # other answers
    socket_errors: int
    sample: str = ""  # the first other answer


_WRK_FIGURES = {
    "rps": r"Requests/sec:\s+([\d.]+)",
    "p50": r"^\s+50%\s+(\S+)",
    "p99": r"^\s+99%\s+(\S+)",
    "requests": r"(\d+) requests in",
    "ok": r"sales\.lua: 2xx=(\d+)",
    "other": r"sales\.lua: 2xx=\d+ other=(\d+)",
}


def wrk_post(
    url: str, shops_file: Path, tag: str, connections: int, duration: str, idem: bool = False
) -> WrkRun:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--timeout", f"{TIMEOUT:g}s"]
    command += ["--latency", "-s", str(LUA), url, "--", str(shops_file), tag]
    command += ["idem"] if idem else []
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    found: dict[str, str] = {}
    for name, pattern in _WRK_FIGURES.items():
        match = re.search(pattern, out, re.M)
        if match is None:
            raise SystemExit(f"bench: no {name} in wrk's output:\n{out}")
        found[name] = match.group(1)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    sample = re.search(r"^sales\.lua: first other answer: (.*)$", out, re.M)
    return WrkRun(
        rps=float(found["rps"]),
        p50=bp.wrk_seconds(found["p50"]),
        p99=bp.wrk_seconds(found["p99"]),
        requests=int(found["requests"]),
        ok=int(found["ok"]),
        other=int(found["other"]),
        socket_errors=sum(int(x) for x in sockets.groups()) if sockets else 0,
        sample=sample.group(1) if sample else "",
    )


def verify_wrk_orders(tag: str) -> tuple[int, list[str]]:
    """(orders whose free line is named `tag`, what is wrong with them) in the database."""
    from django.db import connections
    from django.db.models import Count, F

    from market.models import Order, OrderLine
    from payments.models import PaymentIntent

    ids = OrderLine.objects.filter(name=tag, unit_price=FREE_PRICE).values("order_id")
    orders = Order.objects.filter(pk__in=ids)
    # The requests wrk left in flight are still being served: an order is committed before its
    # intent (separate transactions). Wait until the count holds still and every order has one.
    count, deadline = -1, time.perf_counter() + TIMEOUT
    while time.perf_counter() < deadline:
        now = (orders.count(), orders.filter(intent__isnull=True).count())
        if now == (count, 0):
            break
        count = now[0]
        time.sleep(0.5)
    problems = []
    checks = {
        "without an intent": orders.filter(intent__isnull=True),
        "whose intent's reference is not the order number": orders.exclude(
            intent__reference=F("number")
        ),
        "whose intent asks another amount than the total": orders.exclude(
            intent__amount=F("total")
        ),
        "not awaiting payment or not bank QR": orders.exclude(
            status=Order.Status.AWAITING_PAYMENT, payment_method=Order.PaymentMethod.BANK_QR
        ),
        "whose intent is not a payable bank QR": orders.exclude(
            intent__status=PaymentIntent.Status.REQUIRES_PAYMENT,
            intent__method=PaymentIntent.Method.BANK_QR,
        ),
        "without exactly 2 lines": orders.annotate(n=Count("lines")).exclude(n=2),
    }
    for what, rows in checks.items():
        if bad := rows.count():
            problems.append(f"{tag}: {bad} orders {what}")
    connections.close_all()
    return count, problems


@dataclass
class Level:
    connections: int
    bare: Any  # bench_payments.Wrk
    create: WrkRun
    in_db: int
    problems: list[str]


def measure_create(args: argparse.Namespace, run_id: str) -> list[Level]:
    say("» API keys for the demo merchants (wrk rotates over them)")
    shops = wrk_shops()
    shops_file = Path(args.work) / "sales-shops.tsv"
    shops_file.write_text("".join(f"{s.merchant_id}\t{s.key}\t{s.product_id}\n" for s in shops))
    check_wrk_sale(args.api_url, shops)
    url = args.api_url + ORDERS
    levels = []
    for n, c in enumerate(args.levels, start=1):
        if args.bare_rps:
            say(f"» C={c}: POST {ORDERS}, -d{args.wrk_duration} (bare measured by the caller)")
            bare = bp.Wrk(args.bare_rps, float("nan"), float("nan"), 0)
        else:
            say(f"» C={c}: wrk {bp.HEALTH}, then POST {ORDERS}, -d{args.wrk_duration} each")
            bare = bp.run_wrk(args.api_url + bp.HEALTH, args.wrk_duration, args.wrk_warmup, c)
        idem = args.idempotency
        if args.wrk_warmup not in ("0", "0s"):
            wrk_post(url, shops_file, f"bench {run_id} warm {n}", c, args.wrk_warmup, idem)
        tag = f"bench {run_id} run {n} c{c}"
        create = wrk_post(url, shops_file, tag, c, args.wrk_duration, idem)
        in_db, problems = verify_wrk_orders(tag)
        # A request in flight when wrk stops is still served (and committed), but not counted.
        if not create.ok <= in_db <= create.ok + c:
            problems.append(f"{tag}: {in_db} orders in the database, wrk had {create.ok} 2xx")
        if create.other or create.socket_errors:
            problems.append(
                f"{tag}: {create.other} non-2xx, {create.socket_errors} socket errors"
                + (f"; first: {create.sample}" if create.sample else "")
            )
        levels.append(Level(c, bare, create, in_db, problems))
    return levels


def report_create(args: argparse.Namespace, levels: list[Level]) -> list[str]:
    def line(*cells: object) -> str:
        name, c, rps, p50, p99, ok, other, vs_rps, vs_p50, vs_p99 = (str(x) for x in cells)
        return (
            f"| {name:<29} | {c:>3} | {rps:>6} | {p50:>9} | {p99:>9} | {ok:>6} | {other:>5} "
            f"| {vs_rps:<11} | {vs_p50:<7} | {vs_p99:<7} |"
        )

    print()
    print(line("", "C", "req/s", "p50", "p99", "2xx", "other", "req/s", "p50", "p99"))
    widths = (31, 5, 8, 11, 11, 8, 7, 13, 9, 9)
    print(
        "|"
        + "|".join(
            "-" * w if i in (0, 7, 8, 9) else "-" * (w - 1) + ":" for i, w in enumerate(widths)
        )
        + "|"
    )
    problems = []
    for lv in levels:
        b, w = lv.bare, lv.create
        print(
            line(
                "bare (health), wrk",
                lv.connections,
                f"{b.rps:.0f}",
                ms(b.p50),
                ms(b.p99),
                "—",
                b.errors,
                "1.00× bare",
                "1.00×",
                "1.00×",
            )
        )
        print(
            line(
                "create order + QR intent, wrk",
                lv.connections,
                f"{w.rps:.0f}",
                ms(w.p50),
                ms(w.p99),
                w.ok,
                w.other + w.socket_errors,
                f"{w.rps / b.rps:.2f}× bare",
                "—" if b.p50 != b.p50 else f"{w.p50 / b.p50:.1f}×",
                "—" if b.p99 != b.p99 else f"{w.p99 / b.p99:.1f}×",
            )
        )
        problems += lv.problems
        bp.record(
            "orders_wrk",
            c=lv.connections,
            rps=w.rps,
            p50=w.p50,
            p99=w.p99,
            bare_rps=b.rps,
            idempotency=bool(args.idempotency),
            ok=w.ok,
            errors=w.other + w.socket_errors + len(lv.problems),
        )
    print()
    print(
        f"  sale: bank QR, 2 lines (a weighed product 0.100-2.500 kg + a free 45.000 đ), "
        f"rotating over the demo merchants; wrk -t1 -d{args.wrk_duration} --latency after "
        f"{args.wrk_warmup} warm-up, bench/sales.lua"
    )
    for lv in levels:
        print(
            f"  C={lv.connections}: {lv.in_db} orders in the database for {lv.create.ok} 2xx "
            f"({lv.in_db - lv.create.ok} in flight when wrk stopped), each with its intent "
            f"(reference = order number, amount = total)"
            + ("" if not lv.problems else f"; {len(lv.problems)} PROBLEMS")
        )
    print(f"verified: {sum(lv.in_db for lv in levels)} orders, {len(problems)} errors  (wrk)")
    for problem in problems:
        print(f"  {problem}")
    return problems


# --- 2. a market morning ----------------------------------------------------------------------

# name, unit, price (đồng), sold by weight, tax category
CATALOGUE = [
    ("Rau muống", "bó", 10_000, False, "KCT"),
    ("Cà chua", "kg", 25_000, True, "KCT"),
    ("Cá thu", "kg", 180_000, True, "KCT"),
    ("Mực lá", "kg", 320_000, True, "KCT"),
    ("Thịt heo ba chỉ", "kg", 140_000, True, "KCT"),
    ("Gạo ST25", "kg", 32_000, True, "KCT"),
    ("Bánh tráng nướng", "gói", 25_000, False, "5%"),
    ("Chả bò", "kg", 260_000, True, "5%"),
    ("Mì Quảng gà", "tô", 35_000, False, "8%"),
    ("Trà đá", "ly", 5_000, False, "8%"),
    ("Chuối", "chục", 25_000, False, "KCT"),
    ("Bí đỏ", "kg", 18_000, True, "KCT"),
]
BINS = ["970436", "970415", "970418", "970405", "970407", "970422", "970416", "970432"]

# The morning's shape: (minutes after 05:00, rate multiplier), linear in between; 10x at the peak.
PROFILE = [(0, 1.0), (60, 1.0), (90, 10.0), (150, 10.0), (210, 3.0), (300, 1.5), (360, 1.0)]
PEAK = (90, 150)  # 06:30-07:30
SLOT = 30  # minutes per line of the profile table


@dataclass
class Stall:
    code: str
    shop: Any  # bench_payments.Shop: merchant, bank account, API key
    products: list[tuple[int, int, bool]]  # (id, price, sold by weight)


def market_setup(count: int, seed: int) -> list[Stall]:
    """`count` new stalls in a new market: owner, merchant, default bank account, 4 products of
    the catalogue, an API key. Through the services (no password: nobody signs in)."""
    from django.db import connections

    from market.models import GoodsCategory, Market
    from market.models import Stall as StallRow
    from merchants import services
    from merchants.banks import bank_by_bin
    from merchants.models import Merchant, User

    rng = random.Random(seed)
    market, _ = Market.objects.get_or_create(
        slug="cho-sang-bench",
        defaults={"name": "Chợ sáng (bench)", "district": "Sơn Trà", "address": "Đà Nẵng"},
    )
    stalls = []
    for i in range(count):
        code = f"S-{i + 1}"
        user = User.objects.create_user(f"0906{i:06d}", None, full_name=f"Tiểu thương {i + 1}")
        merchant = services.merchant_create(
            user=user,
            kind=Merchant.Kind.HOUSEHOLD,
            legal_name=f"Hộ kinh doanh sạp {code}",
            display_name=f"Sạp {code}",
            tax_code=f"048199{i:06d}",
            address="Chợ sáng (bench), Sơn Trà, Đà Nẵng",
            sector=Merchant.Sector.DISTRIBUTION,
        )
        bank_bin = BINS[i % len(BINS)]
        account = services.bank_account_add(
            actor=user,
            merchant=merchant,
            bank_bin=bank_bin,
            account_number=f"88{i:08d}",
            holder_name=f"Tieu thuong {i + 1}",
        )
        products = []
        for name, unit, price, by_weight, tax in rng.sample(CATALOGUE, 4):
            product = services.product_create(
                actor=user,
                merchant=merchant,
                name=name,
                unit=unit,
                price=price,
                sold_by_weight=by_weight,
                tax_category=tax,
            )
            products.append((product.pk, price, by_weight))
        StallRow.objects.create(
            market=market, code=code, goods_category=GoodsCategory.FOOD, merchant=merchant
        )
        _, raw = services.api_key_create(actor=user, merchant=merchant, name="bench")
        bank = bank_by_bin(bank_bin)
        shop = bp.Shop(
            merchant_id=merchant.pk,
            bank_bin=bank_bin,
            account=account.account_number,
            gateway=bank.short_name if bank else "",
            key=raw,
        )
        stalls.append(Stall(code, shop, products))
    connections.close_all()
    return stalls


def multiplier(minute: float) -> float:
    for (m0, r0), (m1, r1) in itertools.pairwise(PROFILE):
        if m0 <= minute <= m1:
            return r0 + (r1 - r0) * (minute - m0) / (m1 - m0)
    return PROFILE[-1][1]


@dataclass
class Sale:
    at: float  # seconds after the start of the morning: when the shopper reaches the stall
    stall: Stall
    method: str
    lines: list[dict[str, Any]]
    fate: str  # cash, paid, late, dup (paid, then the notification delivered twice), abandon
    pay_after: float = 0.0  # seconds from the order's answer to the transfer
    dup_after: float = 0.0  # seconds from the first delivery's answer to the second
    poll: bool = False  # someone watches the order: GET until it is paid
    # Results.
    lag: float = 0.0  # client: sent this much after `at`
    latency: float | None = None  # `at` -> answer (includes lag)
    done: float = 0.0  # seconds after the start
    error: str = ""
    order_id: int = 0
    total: int = 0
    code: str = ""
    pay_at: float = 0.0  # perf_counter when the transfer was due
    provider_id: str = ""
    webhook: float | None = None  # POST -> answer, first delivery
    webhook_error: str = ""
    dup: float | None = None
    dup_error: str = ""
    seen_paid: float | None = None  # pay_at -> a GET answering "paid"
    poll_error: str = ""


def plan_morning(args: argparse.Namespace, stalls: list[Stall]) -> list[Sale]:
    """Open-loop arrivals: a Poisson process at peak-rate x multiplier / 10, by thinning."""
    rng = random.Random(args.seed)
    scale = 360 / args.morning  # market minutes per real second
    sales: list[Sale] = []
    t = 0.0
    while True:
        t += rng.expovariate(args.peak_rate)
        if t >= args.morning:
            return sales
        if rng.random() >= multiplier(t * scale) / 10:
            continue
        stall = rng.choice(stalls)
        lines: list[dict[str, Any]] = []
        for product_id, _price, by_weight in rng.sample(stall.products, rng.choice((1, 1, 2, 3))):
            if by_weight:
                quantity = f"{rng.randint(100, 2500) / 1000:.3f}"
            else:
                quantity = str(rng.choice((1, 1, 2, 3)))
            lines.append({"product_id": product_id, "quantity": quantity})
        if rng.random() < 0.1:
            lines.append({"unit_price": rng.randrange(5, 60) * 1000, "name": "Tiền hàng"})
        qr = rng.random() < args.qr_share
        sale = Sale(t, stall, "bank_qr" if qr else "cash", lines, "cash" if not qr else "paid")
        if qr:
            roll = rng.random()
            if roll < args.abandon:
                sale.fate = "abandon"
            elif roll < args.abandon + args.late:
                sale.fate, sale.pay_after = "late", rng.uniform(5, 15)
            else:
                sale.pay_after = rng.uniform(0.2, 0.8)  # scan, confirm in the bank app
                if roll < args.abandon + args.late + args.dup:
                    sale.fate, sale.dup_after = "dup", rng.uniform(0.5, 3)
            sale.poll = sale.fate != "abandon" and rng.random() < args.poll_share
        sales.append(sale)


# Open loop: bench/payments.py's Clock (each job at its time on a large pool, with in-flight,
# late and dropped counts).
Clock = bp.Clock


def webhook_post(base: str, secret: str, body: bytes, due: float) -> tuple[float, str]:
    """POST a notification body, freshly signed (a retry is signed anew): (latency from ``due``,
    the time the transfer was scheduled for, so the client's own queueing counts; error)."""
    from payments.providers.banknotify import SIGNATURE_HEADER, sign

    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, secret),
    }
    t0 = due
    try:
        r = session().post(base + bp.WEBHOOK, data=body, headers=headers, timeout=DAY_TIMEOUT)
    except requests.RequestException as exc:
        return time.perf_counter() - t0, f"{type(exc).__name__}: {exc}"
    latency = time.perf_counter() - t0
    if r.status_code != 200:
        return latency, f"HTTP {r.status_code}: {r.text[:200]}"
    outcome = r.json().get("outcome")
    return latency, "" if outcome == "settled" else f"outcome {outcome!r}"


class Morning:
    """The morning's jobs: a sale's order, its transfer, a second delivery, a watcher's polls."""

    def __init__(self, args: argparse.Namespace, secret: str) -> None:
        self.base, self.secret = args.api_url, secret
        self.clock = Clock(args.client_threads)
        self.start = 0.0

    def run(self, sales: list[Sale]) -> float:
        """Play the morning; returns when it started (perf_counter)."""
        self.start = time.perf_counter() + 0.5
        for sale in sales:
            self.clock.at(self.start + sale.at, lambda when, s=sale: self.create(s, when))
        self.clock.drain()
        return self.start

    def create(self, sale: Sale, when: float) -> None:
        sale.lag = time.perf_counter() - when
        body = {"merchant_id": sale.stall.shop.merchant_id, "payment_method": sale.method}
        body["lines"] = sale.lines
        try:
            r = session().post(
                self.base + ORDERS,
                json=body,
                headers={"Authorization": f"Bearer {sale.stall.shop.key}"},
                timeout=DAY_TIMEOUT,
            )
        except requests.RequestException as exc:
            sale.error = f"{type(exc).__name__}: {exc}"
            return
        now = time.perf_counter()
        sale.latency, sale.done = now - when, now - self.start
        if r.status_code != 201:
            sale.error = f"HTTP {r.status_code}: {r.text[:200]}"
            return
        order = r.json()
        sale.order_id, sale.total = order["id"], order["total"]
        if sale.method == "bank_qr":
            payment = order.get("payment") or {}
            sale.code = payment.get("reference_code", "")
            if not sale.code or not payment.get("qr_payload"):
                sale.error = f"no QR in the answer: {payment}"
                return
        if sale.fate not in ("cash", "abandon"):
            pay_at, intent_id = now + sale.pay_after, order["payment"]["intent_id"]
            self.clock.at(pay_at, lambda when: self.pay(sale, intent_id, when))
            if sale.poll:
                self.clock.at(pay_at, lambda when: self.watch(sale, when))

    def pay(self, sale: Sale, intent_id: int, when: float) -> None:
        sale.pay_at = when
        intent = bp.Intent(id=intent_id, shop=sale.stall.shop, amount=sale.total, code=sale.code)
        sale.provider_id, body = bp.notification(intent)
        sale.webhook, sale.webhook_error = webhook_post(self.base, self.secret, body, when)
        if sale.fate == "dup":
            again = time.perf_counter() + sale.dup_after
            self.clock.at(again, lambda when: self.deliver_again(sale, body, when))

    def deliver_again(self, sale: Sale, body: bytes, when: float) -> None:
        sale.dup, sale.dup_error = webhook_post(self.base, self.secret, body, when)

    def watch(self, sale: Sale, when: float) -> None:
        """GET the order every 20 ms from the moment the transfer is due until it is paid."""
        headers = {"Authorization": f"Bearer {sale.stall.shop.key}"}
        while time.perf_counter() - when < DAY_TIMEOUT:
            try:
                r = session().get(
                    f"{self.base}{ORDERS}/{sale.order_id}", headers=headers, timeout=DAY_TIMEOUT
                )
            except requests.RequestException as exc:
                sale.poll_error = f"{type(exc).__name__}: {exc}"
                return
            if r.status_code != 200:
                sale.poll_error = f"HTTP {r.status_code}: {r.text[:200]}"
                return
            if r.json()["status"] == "paid":
                sale.seen_paid = time.perf_counter() - when
                return
            time.sleep(0.02)
        sale.poll_error = f"not paid {DAY_TIMEOUT:g} s after the transfer"


@dataclass
class DayCheck:
    orders: int = 0
    cash_paid: int = 0
    qr_paid: int = 0
    qr_awaiting: int = 0
    notifications: int = 0
    settled: int = 0
    ledger_entries: int = 0
    ledger_sum: int = 0
    qr_paid_total: int = 0
    stuck: int = 0
    paid_unwatched: int = 0
    unanswered: int = 0  # orders created whose answer the client gave up waiting for
    to_paid: list[float] = field(default_factory=list)  # DB: notification received -> order paid
    problems: list[str] = field(default_factory=list)


def verify_morning(stalls: list[Stall], sales: list[Sale]) -> DayCheck:
    """Orders, intents, notifications and ledger of the morning's stalls, from the database."""
    from django.db import connections
    from django.db.models import Count, F, Sum

    from market.models import Order
    from payments.models import BankNotification, LedgerEntry, PaymentIntent

    out = DayCheck()
    bad = out.problems.append
    mids = [s.shop.merchant_id for s in stalls]
    S, M = Order.Status, Order.PaymentMethod
    orders = Order.objects.filter(merchant_id__in=mids)
    out.orders = orders.count()
    answered = [s for s in sales if s.order_id]
    # A create that timed out on the client may still have been served: at most that many more.
    lost = [s for s in sales if "Timeout" in s.error]
    lost_qr = sum(1 for s in lost if s.method == "bank_qr")
    if not len(answered) <= out.orders <= len(answered) + len(lost):
        bad(f"{out.orders} orders in the database, {len(answered)} answered 201")
    out.unanswered = out.orders - len(answered)
    cash = orders.filter(payment_method=M.CASH)
    out.cash_paid = cash.filter(
        status=S.PAID, amount_paid=F("total"), intent__paid_via="cash"
    ).count()
    if out.cash_paid != cash.count():
        bad(f"{cash.count() - out.cash_paid} cash orders not paid in full at once")
    qr = orders.filter(payment_method=M.BANK_QR)
    if n := qr.filter(intent__isnull=True).count():
        bad(f"{n} bank-QR orders without an intent")
    if n := qr.exclude(intent__reference=F("number")).count():
        bad(f"{n} bank-QR orders whose intent's reference is not the order number")
    codes = dict(qr.values_list("pk", "intent__reference_code"))
    if n := sum(1 for s in answered if s.code and codes.get(s.order_id) != s.code):
        bad(f"{n} bank-QR orders whose intent's code is not the one the API answered")
    paid_qr = qr.filter(status=S.PAID)
    out.qr_paid = paid_qr.count()
    out.qr_awaiting = qr.filter(status=S.AWAITING_PAYMENT).count()
    if n := paid_qr.exclude(amount_paid=F("total")).count():
        bad(f"{n} paid bank-QR orders with amount_paid != total")
    out.qr_paid_total = paid_qr.aggregate(t=Sum("total"))["t"] or 0
    paid = PaymentIntent.Status.SUCCEEDED
    out.stuck = qr.filter(status=S.AWAITING_PAYMENT, intent__status=paid).count()
    if out.stuck:
        bad(f"{out.stuck} orders awaiting payment whose intent succeeded (money arrived)")
    transferred = [s for s in answered if s.provider_id]
    unpaid = [s for s in answered if s.method == "bank_qr" and not s.provider_id]
    if not len(unpaid) <= out.qr_awaiting <= len(unpaid) + lost_qr:
        bad(f"{out.qr_awaiting} bank-QR orders awaiting payment, {len(unpaid)} never paid")

    notes = BankNotification.objects.filter(merchant_id__in=mids)
    out.notifications = notes.count()
    out.settled = notes.filter(outcome=BankNotification.Outcome.SETTLED).count()
    if out.notifications != len(transferred):
        bad(f"{out.notifications} notifications stored, {len(transferred)} transfers sent")
    if out.settled != out.notifications:
        outcomes = dict(notes.values_list("outcome").annotate(n=Count("id")))
        bad(f"notification outcomes {outcomes}, expected all settled")
    if out.qr_paid != out.settled:
        bad(f"{out.qr_paid} bank-QR orders paid, {out.settled} notifications settled")

    ledger = LedgerEntry.objects.filter(merchant_id__in=mids)
    out.ledger_entries = ledger.count()
    out.ledger_sum = ledger.aggregate(t=Sum("amount"))["t"] or 0
    if ledger.exclude(kind=LedgerEntry.Kind.SETTLEMENT).exists():
        bad(f"ledger kinds {dict(ledger.values_list('kind').annotate(n=Count('id')))}")
    if n := ledger.values("intent_id").annotate(n=Count("id")).exclude(n=1).count():
        bad(f"{n} intents with more than one ledger entry")
    if out.ledger_entries != out.settled:
        bad(f"{out.ledger_entries} ledger entries for {out.settled} settled notifications")
    if out.ledger_sum != out.qr_paid_total:
        bad(f"ledger sum {out.ledger_sum:,} đ, paid bank-QR totals {out.qr_paid_total:,} đ")

    # Paid with nobody asking: in the webhook's own settlement transaction, not by a GET.
    unwatched = [s.order_id for s in transferred if not s.poll]
    out.paid_unwatched = paid_qr.filter(pk__in=unwatched).count()
    if out.paid_unwatched != len(unwatched):
        bad(f"{len(unwatched) - out.paid_unwatched} transfers to unwatched orders left them unpaid")
    for updated, received in paid_qr.values_list(
        "updated_at", "intent__notifications__received_at"
    ):
        if received is not None:
            out.to_paid.append((updated - received).total_seconds())
    connections.close_all()
    return out


def report_morning(
    args: argparse.Namespace,
    sales: list[Sale],
    check: DayCheck,
    cpu: Any,
    wall: float,
    clock: Any,
) -> list[str]:
    scale = args.morning / 360  # real seconds per market minute
    peak = (PEAK[0] * scale, PEAK[1] * scale)
    created = [s for s in sales if s.order_id]
    in_peak = [s for s in sales if peak[0] <= s.at < peak[1]]
    done_in_peak = [s for s in created if peak[0] <= s.done < peak[1]]
    last = max((s.done for s in created), default=args.morning)
    transfers = [s for s in sales if s.provider_id]
    dups = [s for s in sales if s.dup is not None or s.dup_error]
    watched = [s for s in sales if s.poll and s.provider_id]

    def rate(n: int, seconds: float) -> str:
        return f"{n / seconds:.1f}" if seconds > 0 else "—"

    def row(name: str, offered: str, achieved: str, values: list[float], errors: object) -> str:
        return cells(name, offered, achieved, *latencies(values), errors)

    def cells(*values: object) -> str:
        name, offered, achieved, p50, p95, p99, top, errors = (str(v) for v in values)
        return (
            f"| {name:<34} | {offered:>7} | {achieved:>8} | {p50:>9} | {p95:>9} | {p99:>9} "
            f"| {top:>9} | {errors:>6} |"
        )

    errors = [s.error for s in sales if s.error]
    print()
    print(
        f"{'':2}morning profile ({args.morning:g} s for 05:00-11:00, 1 s = "
        f"{1 / scale:.0f} market minutes; peak {args.peak_rate:g} sales/s = 10× the 05:00 rate)"
    )
    print()
    print(
        "| market time | rate × | offered/s | achieved/s | sales "
        "| create p50 | create p95 / max    |"
    )
    print(
        "|-------------|-------:|----------:|-----------:|------:|-----------:|---------------------|"
    )
    for start in range(0, 360, SLOT):
        lo, hi = start * scale, (start + SLOT) * scale
        mine = [s for s in sales if lo <= s.at < hi]
        done = [s for s in created if lo <= s.done < hi]
        values = [s.latency for s in mine if s.latency is not None and s.order_id]
        mean = sum(multiplier(start + m / 10) for m in range(SLOT * 10)) / (SLOT * 10)
        hhmm = (
            f"{5 + start // 60:02d}:{start % 60:02d}-{5 + (start + SLOT) // 60:02d}:"
            f"{(start + SLOT) % 60:02d}"
        )
        p95 = f"{ms(pct(values, 95))} / {ms(max(values))}" if values else "—"
        print(
            f"| {hhmm} | {mean:6.1f} | {rate(len(mine), hi - lo):>9} | "
            f"{rate(len(done), hi - lo):>10} | {len(mine):>5} | "
            f"{ms(pct(values, 50)) if values else '—':>10} | {p95:<19} |"
        )
    print()
    print(cells("", "offered", "achieved", "p50", "p95", "p99", "max", "errors"))
    print(
        "|"
        + "|".join(
            ["-" * 36, "-" * 8 + ":", "-" * 9 + ":"] + ["-" * 10 + ":"] * 4 + ["-" * 7 + ":"]
        )
        + "|"
    )
    print(
        row(
            "create order, whole morning",
            rate(len(sales), args.morning),
            rate(len(created), last),
            [s.latency for s in created if s.latency is not None],
            len(errors),
        )
    )
    print(
        row(
            "create order, peak 06:30-07:30",
            rate(len(in_peak), peak[1] - peak[0]),
            rate(len(done_in_peak), peak[1] - peak[0]),
            [s.latency for s in in_peak if s.latency is not None and s.order_id],
            sum(1 for s in in_peak if s.error),
        )
    )
    timings: list[tuple[str, list[float], int]] = [  # name, latencies, errors
        ("  client lag (due -> sent)", [s.lag for s in sales], 0),
        (
            f"transfer -> webhook answer, {len(transfers)}",
            [s.webhook for s in transfers if s.webhook is not None],
            sum(1 for s in transfers if s.webhook_error),
        ),
        (
            f"  delivered again, {len(dups)}",
            [s.dup for s in dups if s.dup is not None],
            sum(1 for s in dups if s.dup_error),
        ),
        (
            f"transfer -> GET says paid, {len(watched)}",
            [s.seen_paid for s in watched if s.seen_paid is not None],
            sum(1 for s in watched if s.poll_error),
        ),
        (f"received -> order paid (DB), {len(check.to_paid)}", check.to_paid, 0),
    ]
    for name, values, n_errors in timings:
        print(row(name, "", "", values, n_errors))
    print()
    fates = {
        f: sum(1 for s in sales if s.fate == f) for f in ("cash", "paid", "late", "dup", "abandon")
    }
    print(
        f"  {len(sales)} sales at {args.stalls} stalls; by fate: {fates} (late: paid 5-15 s "
        f"after the order; dup: the same notification delivered again 0.5-3 s later)"
    )
    print(
        f"  {len(created)} orders answered 201 ({check.unanswered} more created but not answered "
        f"within {DAY_TIMEOUT:g} s); the last answer {last:.1f} s after the start ({wall:.1f} s "
        f"in all, with the late transfers)"
    )
    print(f"  client, open loop: {clock.summary()}")
    print(
        "  CPU during the morning: "
        + ", ".join(
            f"{role} {secs / wall:.2f} cores"
            for role, secs in sorted(cpu.used.items(), key=lambda kv: -kv[1])
        )
        + f"; {sum(cpu.used.values()) / wall:.2f} of {os.cpu_count()} cores"
    )
    print(f"  GET polled every 20 ms for {len(watched)} sales from the moment the transfer was due")
    problems = list(check.problems)
    problems += [f"create: {e}" for e in errors]
    problems += [f"webhook: {s.webhook_error}" for s in transfers if s.webhook_error]
    problems += [f"delivered again: {s.dup_error}" for s in dups if s.dup_error]
    problems += [f"watching an order: {s.poll_error}" for s in watched if s.poll_error]
    print(
        f"verified: {check.orders} orders ({check.cash_paid} cash, {check.qr_paid} bank QR paid, "
        f"{check.qr_awaiting} awaiting), {check.settled} of {check.notifications} notifications "
        f"settled, ledger {check.ledger_entries} entries = {check.ledger_sum:,} đ = paid QR "
        f"totals {check.qr_paid_total:,} đ, {check.stuck} stuck; {len(problems)} errors  (morning)"
    )
    # The same error many times (a timeout under overload) once, with its count.
    seen: dict[str, int] = {}
    for problem in problems:
        short = re.sub(r"HTTPConnectionPool\(host='[\d.]+', port=\d+\): ", "", problem)
        seen[short] = seen.get(short, 0) + 1
    for problem, n in list(seen.items())[:20]:
        print(f"  {problem}" + (f"  (×{n})" if n > 1 else ""))
    return problems


class SampledCpuMeter(bp.CpuMeter):
    """bench/payments.py's CpuMeter, sampled every second: over a long run a process may end
    before stop() (a PostgreSQL backend, when CONN_MAX_AGE recycles its connection) and would
    take its CPU time with it."""

    def start(self) -> None:
        super().start()
        self.last: dict[int, tuple[str, float]] = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        while True:
            self.last.update(self._sample())
            if self.done.wait(1.0):
                return

    def stop(self) -> None:
        self.done.set()
        self.thread.join()
        self.used = {}
        for pid, (role, cpu) in self.last.items():
            self.used[role] = self.used.get(role, 0.0) + cpu - self.before.get(pid, 0.0)


def market_morning(args: argparse.Namespace) -> list[str]:
    from django.conf import settings

    say(f"» the morning's stalls: {args.stalls} merchants with a bank account, products, a key")
    stalls = market_setup(args.stalls, args.seed)
    sales = plan_morning(args, stalls)
    say(
        f"» market morning: {len(sales)} sales over {args.morning:g} s, peak {args.peak_rate:g}/s "
        f"at 06:30-07:30, {args.qr_share:.0%} bank QR"
    )
    morning = Morning(args, settings.BANKNOTIFY_WEBHOOK_SECRET)
    cpu = SampledCpuMeter(args.api_url)
    cpu.start()
    start = morning.run(sales)
    wall = time.perf_counter() - start
    cpu.stop()
    check = verify_morning(stalls, sales)
    return report_morning(args, sales, check, cpu, wall, morning.clock) + morning.clock.failures


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    today = datetime.now().date()  # the machine's date, before Django sets TZ to Vietnam's
    bp.django_setup()
    problems: list[str] = []
    if args.only in (None, "wrk"):
        levels = measure_create(args, run_id=f"{random.randrange(16**6):06x}")
        problems += report_create(args, levels)
    if args.only in (None, "day"):
        problems += market_morning(args)
    print()
    print(
        f"  gunicorn {args.workers} sync workers, {os.cpu_count()} cores, {today}, "
        f"{time.perf_counter() - started:.0f} s after setup; load average before the run: "
        f"{args.load} (well above 0: rerun)"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(130)
