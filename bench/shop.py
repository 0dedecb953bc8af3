"""Web shop benchmark driver: product search over 100k products, page weight of the shop pages.

Run through `bash bench/shop.sh`, which starts the stack (bench/_stack.sh: throw-away PostgreSQL +
Redis, production-like settings, demo data, gunicorn) and calls the subcommands below in order.

  seed      ~1,000 merchants with an open storefront and a stall in the demo markets, 100 products
            each (Vietnamese names: goods x qualifiers, search_name = core.text.search_key), by
            bulk_create in batches; then ANALYZE. Idempotent (skips when the merchants exist).
  search    in-process, on PostgreSQL: `product_search(q)` + evaluating `.page.object_list`
            (what /mua/?q= and /api/v1/shop/products?q= both do) for ~30 queries, R rounds each
            in shuffled order; p50/p95/p99 over all runs and a line per query (results, fuzzy,
            SQL statements, median and max).
  explain   EXPLAIN (ANALYZE, BUFFERS) of every statement of one common and one fuzzy search;
            says whether the trigram index is used and, when not, times the indexable variant.
  pages     SQL statements per page (CaptureQueriesContext, Django test client, in-process) for
            the marketplace and the storefronts, to spot N+1; prints the paths for `weight`.
  weight    over HTTP (no Django): HTML bytes raw / as served / gzip, the CSS/JS it references
            (raw, gzip and br as whitenoise serves them), time to first byte (median of 20),
            transfer time at 400 kbit/s.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import os
import random
import re
import statistics
import sys
import time
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG_PREFIX = "bench-shop-"
SEED = 2026

# (name, unit, price in đồng, sold by weight) per kind of goods, as Đà Nẵng's markets sell them.
GOODS: dict[str, list[tuple[str, str, int, bool]]] = {
    "seafood": [
        ("Cá thu", "kg", 280_000, True),
        ("Cá ngừ", "kg", 180_000, True),
        ("Cá ngừ đại dương", "kg", 320_000, True),
        ("Cá nục", "kg", 70_000, True),
        ("Cá bạc má", "kg", 90_000, True),
        ("Cá cơm", "kg", 60_000, True),
        ("Cá hố", "kg", 120_000, True),
        ("Cá mòi", "kg", 80_000, True),
        ("Mực lá", "kg", 350_000, True),
        ("Mực ống", "kg", 260_000, True),
        ("Mực một nắng", "kg", 450_000, True),
        ("Tôm sú", "kg", 380_000, True),
        ("Tôm thẻ", "kg", 220_000, True),
        ("Tôm đất", "kg", 250_000, True),
        ("Ghẹ", "kg", 300_000, True),
        ("Cua biển", "kg", 420_000, True),
        ("Ốc hương", "kg", 400_000, True),
        ("Nghêu", "kg", 50_000, True),
    ],
    "vegetables": [
        ("Rau muống", "bó", 10_000, False),
        ("Cải ngọt", "bó", 12_000, False),
        ("Cải xanh", "bó", 12_000, False),
        ("Rau lang", "bó", 8_000, False),
        ("Mồng tơi", "bó", 10_000, False),
        ("Rau má", "bó", 15_000, False),
        ("Rau sống", "gói", 10_000, False),
        ("Bắp cải", "kg", 20_000, True),
        ("Cà chua", "kg", 25_000, True),
        ("Dưa leo", "kg", 20_000, True),
        ("Bí đao", "kg", 18_000, True),
        ("Khổ qua", "kg", 30_000, True),
        ("Hành lá", "bó", 5_000, False),
        ("Ớt hiểm", "lạng", 8_000, False),
        ("Xoài cát", "kg", 60_000, True),
        ("Thanh long", "kg", 35_000, True),
        ("Chuối", "chục", 25_000, False),
        ("Bơ sáp", "kg", 55_000, True),
    ],
    "specialties": [
        ("Bánh tráng", "gói", 25_000, False),
        ("Bánh tráng nướng", "gói", 30_000, False),
        ("Bánh tráng cuốn", "gói", 20_000, False),
        ("Nem chua", "chục", 50_000, False),
        ("Nem lụi", "chục", 60_000, False),
        ("Chả bò", "kg", 320_000, True),
        ("Chả cá", "kg", 180_000, True),
        ("Chả lụa", "kg", 200_000, True),
        ("Mắm nêm", "chai", 35_000, False),
        ("Mắm ruốc", "hộp", 40_000, False),
        ("Nước mắm", "chai", 60_000, False),
        ("Bánh khô mè", "gói", 30_000, False),
        ("Bánh in", "hộp", 45_000, False),
        ("Mè xửng", "hộp", 40_000, False),
        ("Tré", "cái", 15_000, False),
        ("Bánh đậu xanh", "hộp", 50_000, False),
    ],
    "dry_goods": [
        ("Gạo ST25", "kg", 35_000, True),
        ("Gạo tám thơm", "kg", 22_000, True),
        ("Gạo lứt", "kg", 30_000, True),
        ("Nếp cái hoa vàng", "kg", 38_000, True),
        ("Cà phê", "gói", 120_000, False),
        ("Cà phê hạt", "kg", 260_000, True),
        ("Cà phê phin", "gói", 90_000, False),
        ("Tiêu đen", "lạng", 25_000, False),
        ("Đậu xanh", "kg", 45_000, True),
        ("Đậu phộng", "kg", 60_000, True),
        ("Nấm hương", "lạng", 50_000, False),
        ("Mộc nhĩ", "lạng", 30_000, False),
        ("Cá khô", "kg", 300_000, True),
        ("Tôm khô", "kg", 900_000, True),
        ("Mực khô", "kg", 1_200_000, True),
        ("Hạt điều", "kg", 280_000, True),
    ],
    "meat": [
        ("Thịt heo ba chỉ", "kg", 150_000, True),
        ("Thịt heo nạc", "kg", 140_000, True),
        ("Sườn non", "kg", 180_000, True),
        ("Thịt bò", "kg", 280_000, True),
        ("Bắp bò", "kg", 300_000, True),
        ("Gà ta", "con", 220_000, False),
        ("Vịt xiêm", "con", 250_000, False),
        ("Trứng gà", "chục", 35_000, False),
        ("Trứng vịt", "chục", 38_000, False),
        ("Giò heo", "kg", 120_000, True),
        ("Thịt bò khô", "gói", 90_000, False),
        ("Lạp xưởng", "kg", 250_000, True),
    ],
    "food": [
        ("Mì Quảng", "tô", 35_000, False),
        ("Bún chả cá", "tô", 35_000, False),
        ("Bún mắm nêm", "tô", 30_000, False),
        ("Bánh xèo", "đĩa", 40_000, False),
        ("Bánh bèo", "đĩa", 25_000, False),
        ("Bánh canh", "tô", 30_000, False),
        ("Cao lầu", "tô", 40_000, False),
        ("Cơm gà", "đĩa", 40_000, False),
        ("Chè bắp", "ly", 15_000, False),
        ("Cà phê sữa đá", "ly", 20_000, False),
        ("Nước mía", "ly", 12_000, False),
        ("Sinh tố bơ", "ly", 25_000, False),
    ],
}
CATEGORY_WEIGHTS = {
    "seafood": 3,
    "vegetables": 3,
    "specialties": 2,
    "dry_goods": 2,
    "meat": 2,
    "food": 1,
}
QUALIFIERS = [
    "tươi",
    "khô",
    "một nắng",
    "loại 1",
    "loại 2",
    "Đà Nẵng",
    "Hội An",
    "Quảng Nam",
    "Nam Ô",
    "Sơn Trà",
    "Thanh Khê",
    "Đại Lộc",
    "Điện Bàn",
    "nhà làm",
    "sạch",
    "hữu cơ",
    "size lớn",
    "size vừa",
    "đặc biệt",
    "ngon",
    "đông lạnh",
    "mới về",
    "cay",
    "giòn",
    "truyền thống",
    "gia truyền",
    "xuất khẩu",
    "sỉ",
]
# One product of every 50th merchant: the "rare" query.
RARE = ("Sâm Ngọc Linh", "lạng", 1_500_000, False)
SHOP_WORDS = ["Cô", "Chị", "Bà", "Dì", "Anh", "Chú"]
GIVEN = ["Lan", "Hoa", "Mai", "Tâm", "Hạnh", "Thu", "Nga", "Vân", "Hùng", "Dũng", "Bảy", "Sáu"]

# With and without diacritics, NFC and NFD, short and long, typos, a rare and a missing one.
QUERIES = [
    "ca thu",
    "Cá thu",
    unicodedata.normalize("NFD", "Cá thu"),
    "cá thu một nắng",
    "ca ngu",
    "Cá ngừ đại dương",
    "muc la",
    "Mực lá",
    "tom su",
    "Tôm sú",
    "rau muong",
    "Rau muống",
    "cai ngot",
    "banh trang",
    "Bánh tráng nướng",
    "nem chua",
    "cha bo",
    "Chả bò Đà Nẵng",
    "mam nem",
    "Mắm nêm",
    "gao st25",
    "Gạo ST25",
    "ca phe",
    "Cà phê",
    "hoi an",
    "ca",
    "ca tu",
    "banh trnag",
    "sam ngoc linh",
    "pho bo",
]


def django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# --- seed ---------------------------------------------------------------------------------------


def product_rows(rng: random.Random, category: str, count: int) -> list[tuple[str, str, int, bool]]:
    goods = GOODS[category]
    seen: set[tuple[str, str]] = set()
    rows = []
    while len(rows) < count:
        name, unit, price, by_weight = rng.choice(goods)
        n = rng.random()
        if n < 0.15:
            full = name
        elif n < 0.7:
            full = f"{name} {rng.choice(QUALIFIERS)}"
        else:
            a, b = rng.sample(QUALIFIERS, 2)
            full = f"{name} {a} {b}"
        if (full, unit) in seen:
            continue
        seen.add((full, unit))
        rows.append((full, unit, int(price * rng.uniform(0.8, 1.25)) // 1000 * 1000, by_weight))
    return rows


def cmd_seed(args: argparse.Namespace) -> None:
    django_setup()
    from django.db import connection, transaction

    from core.text import search_key
    from market.models import Market, Stall, Storefront
    from merchants.models import Merchant, Product

    if Merchant.objects.filter(slug__startswith=SLUG_PREFIX).exists():
        print(f"  seed: {SLUG_PREFIX}* merchants exist, skipped")
        return
    t0 = time.perf_counter()
    rng = random.Random(SEED)
    markets = list(Market.objects.filter(is_active=True).order_by("pk"))
    categories = [c for c, w in CATEGORY_WEIGHTS.items() for _ in range(w)]
    with transaction.atomic():
        merchants, kinds = [], []
        for i in range(args.merchants):
            category = categories[i % len(categories)]
            who = f"{rng.choice(SHOP_WORDS)} {rng.choice(GIVEN)}"
            kinds.append(category)
            merchants.append(
                Merchant(
                    kind=Merchant.Kind.HOUSEHOLD,
                    legal_name=f"Hộ kinh doanh {who} {i + 1}",
                    display_name=f"{who} · sạp {i + 1}",
                    slug=f"{SLUG_PREFIX}{i + 1:04d}",
                    tax_code=f"99{i + 1:010d}",
                    address=f"{i + 1} Trần Phú, Hải Châu, Đà Nẵng",
                    sector=Merchant.Sector.DISTRIBUTION,
                    phone=f"0905{i + 1:06d}",
                )
            )
        merchants = Merchant.objects.bulk_create(merchants, batch_size=1000)
        Storefront.objects.bulk_create(
            [
                Storefront(
                    merchant=m,
                    is_open=True,
                    tagline="Hàng tươi mỗi sáng",
                    delivers=i % 2 == 1,
                    delivery_fee=20_000 if i % 2 else 0,
                )
                for i, m in enumerate(merchants)
            ],
            batch_size=1000,
        )
        Stall.objects.bulk_create(
            [
                Stall(
                    market=markets[i % len(markets)],
                    code=f"S-{i + 1:04d}",
                    goods_category=kinds[i],
                    merchant=m,
                )
                for i, m in enumerate(merchants)
            ],
            batch_size=1000,
        )
        t_products = time.perf_counter()
        batch: list[Product] = []
        total = 0
        for i, (m, category) in enumerate(zip(merchants, kinds, strict=True)):
            rows = product_rows(rng, category, args.products - (1 if i % 50 == 0 else 0))
            if i % 50 == 0:
                rows.append(RARE)
            for name, unit, price, by_weight in rows:
                batch.append(
                    Product(
                        merchant=m,
                        name=name,
                        search_name=search_key(name),
                        unit=unit,
                        price=price,
                        sold_by_weight=by_weight,
                        is_active=rng.random() > 0.02,
                        in_stock=rng.random() > 0.05,
                    )
                )
            if len(batch) >= args.batch:
                Product.objects.bulk_create(batch, batch_size=args.batch)
                total += len(batch)
                batch = []
        if batch:
            Product.objects.bulk_create(batch, batch_size=args.batch)
            total += len(batch)
    t_analyze = time.perf_counter()
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
        cur.execute("SELECT pg_size_pretty(pg_relation_size('product_search_name_trgm'))")
        index_size = cur.fetchone()[0]
    t1 = time.perf_counter()
    print(
        f"  seed: {len(merchants)} merchants (open storefront + stall), {total} products in "
        f"{t1 - t0:.1f} s (products {t_analyze - t_products:.1f} s, ANALYZE {t1 - t_analyze:.1f} s)"
    )
    print(
        f"  now: {Product.objects.count()} products, "
        f"{Storefront.objects.filter(is_open=True).count()} open storefronts; "
        f"trigram index product_search_name_trgm {index_size}"
    )


# --- search, in-process -------------------------------------------------------------------------


def run_search(query: str) -> tuple[Any, list[Any]]:
    from market.shop.search import product_search

    result = product_search(query)
    return result, list(result.page.object_list)


def cmd_search(args: argparse.Namespace) -> None:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    info: dict[str, tuple[int, bool, int, str]] = {}
    for q in QUERIES:  # warm-up and facts: results, fuzzy, statements
        with CaptureQueriesContext(connection) as ctx:
            result, rows = run_search(q)
        first = rows[0].name if rows else "—"
        info[q] = (result.page.paginator.count, result.fuzzy, len(ctx.captured_queries), first)
    rng = random.Random(SEED)
    times: dict[str, list[float]] = {q: [] for q in QUERIES}
    order = list(QUERIES)
    for _ in range(args.rounds):
        rng.shuffle(order)
        for q in order:
            t0 = time.perf_counter()
            run_search(q)
            times[q].append((time.perf_counter() - t0) * 1000)
    every = [t for ts in times.values() for t in ts]
    print(
        f"  {len(every)} searches ({len(QUERIES)} queries × {args.rounds} rounds, shuffled), "
        f"product_search(q) + list(page.object_list), in-process on PostgreSQL:"
    )
    print(
        f"  p50 {pct(every, 50):.1f} ms · p95 {pct(every, 95):.1f} ms · "
        f"p99 {pct(every, 99):.1f} ms · max {max(every):.1f} ms · "
        f"mean {statistics.mean(every):.1f} ms"
    )
    for path, fuzzy in (("every word (LIKE)", False), ("fuzzy (similarity)", True)):
        some = [t for q in QUERIES if info[q][1] == fuzzy for t in times[q]]
        if some:
            print(
                f"    {path:<19}: {len(some):>3} runs, p50 {pct(some, 50):.1f} ms · "
                f"p95 {pct(some, 95):.1f} ms · p99 {pct(some, 99):.1f} ms"
            )
    print()
    print(
        "| query                  | results | path    | SQL | median ms | max ms "
        "| first result                  |"
    )
    print(
        "|------------------------|--------:|---------|----:|----------:|-------:|-------------------------------|"
    )
    for q in QUERIES:
        count, fuzzy, n_sql, first = info[q]
        nfc = unicodedata.normalize("NFC", q)
        shown = q if nfc == q else f"{nfc} (NFD)"
        print(
            f"| {shown[:22]:<22} | {count:>7} | {'fuzzy' if fuzzy else 'words':<7} | {n_sql:>3} | "
            f"{statistics.median(times[q]):>9.1f} | {max(times[q]):>6.1f} | {first[:29]:<29} |"
        )
    slow = sorted(QUERIES, key=lambda q: -statistics.median(times[q]))[:3]
    print()
    medians = ", ".join(f"{q!r} {statistics.median(times[q]):.1f} ms" for q in slow)
    print(f"  slowest by median: {medians}")


# --- EXPLAIN ------------------------------------------------------------------------------------


def explain(cur: Any, sql: str) -> tuple[list[str], float]:
    cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
    lines = [r[0] for r in cur.fetchall()]
    total = next(
        (float(m.group(1)) for x in lines if (m := re.search(r"Execution Time: ([\d.]+)", x))),
        0.0,
    )
    return lines, total


def cmd_explain(args: argparse.Namespace) -> None:
    django_setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from core.text import search_key

    for label, q in (("common", args.common), ("fuzzy", args.fuzzy), ("no", "")):
        with CaptureQueriesContext(connection) as ctx:
            result, _rows = run_search(q)
        how = "fuzzy (trigram similarity)" if result.fuzzy else "every word by LIKE"
        print(
            f"### {label} query {q!r} (key {search_key(q)!r}; /mua/?q={q.replace(' ', '+')}): "
            f"{result.page.paginator.count} results, "
            f"{how if q else 'newest first'}, "
            f"{len(ctx.captured_queries)} statements"
        )
        with connection.cursor() as cur:
            for n, captured in enumerate(ctx.captured_queries, 1):
                sql = captured["sql"]
                kind = (
                    "exists"
                    if "LIMIT 1" in sql and "COUNT" not in sql.upper()
                    else "count"
                    if "COUNT(" in sql.upper()
                    else "page"
                )
                lines, ms = explain(cur, sql)
                used = any("product_search_name_trgm" in line for line in lines)
                print(
                    f"  [{n}] {kind}: {ms:.1f} ms in PostgreSQL; trigram index "
                    f"{'USED' if used else 'NOT used'}"
                )
                if args.verbose or n == 1 or not used:
                    where = re.search(r"WHERE (.*?)(?: ORDER BY| LIMIT|\) subquery|$)", sql)
                    if where:
                        print(f"      WHERE {where.group(1)[:300]}")
                    for line in lines:
                        if args.verbose or re.search(
                            r"Scan|Sort|Join|Filter|Rows Removed|Recheck|Execution|Index Cond",
                            line,
                        ):
                            print(f"      {line[:150]}")
            if label == "common":
                # Would the index serve the LIKE words if the planner wanted it?
                count_sql = next(
                    (c["sql"] for c in ctx.captured_queries if "COUNT(" in c["sql"].upper()), None
                )
                if count_sql:
                    cur.execute("SET enable_seqscan = off")
                    lines, ms = explain(cur, count_sql)
                    cur.execute("RESET enable_seqscan")
                    used = any("product_search_name_trgm" in line for line in lines)
                    print(
                        f"  count with enable_seqscan=off: {ms:.1f} ms, trigram index "
                        f"{'used' if used else 'not used'}"
                    )
                    for line in lines:
                        if "product_search_name_trgm" in line or "Execution" in line:
                            print(f"      {line[:150]}")
            elif label == "fuzzy":
                key = search_key(q)
                # The app's filter, word_similarity(key, search_name) >= 0.4, is a function call:
                # no index can serve it. The operator form (key <% search_name, with
                # pg_trgm.word_similarity_threshold = 0.4) means the same and GIN can serve it.
                cur.execute("SET pg_trgm.word_similarity_threshold = 0.4")
                base = (
                    "FROM merchants_product p JOIN market_storefront s "
                    "ON s.merchant_id = p.merchant_id AND s.is_open WHERE p.is_active AND "
                )
                for what, cond in (
                    ("as the app filters", "word_similarity(%s, p.search_name) >= 0.4"),
                    ("operator form     ", "%s <%% p.search_name"),
                ):
                    sql = cur.mogrify(f"SELECT COUNT(*) {base}{cond}", [key])
                    lines, ms = explain(cur, sql)
                    cur.execute(cur.mogrify(f"SELECT COUNT(*) {base}{cond}", [key]))
                    n_rows = cur.fetchone()[0]
                    used = any("product_search_name_trgm" in line for line in lines)
                    print(
                        f"  count {what}: {ms:.1f} ms, {n_rows} rows, trigram index "
                        f"{'used' if used else 'not used'}"
                    )
                cur.execute("RESET pg_trgm.word_similarity_threshold")
        print()


# --- statements per page ------------------------------------------------------------------------


def cmd_pages(args: argparse.Namespace) -> None:
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from market.models import Stall

    def storefront_path(demo: bool) -> tuple[str, int]:
        stalls = Stall.objects.filter(
            merchant__storefront__is_open=True, market__slug="cho-han"
        ).select_related("market", "merchant")
        stalls = (
            stalls.exclude(merchant__slug__startswith=SLUG_PREFIX)
            if demo
            else stalls.filter(merchant__slug__startswith=SLUG_PREFIX)
        )
        stall = stalls.order_by("code").first()
        assert stall and stall.merchant
        path = reverse("shop", args=[stall.market.slug, stall.merchant.slug])
        return path, stall.merchant.products.filter(is_active=True).count()

    demo_path, demo_n = storefront_path(True)
    seeded_path, seeded_n = storefront_path(False)
    pages = [
        ("marketplace", "/mua/", ""),
        ("marketplace ?q=ca thu", "/mua/?q=ca+thu", ""),
        ("marketplace ?q=ca (many)", "/mua/?q=ca", ""),
        (f"marketplace ?q={args.fuzzy}", "/mua/?q=" + args.fuzzy.replace(" ", "+"), ""),
        ("storefront, demo", demo_path, f"{demo_n} products"),
        ("storefront, seeded", seeded_path, f"{seeded_n} products"),
        ("API products ?q=ca thu", "/api/v1/shop/products?q=ca+thu", ""),
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    print("| page                         | status | SQL | in-process ms (median of 20) | note |")
    print("|------------------------------|-------:|----:|-----------------------------:|------|")
    for name, path, note in pages:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(path)
        # Read now: once the context is left, the next request resets the connection's log.
        captured = list(ctx.captured_queries)
        ms = []
        for _ in range(20):
            t0 = time.perf_counter()
            client.get(path)
            ms.append((time.perf_counter() - t0) * 1000)
        print(
            f"| {name[:28]:<28} | {response.status_code:>6} | {len(captured):>3} | "
            f"{statistics.median(ms):>28.1f} | {note} |"
        )
        if args.verbose:
            for c in captured:
                print(f"      {c['sql'][:160]}")
    if args.paths_file:
        Path(args.paths_file).write_text(f"{demo_path}\n{seeded_path}\n")


# --- page weight over HTTP ----------------------------------------------------------------------


def fetch(base: str, path: str, encoding: str) -> tuple[int, dict[str, str], bytes, float]:
    """GET on a fresh connection; also the time to the response's first bytes (status + headers)."""
    url = urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    t0 = time.perf_counter()
    conn.request("GET", path, headers={"Accept-Encoding": encoding, "Host": url.netloc})
    response = conn.getresponse()
    ttfb = time.perf_counter() - t0
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body, ttfb


