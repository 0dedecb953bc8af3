"""The final table of bench/all.sh: each row of issue 15's table, measured, against its goal.

    .venv/bin/python bench/report.py RESULTS.jsonl [--mode quick] [--load 0.3] ...

RESULTS.jsonl holds one JSON object a line, written by the steps of bench/all.sh (the drivers'
`record()` when $BENCH_RESULTS is set, and all.sh's own wrk runs). Every figure printed comes from
that file; the goals are issue 15's. A goal whose figure is missing (a step failed or was not
run) is "not measured", never met.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Row = tuple[str, str, str, str, str]  # path, measured, goal, ratio to bare, met?


def load(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            out.append(json.loads(line))
    return out


def ms(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.0f} ms"


def yes(ok: bool) -> str:
    return "yes" if ok else "**NO**"


class Results:
    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records

    def get(self, kind: str, **match: Any) -> dict[str, Any] | None:
        """The last record of `kind` whose fields equal `match`."""
        found = None
        for r in self.records:
            if r.get("kind") == kind and all(r.get(k) == v for k, v in match.items()):
                found = r
        return found


def rows(res: Results) -> list[Row]:
    out: list[Row] = []
    # Each HTTP step's ratio uses the bare figure measured right before it.
    bare_orders, bare_pay = res.get("bare", when="orders"), res.get("bare", when="payments")
    bare_morning, bare4 = res.get("bare", when="morning"), res.get("bare", when="shop")
    missing = "not measured (step failed or skipped)"

    def add(path: str, figure: Callable[[], Row | None]) -> None:
        try:
            row = figure()
        except (KeyError, TypeError, ZeroDivisionError) as exc:
            row = (path, f"not measured ({type(exc).__name__}: {exc})", "", "—", "**NO**")
        out.append(row or (path, missing, "", "—", "**NO**"))

    def vs_bare_rps(rps: float, bare: dict[str, Any] | None) -> str:
        return f"{rps / bare['rps']:.2f}× bare req/s" if bare and bare["rps"] else "—"

    def vs_bare_lat(seconds: float | None, bare: dict[str, Any] | None, p: str) -> str:
        if seconds is None or not bare or not bare.get(f"{p}_ms"):
            return "—"
        return f"{seconds * 1000 / bare[f'{p}_ms']:.0f}× bare {p}"

    # --- POS order + QR intent
    def order_trips() -> Row | None:
        api, keypad = res.get("roundtrips", path="api_order"), res.get("roundtrips", path="keypad")
        if not api:
            return None
        extra = f"; keypad sale {keypad['trips']}" if keypad else ""
        return (
            "POS order + QR intent: round trips",
            f"{api['trips']} (API + Idempotency-Key){extra}",
            "≤ 6",
            "— (bare: 1)",
            yes(api["trips"] <= 6),
        )

    def order_cpu() -> Row | None:
        api, keypad = res.get("roundtrips", path="api_order"), res.get("roundtrips", path="keypad")
        if not api:
            return None
        extra = f"; keypad sale {keypad['cpu_ms']:.1f} ms" if keypad else ""
        return (
            "POS order + QR intent: CPU per request",
            f"{api['cpu_ms']:.1f} ms (API, median){extra}",
            "no goal (was ~20 ms; floor ~1 ms)",
            "—",
            "—",
        )

    def order_http() -> Row | None:
        w = res.get("orders_wrk")
        if not w:
            return None
        ratio = w["rps"] / bare_orders["rps"] if bare_orders else 0.0
        note = "; moonshot 0.5× met" if ratio >= 0.5 else ""
        return (
            "POS order + QR intent: HTTP req/s",
            f"{w['rps']:.0f} req/s at C={w['c']}, p99 {ms(w['p99'])}"
            + (", Idempotency-Key" if w.get("idempotency") else "")
            + (f", {w['errors']} errors" if w["errors"] else ""),
            "≥ 0.3× bare (moonshot 0.5×)",
            vs_bare_rps(w["rps"], bare_orders),
            yes(ratio >= 0.3 and not w["errors"]) + note,
        )

    # --- bank notification -> order paid
    def pay_trips() -> Row | None:
        r = res.get("roundtrips", path="notify")
        if not r:
            return None
        return (
            "bank notification → order paid: round trips",
            f"{r['trips']}",
            "≤ 10",
            "— (bare: 1)",
            yes(r["trips"] <= 10),
        )

    def pay_cpu() -> Row | None:
        r = res.get("roundtrips", path="notify")
        if not r:
            return None
        return (
            "bank notification → order paid: CPU",
            f"{r['cpu_ms']:.1f} ms per request (median)",
            "≤ 6 ms",
            "—",
            yes(r["cpu_ms"] <= 6),
        )

    def pay_rate() -> Row | None:
        w = res.get("webhook")
        if not w:
            return None
        cpu = w.get("cpu_ms") or {}
        api_cpu = cpu.get("API gunicorn")
        return (
            "bank notification → order paid: throughput",
            f"{w['rps']:.0f}/s (N={w['n']}, C={w['c']})"
            + (f", API CPU {api_cpu:.1f} ms each" if api_cpu is not None else "")
            + (f", {w['errors']} errors" if w["errors"] else ""),
            "no goal (was 81–119/s)",
            vs_bare_rps(w["rps"], bare_pay),
            "—" if not w["errors"] else "**NO** (errors)",
        )

    def pay_sse() -> Row | None:
        s = res.get("sse")
        if not s:
            return None
        served = s["achieved"] >= 0.95 * s["asked"]
        ok = s["p95"] is not None and s["p95"] < 1 and served and not s["missing"]
        ok = ok and not s.get("shed")
        return (
            f"bank notification → trader screen (SSE), {s['asked']:g}/s open loop",
            f"p95 {ms(s['p95'])} (p50 {ms(s['p50'])}, p99 {ms(s['p99'])}) from due, "
            f"{s['events']} events, {s['missing']} missing; achieved {s['achieved']:.0f}/s of "
            f"{s['offered']:.0f}/s offered; max in flight {s['max_in_flight']}/{s['threads']}"
            + (f", {s['shed']} shed (not sent)" if s.get("shed") else "")
            + (f"; {s['errors']} errors" if s["errors"] else ""),
            "p95 < 1 s at 200/s, all served",
            vs_bare_lat(s["p95"], bare_pay, "p95"),
            yes(ok and not s["errors"]),
        )

    # --- e-invoice, PDF
    def einvoice() -> Row | None:
        e = res.get("einvoice")
        if not e:
            return None
        db = f", PostgreSQL {e['db_cpu_ms']:.1f} ms" if e.get("db_cpu_ms") is not None else ""
        return (
            "signed VAT e-invoice issue",
            f"{e['per_core']:.0f}/s per core (CPU {e['app_cpu_ms']:.1f} ms each{db}; "
            f"1 thread {e['wall_per_s']:.0f}/s wall, n={e['n']})",
            "≥ 300/s per core",
            "—",
            yes(e["per_core"] >= 300),
        )

    def pdf() -> Row | None:
        p = res.get("pdf")
        if not p:
            return None
        return (
            "invoice PDF vs raw WeasyPrint",
            f"{p['ratio']:.2f}× ({p['ours_ms']:.0f} / {p['raw_ms']:.0f} ms, median of {p['n']})",
            "≤ 1.2×",
            "—",
            yes(p["ratio"] <= 1.2),
        )

    # --- market morning
    def morning() -> Row | None:
        m = res.get("morning")
        if not m:
            return None
        all_served = m["served"] == m["sales"] and not m.get("shed")
        ok = all_served and m["p99"] is not None and m["p99"] < 0.3 and m["paid_once"]
        return (
            f"market morning ({m['stalls']} stalls, {m['asked']:g} sales/s, {m['duration']:g} s)",
            f"served {m['served']} of {m['sales']} offered; offered {m['offered']:.1f}/s, "
            f"achieved {m['achieved']:.1f}/s; create p99 {ms(m['p99'])} (p50 {ms(m['p50'])}, "
            f"p95 {ms(m['p95'])}); paid once: {'yes' if m['paid_once'] else 'NO'}; late "
            f"{m['late']}, dropped {m['dropped']}, max in flight {m['max_in_flight']}/"
            f"{m['threads']}"
            + (f", {m['shed']} shed (not sent)" if m.get("shed") else "")
            + (f"; {m['errors']} errors" if m["errors"] else ""),
            "all offered served, p99 < 300 ms",
            vs_bare_lat(m["p99"], bare_morning, "p99"),
            yes(ok and not m["errors"]),
        )

    # --- search
    def shop() -> Row | None:
        s, nc = res.get("shop", variant="cache"), res.get("shop", variant="nocache")
        if not s:
            return None
        extra = f"; cache off: p95 {nc['p95_ms']:.0f} ms, {nc['rps']:.0f} req/s" if nc else ""
        return (
            "/mua/?q=ca thu at 100k products",
            f"p95 {s['p95_ms']:.1f} ms at C={s['c']}, {s['rps']:.0f} req/s (results cached "
            f"30 s){extra}" + (f", {s['errors']} errors" if s["errors"] else ""),
            "p95 < 50 ms at 4 connections",
            f"{s['p95_ms'] / bare4['p95_ms']:.1f}× bare p95, {s['rps'] / bare4['rps']:.2f}× req/s"
            if bare4
            else "—",
            yes(s["p95_ms"] < 50 and not s["errors"]),
        )

    for name, fn in [
        ("POS order + QR intent: round trips", order_trips),
        ("POS order + QR intent: CPU per request", order_cpu),
        ("POS order + QR intent: HTTP req/s", order_http),
        ("bank notification → order paid: round trips", pay_trips),
        ("bank notification → order paid: CPU", pay_cpu),
        ("bank notification → order paid: throughput", pay_rate),
        ("bank notification → trader screen (SSE), 200/s open loop", pay_sse),
        ("signed VAT e-invoice issue", einvoice),
        ("invoice PDF vs raw WeasyPrint", pdf),
        ("market morning", morning),
        ("/mua/?q=ca thu at 100k products", shop),
    ]:
        add(name, fn)
    return out


def table(body: list[Row]) -> str:
    head: Row = ("path", "measured", "goal", "ratio to bare", "met?")
    lines = [head, *body]
    widths = [max(len(r[i]) for r in lines) for i in range(5)]

    def fmt(r: Row) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(head), rule, *(fmt(r) for r in body)])


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description="bench/all.sh's final table")
    p.add_argument("results", type=Path)
    p.add_argument("--mode", default="?")
    p.add_argument("--workers", default="?")
    p.add_argument("--load", default="?", help="load average before the run")
    p.add_argument("--load-now", default="?")
    p.add_argument("--wall", type=int, default=0, help="seconds the whole run took")
    p.add_argument("--failed", default="", help="steps that exited non-zero")
    p.add_argument("--steps", default="", help="steps asked for")
    args = p.parse_args(argv)
    res = Results(load(args.results))
    body = rows(res)
    print(f"# issue 15: every row against its goal (bench/all.sh --{args.mode})")
    print()
    print(table(body))
    print()
    bares = [r for r in res.records if r.get("kind") == "bare"]
    if bares:
        print(
            "  bare /api/v1/health (wrk -t1), measured right before each HTTP step (its ratios' "
            "base): "
            + "; ".join(
                f"{b['when']} C={b['c']} {b['rps']:.0f} req/s, p95 {b['p95_ms']:.1f} ms, "
                f"p99 {b['p99_ms']:.1f} ms"
                for b in bares
            )
        )
    print(
        "  round trips and CPU: Django test client on the same PostgreSQL (bench/roundtrips.py), "
        "CPU = this process's, not PostgreSQL's; HTTP rows: gunicorn "
        f"{args.workers} sync workers on loopback, client on the same {os.cpu_count()} cores"
    )
    if args.failed.strip():
        print(f"  steps that reported errors (see their output above): {args.failed}")
    met = sum(1 for r in body if r[4].startswith("yes"))
    goals = sum(1 for r in body if r[4] != "—")
    print(
        f"  goals met: {met} of {goals}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"wall time {args.wall // 60} min {args.wall % 60} s; load average before: {args.load}, "
        f"after: {args.load_now} (well above 0: other work shared the CPUs)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
