#!/usr/bin/env bash
# Payments benchmark: bank notifications settled per second, and notification → SSE latency, on
# the production shape: throw-away PostgreSQL + Redis, gunicorn sync workers for the API and the
# webhook, a gthread gunicorn for the SSE path, live events through Redis pub/sub. The driver,
# bench/payments.py, measures over loopback and verifies the money in the database afterwards.
# Run by hand; not part of the test suite.
#
#   bash bench/payments.sh [-w WORKERS] [--sse-workers 1] [--sse-threads 64] [driver options]
#
# Everything it starts (gunicorns, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=$((2 * $(nproc)))
SSE_WORKERS=1
SSE_THREADS=64
DRIVER_ARGS=()

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOF
Options:
  -w, --workers N       gunicorn sync workers, API + webhook (default 2 x cores = $WORKERS)
      --sse-workers N   gunicorn gthread workers for the SSE path (default $SSE_WORKERS)
      --sse-threads N   threads per gthread worker (default $SSE_THREADS)
Driver options (passed on to bench/payments.py):
EOF
  .venv/bin/python bench/payments.py --help | sed -n '/^options:/,$p' | tail -n +2 | grep -v -e '-h, --help'
}

while [ $# -gt 0 ]; do
  case "$1" in
    -w | --workers) WORKERS=$2; shift 2 ;;
    --sse-workers) SSE_WORKERS=$2; shift 2 ;;
    --sse-threads) SSE_THREADS=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) DRIVER_ARGS+=("$1"); shift ;;
  esac
done

# Throw-away PostgreSQL + Redis, production-like settings, demo data, gunicorn: bench/_stack.sh.
source bench/_stack.sh
command -v wrk >/dev/null 2>&1 || die "wrk not found: apt-get install -y wrk"
stack_setup
# The driver signs notifications with the same secret (it reads it from the same environment).
export BANKNOTIFY_WEBHOOK_SECRET="bench-banknotify-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

stack_gunicorn api --workers "$WORKERS" --worker-class sync
API_URL=$STACK_URL
echo "» gunicorn: $WORKERS sync workers (API, webhook) on $API_URL"
# A short graceful timeout: on exit, a thread still holding a stream would otherwise keep it 30 s.
stack_gunicorn sse --workers "$SSE_WORKERS" --worker-class gthread --threads "$SSE_THREADS" \
  --graceful-timeout 3
SSE_URL=$STACK_URL
echo "» gunicorn: $SSE_WORKERS gthread worker(s) × $SSE_THREADS threads (SSE) on $SSE_URL"

.venv/bin/python bench/payments.py --api-url "$API_URL" --sse-url "$SSE_URL" \
  --workers "$WORKERS" --sse-workers "$SSE_WORKERS" --sse-threads "$SSE_THREADS" \
  --load "$LOAD" ${DRIVER_ARGS[@]+"${DRIVER_ARGS[@]}"}
