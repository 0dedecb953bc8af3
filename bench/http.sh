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
printf '%s\n' "${RESULTS[@]}" | wrk_table 18
echo
for entry in "${ENDPOINTS[@]}"; do echo "  ${entry%%|*}: ${entry#*|}"; done
echo "  gunicorn $WORKERS sync workers, wrk -t$THREADS -c$CONNECTIONS -d$DURATION, $(nproc) cores, $(date +%F)"
echo "  load average before the run: $LOAD (well above 0 means other work shared the CPUs: rerun)"
