#!/usr/bin/env bash
# Books benchmark on a throw-away PostgreSQL: a seeded storm of sales (bank QR, e-wallet, cash,
# quick-collect, online, exhibition) with duplicated, replayed, retried and failing calls, double,
# late and short payments and refunds of every kind; then the e-wallet is reconciled, every
# merchant closes the day and `books_check` must find nothing. Prints the sales made, the faults
# injected, the time taken, sales/s, and books_check's verdict and run time. In-process (the
# driver of tests/reliability/scenario.py, the sandbox wallet, a WSGI thread for its webhooks).
# Run by hand; not part of the test suite (its 2,000-sale twin is, on PostgreSQL).
#
#   bash bench/books.sh [-n SALES] [--seed N] [--fault-rate F] [--http-share F] [--invoice-pdfs]
#
# Everything it starts (PostgreSQL, Redis, temp dirs) is stopped on exit or Ctrl-C. Exits 1 if
# the books disagree.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "bench: $*" >&2; exit 1; }
case "${1:-}" in
  -h | --help)
    sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
    echo
    .venv/bin/python bench/books.py --help | sed -n '/^options:/,$p'
    exit 0
    ;;
esac
[ -x .venv/bin/python ] || die ".venv not found: run ./bin/test or ./bin/run once to install the environment"

# Other work on the machine skews the figures: note the load before anything starts.
echo "» load average before the run: $(cut -d' ' -f1 /proc/loadavg)"

# Throw-away PostgreSQL (and Redis, unused here: tasks run inline as in the tests).
source bin/_services.sh
[ "$SERVICES_OK" = 1 ] || die "PostgreSQL/Redis binaries not found: apt-get install -y postgresql redis-server"
VAR=$(mktemp -d /tmp/choso-bench-books.XXXXXX)
cleanup() {
  trap - EXIT
  trap '' INT TERM
  stop_services
  rm -rf "$VAR"
}
trap cleanup EXIT
trap 'echo; echo "bench: interrupted" >&2; exit 130' INT TERM

# Production-like settings, with every required secret set to a random value; the driver signs
# bank notifications and runs the sandbox wallet with the same ones (it reads this environment).
rand() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }
export DEBUG=false SECRET_KEY="bench-$(rand)"
export ALLOWED_HOSTS=127.0.0.1,testserver SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING
export BANKNOTIFY_API_KEY="bench-$(rand)" BANKNOTIFY_WEBHOOK_SECRET="bench-$(rand)"
export EWALLET_API_KEY="sk_bench_$(rand)" EWALLET_WEBHOOK_SECRET="bench-$(rand)"
export TAXGATEWAY_API_KEY="bench-$(rand)" EINVOICE_KEY_SECRET="bench-$(rand)"
export DATABASE_URL="$PG_SERVICE_URL" CHOSO_VAR_DIR="$VAR/var" MEDIA_ROOT="$VAR/media"
export STATIC_ROOT="$VAR/static"
mkdir -p "$STATIC_ROOT"
unset REDIS_URL

.venv/bin/python bench/books.py "$@"
