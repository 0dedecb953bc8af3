#!/usr/bin/env bash
# Web shop benchmark: product search over ~100k products on a throw-away PostgreSQL (in-process
# p50/p95/p99, EXPLAIN ANALYZE, wrk over HTTP next to the bare endpoint) and the weight of the
# marketplace and storefront pages (HTML + CSS/JS, raw and compressed, TTFB, time at 400 kbit/s).
# Run by hand; not part of the test suite.
#
#   bash bench/shop.sh [-d 10s] [-c 16] [-w WORKERS] [--warmup 3s] [--rounds 17] [-v]
#   bash bench/shop.sh --sweep-only [-d 5s]   seed, then only the connection sweep (1, 4, 16)
#
# Everything it starts (gunicorn, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=10s
CONNECTIONS=16
THREADS=1
WARMUP=3s
TIMEOUT=10s
WORKERS=$((2 * $(nproc)))
ROUNDS=17
MERCHANTS=1000
PRODUCTS=100
COMMON_Q="ca thu"
FUZZY_Q="banh trnag"
VERBOSE=0
SWEEP_ONLY=0
SWEEP="1 4 16"

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  -d, --duration D      wrk measurement per endpoint (default $DURATION)
  -c, --connections N   wrk connections (default $CONNECTIONS)
  -w, --workers N       gunicorn sync workers (default 2 x cores = $WORKERS)
      --warmup D        wrk warm-up per endpoint, 0 to skip (default $WARMUP)
      --rounds N        in-process rounds over the ~30 queries (default $ROUNDS, ~500 searches)
      --merchants N     merchants to seed (default $MERCHANTS), --products N each (default $PRODUCTS)
  -v, --verbose         full EXPLAIN plans, SQL of each page, wrk output
      --sweep "1 4 16"      connection counts of the p95 sweep (default "$SWEEP")
      --sweep-only        seed, then only the sweep (skips 1a, 1b, 1d and 2; ~2 min after setup)
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    -d | --duration) DURATION=$2; shift 2 ;;
    -c | --connections) CONNECTIONS=$2; shift 2 ;;
    -w | --workers) WORKERS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --merchants) MERCHANTS=$2; shift 2 ;;
    --products) PRODUCTS=$2; shift 2 ;;
    -v | --verbose) VERBOSE=1; shift ;;
    --sweep) SWEEP=$2; shift 2 ;;
    --sweep-only) SWEEP_ONLY=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done
V=()
[ "$VERBOSE" = 1 ] && V=(-v)

# Throw-away PostgreSQL + Redis, production-like settings, demo data: bench/_stack.sh.
source bench/_stack.sh
command -v wrk >/dev/null 2>&1 || die "wrk not found: apt-get install -y wrk"
stack_setup
PY=.venv/bin/python

echo "» seed: $MERCHANTS merchants × $PRODUCTS products"
$PY bench/shop.py seed --merchants "$MERCHANTS" --products "$PRODUCTS"

if [ "$SWEEP_ONLY" = 0 ]; then
  echo
  echo "## 1a. Search, in-process (ORM on PostgreSQL, no HTTP)"
  $PY bench/shop.py search --rounds "$ROUNDS"

  echo
  echo "## 1b. EXPLAIN ANALYZE"
  $PY bench/shop.py explain --common "$COMMON_Q" --fuzzy "$FUZZY_Q" "${V[@]}"
fi

echo "## 1c. SQL statements per page (CaptureQueriesContext, Django test client, in-process)"
$PY bench/shop.py pages --fuzzy "$FUZZY_Q" --paths-file "$WORK/paths" "${V[@]}"
DEMO_SHOP=$(sed -n 1p "$WORK/paths")
SEEDED_SHOP=$(sed -n 2p "$WORK/paths")

stack_gunicorn web --workers "$WORKERS" --worker-class sync
BASE=$STACK_URL
echo
echo "» gunicorn: $WORKERS sync workers on $BASE"

