"""Payments benchmark driver: bank notifications settled per second, notification → SSE latency.

Run through `bash bench/payments.sh`, which starts the stack (throw-away PostgreSQL + Redis, demo
data, gunicorn sync workers for the API and the webhook, a gthread gunicorn for the SSE path) and
exports the settings this driver shares with it (DATABASE_URL, REDIS_URL, SECRET_KEY,
BANKNOTIFY_WEBHOOK_SECRET). The driver loads Django only to prepare (API keys, a trader's session)
and to verify in the database afterwards; everything measured goes over HTTP on loopback.

1. baseline: wrk on the bare endpoint (`/api/v1/health`), as bench/http.sh does;
2. intents: N + M + background + warm-up payment intents created through the API (API keys);
3. throughput: one signed notification per intent from C client threads, wall time →
   notifications/s, latency of each webhook call; then checks every intent settled exactly once;
4. SSE: a trader's stream open on the gthread server; while a background of notifications for
   other merchants runs at a fixed rate (open loop: each sent at its due time from a large
   thread pool, timed from that due time), M notifications for the trader's merchant one at a
   time, each timed from just before its POST to the arrival of its `payment_succeeded` event.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import http.client
import itertools
import json
import math
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

# The project first: Python put bench/ on the path, where this file would shadow the app `payments`.
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

WEBHOOK = "/api/v1/payments/webhooks/banknotify"
INTENTS = "/api/v1/payments/intents"
HEALTH = "/api/v1/health"
VN = timezone(timedelta(hours=7))
TIMEOUT = 10.0  # seconds, any single HTTP call


# --- options ----------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/payments.py",
        description="Driver of bench/payments.sh (which passes the --*-url and stack options).",
        formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=32),
    )
    add = p.add_argument
    add("-n", "--notifications", type=int, default=1000, metavar="N", help="throughput: N (1000)")
    add("-c", "--concurrency", type=int, default=16, metavar="C", help="client threads (16)")
    add("-m", "--probes", type=int, default=200, metavar="M", help="SSE latency probes (200)")
    add("--bg-rate", type=float, default=50, metavar="R", help="background notifications/s (50)")
    add("--bg-budget", type=float, default=20, metavar="S", help="background prepared, s (20)")
    add("--bg-threads", type=int, default=256, metavar="T", help="background senders (256)")
    add(
        "--max-in-flight",
        type=int,
        default=0,
        metavar="K",
        help="background: send nothing while K are in flight (shed, reported); 0: no limit",
    )
    add("--warm", type=int, default=48, metavar="W", help="warm-up notifications (48)")
    add("--wrk-duration", default="10s", metavar="D", help="bare endpoint, wrk -d (10s)")
    add("--wrk-warmup", default="3s", metavar="D", help="its warm-up, 0 to skip (3s)")
    add("--trader", default="0905111002", metavar="PHONE", help="whose stream (0905111002)")
    add(
        "--sse-open",
        action="store_true",
        help="SSE phase open loop: no one-at-a-time probes; every notification of the background "
        "(the trader's merchant among the others) timed from its due time to its event",
    )
    add(
        "--bulk-intents",
        action="store_true",
        help="make the intents with bulk_create in-process (same fields as intent_create, no "
        "audit rows) instead of through the API: faster setup, the API is not what is measured",
    )
    add(
        "--bare-rps",
        type=float,
        metavar="R",
        help="use this bare figure (measured by the caller, e.g. bench/all.sh) instead of wrk",
    )
    # Passed by bench/payments.sh.
    for name in ("--api-url", "--sse-url", "--workers", "--sse-workers", "--sse-threads", "--load"):
        add(name, default="?", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if "?" in (args.api_url, args.sse_url):
        p.error("run it through bench/payments.sh, which starts the stack and passes the URLs")
    return args


def say(msg: str) -> None:
    print(msg, flush=True)


def record(kind: str, **figures: Any) -> None:
    """Append one result line (JSON) to $BENCH_RESULTS when set: bench/all.sh's report reads
    them. Without the variable nothing is written."""
    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, **figures}, ensure_ascii=False) + "\n")


# --- figures ----------------------------------------------------------------------------------


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(seconds: float | None) -> str:
    return "—" if seconds is None or math.isnan(seconds) else f"{seconds * 1000:.2f} ms"


# --- setup through Django (keys, session, verification) --------------------------------------


@dataclass
class Shop:
    merchant_id: int
    bank_bin: str
    account: str
    gateway: str
    key: str


@dataclass
class Intent:
    id: int
    shop: Shop
    amount: int
    code: str


@dataclass
class Setup:
    shops: list[Shop]
    sse_shop: Shop
    cookie: str  # "sessionid=..."
    secret: str


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def prepare(trader_phone: str) -> Setup:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.db import connections

    from core.phone import normalize_vn_mobile
    from merchants.banks import bank_by_bin
    from merchants.models import BankAccount, Membership, User
    from merchants.services import api_key_create

    shops = []
    accounts = BankAccount.objects.filter(is_default=True).select_related("merchant")
    for account in accounts.order_by("merchant_id"):
        owner = Membership.objects.filter(
            merchant_id=account.merchant_id, role=Membership.Role.OWNER
        ).first()
        if owner is None:
            continue
        _, raw = api_key_create(actor=owner.user, merchant=account.merchant, name="bench")
        bank = bank_by_bin(account.bank_bin)
        shops.append(
            Shop(
                merchant_id=account.merchant_id,
                bank_bin=account.bank_bin,
                account=account.account_number,
                gateway=bank.short_name if bank else "",
                key=raw,
            )
        )
    trader = User.objects.get(phone=normalize_vn_mobile(trader_phone))
    membership = Membership.objects.filter(user=trader, role=Membership.Role.OWNER).first()
    sse_shop = next(
        (s for s in shops if membership and s.merchant_id == membership.merchant_id), None
    )
    if sse_shop is None or len(shops) < 2:
        raise SystemExit(
            f"bench: want several merchants with a bank account, one owned by {trader}"
        )

    # A signed-in session, as the login page would leave it (the password hasher is not measured).
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(trader.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = trader.get_session_auth_hash()
    store.save()
    secret = settings.BANKNOTIFY_WEBHOOK_SECRET
    if not secret:
        raise SystemExit("bench: BANKNOTIFY_WEBHOOK_SECRET is not set")
    connections.close_all()
    return Setup(
        shops=shops,
        sse_shop=sse_shop,
        cookie=f"{settings.SESSION_COOKIE_NAME}={store.session_key}",
        secret=secret,
    )


def ledger_count() -> int:
    from django.db import connections

    from payments.models import LedgerEntry

    count = LedgerEntry.objects.count()
    connections.close_all()
    return count


def verify(intents: list[Intent], provider_ids: list[str]) -> tuple[int, list[str]]:
    """(intents succeeded, what is wrong) in the database for these intents and notifications."""
    from django.db import connections
    from django.db.models import Count

    from payments.models import BankNotification, LedgerEntry, PaymentIntent

    problems: list[str] = []
    ids = [i.id for i in intents]
    rows = dict(PaymentIntent.objects.filter(id__in=ids).values_list("id", "status"))
    not_paid = [i for i in ids if rows.get(i) != PaymentIntent.Status.SUCCEEDED]
    if not_paid:
        problems.append(f"{len(not_paid)} intents not succeeded, e.g. {not_paid[:5]}")
    entries = dict(
        LedgerEntry.objects.filter(intent_id__in=ids, kind=LedgerEntry.Kind.SETTLEMENT)
        .values("intent_id")
        .annotate(n=Count("id"))
        .values_list("intent_id", "n")
    )
    wrong = {i: entries.get(i, 0) for i in ids if entries.get(i, 0) != 1}
    if wrong:
        problems.append(f"{len(wrong)} intents without exactly one settlement entry: {wrong}")
    others = LedgerEntry.objects.filter(intent_id__in=ids).exclude(kind=LedgerEntry.Kind.SETTLEMENT)
    if others.exists():
        problems.append(f"{others.count()} non-settlement ledger entries on these intents")
    outcomes = dict(
        BankNotification.objects.filter(provider_id__in=provider_ids)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
    )
    if outcomes != {BankNotification.Outcome.SETTLED: len(provider_ids)}:
        problems.append(
            f"notification outcomes {outcomes}, expected all {len(provider_ids)} settled"
        )
    connections.close_all()
    return len(ids) - len(not_paid), problems


# --- HTTP helpers -----------------------------------------------------------------------------


_local = threading.local()


def session() -> requests.Session:
    s = getattr(_local, "session", None)
    if s is None:
        s = _local.session = requests.Session()
    return s


def notification(intent: Intent) -> tuple[str, bytes]:
    """A notification as the provider sends it (sandboxes/banknotify/README.md §1): (id, body)."""
    shop = intent.shop
    provider_id = "bn_" + secrets.token_hex(12)
    data = {
        "id": provider_id,
        "gateway": shop.gateway,
        "bin": shop.bank_bin,
        "account_number": shop.account,
        "transfer_type": "in",
        "amount": intent.amount,
        "description": f"MBVCB.{random.randrange(10**6, 10**7)}.{intent.code}.CT tu 0011004123456",
        "reference": "FT26327" + secrets.token_hex(4).upper()[:7],
        "transaction_date": datetime.now(VN).isoformat(timespec="seconds"),
        "counter_account": "0011004123456",
        "counter_name": "NGUYEN VAN A",
    }
    return provider_id, json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass
class Sent:
    provider_id: str
    latency: float  # seconds, POST to answer
    error: str = ""  # "" when the answer was 200 with outcome "settled"
    done_at: float = 0.0  # perf_counter when the answer arrived


def post_notification(base: str, secret: str, intent: Intent, due: float | None = None) -> Sent:
    """POST one signed notification. Latency from ``due`` (the time it was scheduled for, in an
    open-loop run: the client's own queueing counts) or else from just before the POST."""
    from payments.providers.banknotify import SIGNATURE_HEADER, sign

    provider_id, body = notification(intent)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        SIGNATURE_HEADER: sign(body, secret),
    }
    t0 = time.perf_counter() if due is None else due
    try:
        r = session().post(base + WEBHOOK, data=body, headers=headers, timeout=TIMEOUT)
    except requests.RequestException as exc:
        t1 = time.perf_counter()
        return Sent(provider_id, t1 - t0, f"{type(exc).__name__}: {exc}", t1)
    t1 = time.perf_counter()
    error = ""
    if r.status_code != 200:
        error = f"HTTP {r.status_code}: {r.text[:200]}"
    elif r.json().get("outcome") != "settled":
        error = f"outcome {r.json().get('outcome')!r}"
    return Sent(provider_id, t1 - t0, error, t1)


