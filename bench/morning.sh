#!/usr/bin/env bash
# Market morning benchmark: 2,000 stalls at the morning's peak (~33.5 sales/s, open loop), each
# sale an order with its bank QR (Idempotency-Key, as the POS till) paid by a signed bank
# notification; then every sale checked paid exactly once in the database. The driver,
# bench/morning.py, measures over loopback. bench/all.sh runs it as one of its steps.
# Run by hand; not part of the test suite.
#
#   bash bench/morning.sh [-w WORKERS] [--stalls 2000] [--duration 300] [--rate 33.5] [...]
#
# Everything it starts (gunicorn, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=$((2 * $(nproc)))
DRIVER_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    -w | --workers) WORKERS=$2; shift 2 ;;
    -h | --help)
      sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
      .venv/bin/python bench/morning.py --api-url x --help | sed -n '/^options:/,$p'
      exit 0 ;;
    *) DRIVER_ARGS+=("$1"); shift ;;
  esac
done

source bench/_stack.sh
export BANKNOTIFY_WEBHOOK_SECRET="bench-banknotify-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
stack_setup
stack_gunicorn api --workers "$WORKERS" --worker-class sync
echo "» gunicorn: $WORKERS sync workers on $STACK_URL"
.venv/bin/python bench/morning.py --api-url "$STACK_URL" --workers "$WORKERS" --load "$LOAD" \
  ${DRIVER_ARGS[@]+"${DRIVER_ARGS[@]}"}
