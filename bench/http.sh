#!/usr/bin/env bash
# HTTP benchmark: the app under gunicorn (sync workers, production-like settings) on a throw-away
# PostgreSQL + Redis, measured with wrk on loopback. Prints requests/s, p50, p99 per endpoint and
# each one's ratio to the first (bare) endpoint. Run by hand; not part of the test suite.
#
#   bash bench/http.sh [-d 10s] [-c 16] [-t 1] [-w WORKERS] [--warmup 3s] [-v]
#
# Everything it starts (gunicorn, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# Endpoints to measure: "name|path". The first one is the baseline for the ratio column.
# Later issues: add a line here (GET, no auth, answers 200 with the demo data).
ENDPOINTS=(
  "bare (health)|/api/v1/health"
  "stall directory|/api/v1/market/markets/cho-han/stalls"
)

DURATION=10s
CONNECTIONS=16
THREADS=1
WARMUP=3s
WORKERS=$((2 * $(nproc)))
VERBOSE=0

usage() {
  sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  -d, --duration D      measurement per endpoint, wrk syntax (default $DURATION)
  -c, --connections N   wrk connections (default $CONNECTIONS)
  -t, --threads N       wrk threads (default $THREADS)
  -w, --workers N       gunicorn sync workers (default 2 x cores = $WORKERS)
      --warmup D        warm-up per endpoint before measuring, 0 to skip (default $WARMUP)
  -v, --verbose         also print wrk's full output
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    -d | --duration) DURATION=$2; shift 2 ;;
    -c | --connections) CONNECTIONS=$2; shift 2 ;;
    -t | --threads) THREADS=$2; shift 2 ;;
    -w | --workers) WORKERS=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    -v | --verbose) VERBOSE=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

# Throw-away PostgreSQL + Redis, production-like settings, demo data, gunicorn: bench/_stack.sh.
source bench/_stack.sh
command -v wrk >/dev/null 2>&1 || die "wrk not found: apt-get install -y wrk"
stack_setup
stack_gunicorn api --workers "$WORKERS" --worker-class sync
BASE=$STACK_URL
echo "» gunicorn: $WORKERS sync workers on $BASE"

# Every endpoint must answer 200 first: a 301/400/404 is fast and would flatter the figures.
for entry in "${ENDPOINTS[@]}"; do
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' "$BASE${entry#*|}")
  [ "$code" = 200 ] || { head -c 500 "$WORK/body" >&2; echo >&2; die "${entry#*|} answered $code, not 200"; }
done

# wrk --latency output -> "req_per_s p50_ms p99_ms errors" (errors: socket errors + non-2xx/3xx).
parse_wrk() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v * 0.001; if (v ~ /ms$/) return v + 0
      if (v ~ /m$/) return v * 60000;  if (v ~ /s$/) return v * 1000; return v + 0
    }
    $1 == "Requests/sec:" { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    $1 == "Socket" { gsub(/,/, ""); err += $4 + $6 + $8 + $10 }
    /Non-2xx or 3xx responses:/ { err += $NF }
    END { printf "%s %s %s %d\n", rps, p50, p99, err }'
}

echo "» wrk: $DURATION per endpoint (warm-up $WARMUP), $THREADS thread(s), $CONNECTIONS connections"
RESULTS=()
for entry in "${ENDPOINTS[@]}"; do
  name=${entry%%|*} path=${entry#*|}
  if [ "$WARMUP" != 0 ] && [ "$WARMUP" != 0s ]; then
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$WARMUP" "$BASE$path" >/dev/null
  fi
  wrk -t "$THREADS" -c "$CONNECTIONS" -d "$DURATION" --latency "$BASE$path" >"$WORK/wrk.out"
  if [ "$VERBOSE" = 1 ]; then echo "--- $name ($path)"; cat "$WORK/wrk.out"; fi
  RESULTS+=("$name|$path|$(parse_wrk <"$WORK/wrk.out")")
done

echo
printf '%s\n' "${RESULTS[@]}" | awk -F'|' '
  # pad(): left-justify to w visible characters ("×" is 2 bytes to mawk, 1 char to gawk).
  function pad(s, w,   t, n) { t = s; n = gsub(/×/, "", t); n = length(s) - n * (length("×") - 1)
    while (n++ < w) s = s " "; return s }
  function row(a, b, c, d, e, f, g, h) {
    printf "| %s | %7s | %9s | %9s | %6s | %s | %s | %s |\n", pad(a, 18), b, c, d, e, pad(f, 13), pad(g, 11), pad(h, 11) }
  BEGIN {
    row("endpoint", "req/s", "p50", "p99", "errors", "req/s vs bare", "p50 vs bare", "p99 vs bare")
    print "|--------------------|--------:|----------:|----------:|-------:|---------------|-------------|-------------|"
  }
  { split($3, f, " "); rps = f[1]; p50 = f[2]; p99 = f[3]
    if (NR == 1) { brps = rps; bp50 = p50; bp99 = p99 }
    row($1, sprintf("%.0f", rps), sprintf("%.2f ms", p50), sprintf("%.2f ms", p99), f[4],
      sprintf("%.2f× bare", rps / brps), sprintf("%.2f×", p50 / bp50), sprintf("%.2f×", p99 / bp99)) }'
echo
for entry in "${ENDPOINTS[@]}"; do echo "  ${entry%%|*}: ${entry#*|}"; done
echo "  gunicorn $WORKERS sync workers, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, $(date +%F)"
echo "  load average before the run: $LOAD (well above 0 means other work shared the CPUs: rerun)"