def run_pool(jobs: list[Any], threads: int, work: Callable[[Any], Any]) -> tuple[list[Any], float]:
    """work(job) for every job from `threads` daemon threads started together.

    Returns (results in job order, wall seconds from the start to the last answer)."""
    results: list[Any] = [None] * len(jobs)
    counter = itertools.count()
    threads = max(1, min(threads, len(jobs)))
    start = threading.Barrier(threads + 1)

    def worker() -> None:
        start.wait()
        while (i := next(counter)) < len(jobs):
            try:
                results[i] = work(jobs[i])
            except Exception as exc:  # recorded, reported as an error
                results[i] = exc

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in pool:
        t.join()
    return results, time.perf_counter() - t0


def create_intents(base: str, plan: list[Shop], threads: int) -> list[Intent]:
    def work(shop: Shop) -> Intent:
        amount = random.randrange(10, 500) * 1000
        r = session().post(
            base + INTENTS,
            json={"merchant_id": shop.merchant_id, "amount": amount, "reference": "bench"},
            headers={"Authorization": f"Bearer {shop.key}"},
            timeout=TIMEOUT,
        )
        if r.status_code != 201:
            raise RuntimeError(f"creating an intent: HTTP {r.status_code} {r.text[:200]}")
        body = r.json()
        return Intent(id=body["id"], shop=shop, amount=body["amount"], code=body["reference_code"])

    results, _ = run_pool(plan, threads, work)
    failed = [r for r in results if not isinstance(r, Intent)]
    if failed:
        raise SystemExit(f"bench: {len(failed)} intents not created, e.g. {failed[0]}")
    return results


