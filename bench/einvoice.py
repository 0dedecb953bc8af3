"""E-invoice engine benchmark: invoices issued per second and PDF render time, in one run.

Run through `bash bench/einvoice.sh` (throw-away PostgreSQL) or directly (`.venv/bin/python
bench/einvoice.py`, the embedded SQLite). In-process, no HTTP: it measures the engine.

1. pieces, no database: build the XML, validate against the XSD, sign (RSA-2048), verify with
   signxml, and the check issuing runs after signing (signing.signature_problem);
2. issue, one thread: `invoice_issue` end to end (lock the series counter, number, XML, XSD,
   sign, check, store invoice + lines + event, commit) for VAT invoices (signed) and
   cash-register invoices (unsigned);
3. issue, T threads into one series (PostgreSQL only): the counter lock serialises numbering,
   so this shows what the lock costs; numbers are checked 1..N without gaps afterwards;
4. PDF: `invoice_pdf_render` (template + QR + WeasyPrint + SHA-256 + store) next to a raw
   WeasyPrint render of the same HTML string.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Tasks queued after commit (PDF render, transmission) go to the in-memory broker and are not
# run: the issue figures are the engine's alone, the PDF is timed on its own in step 4.
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("-n", "--invoices", type=int, default=300, help="invoices per issue run")
    p.add_argument(
        "-t", "--threads", type=int, default=4, help="threads for the concurrent run (0: skip it)"
    )
    p.add_argument("--pdfs", type=int, default=10, help="PDF renders to time")
    p.add_argument("--lines", type=int, default=5, help="lines per invoice")
    return p.parse_args()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f} ms"


def record(kind: str, **figures: object) -> None:
    """One result line for bench/all.sh's report, when $BENCH_RESULTS is set."""
    import json

    path = os.environ.get("BENCH_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"kind": kind, **figures}) + "\n")


def backend_cpu(pid: int) -> float:
    """CPU seconds used so far by a PostgreSQL backend on this machine (0 if not readable)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    args = parse_args()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, connections
    from django.utils import timezone

    call_command("migrate", verbosity=0)

    from einvoice import pdf, services, signing, xmlbuild
    from einvoice.models import Invoice
    from einvoice.services import Buyer, LineInput
    from merchants.models import Merchant

    stamp = str(time.time_ns())[-9:]

    def merchant(n: int) -> Merchant:
        return Merchant.objects.create(
            kind="household",
            legal_name=f"Hộ kinh doanh Bench {n} {stamp}",
            display_name=f"Sạp bench {n}",
            slug=f"bench-{stamp}-{n}",
            tax_code=f"048{stamp[:8]}{n}",
            address="119 Trần Phú, Hải Châu, Đà Nẵng",
            sector="distribution",
        )

    def lines(k: int) -> list[LineInput]:
        out = []
        for i in range(args.lines):
            q = Decimal("0.35") + i
            price = 180_000 + 1_000 * (k % 7)
            amount = int((q * price).quantize(Decimal(1)))
            out.append(
                LineInput(
                    name=f"Cá thu một nắng loại {i}",
                    quantity=q,
                    unit_price=price,
                    amount=amount,
                    unit="kg",
                    tax_rate="8%" if i % 2 else "10%",
                )
            )
        return out

    buyer = Buyer(name="Công ty TNHH Hải Sản Biển Đông", tax_code="0401234566")
    vendor = connection.vendor
    print(f"» database: {vendor}; {args.invoices} invoices per run, {args.lines} lines each")

    # 1. pieces
    yy = f"{timezone.localdate().year % 100:02d}"  # a series names its year (C26…, C27…)
    shop = merchant(1)
    vat = services.series_create(merchant=shop, form="1", symbol=f"C{yy}TAA")
    cert = signing.certificate_for(shop)
    material = signing.material(cert)
    first = services.invoice_issue(merchant=shop, series=vat, buyer=buyer, lines=lines(0))
    from lxml import etree

    unsigned = etree.fromstring(first.xml.encode())
    nban = unsigned.find("DSCKS/NBan")
    for child in list(nban):
        nban.remove(child)
    doc_xml = etree.tostring(unsigned)
    reps = 200
    t = time.perf_counter()
    for _ in range(reps):
        xmlbuild.schema_errors(etree.fromstring(doc_xml))
    t_xsd = (time.perf_counter() - t) / reps
    t = time.perf_counter()
    for _ in range(reps):
        signing.sign(etree.fromstring(doc_xml), material, first.issued_at)
    t_sign = (time.perf_counter() - t) / reps
    signed = first.xml
    t = time.perf_counter()
    for _ in range(reps):
        signing.verify(signed, material.certificate_pem)
    t_verify = (time.perf_counter() - t) / reps
    signed_bytes = signed.encode()
    t = time.perf_counter()
    for _ in range(reps):
        assert signing.signature_problem(signed_bytes, material) == ""
    t_check = (time.perf_counter() - t) / reps
    print("\n1. pieces (no database), per invoice")
    print(f"   parse + XSD validate   {ms(t_xsd)}")
    print(f"   sign (RSA-2048)        {ms(t_sign)}")
    print(f"   verify (signxml)       {ms(t_verify)}")
    print(f"   check after signing    {ms(t_check)}  (what issuing runs instead of verify)")

    # 2. one thread
    def run(series, n: int, *, with_buyer: bool) -> float:
        t0 = time.perf_counter()
        for k in range(n):
            services.invoice_issue(
                merchant=series.merchant,
                series=series,
                buyer=buyer if with_buyer else None,
                lines=lines(k),
            )
        return time.perf_counter() - t0

    backend = None
    if vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            backend = cur.fetchone()[0]
    cpu0, db0 = time.process_time(), backend_cpu(backend) if backend else 0.0
    elapsed = run(vat, args.invoices, with_buyer=True)
    app_cpu = (time.process_time() - cpu0) / args.invoices
    db_cpu = ((backend_cpu(backend) - db0) / args.invoices) if backend else 0.0
    register = services.series_create(
        merchant=shop, form="2", symbol=f"C{yy}MAB", register_prefix=f"B{stamp[-4:]}"
    )
    elapsed_mtt = run(register, args.invoices, with_buyer=False)
    print("\n2. invoice_issue, one thread (number + XML + XSD + sign + check + store + commit)")
    print(
        f"   VAT, signed            {args.invoices / elapsed:7.1f} invoices/s "
        f"({ms(elapsed / args.invoices)} each)"
    )
    print(
        f"   CPU per VAT invoice: this process {ms(app_cpu)} ({1 / app_cpu:.0f}/s per core), "
        f"PostgreSQL backend {ms(db_cpu)}"
        + (f" (both: {1 / (app_cpu + db_cpu):.0f}/s per core)" if backend else "")
    )
    record(
        "einvoice",
        n=args.invoices,
        wall_per_s=args.invoices / elapsed,
        app_cpu_ms=app_cpu * 1000,
        db_cpu_ms=db_cpu * 1000 if backend else None,
        per_core=1 / app_cpu,
    )
    print(
        f"   cash register, unsigned {args.invoices / elapsed_mtt:6.1f} invoices/s "
        f"({ms(elapsed_mtt / args.invoices)} each)"
    )

    # 3. threads, one series
    if vendor == "postgresql" and args.threads > 0:
        shop2 = merchant(2)
        series2 = services.series_create(merchant=shop2, form="1", symbol=f"C{yy}TBB")
        signing.certificate_for(shop2)
        pending = list(range(args.invoices))
        lock = threading.Lock()
        errors: list[Exception] = []
        barrier = threading.Barrier(args.threads)

        def worker() -> None:
            try:
                barrier.wait()
                while True:
                    with lock:
                        if not pending:
                            return
                        k = pending.pop()
                    try:
                        services.invoice_issue(
                            merchant=shop2, series=series2, buyer=buyer, lines=lines(k)
                        )
                    except Exception as exc:
                        errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(args.threads)]
        t0 = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        elapsed_c = time.perf_counter() - t0
        numbers = sorted(Invoice.objects.filter(series=series2).values_list("number", flat=True))
        ok = numbers == list(range(1, args.invoices + 1)) and not errors
        print(f"\n3. invoice_issue, {args.threads} threads into one series (VAT, signed)")
        print(
            f"   {args.invoices / elapsed_c:7.1f} invoices/s; numbers 1..{args.invoices} "
            f"{'without gaps or duplicates' if ok else 'WRONG'} ({len(errors)} errors)"
        )
    elif args.threads > 0:
        print("\n3. concurrent issue: skipped (needs PostgreSQL: bash bench/einvoice.sh)")

    # 4. PDF: on an uncoded (K) series, whose PDF is made at once (a coded invoice's waits for
    # the tax authority's code).
    uncoded = services.series_create(merchant=shop, form="1", symbol=f"K{yy}TAC")
    fresh = [
        services.invoice_issue(merchant=shop, series=uncoded, buyer=buyer, lines=lines(k))
        for k in range(args.pdfs + 1)
    ]
    if fresh[0].awaits_authority_code:
        raise SystemExit("bench: the K series' invoice awaits a tax code: no PDF would be made")
    pdf.invoice_pdf_render(invoice_id=fresh[-1].pk)  # warm-up: imports WeasyPrint, loads fonts
    html = pdf.invoice_html(fresh[0])
    ours, raw = [], []
    for invoice in fresh[:-1]:  # interleaved, so noise from other processes hits both alike
        t0 = time.perf_counter()
        pdf.invoice_pdf_render(invoice_id=invoice.pk)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pdf.render_pdf_bytes(html)
        raw.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    for _ in range(args.pdfs):
        pdf.invoice_html(fresh[0])
    t_html = (time.perf_counter() - t0) / args.pdfs
    size = Invoice.objects.get(pk=fresh[0].pk).pdf.size
    print(f"\n4. PDF (A4, {args.lines} lines, {size // 1024} KiB), median of {args.pdfs}")
    print(f"   invoice_pdf_render      {ms(statistics.median(ours))}  (HTML + QR + render + store)")
    print(f"   raw WeasyPrint          {ms(statistics.median(raw))}  (same HTML string)")
    print(f"   template + QR only      {ms(t_html)}")
    ratio = statistics.median(ours) / statistics.median(raw)
    print(f"   ratio                   {ratio:7.2f}× raw WeasyPrint")
    record(
        "pdf",
        n=args.pdfs,
        ours_ms=statistics.median(ours) * 1000,
        raw_ms=statistics.median(raw) * 1000,
        ratio=ratio,
    )


if __name__ == "__main__":
    main()
