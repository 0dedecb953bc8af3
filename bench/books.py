"""Books benchmark: a storm of sales with faults, then the books must agree, and how fast.

Run through `bash bench/books.sh` (throw-away PostgreSQL) or directly (`.venv/bin/python
bench/books.py`, against whatever DATABASE_URL says, or the embedded SQLite). In-process: the same
driver as tests/reliability/test_mixed_scenario.py (tests/reliability/scenario.py), outside pytest.

1. migrate; four merchants (bank account, catalogue, API key; one issues e-invoices automatically,
   one sells online); the sandbox e-wallet, whose signed webhooks come back to a threaded WSGI
   server in this process (the production handler, its own database connections);
2. the storm: N seeded sales at the stall (bank QR, e-wallet, cash), quick-collect amounts, online
   and exhibition orders, some through the JSON API (Django test client); shoppers pay by signed
   bank webhook (test client) and in the wallet; with probability --fault-rate per step a fault:
   notifications delivered twice or replayed, API requests retried or "crashed after commit",
   double, late, short and over payments, walk-in transfers, lost or doubled wallet webhooks,
   wallet refunds meeting a 503; refunds of every kind along the way; then the wallet is
   reconciled and every merchant closes the day;
3. `books_check()` over everything, timed; then the facts it does not read (the driver's record of
   the money paid in, the wallet's record of what it took and gave back, counts of each fault).

E-invoices are issued without their PDF unless --invoice-pdfs (a worker renders it in production;
inline it is ~0.4 s an invoice and would be most of the run).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import secrets
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Tasks run inline, as in the tests: the invoice of a sale is issued in the same step.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "true"


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="bench/books.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = p.add_argument
    add("-n", "--sales", type=int, default=2_000, help="sales in the storm (2000)")
    add("--seed", type=int, default=20261204, help="random seed (20261204)")
    add("--fault-rate", type=float, default=0.3, help="chance of a fault at each step (0.3)")
    add("--http-share", type=float, default=0.1, help="share of calls made over the API (0.1)")
    add("--shops", type=int, default=4, choices=(3, 4), help="merchants (4)")
    add("--invoice-pdfs", action="store_true", help="render each e-invoice's PDF inline too")
    add("-q", "--quiet", action="store_true", help="no progress lines")
    return p.parse_args(argv)


def webhook_server():  # type: ignore[no-untyped-def]
    """The production WSGI app on a free loopback port, one thread per request (each closes
    its database connections when done, as Django's runserver does)."""
    import threading

    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    threading.Thread(target=server.serve_forever, name="webhooks", daemon=True).start()
    return server


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from market.figures.books import books_check
    from sandboxes.ewallet import EWalletSandbox
    from tests.reliability.scenario import (
        check_independent_facts,
        differences_text,
        make_shops,
        run_mixed,
    )

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "127.0.0.1"]
    server = webhook_server()
    host, port = server.server_address[:2]
    # The sandbox wallet speaks with the configured key and secret (bench/books.sh sets them).
    wallet_key = settings.EWALLET_API_KEY or "sk_bench_books"
    wallet_secret = settings.EWALLET_WEBHOOK_SECRET or f"bench-ewallet-{secrets.token_hex(16)}"
    wallet = EWalletSandbox(
        webhook_url=f"http://{host}:{port}/api/v1/payments/webhooks/ewallet",
        webhook_secret=wallet_secret,
        api_keys=[wallet_key],
        backoff_base=0.02,
    ).start()
    settings.EWALLET_URL, settings.EWALLET_API_KEY = wallet.url, wallet_key
    settings.EWALLET_WEBHOOK_SECRET = wallet_secret
    shops = make_shops(args.shops)
    setup = time.perf_counter() - started
    # Injected 503s and refused retries are expected: keep their log lines out of the figures
    # (after get_wsgi_application(), whose django.setup() configures logging again).
    for name in ("choso_wallet", "django.request", "payments", "market", "einvoice"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    def progress(done: int, counts) -> None:  # type: ignore[no-untyped-def]
        if not args.quiet and done % 500 == 0:
            elapsed = time.perf_counter() - storm_started
            print(f"  … {done} sales, {elapsed:.0f} s, {done / elapsed:.1f} sales/s", flush=True)

    vendor = connection.vendor
    load = os.getloadavg()[0]
    print(
        f"» storm: {args.sales} sales, seed {args.seed}, fault rate {args.fault_rate}, "
        f"{args.shops} merchants, {vendor}, setup {setup:.1f} s"
    )
    storm_started = time.perf_counter()
    try:
        result = run_mixed(
            sales=args.sales,
            seed=args.seed,
            fault_rate=args.fault_rate,
            client=Client(),
            wallet=wallet,
            merchants=shops,
            http_share=args.http_share,
            invoice_pdfs=args.invoice_pdfs,
            check=False,
            progress=progress,
        )
    finally:
        wallet.stop()
        server.shutdown()

    checked = time.perf_counter()
    report = books_check()
    books_seconds = time.perf_counter() - checked
    checked = time.perf_counter()
    today = books_check(day=timezone.localdate())  # what the nightly task runs, for one day
    today_seconds = time.perf_counter() - checked
    facts_error = ""
    try:
        assert result.storm is not None
        check_independent_facts(result.storm)
    except AssertionError as exc:
        facts_error = str(exc)

    counts = result.counts

    def injected(*names: str) -> int:
        return sum(
            v
            for k, v in counts.items()
            if k.startswith("fault:") and any(k[6:].startswith(n) for n in names)
        )

    duplicates = injected("duplicate_delivery", "replayed_notification", "wallet_duplicate")
    retries = injected("api_retry", "service_retry", "refund_retry", "cancel_retry")
    crashes = injected("crash_after_commit", "refund_crash_after_commit")
    failures = injected("wallet_refund_503", "wallet_lost_webhook")
    gone_wrong = injected("bank:", "ewallet:", "double_payment", "walk_in")
    assert duplicates + retries + crashes + failures + gone_wrong == result.faults, counts
    refunds = sum(v for k, v in counts.items() if k.startswith("refund:") and "nothing" not in k)
    per_second = args.sales / result.seconds if result.seconds else 0.0
    cpu = platform.processor() or platform.machine()
    print()
    print(f"  sales made             {args.sales}")
    print(
        f"  money moved            {counts['bank_transfers']} bank transfers (signed webhook), "
        f"{counts['wallet_payments']} wallet payments, {refunds} refunds "
        f"(+{counts['online_cancel']} online cancels)"
    )
    print(f"  faults injected        {result.faults}:")
    print(f"    duplicated/replayed  {duplicates} (bank notifications, wallet webhooks)")
    print(f"    retried              {retries} (same Idempotency-Key / request key)")
    print(f"    crashed after commit {crashes} (key left in progress, retried after its lease)")
    print(f"    failed               {failures} (wallet 503 on refund, lost wallet webhook)")
    print(f"    payments gone wrong  {gone_wrong} (double, late, short, over, walk-in, canceled)")
    print(
        f"  HTTP requests          {counts['http_requests']} to the API, "
        f"{counts['webhook_deliveries']} bank webhook deliveries (Django test client)"
    )
    print(f"  time                   {result.seconds:.1f} s (storm, reconcile, closes)")
    print(f"  sales/s                {per_second:.1f}")
    verdict = "clean" if report.clean else f"{len(report.differences)} DIFFERENCES"
    days = len(report.days)
    print(f"  books_check            {verdict}, {books_seconds:.2f} s ({days} merchant-days)")
    print(
        f"  books_check(day=today) {'clean' if today.clean else 'DIFFERENCES'}, "
        f"{today_seconds:.2f} s"
    )
    print(f"  independent facts      {'hold' if not facts_error else 'DO NOT HOLD'}")
    print(
        f"  {timezone.localtime():%Y-%m-%d %H:%M UTC%z}, {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}, {vendor}, load average before {load:.2f}"
    )
    if not args.quiet:
        print("\n  what the storm did:")
        print(result.summary())
    if not report.clean:
        print("\n" + differences_text(report), file=sys.stderr)
    if facts_error:
        print("\n" + facts_error, file=sys.stderr)
    return 0 if report.clean and today.clean and not facts_error else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