def bulk_intents(plan: list[Shop]) -> list[Intent]:
    """The intents of `plan` (one per entry) with bulk_create, as `intent_create` fills them for a
    bank QR (code, QR payload, the default account); no audit rows. For a quick setup only."""
    from datetime import timedelta as _td

    from django.conf import settings
    from django.db import connections, transaction
    from django.utils import timezone

    from merchants.models import BankAccount
    from payments import vietqr
    from payments.models import PaymentIntent
    from payments.services import new_reference_code

    accounts = {
        a.merchant_id: a
        for a in BankAccount.objects.filter(
            is_default=True, merchant_id__in={s.merchant_id for s in plan}
        )
    }
    used: set[tuple[int, str]] = set(
        PaymentIntent.objects.filter(merchant_id__in=accounts).values_list(
            "merchant_id", "reference_code"
        )
    )
    expires = timezone.now() + _td(minutes=settings.PAYMENT_INTENT_TTL_MINUTES)
    rows, amounts = [], []
    for shop in plan:
        account = accounts[shop.merchant_id]
        code = new_reference_code()
        while (shop.merchant_id, code) in used:
            code = new_reference_code()
        used.add((shop.merchant_id, code))
        amount = random.randrange(10, 500) * 1000
        amounts.append(amount)
        rows.append(
            PaymentIntent(
                merchant_id=shop.merchant_id,
                amount=amount,
                method=PaymentIntent.Method.BANK_QR,
                reference_code=code,
                reference="bench",
                expires_at=expires,
                created_via="bench",
                bank_account=account,
                bank_bin=account.bank_bin,
                account_number=account.account_number,
                account_holder=account.holder_name,
                qr_payload=vietqr.build(
                    bin=account.bank_bin,
                    account=account.account_number,
                    amount=amount,
                    purpose=code,
                ),
            )
        )
    with transaction.atomic():
        made = PaymentIntent.objects.bulk_create(rows, batch_size=1000)
    connections.close_all()
    return [
        Intent(id=row.pk, shop=shop, amount=row.amount, code=row.reference_code)
        for row, shop in zip(made, plan, strict=True)
    ]