enc() { printf '%s' "$1" | sed 's/ /+/g'; }
# The slow (fuzzy) ones last: sync workers keep serving a finished wrk's queued requests.
ENDPOINTS=(
  "bare (health)|/api/v1/health"
  "/mua/?q=$COMMON_Q|/mua/?q=$(enc "$COMMON_Q")"
  "API q=$COMMON_Q|/api/v1/shop/products?q=$(enc "$COMMON_Q")"
  "/mua/ (no query)|/mua/"
  "/mua/?q=$FUZZY_Q|/mua/?q=$(enc "$FUZZY_Q")"
  "API q=$FUZZY_Q|/api/v1/shop/products?q=$(enc "$FUZZY_Q")"
)
# Every endpoint must answer 200 first (a 404 is fast and would flatter the figures). The shop API
# is skipped, with a note, if it is not mounted.
CHECKED=()
for entry in "${ENDPOINTS[@]}"; do
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$BASE${entry#*|}")
  if [ "$code" != 200 ] && [[ "${entry#*|}" == /api/v1/shop/* ]]; then
    echo "  note: ${entry#*|} answered $code: the shop API is not mounted; skipped"
    continue
  fi
  [ "$code" = 200 ] || { head -c 500 "$WORK/body" >&2; echo >&2; die "${entry#*|} answered $code, not 200"; }
  CHECKED+=("$entry")
done

drain() {
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{time_total}' "$BASE/api/v1/health" | cut -d. -f1)" = 0 ] && break
    sleep 0.5
  done
  sleep 1
}

echo
echo "## 1e. Connection sweep: p95 per number of connections (wrk $DURATION, warm-up $WARMUP)"
SWEEP_ENDPOINTS=(
  "bare (health)|/api/v1/health"
  "/mua/?q=$COMMON_Q|/mua/?q=$(enc "$COMMON_Q")"
  "/mua/?q=ca|/mua/?q=ca"
  "/mua/?q=banh trang|/mua/?q=banh+trang"
  "storefront, 99 products|$SEEDED_SHOP"
)
printf '| %-24s | %5s | %7s | %9s | %9s | %9s | %11s |\n' endpoint conns req/s p50 p95 p99 "p95 vs bare"
echo "|--------------------------|------:|--------:|----------:|----------:|----------:|------------:|"
LOAD_SWEEP=$(cut -d' ' -f1 /proc/loadavg)
for c in $SWEEP; do
  bare_p95=
  for entry in "${SWEEP_ENDPOINTS[@]}"; do
    name=${entry%%|*} path=${entry#*|}
    drain
    # wrk with a p95 (bench/_stack.sh; --timeout 10s, the warm-up unmeasured).
    read -r rps p50 p95 p99 err <<<"$(wrk_p95 "$BASE$path" "$c" "$DURATION" "$WARMUP")"
    [ -n "$bare_p95" ] || bare_p95=$p95
    printf '| %-24s | %5s | %7.0f | %6.2f ms | %6.2f ms | %6.2f ms | %10.2f× |%s\n' "$name" "$c" "$rps" "$p50" "$p95" "$p99" \
      "$(awk -v a="$p95" -v b="$bare_p95" 'BEGIN { print a / b }')" "$([ "$err" = 0 ] || echo " $err errors")"
  done
done
echo "  gunicorn $WORKERS sync workers, wrk -t1 -d$DURATION --timeout $TIMEOUT; load average when the sweep started: $LOAD_SWEEP"
if [ "$SWEEP_ONLY" = 1 ]; then
  echo "  $(nproc) cores, $(date +%F), load average before the run: $LOAD, now: $(cut -d' ' -f1-3 /proc/loadavg)"
  exit 0
fi

echo
echo "## 1d. Search over HTTP: wrk $DURATION per endpoint (warm-up $WARMUP), $THREADS thread, $CONNECTIONS connections"
LOAD_HTTP=$(cut -d' ' -f1 /proc/loadavg)
RESULTS=()
for entry in "${CHECKED[@]}"; do
  name=${entry%%|*} path=${entry#*|}
  # Let the workers drain what the previous wrk left queued.
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{time_total}' "$BASE/api/v1/health" | cut -d. -f1)" = 0 ] && break
    sleep 0.5
  done
  sleep 1
  if [ "$WARMUP" != 0 ] && [ "$WARMUP" != 0s ]; then
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$WARMUP" --timeout "$TIMEOUT" "$BASE$path" >/dev/null
  fi
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --timeout "$TIMEOUT" --latency "$BASE$path" >"$WORK/wrk.out"
  if [ "$VERBOSE" = 1 ]; then echo "--- $name ($path)"; cat "$WORK/wrk.out"; fi
  RESULTS+=("$name|$path|$(parse_wrk <"$WORK/wrk.out")")
done
echo
printf '%s\n' "${RESULTS[@]}" | wrk_table 22
echo
for entry in "${CHECKED[@]}"; do echo "  ${entry%%|*}: ${entry#*|}"; done
echo "  gunicorn $WORKERS sync workers, wrk -t$THREADS -c$CONNECTIONS -d$DURATION --timeout $TIMEOUT; load average when wrk started: $LOAD_HTTP"

echo
echo "## 2. Page weight and time to first byte (loopback, first visit: no cookies, nothing cached)"
$PY bench/shop.py weight --base "$BASE" \
  "storefront, demo|$DEMO_SHOP" \
  "storefront, seeded|$SEEDED_SHOP" \
  "marketplace|/mua/" \
  "marketplace ?q=$COMMON_Q|/mua/?q=$(enc "$COMMON_Q")"

echo
echo "  $(nproc) cores, $(date +%F), gunicorn $WORKERS sync workers, PostgreSQL $(psql --version | awk '{print $3}')"
echo "  load average before the run: $LOAD, now: $(cut -d' ' -f1-3 /proc/loadavg) (well above 0 means other work shared the CPUs: rerun)"
