# Sourced by the bench/*.sh scripts (from the repository root, after they parse their options): the
# stack they measure, started the same way for all, and the wrk helpers parse_wrk / wrk_table /
# wrk_p95.
#
#   stack_setup                   throw-away PostgreSQL + Redis (bin/_services.sh), production-like
#                                 settings exported, migrate, `manage.py demo`, collectstatic
#   stack_gunicorn NAME ARGS...   start `gunicorn config.wsgi` (ARGS: workers, worker class...) on
#                                 a free loopback port, wait until /api/v1/health answers; sets
#                                 STACK_URL (http://127.0.0.1:<port>)
#   wrk_p95 URL CONNS DURATION [WARMUP]   wrk with a p95: "req/s p50 p95 p99 errors" (ms)
#
# Sets LOAD (the 1-minute load average seen when sourced) and WORK (a temp dir). Everything it
# starts (gunicorns, PostgreSQL, Redis, WORK) is stopped on exit or Ctrl-C.

die() { echo "bench: $*" >&2; exit 1; }

command -v curl >/dev/null 2>&1 || die "curl not found: apt-get install -y curl"
[ -x .venv/bin/gunicorn ] || die ".venv/bin/gunicorn not found: run ./bin/test or ./bin/run once to install the environment"

# Other work on the machine skews the figures: note the load before anything starts.
LOAD=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')

