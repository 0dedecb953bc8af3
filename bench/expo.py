"""Virtual exhibition benchmark driver (run through `bash bench/expo.sh`, which starts the stack:
throw-away PostgreSQL + Redis, production-like settings, `manage.py demo` with its exhibition,
gunicorn).

  paths     the demo exhibition's home, a search, and its booth with the panorama (prints paths)
  weight    over HTTP, first visit (no cookies, nothing cached): the HTML (raw and as served with
            Accept-Encoding: gzip, br), the CSS/JS it loads, the images it loads at once and the
            lazy ones, the panorama viewer + image fetched only on "Xem 360°"; KB and the time at
            400 kbit/s (a weak 3G link); server time = time to first byte, median and p95 of N
            sequential requests (each one also records a visit).
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cmd_paths(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from virtual_expo.demo import DEMO_SLUG
    from virtual_expo.models import Booth

    booth = Booth.objects.filter(exhibition__slug=DEMO_SLUG, featured=True).first()
    assert booth is not None, "no demo exhibition: did manage.py demo run?"
    print(f"/hoi-cho/{DEMO_SLUG}/")
    print(f"/hoi-cho/{DEMO_SLUG}/?q=gom")
    print(f"/hoi-cho/{DEMO_SLUG}/gian/{booth.pk}/")


def fetch(
    base: str, path: str, encoding: str = "gzip, br"
) -> tuple[int, dict[str, str], bytes, float]:
    parts = urlsplit(urljoin(base, path))
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    start = time.perf_counter()
    conn.request(
        "GET",
        parts.path + (f"?{parts.query}" if parts.query else ""),
        headers={"Accept-Encoding": encoding, "User-Agent": "bench-expo"},
    )
    response = conn.getresponse()
    ttfb = time.perf_counter() - start
    body = response.read()
    headers = {k.lower(): v for k, v in response.getheaders()}
    conn.close()
    return response.status, headers, body, ttfb


def size_of(base: str, url: str) -> int:
    """Bytes of an asset as served; media (not served by Django when DEBUG is off: a web server
    or object storage does it in production) are read from MEDIA_ROOT."""
    path = urlsplit(url).path
    media_root = os.environ.get("MEDIA_ROOT", "")
    if path.startswith("/media/") and media_root:
        return (Path(media_root) / path.removeprefix("/media/")).stat().st_size
    status, _h, body, _t = fetch(base, url)
    assert status == 200, f"{url} answered {status}"
    return len(body)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def cmd_weight(args: argparse.Namespace) -> None:
    kbit = 400
    print(
        "| page | HTML raw | HTML served | CSS+JS | images at once | lazy images "
        f"| total first view | at {kbit} kbit/s | server p50 | server p95 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    on_tap: list[str] = []
    for entry in args.pages:
        name, path = entry.split("|", 1)
        status, _h, raw, _t = fetch(args.base, path, encoding="identity")
        assert status == 200, f"{path} answered {status}"
        _s, _h2, served, _t = fetch(args.base, path)
        html = raw.decode()
        assets = re.findall(r'<(?:link[^>]+href|script[^>]+src)="([^"]+)"', html)
        assets = [a for a in assets if a.endswith((".css", ".js"))]
        asset_bytes = sum(size_of(args.base, a) for a in assets)
        eager = lazy = 0
        for tag in re.findall(r"<img[^>]+>", html):
            src = re.search(r'src="([^"]+)"', tag)
            if not src:
                continue
            size = size_of(args.base, src.group(1))
            if 'loading="lazy"' in tag:
                lazy += size
            else:
                eager += size
        for attr in ("data-js", "data-css", "data-pano"):
            found = re.search(rf'{attr}="([^"]+)"', html)
            if found:
                on_tap.append(found.group(1))
        times = [fetch(args.base, path)[3] * 1000 for _ in range(args.requests)]
        first = len(served) + asset_bytes + eager
        print(
            f"| {name} | {len(raw) / 1024:.1f} KB | {len(served) / 1024:.1f} KB | "
            f"{asset_bytes / 1024:.1f} KB | {eager / 1024:.1f} KB | {lazy / 1024:.1f} KB | "
            f"{first / 1024:.1f} KB | {first * 8 / (kbit * 1000):.2f} s | "
            f"{statistics.median(times):.1f} ms | {pct(times, 95):.1f} ms |"
        )
    if on_tap:
        sizes = [(url, size_of(args.base, url)) for url in dict.fromkeys(on_tap)]
        total = sum(size for _u, size in sizes)
        detail = ", ".join(
            f"{urlsplit(u).path.rsplit('/', 1)[-1]} {s / 1024:.1f} KB" for u, s in sizes
        )
        print(
            f'\n  on tapping "Xem 360°" only: {total / 1024:.1f} KB ({detail}), '
            f"{total * 8 / (kbit * 1000):.2f} s at {kbit} kbit/s"
        )
    print(
        "  served = as sent with Accept-Encoding: gzip, br (whitenoise compresses CSS/JS; HTML"
        " as gunicorn sends it); media sizes read from MEDIA_ROOT"
    )
    print(
        f"  server time = time to first byte over loopback, {args.requests} sequential requests"
        " per page (each also records a visit)"
    )


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("paths")
    p = sub.add_parser("weight")
    p.add_argument("--base", required=True)
    p.add_argument("--requests", type=int, default=50)
    p.add_argument("pages", nargs="+", help='"name|/path"')
    args = parser.parse_args(argv)
    {"paths": cmd_paths, "weight": cmd_weight}[args.cmd](args)


if __name__ == "__main__":
    main(sys.argv[1:])
