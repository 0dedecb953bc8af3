#!/usr/bin/env bash
# Virtual exhibition benchmark: weight of the exhibition home, a search and the demo booth page on
# a first visit (HTML, CSS/JS, images at once and lazy, the 360° viewer fetched only on tap), the
# time at 400 kbit/s, and server time (TTFB p50/p95) under gunicorn on a throw-away PostgreSQL.
# Run by hand; not part of the test suite. Search p95 over 100k products: bench/shop.sh.
#
#   bash bench/expo.sh [-n REQUESTS] [-w WORKERS]
#
# Everything it starts (gunicorn, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

REQUESTS=50
WORKERS=$((2 * $(nproc)))
while [ $# -gt 0 ]; do
  case "$1" in
    -n | --requests) REQUESTS=$2; shift 2 ;;
    -w | --workers) WORKERS=$2; shift 2 ;;
    -h | --help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
  esac
done

[ -d node_modules/pannellum ] || { command -v npm >/dev/null && npm ci --no-audit --no-fund --silent; } ||
  echo "note: no node_modules/pannellum (npm ci): the 360° viewer is not measured" >&2

source bench/_stack.sh
stack_setup
PY=.venv/bin/python
mapfile -t PATHS < <($PY bench/expo.py paths)
stack_gunicorn web --workers "$WORKERS" --worker-class sync
echo
echo "## Exhibition pages, first visit (gunicorn $WORKERS sync workers, $STACK_URL)"
$PY bench/expo.py weight --base "$STACK_URL" --requests "$REQUESTS" \
  "exhibition home|${PATHS[0]}" \
  "search ?q=gom|${PATHS[1]}" \
  "booth page|${PATHS[2]}"
echo
echo "  $(nproc) cores, $(date +%F), PostgreSQL $(psql --version | awk '{print $3}')"
echo "  load average before the run: $LOAD, now: $(cut -d' ' -f1-3 /proc/loadavg)"