def settle(base: str, limit: float = 120.0) -> None:
    """Wait until /health answers within 0.5 s: sync workers go on serving the requests a client
    gave up on (its timeout), and those still settle payments; check the database after them."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < limit:
        t = time.perf_counter()
        try:
            session().get(base + HEALTH, timeout=5)
        except requests.RequestException:
            continue
        if time.perf_counter() - t < 0.5:
            break
        time.sleep(0.5)
    if (waited := time.perf_counter() - t0) > 1:
        say(f"  (waited {waited:.0f} s for the requests still queued in the stack before checking)")


def spread(shops: list[Shop], count: int) -> list[Shop]:
    return [shops[i % len(shops)] for i in range(count)]


# --- baseline: wrk ----------------------------------------------------------------------------


@dataclass
class Wrk:
    rps: float
    p50: float
    p99: float
    errors: int


def wrk_seconds(v: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    return float(m.group(1)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(2)]


def run_wrk(url: str, duration: str, warmup: str, connections: int) -> Wrk:
    if warmup not in ("0", "0s"):
        subprocess.run(
            ["wrk", "-t1", f"-c{connections}", f"-d{warmup}", url],
            check=True,
            capture_output=True,
        )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = wrk_seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = wrk_seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    errors = 0
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        errors += sum(int(x) for x in m.groups())
    if m := re.search(r"Non-2xx or 3xx responses: (\d+)", out):
        errors += int(m.group(1))
    return Wrk(rps, p50, p99, errors)


# --- SSE --------------------------------------------------------------------------------------


class Stream(threading.Thread):
    """Reads the trader's event stream; notes when each intent's payment_succeeded arrives."""

    def __init__(self, url: str, cookie: str) -> None:
        super().__init__(daemon=True)
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=60
        )
        self.path = parts.path
        self.cookie = cookie
        self.ready = threading.Event()
        self.arrived: dict[int, float] = {}  # intent id -> perf_counter at arrival
        self.cond = threading.Condition()
        self.counts: dict[str, int] = {}
        self.error = ""
        self.closing = False
        self.sock: socket.socket | None = None

    def run(self) -> None:
        try:
            self.conn.connect()
            self.sock = self.conn.sock  # http.client lets go of it once the answer starts
            self.conn.request(
                "GET", self.path, headers={"Cookie": self.cookie, "Accept": "text/event-stream"}
            )
            resp = self.conn.getresponse()
            if resp.status != 200 or "text/event-stream" not in resp.getheader("Content-Type", ""):
                self.error = f"stream answered {resp.status} {resp.getheader('Content-Type')}"
                return
            kind, data, first = "", [], 0.0
            while True:
                line = resp.readline()
                if not line:
                    self.error = self.error or "stream closed by the server"
                    return
                now = time.perf_counter()
                text = line.decode().rstrip("\r\n")
                if text and not first:
                    first = now  # an event's lines come in one chunk: its first line's arrival
                if text.startswith("retry:"):
                    self.ready.set()
                elif text.startswith("event:"):
                    kind = text[6:].strip()
                elif text.startswith("data:"):
                    data.append(text[5:].removeprefix(" "))
                elif not text:
                    if data:
                        self.dispatch(kind or "message", json.loads("\n".join(data)), first)
                    kind, data, first = "", [], 0.0
        except Exception as exc:
            if not self.closing:
                self.error = f"{type(exc).__name__}: {exc}"
        finally:
            self.ready.set()
            with self.cond:
                self.cond.notify_all()

    def dispatch(self, kind: str, event: dict[str, Any], at: float) -> None:
        with self.cond:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            if kind == "payment_succeeded" and event.get("intent_id") is not None:
                self.arrived.setdefault(event["intent_id"], at)
                self.cond.notify_all()

    def wait_for(self, intent_id: int, timeout: float) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: intent_id in self.arrived or bool(self.error), timeout)
            return self.arrived.get(intent_id)

    def close(self) -> None:
        """Hang up: wakes the reader, and the server's thread finds out at its next write."""
        self.closing = True
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RDWR)
        self.conn.close()


LATE = 0.010  # seconds: a request sent this long after its scheduled time counts as late


class Clock:
    """Open loop: runs job(when) at perf_counter() == when, each on a thread of a large pool, so
    a slow answer never holds back the next request. Counts what would betray a closed loop:
    the most jobs running at once (``max_in_flight``; at ``threads`` the pool was the limit),
    jobs started more than ``LATE`` after their time (``late``, ``worst_lag``), and jobs never
    started because the run was stopped after they were due (``dropped``)."""

    def __init__(self, threads: int, limit: int = 0) -> None:
        self.threads = threads
        # With a limit, a job due while `limit` are running is not started (``shed``): the loop
        # stays open up to that point, and a stack far past its capacity does not build a queue
        # of thousands of requests that would outlive the run. Shed jobs are reported.
        self.limit = limit
        self.shed = 0
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="open-loop")
        self.heap: list[tuple[float, int, Callable[[float], None]]] = []
        self.seq = itertools.count()
        self.cond = threading.Condition()
        self.outstanding = 0  # scheduled, not finished
        self.running = 0
        self.max_in_flight = 0
        self.started = 0
        self.late = 0
        self.worst_lag = 0.0
        self.dropped = 0
        self.stopped = False
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def at(self, when: float, job: Callable[[float], None]) -> None:
        """job(when) at perf_counter() == when."""
        with self.cond:
            self.outstanding += 1
            heapq.heappush(self.heap, (when, next(self.seq), job))
            self.cond.notify_all()

    def _loop(self) -> None:
        while True:
            with self.cond:
                while not self.stopped:
                    if self.heap and self.heap[0][0] <= time.perf_counter():
                        break
                    self.cond.wait(self.heap[0][0] - time.perf_counter() if self.heap else None)
                if self.stopped:
                    return
                when, _, job = heapq.heappop(self.heap)
                if self.limit and self.running >= self.limit:
                    self.shed += 1
                    self.outstanding -= 1
                    self.cond.notify_all()
                    continue
                # Counted as running from now: the pool may take a moment to start it.
                self.running += 1
            self.pool.submit(self._run, when, job)

    def _run(self, when: float, job: Callable[[float], None]) -> None:
        lag = time.perf_counter() - when
        with self.cond:
            self.started += 1
            self.max_in_flight = max(self.max_in_flight, self.running)
            self.worst_lag = max(self.worst_lag, lag)
            self.late += lag > LATE
        try:
            job(when)
        except Exception as exc:  # a bug in the driver: reported as an error
            with self.cond:
                self.failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            with self.cond:
                self.running -= 1
                self.outstanding -= 1
                self.cond.notify_all()

    def drain(self) -> None:
        """Wait until every job, and every job they scheduled, has run; then stop."""
        with self.cond:
            self.cond.wait_for(lambda: self.outstanding == 0)
            self.stopped = True
            self.cond.notify_all()
        self.thread.join()
        self.pool.shutdown(wait=True)

    def stop(self) -> None:
        """Start nothing more: jobs not yet due are forgotten, jobs due but not started are
        ``dropped``; then wait for the running ones."""
        with self.cond:
            now = time.perf_counter()
            self.dropped += sum(1 for when, _, _ in self.heap if when <= now)
            self.outstanding -= len(self.heap)
            self.heap.clear()
            self.stopped = True
            self.cond.notify_all()
        self.thread.join()
        self.pool.shutdown(wait=True)

    def summary(self) -> str:
        return (
            f"max in flight {self.max_in_flight} of {self.threads} client threads, "
            f"late (sent > {LATE * 1000:.0f} ms after due) {self.late} of {self.started}, "
            f"worst lag {self.worst_lag * 1000:.0f} ms, dropped {self.dropped}"
            + (f", shed {self.shed} (not sent: {self.limit} in flight)" if self.limit else "")
        )


