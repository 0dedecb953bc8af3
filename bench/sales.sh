#!/usr/bin/env bash
# Sales benchmark: creating orders (order + bank-QR payment intent) per second with wrk, next to
# the bare endpoint, and a compressed market morning: many stalls selling open-loop with a 10×
# peak, shoppers paying by bank transfer (signed notifications to the webhook, some late, a few
# delivered twice). The driver, bench/sales.py, measures over loopback and verifies the orders and
# the money in the database afterwards. Run by hand; not part of the test suite.
#
#   bash bench/sales.sh [-w WORKERS] [driver options]
#
# Everything it starts (gunicorn, PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKERS=$((2 * $(nproc)))
DRIVER_ARGS=()

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
  cat <<EOT
Options:
  -w, --workers N       gunicorn sync workers (default 2 x cores = $WORKERS)
Driver options (passed on to bench/sales.py):
EOT
  .venv/bin/python bench/sales.py --help | sed -n '/^options:/,$p' | tail -n +2 | grep -v -e '-h, --help'
}

while [ $# -gt 0 ]; do
  case "$1" in
    -w | --workers) WORKERS=$2; shift 2 ;;
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
echo "» gunicorn: $WORKERS sync workers on $API_URL"

.venv/bin/python bench/sales.py --api-url "$API_URL" --workers "$WORKERS" --work "$WORK" \
  --load "$LOAD" ${DRIVER_ARGS[@]+"${DRIVER_ARGS[@]}"}
