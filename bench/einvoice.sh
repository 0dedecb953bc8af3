#!/usr/bin/env bash
# E-invoice engine benchmark on a throw-away PostgreSQL: invoices issued per second (number + XML
# + XSD + sign + store), with several threads on one series, and the PDF render time next to a raw
# WeasyPrint render of the same HTML. In-process (no HTTP). Run by hand; not part of the tests.
#
#   bash bench/einvoice.sh [-n INVOICES] [-t THREADS] [--pdfs N] [--lines N]
set -euo pipefail
cd "$(dirname "$0")/.."
source bin/_services.sh
[ "$SERVICES_OK" = 1 ] || { echo "needs PostgreSQL + Redis binaries (apt-get install -y postgresql redis-server)" >&2; exit 1; }
VAR=$(mktemp -d)
trap 'rm -rf "$VAR"; stop_services' EXIT
DATABASE_URL=$PG_SERVICE_URL CHOSO_VAR_DIR=$VAR LOG_LEVEL=WARNING \
  .venv/bin/python bench/einvoice.py "$@"