class Background:
    """Notifications for other merchants at a fixed rate, open loop: each is due at
    start + i / rate and sent at that time on its own thread of a pool of ``threads`` (far more
    than rate × latency), so slow answers never lower the rate. Latency runs from the time a
    notification was due; the achieved rate counts answers, not the schedule."""

    def __init__(
        self,
        base: str,
        secret: str,
        intents: list[Intent],
        rate: float,
        threads: int,
        limit: int = 0,
    ) -> None:
        self.base, self.secret, self.intents, self.rate = base, secret, intents, rate
        self.clock = Clock(threads, limit)
        self.sent: list[Sent] = []
        self.used: list[Intent] = []
        self.lock = threading.Lock()
        self.started = self.ended = 0.0
        self.ran_dry = False
        self.drained = False
        self.due: dict[int, float] = {}  # intent id -> perf_counter it was due at
        self.by_intent: dict[int, Sent] = {}

    def _send(self, intent: Intent, when: float) -> None:
        with self.lock:
            self.used.append(intent)
            self.due[intent.id] = when
        result = post_notification(self.base, self.secret, intent, due=when)
        with self.lock:
            self.sent.append(result)
            self.by_intent[intent.id] = result

    def start(self) -> None:
        self.started = time.perf_counter() + 0.05
        for i, intent in enumerate(self.intents):
            self.clock.at(
                self.started + i / self.rate, lambda when, it=intent: self._send(it, when)
            )

    def finish(self) -> None:
        self.ended = time.perf_counter()
        budget_end = self.started + len(self.intents) / self.rate
        self.ran_dry = self.ended > budget_end
        self.clock.stop()

    def drain(self) -> None:
        """Send every prepared notification at its time, then wait for every answer."""
        self.clock.drain()
        self.ended = time.perf_counter()
        self.drained = True

    @property
    def achieved(self) -> float:
        """Answers per second, from the first due time to the last answer."""
        answered = [s.done_at for s in self.sent if not s.error]
        if not answered:
            return 0.0
        return len(answered) / max(max(answered) - self.started, 1e-9)

    @property
    def offered(self) -> float:
        """Notifications due per second over the window they were due in."""
        if self.drained:
            return self.rate  # all of them, each at start + i / rate
        due = min(len(self.intents), math.floor((self.ended - self.started) * self.rate) + 1)
        return due / max(self.ended - self.started, 1e-9)


@dataclass
class Probe:
    intent: Intent
    provider_id: str = ""
    post: float = 0.0  # POST → answer
    event: float | None = None  # POST → event on the stream
    event_before_answer: bool = False
    error: str = ""


@dataclass
class SseResult:
    warm: list[Probe] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    background: Background | None = None
    stream_counts: dict[str, int] = field(default_factory=dict)
    open_events: list[float] = field(default_factory=list)  # --sse-open: due -> event, seconds
    open_missing: list[int] = field(default_factory=list)  # --sse-open: intents with no event


def probe(stream: Stream, base: str, secret: str, intent: Intent, wait: float) -> Probe:
    result = Probe(intent)
    t0 = time.perf_counter()
    sent = post_notification(base, secret, intent)
    result.provider_id, result.post, result.error = sent.provider_id, sent.latency, sent.error
    arrived = stream.wait_for(intent.id, wait)
    if arrived is None:
        result.error = result.error or stream.error or f"no event within {wait:.0f} s"
    else:
        result.event = arrived - t0
        result.event_before_answer = arrived < sent.done_at
    return result


