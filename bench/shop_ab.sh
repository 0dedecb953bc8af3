#!/usr/bin/env bash
# Web shop A/B: the same seeded stack (bench/_stack.sh + `shop.py seed`, 100k products) served by
# three gunicorns, the code of GIT_REF ("before"), the working tree with the HTML caches off
# ("after, no cache": SHOP_RESULTS_CACHE_SECONDS=0) and on ("after"); wrk at 1, 4 and 16
# connections, the three interleaved endpoint by endpoint so they share whatever load the machine
# has. p95 from wrk (a Lua done() hook) and as a ratio to the bare endpoint of the same level.
# Run by hand; not part of the test suite.
#
#   bash bench/shop_ab.sh GIT_REF [DURATION]      e.g. bash bench/shop_ab.sh 69d3709 5s
#
# Everything it starts (gunicorns, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
REF=${1:?usage: bash bench/shop_ab.sh GIT_REF [DURATION]}
DUR=${2:-5s}
git rev-parse --verify -q "$REF^{commit}" >/dev/null || { echo "not a commit: $REF" >&2; exit 2; }
source bench/_stack.sh
command -v wrk >/dev/null 2>&1 || die "wrk not found: apt-get install -y wrk"
stack_setup
mkdir "$WORK/before"
git archive "$REF" | tar -x -C "$WORK/before"
PY=.venv/bin/python
$PY bench/shop.py seed --merchants 1000 --products 100
$PY bench/shop.py pages --fuzzy "banh trnag" --paths-file "$WORK/paths" >/dev/null
SHOP=$(sed -n 2p "$WORK/paths")
stack_gunicorn before --chdir "$WORK/before" --workers 4 --worker-class sync
URL_BEFORE=$STACK_URL
export SHOP_RESULTS_CACHE_SECONDS=0
stack_gunicorn nocache --workers 4 --worker-class sync
URL_NOCACHE=$STACK_URL
export SHOP_RESULTS_CACHE_SECONDS=30
stack_gunicorn cache --workers 4 --worker-class sync
URL_CACHE=$STACK_URL
# Every worker of the three imports its views, compiles its templates and loads its translations
# on its first requests: warm them all (8 connections reach the 4 workers) before measuring.
for base in "$URL_BEFORE" "$URL_NOCACHE" "$URL_CACHE"; do
  for path in /api/v1/health "/mua/?q=ca+thu" "/mua/?q=ca" "$SHOP"; do
    wrk -t 1 -c 8 -d 3s --timeout 10s "$base$path" >/dev/null
  done
done
cat >"$WORK/p95.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
LUA
echo "» before = $(git rev-parse --short "$REF"), after = the working tree; gunicorn 4 sync workers each"
printf '| %-24s | %-15s | %5s | %7s | %9s | %9s | %9s | %11s |\n' endpoint server conns req/s p50 p95 p99 "p95 vs bare"
echo "|--------------------------|-----------------|------:|--------:|----------:|----------:|----------:|------------:|"
for c in 1 4 16; do
  bare_p95=
  for entry in "bare (health)|/api/v1/health" "/mua/?q=ca thu|/mua/?q=ca+thu" "/mua/?q=ca|/mua/?q=ca" \
    "storefront, 99 products|$SHOP"; do
    name=${entry%%|*} path=${entry#*|}
    for srv in "before|$URL_BEFORE" "after, no cache|$URL_NOCACHE" "after|$URL_CACHE"; do
      sname=${srv%%|*} base=${srv#*|}
      [ "$name" = "bare (health)" ] && [ "$sname" != before ] && continue
      sleep 1
      wrk -t 1 -c "$c" -d 2s --timeout 10s "$base$path" >/dev/null
      wrk -t 1 -c "$c" -d "$DUR" --timeout 10s --latency -s "$WORK/p95.lua" "$base$path" >"$WORK/wrk.out"
      read -r rps p50 p99 err <<<"$(parse_wrk <"$WORK/wrk.out")"
      p95=$(awk '$1 == "p95_us" { printf "%.2f", $2 / 1000 }' "$WORK/wrk.out")
      [ -n "$bare_p95" ] || bare_p95=$p95
      printf '| %-24s | %-15s | %5s | %7.0f | %6.2f ms | %6.2f ms | %6.2f ms | %10.2f× |%s\n' \
        "$name" "$sname" "$c" "$rps" "$p50" "$p95" "$p99" \
        "$(awk -v a="$p95" -v b="$bare_p95" 'BEGIN { print a / b }')" \
        "$([ "$err" = 0 ] || echo " $err errors")"
    done
  done
done
echo "  $(nproc) cores, $(date +%F), wrk -t1 -d$DUR after 2 s warm-up; load average before: $LOAD, now: $(cut -d' ' -f1-3 /proc/loadavg)"