WORK=
GUNICORN_PIDS=()
stack_cleanup() {
  # Runs once; a second Ctrl-C must not cut it short and leave PostgreSQL running.
  trap - EXIT
  trap '' INT TERM
  local pid
  for pid in "${GUNICORN_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${GUNICORN_PIDS[@]}"; do
    # Graceful stop first; a worker still holding a long-lived (SSE) connection after 10 s is killed.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if declare -F stop_services >/dev/null; then stop_services; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}

stack_setup() {
  # --- throw-away PostgreSQL + Redis (its EXIT trap is replaced by stack_cleanup, which stops them)
  source bin/_services.sh
  [ "$SERVICES_OK" = 1 ] ||
    die "PostgreSQL/Redis binaries not found: apt-get install -y postgresql redis-server"
  WORK=$(mktemp -d /tmp/choso-bench.XXXXXX)
  trap stack_cleanup EXIT
  trap 'echo; echo "bench: interrupted" >&2; exit 130' INT TERM

  # Production-like settings; plain http on loopback, so no SSL redirect.
  export DEBUG=false SECRET_KEY="bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  # With DEBUG off every money secret is required (config/settings.py): random ones, unless the
  # bench script has set its own.
  local name
  for name in BANKNOTIFY_API_KEY BANKNOTIFY_WEBHOOK_SECRET EWALLET_API_KEY EWALLET_WEBHOOK_SECRET \
    TAXGATEWAY_API_KEY EINVOICE_KEY_SECRET; do
    [ -n "${!name:-}" ] || export "$name=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
  done
  export ALLOWED_HOSTS=127.0.0.1 SECURE_SSL_REDIRECT=false LOG_LEVEL=WARNING
  # wrk sends thousands of calls a second from one address and key: API limits far above that,
  # so the figures measure the endpoints (the counting itself, in Redis, stays in them), not 429s.
  export RATE_API_KEY=100000000/m RATE_API_USER=100000000/m RATE_API_ANON=100000000/m
  export DATABASE_URL="$PG_SERVICE_URL" REDIS_URL="$REDIS_SERVICE_URL"
  export CHOSO_VAR_DIR="$WORK/var" STATIC_ROOT="$WORK/static" MEDIA_ROOT="$WORK/media"

  echo "» migrate, demo data, collectstatic"
  local t0=$SECONDS
  .venv/bin/python manage.py migrate --noinput -v0 >"$WORK/setup.log" 2>&1 ||
    { cat "$WORK/setup.log" >&2; die "migrate failed"; }
  local t1=$SECONDS
  .venv/bin/python manage.py demo >>"$WORK/setup.log" 2>&1 ||
    { cat "$WORK/setup.log" >&2; die "manage.py demo failed"; }
  local t2=$SECONDS
  # collectstatic compresses ~900 files (gzip + brotli): minutes on a loaded machine. Its output
  # depends only on the sources and the installed packages, so it is kept between runs, keyed
  # by their content (rm -rf ~/.cache/choso-bench to drop it).
  local key cache note=""
  key=$({
    sha1sum uv.lock package-lock.json config/settings.py 2>/dev/null || true
    { find static ./*/static node_modules/pannellum/build -type f -print0 2>/dev/null || true; } |
      sort -z | xargs -0 -r sha1sum
  } | sha1sum | cut -c1-16)
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/choso-bench/static-$key"
  if [ -f "$cache/.complete" ]; then
    export STATIC_ROOT="$cache"
    note=" (kept from an earlier run: $cache)"
  else
    .venv/bin/python manage.py collectstatic --noinput -v0 >>"$WORK/setup.log" 2>&1 ||
      { cat "$WORK/setup.log" >&2; die "collectstatic failed"; }
    mkdir -p "${cache%/*}" && rm -rf "$cache.tmp.$$" &&
      cp -a "$STATIC_ROOT" "$cache.tmp.$$" && touch "$cache.tmp.$$/.complete" &&
      { mv -T "$cache.tmp.$$" "$cache" 2>/dev/null || rm -rf "$cache.tmp.$$"; } || true
  fi
  echo "  setup: migrate $((t1 - t0)) s, demo $((t2 - t1)) s, collectstatic $((SECONDS - t2)) s$note"
}

stack_gunicorn() {
  local name=$1 port pid
  shift
  port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
  STACK_URL="http://127.0.0.1:$port"
  # No control socket: two gunicorns (or another session's) would share ~/.gunicorn/gunicorn.ctl.
  .venv/bin/gunicorn config.wsgi --bind "127.0.0.1:$port" --no-control-socket "$@" \
    --error-logfile "$WORK/gunicorn-$name.log" &
  pid=$!
  GUNICORN_PIDS+=("$pid")
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$STACK_URL/api/v1/health" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$WORK/gunicorn-$name.log" >&2; die "gunicorn ($name) exited"; }
    sleep 0.1
  done
  cat "$WORK/gunicorn-$name.log" >&2
  die "gunicorn ($name) not ready after 30 s"
}

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

# Lines "name|path|req_per_s p50 p99 errors" on stdin (the first is the baseline) -> a table with
# ratios to the baseline. $1: the width of the endpoint column.
wrk_table() {
  local width=${1:-18} rule
  rule=$(printf '%*s' "$((width + 2))" '' | tr ' ' -)
  awk -F'|' -v w="$width" -v rule="$rule" '
    # pad(): left-justify to n visible characters ("×" is 2 bytes to mawk, 1 char to gawk).
    function pad(s, n,   t, k) { t = s; k = gsub(/×/, "", t); k = length(s) - k * (length("×") - 1)
      while (k++ < n) s = s " "; return s }
    function row(a, b, c, d, e, f, g, h) {
      printf "| %s | %7s | %9s | %9s | %6s | %s | %s | %s |\n", pad(a, w), b, c, d, e, pad(f, 13), pad(g, 11), pad(h, 11) }
    BEGIN {
      row("endpoint", "req/s", "p50", "p99", "errors", "req/s vs bare", "p50 vs bare", "p99 vs bare")
      print "|" rule "|--------:|----------:|----------:|-------:|---------------|-------------|-------------|"
    }
    { split($3, f, " "); rps = f[1]; p50 = f[2]; p99 = f[3]
      if (NR == 1) { brps = rps; bp50 = p50; bp99 = p99 }
      row($1, sprintf("%.0f", rps), sprintf("%.2f ms", p50), sprintf("%.2f ms", p99), f[4],
        sprintf("%.2f× bare", rps / brps), sprintf("%.2f×", p50 / bp50), sprintf("%.2f×", p99 / bp99)) }'
}

# wrk_p95 URL CONNECTIONS DURATION [WARMUP] -> "req_per_s p50_ms p95_ms p99_ms errors" on stdout.
# wrk prints p50/75/90/99 only: a Lua done() hook adds the p95. Closed loop (wrk), 1 thread,
# --timeout 10s; WARMUP (default none) is an unmeasured wrk run first.
wrk_p95() {
  local url=$1 conns=$2 duration=$3 warmup=${4:-0} out
  if [ ! -f "$WORK/p95.lua" ]; then
    cat >"$WORK/p95.lua" <<'LUA'
done = function(summary, latency, requests)
  io.write(string.format("p95_us %d\n", latency:percentile(95)))
end
LUA
  fi
  if [ "$warmup" != 0 ] && [ "$warmup" != 0s ]; then
    wrk -t 1 -c "$conns" -d "$warmup" --timeout 10s "$url" >/dev/null
  fi
  out=$(wrk -t 1 -c "$conns" -d "$duration" --timeout 10s --latency -s "$WORK/p95.lua" "$url")
  read -r rps p50 p99 err <<<"$(parse_wrk <<<"$out")"
  printf '%s %s %s %s %s\n' "$rps" "$p50" "$(awk '$1 == "p95_us" { printf "%.3f", $2 / 1000 }' <<<"$out")" "$p99" "$err"
}