def measure_sse(
    args: argparse.Namespace,
    setup: Setup,
    warm: list[Intent],
    probes: list[Intent],
    background: list[Intent],
) -> SseResult:
    stream = Stream(args.sse_url + f"/cua-hang/{setup.sse_shop.merchant_id}/su-kien/", setup.cookie)
    stream.start()
    if not stream.ready.wait(TIMEOUT) or stream.error:
        raise SystemExit(f"bench: SSE stream not open: {stream.error or 'no answer'}")
    out = SseResult()
    try:
        # Warm-up probes, unmeasured: they also prove the stream's subscription is live.
        for intent in warm:
            out.warm.append(probe(stream, args.api_url, setup.secret, intent, 5))
        bg = Background(
            args.api_url,
            setup.secret,
            background,
            args.bg_rate,
            args.bg_threads,
            args.max_in_flight,
        )
        out.background = bg
        bg.start()
        if args.sse_open:
            # Open loop: the trader's notifications are part of the schedule; each is timed from
            # the moment it was due to the arrival of its event on the stream.
            bg.drain()
            mine = [i for i in bg.used if i.shop is setup.sse_shop]
            deadline = time.perf_counter() + 5
            for intent in mine:
                arrived = stream.wait_for(intent.id, max(0.0, deadline - time.perf_counter()))
                if arrived is None:
                    out.open_missing.append(intent.id)
                else:
                    out.open_events.append(arrived - bg.due[intent.id])
        else:
            time.sleep(0.5)  # let the background reach its pace
            for intent in probes:
                out.probes.append(probe(stream, args.api_url, setup.secret, intent, 5))
                time.sleep(random.uniform(0.005, 0.025))  # not in lock-step with the background
            bg.finish()
    finally:
        stream.close()
    with stream.cond:
        out.stream_counts = dict(stream.counts)
    return out


# --- where the CPU goes ----------------------------------------------------------------------


def _proc_stat(pid: int) -> tuple[int, float]:
    """(parent pid, CPU seconds used so far) of a process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by the stack's processes between start() and stop(), by role.

    Roles: the API gunicorn (master + workers), PostgreSQL (postmaster + backends), Redis and this
    driver (all its threads). Found from /proc by the ports in their command lines, so another
    cluster on the machine is not counted."""

    def __init__(self, api_url: str) -> None:
        db, cache = urlsplit(os.environ["DATABASE_URL"]), urlsplit(os.environ["REDIS_URL"])
        self.marks = {  # role: (program, what its command line shows)
            "API gunicorn": ("gunicorn", f"127.0.0.1:{urlsplit(api_url).port}"),
            "PostgreSQL": ("postgres", f"-p {db.port}"),
            "Redis": ("redis-server", f"127.0.0.1:{cache.port}"),
        }
        self.before: dict[int, float] = {}
        self.used: dict[str, float] = {}

    def _sample(self) -> dict[int, tuple[str, float]]:
        cmdlines, stats = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmdlines[int(entry)] = f.read().replace(b"\0", b" ").decode(errors="replace")
                stats[int(entry)] = _proc_stat(int(entry))
            except OSError:  # gone meanwhile
                continue
        me = os.getpid()  # its command line names the API's port too
        roles = {
            pid: role
            for pid, cmdline in cmdlines.items()
            for role, (program, mark) in self.marks.items()
            if pid != me and program in cmdline and mark in cmdline
        }
        sample = {me: ("this client", stats[me][1])}
        for pid, (ppid, cpu) in stats.items():
            role = roles.get(pid) or roles.get(ppid)  # workers and backends: by their parent
            if role and pid != me:
                sample[pid] = (role, cpu)
        return sample

    def start(self) -> None:
        self.before = {pid: cpu for pid, (_, cpu) in self._sample().items()}

    def stop(self) -> None:
        self.used = {}
        for pid, (role, cpu) in self._sample().items():
            self.used[role] = self.used.get(role, 0.0) + cpu - self.before.get(pid, 0.0)


# --- report -----------------------------------------------------------------------------------


def row(*cells: object) -> str:
    name, rate, p50, p95, p99, top, errors, vs = (str(c) for c in cells)
    return (
        f"| {name:<32} | {rate:>6} | {p50:>9} | {p95:>9} | {p99:>9} | {top:>9} | {errors:>6} "
        f"| {vs:<15} |"
    )


def latencies(values: list[float]) -> list[str]:
    """p50, p95, p99, max."""
    if not values:
        return ["—"] * 4
    return [ms(pct(values, 50)), ms(pct(values, 95)), ms(pct(values, 99)), ms(max(values))]