def cmd_weight(args: argparse.Namespace) -> None:
    base = args.base
    kbit = args.kbit
    print(
        "| page                 | HTML raw | HTML gz | CSS/JS (n) raw | CSS/JS gz | CSS/JS br | "
        "as served | @400 kbit/s | HTML gz + CSS | @400 kbit/s | TTFB p50 |"
    )
    print(
        "|----------------------|---------:|--------:|---------------:|----------:|----------:|"
        "----------:|------------:|--------------:|------------:|---------:|"
    )
    notes = []
    for entry in args.pages:
        name, path = entry.split("|", 1)
        status, headers, html, _ = fetch(base, path, "identity")
        if status != 200:
            raise SystemExit(f"{path} answered {status}")
        _, served_headers, served, _ = fetch(base, path, "gzip, br")
        html_gz = len(gzip.compress(html, 6))
        assets = re.findall(
            rb'<(?:link[^>]+rel="?stylesheet"?[^>]*href|script[^>]+src)="([^"]+)"', html
        )
        images = re.findall(rb'<img[^>]+src="([^"]+)"', html)
        a_raw = a_gz = a_br = 0
        for ref in assets:
            apath = urlsplit(urljoin(base + path, ref.decode())).path
            s1, _, raw, _ = fetch(base, apath, "identity")
            s2, h2, gz, _ = fetch(base, apath, "gzip")
            s3, h3, br, _ = fetch(base, apath, "br")
            if 200 not in (s1,) or s2 != 200 or s3 != 200:
                raise SystemExit(f"{apath} answered {s1}/{s2}/{s3}")
            a_raw += len(raw)
            a_gz += len(gz) if h2.get("content-encoding") == "gzip" else len(gzip.compress(raw, 6))
            a_br += len(br) if h3.get("content-encoding") == "br" else len(gz)
            notes.append(
                f"  {name}: {apath} raw {len(raw)} B, served gzip {len(gz)} B "
                f"({h2.get('content-encoding', 'none')}), br {len(br)} B "
                f"({h3.get('content-encoding', 'none')}), "
                f"cache-control: {h2.get('cache-control', '—')}"
            )
        ttfbs = sorted(fetch(base, path, "gzip, br")[3] * 1000 for _ in range(args.ttfb_runs))
        total = html_gz + a_gz
        as_served = len(served) + a_br  # a browser sends "gzip, deflate, br"

        def secs(n: int) -> str:
            return f"{n * 8 / (kbit * 1000):.2f} s"

        print(
            f"| {name[:20]:<20} | {len(html):>8} | {html_gz:>7} | {a_raw:>10} ({len(assets)}) | "
            f"{a_gz:>9} | {a_br:>9} | {as_served:>9} | {secs(as_served):>11} | {total:>13} | "
            f"{secs(total):>11} | {statistics.median(ttfbs):>5.1f} ms |"
        )
        notes.append(
            f"  {name}: {path} — HTML served with Content-Encoding "
            f"{served_headers.get('content-encoding', 'none')} ({len(served)} B), "
            f"{len(images)} <img>, cache-control: {headers.get('cache-control', '—')}, "
            f"set-cookie: {'yes' if 'set-cookie' in headers else 'no'}"
        )
    print()
    print("\n".join(dict.fromkeys(notes)))
    print(
        f"  bytes; as served = the HTML as gunicorn sends it to a browser (Accept-Encoding: gzip, "
        f"br) + the CSS as whitenoise sends it (br); HTML gz = gzip -6 of the HTML, as a reverse "
        f"proxy that compresses would send it; time = bytes × 8 / {kbit} kbit/s, no round trips"
    )


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("seed")
    p.add_argument("--merchants", type=int, default=1000)
    p.add_argument("--products", type=int, default=100, help="per merchant")
    p.add_argument("--batch", type=int, default=5000)
    p = sub.add_parser("search")
    p.add_argument("--rounds", type=int, default=17)
    p = sub.add_parser("explain")
    p.add_argument("--common", default="ca thu")
    p.add_argument("--fuzzy", default="ca tu")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("pages")
    p.add_argument("--fuzzy", default="ca tu")
    p.add_argument("--paths-file")
    p.add_argument("-v", "--verbose", action="store_true")
    p = sub.add_parser("weight")
    p.add_argument("--base", required=True)
    p.add_argument("--kbit", type=int, default=400)
    p.add_argument("--ttfb-runs", type=int, default=20)
    p.add_argument("pages", nargs="+", help='"name|/path"')
    args = parser.parse_args(argv)
    {
        "seed": cmd_seed,
        "search": cmd_search,
        "explain": cmd_explain,
        "pages": cmd_pages,
        "weight": cmd_weight,
    }[args.cmd](args)


if __name__ == "__main__":
    main(sys.argv[1:])
