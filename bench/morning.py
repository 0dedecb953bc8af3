"""Market morning benchmark: 2,000 stalls selling at the morning's peak, every sale paid by bank.

Run through `bash bench/morning.sh` (or a step of `bash bench/all.sh`), which starts the stack
(bench/_stack.sh: throw-away PostgreSQL + Redis, demo data, gunicorn sync workers) and exports the
settings this driver shares with it (DATABASE_URL, REDIS_URL, SECRET_KEY,
BANKNOTIFY_WEBHOOK_SECRET). Django is loaded only to create the stalls and to check the database
afterwards; everything measured goes over HTTP on loopback.

The load: a city of 2,000 stalls making 150 sales each over a 05:00-11:00 morning whose peak
(06:30-07:30) is 10x its quietest hour (bench/sales.py's PROFILE) sells at ~33.5 sales/s at the
peak. This bench replays that peak rate:

1. setup: S stalls in a new market, each a merchant with a default bank account, 4 products of a
   12-item catalogue and an API key, written with bulk_create (2,000 stalls in a few seconds);
2. open loop: sales arrive as a Poisson process at the peak rate for D seconds; each is due at a
   time fixed in advance and sent then on its own thread of a pool far larger than rate x
   latency (bench/payments.py's Clock). A sale is what the POS till does: POST
   /api/v1/market/orders (bank QR) with an Idempotency-Key, retried with the same key after a
   timeout, a 5xx or a 409 (the first attempt still running); then the shopper's bank transfer,
   a signed notification to the webhook 0.2-0.8 s after the QR was shown. Latencies run from the
   due time (the client's own lag counts); the achieved rate counts answers;
3. check, from the database: every sale offered is one order, paid, by exactly one settled
   notification and one settlement ledger entry of its total.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import secrets
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

# The project first: Python put bench/ on the path, where payments.py would shadow the app.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _bench_module(name: str) -> Any:
    """bench/<name>.py as module `bench_<name>` (`payments` is also the app's name)."""
    if f"bench_{name}" in sys.modules:
        return sys.modules[f"bench_{name}"]
    spec = importlib.util.spec_from_file_location(
        f"bench_{name}", Path(__file__).with_name(f"{name}.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


bs = _bench_module("sales")  # imports bench/payments.py as bench_payments
bp = sys.modules["bench_payments"]
pct, ms, say, session, latencies = bp.pct, bp.ms, bp.say, bp.session, bp.latencies

ORDERS = "/api/v1/market/orders"
TIMEOUT = 10.0  # seconds, one attempt: a cashier waits no longer, then the till retries
ATTEMPTS = 3  # a till retries a sale whose answer did not come, with the same Idempotency-Key
CITY_STALLS, CITY_SALES, MORNING_HOURS = 2000, 150, 6


def city_peak_rate() -> float:
    """Sales/s at the peak of a morning of CITY_STALLS x CITY_SALES shaped like bench/sales.py's
    PROFILE (10x at the peak): total / (hours x mean multiplier / 10)."""
    minutes = MORNING_HOURS * 60
    mean = sum(bs.multiplier(m / 10) for m in range(minutes * 10)) / (minutes * 10)
    return CITY_STALLS * CITY_SALES / (minutes * 60 * mean / 10)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/morning.py",
        description="Driver of bench/morning.sh and bench/all.sh (which pass the --api-url).",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=32),
    )
    add = p.add_argument
    add("--stalls", type=int, default=CITY_STALLS, metavar="S", help="stalls (2000)")
    add(
        "--rate",
        type=float,
        default=round(city_peak_rate(), 1),
        metavar="R",
        help=f"sales/s offered, the city's peak ({city_peak_rate():.1f})",
    )
    add("--duration", type=float, default=300, metavar="SEC", help="seconds at that rate (300)")
    add("--client-threads", type=int, default=1024, metavar="T", help="open-loop senders (1024)")
    add(
        "--max-in-flight",
        type=int,
        default=0,
        metavar="K",
        help="send no new sale while K requests are in flight (shed: offered, not served); 0: none",
    )
    add("--seed", type=int, default=2026, metavar="N", help="random seed (2026)")
    add("--books-check", action="store_true", help="also run books_check over the stalls")
    for name in ("--api-url", "--workers", "--load"):
        add(name, default="?", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.api_url == "?":
        p.error("run it through bench/morning.sh or bench/all.sh, which pass the URL")
    return args


# --- 1. stalls, in bulk -------------------------------------------------------------------------


def stalls_bulk(count: int, seed: int) -> list[Any]:
    """`count` stalls of a new market: merchant, default bank account, 4 products, a stall row and
    an API key each, by bulk_create in one transaction (no audit rows, no owner: nobody signs
    in; the services would take ~50 ms a stall). Returns bench/sales.py Stall objects."""
    from django.db import connections, transaction

    from core.text import search_key
    from market.models import GoodsCategory, Market
    from market.models import Stall as StallRow
    from merchants.banks import bank_by_bin
    from merchants.models import ApiKey, BankAccount, Merchant, Product
    from merchants.services import API_KEY_PREFIX, hash_api_key

    rng = random.Random(seed)
    run = secrets.randbelow(10**4)  # several runs on one database: unique codes
    tag = f"{run:04d}"
    with transaction.atomic():
        market = Market.objects.create(
            slug=f"cho-sang-{tag}",
            name=f"Chợ sáng {tag} (bench)",
            district="Sơn Trà",
            address="Đà Nẵng",
        )
        merchants = Merchant.objects.bulk_create(
            [
                Merchant(
                    kind=Merchant.Kind.HOUSEHOLD,
                    legal_name=f"Hộ kinh doanh sạp {i + 1} chợ {tag}",
                    display_name=f"Sạp {i + 1}",
                    slug=f"sang-{tag}-{i + 1}",
                    tax_code=f"07{tag}{i:06d}",
                    address="Chợ sáng (bench), Sơn Trà, Đà Nẵng",
                    sector=Merchant.Sector.DISTRIBUTION,
                )
                for i in range(count)
            ],
            batch_size=1000,
        )
        bins = [bs.BINS[i % len(bs.BINS)] for i in range(count)]
        accounts = BankAccount.objects.bulk_create(
            [
                BankAccount(
                    merchant=m,
                    bank_bin=bins[i],
                    account_number=f"66{tag}{i:06d}",
                    holder_name=f"TIEU THUONG {i + 1}",
                    is_default=True,
                )
                for i, m in enumerate(merchants)
            ],
            batch_size=1000,
        )
        picks = [rng.sample(bs.CATALOGUE, 4) for _ in merchants]
        products = Product.objects.bulk_create(
            [
                Product(
                    merchant=m,
                    name=name,
                    search_name=search_key(name),
                    unit=unit,
                    price=price,
                    sold_by_weight=by_weight,
                    tax_category=tax,
                )
                for m, pick in zip(merchants, picks, strict=True)
                for name, unit, price, by_weight, tax in pick
            ],
            batch_size=2000,
        )
        StallRow.objects.bulk_create(
            [
                StallRow(
                    market=market,
                    code=f"M-{i + 1:04d}",
                    goods_category=GoodsCategory.FOOD,
                    merchant=m,
                )
                for i, m in enumerate(merchants)
            ],
            batch_size=1000,
        )
        raws = [API_KEY_PREFIX + secrets.token_urlsafe(32) for _ in merchants]
        ApiKey.objects.bulk_create(
            [
                ApiKey(
                    merchant=m,
                    name="bench morning",
                    prefix=raw[: len(API_KEY_PREFIX) + 6],
                    key_hash=hash_api_key(raw),
                )
                for m, raw in zip(merchants, raws, strict=True)
            ],
            batch_size=1000,
        )
    stalls = []
    for i, (m, account, raw) in enumerate(zip(merchants, accounts, raws, strict=True)):
        bank = bank_by_bin(bins[i])
        shop = bp.Shop(
            merchant_id=m.pk,
            bank_bin=bins[i],
            account=account.account_number,
            gateway=bank.short_name if bank else "",
            key=raw,
        )
        mine = products[i * 4 : i * 4 + 4]
        stalls.append(
            bs.Stall(f"M-{i + 1:04d}", shop, [(p.pk, p.price, p.sold_by_weight) for p in mine])
        )
    connections.close_all()
    return stalls


# --- 2. the open loop -----------------------------------------------------------------------


@dataclass
class Sale:
    at: float  # seconds after the start: when the shopper reaches the stall
    stall: Any
    lines: list[dict[str, Any]]
    pay_after: float  # seconds from the QR on screen to the transfer
    key: str = ""  # Idempotency-Key, the same on every attempt
    # Results.
    lag: float = 0.0  # first attempt sent this long after `at`
    latency: float | None = None  # `at` -> the 201 (retries included)
    done: float = 0.0  # seconds after the start
    attempts: int = 0
    error: str = ""
    order_id: int = 0
    total: int = 0
    code: str = ""
    provider_id: str = ""
    webhook: float | None = None  # transfer due -> webhook answer
    webhook_error: str = ""


def plan(args: argparse.Namespace, stalls: list[Any]) -> list[Sale]:
    """Poisson arrivals at `rate` for `duration` s; each sale at a random stall, 1-3 lines of its
    products (weighed ones 0.100-2.500 kg), sometimes a free amount; all paid by bank QR."""
    rng = random.Random(args.seed)
    sales: list[Sale] = []
    t = 0.0
    while True:
        t += rng.expovariate(args.rate)
        if t >= args.duration:
            return sales
        stall = rng.choice(stalls)
        lines: list[dict[str, Any]] = []
        for product_id, _price, by_weight in rng.sample(stall.products, rng.choice((1, 1, 2, 3))):
            quantity = (
                f"{rng.randint(100, 2500) / 1000:.3f}"
                if by_weight
                else str(rng.choice((1, 1, 2, 3)))
            )
            lines.append({"product_id": product_id, "quantity": quantity})
        if rng.random() < 0.1:
            lines.append({"unit_price": rng.randrange(5, 60) * 1000, "name": "Tiền hàng"})
        sales.append(Sale(t, stall, lines, rng.uniform(0.2, 0.8), key=str(uuid.uuid4())))


class Morning:
    def __init__(self, args: argparse.Namespace, secret: str) -> None:
        self.base, self.secret = args.api_url, secret
        self.clock = bp.Clock(args.client_threads, args.max_in_flight)
        self.start = 0.0
        self.retries = 0
        self.lock = threading.Lock()

    def run(self, sales: list[Sale]) -> float:
        self.start = time.perf_counter() + 0.5
        for sale in sales:
            self.clock.at(self.start + sale.at, lambda when, s=sale: self.create(s, when))
        self.clock.drain()
        return self.start

    def create(self, sale: Sale, when: float) -> None:
        sale.lag = time.perf_counter() - when
        body = {
            "merchant_id": sale.stall.shop.merchant_id,
            "payment_method": "bank_qr",
            "lines": sale.lines,
        }
        headers = {
            "Authorization": f"Bearer {sale.stall.shop.key}",
            "Idempotency-Key": sale.key,
        }
        r = None
        for attempt in range(1, ATTEMPTS + 1):
            sale.attempts = attempt
            if attempt > 1:
                with self.lock:
                    self.retries += 1
            try:
                r = session().post(self.base + ORDERS, json=body, headers=headers, timeout=TIMEOUT)
            except requests.RequestException as exc:
                sale.error = f"{type(exc).__name__}: {exc}"
                continue
            if r.status_code == 409 or r.status_code >= 500:
                sale.error = f"HTTP {r.status_code}: {r.text[:200]}"
                time.sleep(1.0)  # the first attempt may still be running: the till waits a bit
                continue
            break
        if r is None or r.status_code not in (200, 201):
            if r is not None and r.status_code < 500 and r.status_code != 409:
                sale.error = f"HTTP {r.status_code}: {r.text[:200]}"
            return
        now = time.perf_counter()
        sale.error = ""
        sale.latency, sale.done = now - when, now - self.start
        order = r.json()
        sale.order_id, sale.total = order["id"], order["total"]
        payment = order.get("payment") or {}
        sale.code = payment.get("reference_code", "")
        if not sale.code or not payment.get("qr_payload"):
            sale.error = f"no QR in the answer: {payment}"
            return
        intent_id = payment["intent_id"]
        self.clock.at(now + sale.pay_after, lambda due: self.pay(sale, intent_id, due))

    def pay(self, sale: Sale, intent_id: int, due: float) -> None:
        intent = bp.Intent(id=intent_id, shop=sale.stall.shop, amount=sale.total, code=sale.code)
        sale.provider_id, body = bp.notification(intent)
        sale.webhook, sale.webhook_error = bs.webhook_post(self.base, self.secret, body, due)


# --- 3. check -------------------------------------------------------------------------------


@dataclass
class Check:
    orders: int = 0
    paid: int = 0
    notifications: int = 0
    settled: int = 0
    ledger_entries: int = 0
    ledger_sum: int = 0
    paid_total: int = 0
    to_paid: list[float] | None = None  # DB: notification received -> order paid
    books: str = ""
    problems: list[str] | None = None


def verify(stalls: list[Any], sales: list[Sale], books: bool) -> Check:
    """Every sale offered: one order, paid, one settled notification, one ledger entry."""
    from django.db import connections
    from django.db.models import Count, F, Sum

    from market.models import Order
    from payments.models import BankNotification, LedgerEntry

    out = Check(to_paid=[], problems=[])
    assert out.problems is not None and out.to_paid is not None
    bad = out.problems.append
    mids = [s.shop.merchant_id for s in stalls]
    orders = Order.objects.filter(merchant_id__in=mids)
    out.orders = orders.count()
    shed = sum(1 for s in sales if not s.attempts)
    if shed:
        bad(f"{shed} sales offered were never sent (shed: the client's in-flight limit)")
    sales = [s for s in sales if s.attempts]  # the rest: those sent
    if out.orders != len(sales):
        bad(f"{out.orders} orders in the database for {len(sales)} sales sent")
    answered = {s.order_id for s in sales if s.order_id}
    if len(answered) != sum(1 for s in sales if s.order_id):
        bad("two sales answered with the same order")
    paid = orders.filter(status=Order.Status.PAID)
    out.paid = paid.count()
    if out.paid != len(sales):
        bad(f"{out.paid} orders paid of {len(sales)} sales sent")
    if n := paid.exclude(amount_paid=F("total")).count():
        bad(f"{n} paid orders with amount_paid != total")
    out.paid_total = paid.aggregate(t=Sum("total"))["t"] or 0
    notes = BankNotification.objects.filter(merchant_id__in=mids)
    out.notifications = notes.count()
    out.settled = notes.filter(outcome=BankNotification.Outcome.SETTLED).count()
    transfers = sum(1 for s in sales if s.provider_id)
    if out.notifications != transfers or out.settled != transfers:
        outcomes = dict(notes.values_list("outcome").annotate(n=Count("id")))
        bad(f"{transfers} transfers sent, notifications stored by outcome: {outcomes}")
    ledger = LedgerEntry.objects.filter(merchant_id__in=mids)
    out.ledger_entries = ledger.count()
    out.ledger_sum = ledger.aggregate(t=Sum("amount"))["t"] or 0
    if ledger.exclude(kind=LedgerEntry.Kind.SETTLEMENT).exists():
        bad(f"ledger kinds {dict(ledger.values_list('kind').annotate(n=Count('id')))}")
    if n := ledger.values("intent_id").annotate(n=Count("id")).exclude(n=1).count():
        bad(f"{n} intents with more than one ledger entry")
    if out.ledger_entries != out.paid or out.ledger_sum != out.paid_total:
        bad(
            f"ledger {out.ledger_entries} entries = {out.ledger_sum:,} đ for {out.paid} paid "
            f"orders = {out.paid_total:,} đ"
        )
    for updated, received in paid.values_list("paid_at", "intent__notifications__received_at"):
        if received is not None and updated is not None:
            out.to_paid.append((updated - received).total_seconds())
    if books:
        from market.figures.books import books_check

        t0 = time.perf_counter()
        report = books_check(merchant_ids={s.merchant_id for s in (x.stall.shop for x in sales)})
        took = time.perf_counter() - t0
        out.books = (
            f"books_check clean ({took:.1f} s)"
            if report.clean
            else f"books_check: {len(report.differences)} differences ({took:.1f} s)"
        )
        if not report.clean:
            bad(f"books_check: {report.differences[:3]}")
    connections.close_all()
    return out


# --- report ---------------------------------------------------------------------------------


def report(args: argparse.Namespace, sales: list[Sale], check: Check, cpu: Any, m: Morning) -> int:
    assert check.problems is not None and check.to_paid is not None
    created = [s for s in sales if s.order_id]
    paid = [s for s in created if s.provider_id and not s.webhook_error]
    last = max((s.done for s in created), default=args.duration)
    create_lat = [s.latency for s in created if s.latency is not None]
    webhook_lat = [s.webhook for s in paid if s.webhook is not None]
    offered = len(sales) / args.duration
    achieved = len(created) / max(last, 1e-9)
    served = len(created) / len(sales) if sales else 0.0

    def cells(*values: object) -> str:
        name, off, ach, p50, p95, p99, top, errors = (str(v) for v in values)
        return (
            f"| {name:<36} | {off:>7} | {ach:>8} | {p50:>9} | {p95:>9} | {p99:>9} "
            f"| {top:>9} | {errors:>6} |"
        )

    print()
    print(cells("", "offered", "achieved", "p50", "p95", "p99", "max", "errors"))
    print(
        "|"
        + "|".join(
            ["-" * 38, "-" * 8 + ":", "-" * 9 + ":"] + ["-" * 10 + ":"] * 4 + ["-" * 7 + ":"]
        )
        + "|"
    )
    errors = [s.error for s in sales if s.error]
    print(
        cells(
            f"create order + QR, {len(sales)} sales",
            f"{offered:.1f}/s",
            f"{achieved:.1f}/s",
            *latencies(create_lat),
            len(errors),
        )
    )
    print(
        cells(
            f"transfer -> webhook answer, {len(paid)}",
            "",
            "",
            *latencies(webhook_lat),
            sum(1 for s in sales if s.webhook_error),
        )
    )
    print(
        cells(
            f"received -> order paid (DB), {len(check.to_paid)}",
            "",
            "",
            *latencies(check.to_paid),
            0,
        )
    )
    print(cells("  client lag (due -> sent)", "", "", *latencies([s.lag for s in sales]), 0))
    print()
    served_line = (
        f"  served {len(created)} of {len(sales)} offered ({served:.1%}); "
        f"{args.stalls} stalls, {args.rate:g} sales/s asked for {args.duration:g} s "
        f"(the peak of {CITY_STALLS} stalls x {CITY_SALES} sales over a {MORNING_HOURS} h "
        f"morning, 10x peak: {city_peak_rate():.1f}/s); the last answer {last:.1f} s after "
        f"the start"
    )
    print(served_line)
    print(
        f"  till retries (same Idempotency-Key, after a timeout, 5xx or 409): {m.retries}; "
        f"attempts per sale at most {max((s.attempts for s in sales), default=0)}"
    )
    print(f"  client, open loop: {m.clock.summary()}")
    wall = max(last, args.duration)
    print(
        "  CPU during the run: "
        + ", ".join(
            f"{role} {secs / wall:.2f} cores"
            for role, secs in sorted(cpu.used.items(), key=lambda kv: -kv[1])
        )
        + f"; {sum(cpu.used.values()) / wall:.2f} of {os.cpu_count()} cores"
    )
    problems = list(check.problems)
    problems += sorted({f"create: {e[:160]}" for e in errors})
    problems += sorted({f"webhook: {s.webhook_error[:160]}" for s in sales if s.webhook_error})
    problems += m.clock.failures
    once = not check.problems
    print(
        f"verified: {check.orders} orders for {len(sales)} sales, {check.paid} paid, "
        f"{check.settled} of {check.notifications} notifications settled, ledger "
        f"{check.ledger_entries} entries = {check.ledger_sum:,} đ = paid totals "
        f"{check.paid_total:,} đ"
        + (f"; {check.books}" if check.books else "")
        + f"; every sale paid exactly once: {'yes' if once else 'NO'}; {len(problems)} errors"
    )
    for problem in problems[:20]:
        print(f"  {problem}")
    bp.record(
        "morning",
        stalls=args.stalls,
        duration=args.duration,
        asked=args.rate,
        sales=len(sales),
        served=len(created),
        offered=offered,
        achieved=achieved,
        p50=pct(create_lat, 50) if create_lat else None,
        p95=pct(create_lat, 95) if create_lat else None,
        p99=pct(create_lat, 99) if create_lat else None,
        max=max(create_lat) if create_lat else None,
        webhook_p95=pct(webhook_lat, 95) if webhook_lat else None,
        to_paid_p95=pct(check.to_paid, 95) if check.to_paid else None,
        late=m.clock.late,
        dropped=m.clock.dropped,
        max_in_flight=m.clock.max_in_flight,
        threads=m.clock.threads,
        retries=m.retries,
        shed=m.clock.shed,
        paid_once=once,
        errors=len(problems),
    )
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    today = datetime.now().date()
    bp.django_setup()
    from django.conf import settings

    say(f"» {args.stalls} stalls (merchant, bank account, 4 products, API key) by bulk_create")
    t0 = time.perf_counter()
    stalls = stalls_bulk(args.stalls, args.seed)
    say(f"  made in {time.perf_counter() - t0:.1f} s")
    sales = plan(args, stalls)
    say(
        f"» market morning at its peak: {len(sales)} sales over {args.duration:g} s at "
        f"{args.rate:g}/s (Poisson, open loop, {args.client_threads} client threads), each "
        f"paid by a bank transfer 0.2-0.8 s after its QR"
    )
    morning = Morning(args, settings.BANKNOTIFY_WEBHOOK_SECRET)
    cpu = bs.SampledCpuMeter(args.api_url)
    cpu.start()
    morning.run(sales)
    cpu.stop()
    bp.settle(args.api_url)  # what timed out on the client may still be served: check after it
    check = verify(stalls, sales, args.books_check)
    code = report(args, sales, check, cpu, morning)
    print(
        f"  gunicorn {args.workers} sync workers, {os.cpu_count()} cores, {today}, "
        f"{time.perf_counter() - started:.0f} s in all; load average before the run: {args.load}"
    )
    return code


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(130)