# --- main -------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    today = datetime.now().date()  # the machine's date, before Django sets TZ to Vietnam's
    django_setup()
    say("» API keys for the demo merchants, a session for the trader")
    setup = prepare(args.trader)
    others = [s for s in setup.shops if s is not setup.sse_shop]

    if args.bare_rps:
        bare = Wrk(args.bare_rps, float("nan"), float("nan"), 0)
    else:
        say(f"» baseline: wrk -t1 -c{args.concurrency} -d{args.wrk_duration} on {HEALTH}")
        bare = run_wrk(args.api_url + HEALTH, args.wrk_duration, args.wrk_warmup, args.concurrency)

    n_bg = math.ceil(args.bg_rate * args.bg_budget)
    n_sse_warm = 3
    if args.sse_open:
        args.probes = 0
    plan = (
        spread(setup.shops, args.warm + args.notifications)
        + [setup.sse_shop] * (n_sse_warm + args.probes)
        # Open loop: the trader's merchant is one of those the background pays, in turn.
        + spread(setup.shops if args.sse_open else others, n_bg)
    )
    how = "with bulk_create" if args.bulk_intents else "through the API"
    say(f"» {len(plan)} payment intents {how} ({len(setup.shops)} merchants)")
    t0 = time.perf_counter()
    if args.bulk_intents:
        intents = bulk_intents(plan)
    else:
        intents = create_intents(args.api_url, plan, args.concurrency)
    created_in = time.perf_counter() - t0
    warm, intents = intents[: args.warm], intents[args.warm :]
    batch, intents = intents[: args.notifications], intents[args.notifications :]
    sse_warm, intents = intents[:n_sse_warm], intents[n_sse_warm:]
    probes, background = intents[: args.probes], intents[args.probes :]
    ledger_before = ledger_count()

    # --- 3. throughput
    def send(intent: Intent) -> Sent:
        return post_notification(args.api_url, setup.secret, intent)

    say(f"» throughput: {len(warm)} warm-up, then N={len(batch)} from C={args.concurrency}")
    warm_sent, _ = run_pool(warm, args.concurrency, send)
    cpu = CpuMeter(args.api_url)
    cpu.start()
    sent, wall = run_pool(batch, args.concurrency, send)
    cpu.stop()
    answered = [s for s in sent if isinstance(s, Sent)]
    errors = [s.error if isinstance(s, Sent) else repr(s) for s in sent]
    errors = [e for e in errors if e]
    errors += [f"warm-up: {s.error}" for s in warm_sent if not isinstance(s, Sent) or s.error]
    settled, problems = verify(batch, [s.provider_id for s in answered])

    # --- 4. notification → SSE
    say(
        f"» notification → SSE: merchant {setup.sse_shop.merchant_id}'s stream on the gthread "
        + (
            f"server, open loop: {len(background)} notifications at {args.bg_rate:g}/s to "
            f"{len(setup.shops)} merchants, the trader's timed from due to event"
            if args.sse_open
            else f"server, M={len(probes)} one at a time, background {args.bg_rate:g}/s to the "
            "others"
        )
    )
    sse = measure_sse(args, setup, sse_warm, probes, background)
    bg = sse.background
    assert bg is not None
    sse_errors = [f"probe (intent {p.intent.id}): {p.error}" for p in sse.probes if p.error]
    sse_errors += [f"warm-up probe (intent {p.intent.id}): {p.error}" for p in sse.warm if p.error]
    sse_errors += [f"open loop: no event within 5 s for intent {i}" for i in sse.open_missing]
    bg_errors = [f"background: {s.error}" for s in bg.sent if s.error]
    if bg_errors:
        settle(args.api_url)
    settled2, problems2 = verify(
        [p.intent for p in sse.warm + sse.probes] + bg.used,
        [p.provider_id for p in sse.warm + sse.probes] + [s.provider_id for s in bg.sent],
    )
    sent_total = len(warm_sent) + len(answered) + len(sse.warm) + len(sse.probes) + len(bg.sent)
    ledger_delta = ledger_count() - ledger_before
    if ledger_delta != sent_total:
        problems2.append(f"the ledger grew by {ledger_delta}; {sent_total} notifications were sent")

    # --- report
    rate = len(batch) / wall
    events = [p.event for p in sse.probes if p.event is not None]
    if args.sse_open:
        events = sse.open_events
    bg_rate = bg.achieved
    target = "—"
    if events:
        met = pct(events, 95) < 1 and not sse_errors
        target = "p95 < 1 s: " + ("ok" if met else "MISSED")
    print()
    print(row("", "per s", "p50", "p95", "p99", "max", "errors", "vs"))
    print(
        "|"
        + "|".join(["-" * 34] + ["-" * w + ":" for w in (7, 10, 10, 10, 10, 7)] + ["-" * 17])
        + "|"
    )
    print(
        row(
            "bare (health), wrk",
            f"{bare.rps:.0f}",
            ms(bare.p50),
            "—",
            ms(bare.p99),
            "—",
            bare.errors,
            "1.00× bare",
        )
    )
    print(
        row(
            f"webhook, N={len(batch)}, C={args.concurrency}",
            f"{rate:.0f}",
            *latencies([s.latency for s in answered]),
            len(errors) + len(problems),
            f"{rate / bare.rps:.2f}× bare",
        )
    )
    print(
        row(
            f"notification → SSE, open loop, {len(events)}"
            if args.sse_open
            else f"notification → SSE, M={len(sse.probes)}",
            "—",
            *latencies(events),
            len(sse_errors),
            target,
        )
    )
    print(row("  its webhook calls", "—", *latencies([p.post for p in sse.probes]), "", ""))
    print(
        row(
            "  all notifications, from due" if args.sse_open else "  background, other merchants",
            f"{bg_rate:.0f}",
            *latencies([s.latency for s in bg.sent]),
            len(bg_errors),
            "",
        )
    )
    print()
    early = sum(p.event_before_answer for p in sse.probes if p.event is not None)
    cores = os.cpu_count() or 1
    print(
        f"  N={len(batch)} notifications, one per intent, {len(setup.shops)} merchants, from "
        f"C={args.concurrency} threads in {wall:.2f} s (after {len(warm)} warm-up)"
    )
    print(
        "  CPU during it: "
        + ", ".join(
            f"{role} {secs / wall:.2f} cores ({secs / len(batch) * 1000:.1f} ms/notification)"
            for role, secs in sorted(cpu.used.items(), key=lambda kv: -kv[1])
        )
        + f"; {sum(cpu.used.values()) / wall:.2f} of {cores} cores"
    )
    if args.sse_open:
        print(
            f"  open loop: {len(events) + len(sse.open_missing)} of the schedule's notifications "
            f"went to merchant {setup.sse_shop.merchant_id} (trader {args.trader}), each timed "
            f"from its due time to its event on the stream; {len(sse.open_missing)} never came"
        )
    else:
        print(
            f"  M={len(sse.probes)} probes to merchant {setup.sse_shop.merchant_id} (trader "
            f"{args.trader}) one at a time; {early} events arrived before the POST's answer"
        )
    print(
        f"  background, open loop: {len(bg.sent)} notifications to "
        + (f"{len(setup.shops)}" if args.sse_open else f"{len(others)} other")
        + f" merchants, asked {args.bg_rate:g}/s, offered {bg.offered:.1f}/s, achieved "
        f"{bg_rate:.1f}/s (answers / time from the first due to the last answer); latency from "
        f"the time each was due" + ("; RAN OUT of intents: raise --bg-budget" if bg.ran_dry else "")
    )
    print(f"  background client: {bg.clock.summary()}")
    print(f"  events on the stream: {sse.stream_counts}")
    print(
        f"  API + webhook: gunicorn {args.workers} sync workers; SSE: gunicorn "
        f"{args.sse_workers} gthread worker(s) × {args.sse_threads} threads; events via Redis"
    )
    print(
        f"  {len(plan)} intents created {how} in {created_in:.1f} s "
        f"({len(plan) / created_in:.0f}/s); bare: wrk -t1 -c{args.concurrency} "
        f"-d{args.wrk_duration} after {args.wrk_warmup} warm-up"
    )
    print(
        f"  {cores} cores, {today}, {time.perf_counter() - started:.0f} s "
        f"after setup; load average before the run: {args.load} (well above 0: rerun)"
    )
    print()
    failures = errors + problems
    failures2 = sse_errors + bg_errors + problems2
    cpu_ms = {role: secs / len(batch) * 1000 for role, secs in cpu.used.items()}
    record(
        "webhook",
        n=len(batch),
        c=args.concurrency,
        rps=rate,
        bare_rps=bare.rps,
        p50=pct([s.latency for s in answered], 50) if answered else None,
        p99=pct([s.latency for s in answered], 99) if answered else None,
        cpu_ms=cpu_ms,
        errors=len(failures),
    )
    webhook_lat = [s.latency for s in bg.sent if not s.error]
    record(
        "sse",
        open_loop=bool(args.sse_open),
        asked=args.bg_rate,
        offered=bg.offered,
        achieved=bg_rate,
        sent=len(bg.sent),
        events=len(events),
        missing=len(sse.open_missing) if args.sse_open else len(sse.probes) - len(events),
        p50=pct(events, 50) if events else None,
        p95=pct(events, 95) if events else None,
        p99=pct(events, 99) if events else None,
        max=max(events) if events else None,
        webhook_p95=pct(webhook_lat, 95) if webhook_lat else None,
        max_in_flight=bg.clock.max_in_flight,
        threads=bg.clock.threads,
        late=bg.clock.late,
        dropped=bg.clock.dropped,
        shed=bg.clock.shed,
        errors=len(failures2),
    )
    print(f"verified: {settled} settled, {len(failures)} errors  (throughput, N={len(batch)})")
    print(
        f"verified: {settled2} settled, {len(failures2)} errors  (SSE phase: "
        f"{len(sse.warm) + len(sse.probes)} probes + {len(bg.used)} background; ledger "
        f"+{ledger_delta} for {sent_total} notifications in all)"
    )
    # The same error many times (a timeout under overload) once, with its count.
    seen: dict[str, int] = {}
    for failure in failures + failures2:
        short = re.sub(r"HTTPConnectionPool\(host='[\d.]+', port=\d+\): ", "", failure)
        short = re.sub(r"intent \d+", "intent …", short)
        seen[short] = seen.get(short, 0) + 1
    for failure, n in list(seen.items())[:20]:
        print(f"  {failure}" + (f"  (×{n})" if n > 1 else ""))
    return 1 if failures or failures2 else 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        print("\nbench: interrupted", file=sys.stderr)
        sys.exit(130)
