# Sourced by bin/test (and bench/): start a throw-away PostgreSQL cluster and Redis server on
# loopback from the installed binaries; export DATABASE_URL / REDIS_URL; stop them on exit.
# Sets SERVICES_OK=1 when both are up. Recipe from shared/reference/environment.md §4.
SERVICES_OK=0
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ] && command -v pg_ctl >/dev/null 2>&1; then PGBIN=$(dirname "$(command -v pg_ctl)"); fi
if [ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && command -v redis-server >/dev/null 2>&1; then
  SVC=$(mktemp -d /tmp/choso-svc.XXXXXX)
  freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
  PGPORT=$(freeport); REDIS_PORT=$(freeport)
  as_pg=()
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$SVC"; as_pg=(runuser -u postgres --); fi
  "${as_pg[@]}" "$PGBIN/initdb" -D "$SVC/pg" -U postgres -A trust -E UTF8 --locale=C.UTF-8 --no-sync >"$SVC/initdb.log" 2>&1
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$SVC/pg" -l "$SVC/pg.log" -w -t 60 \
    -o "-p $PGPORT -k $SVC -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --daemonize yes \
    --dir "$SVC" --pidfile "$SVC/redis.pid" --logfile "$SVC/redis.log"
  for _ in $(seq 100); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.1; done
  stop_services() {
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$SVC/pg" -m fast -w stop >/dev/null 2>&1 || true
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
    rm -rf "$SVC"
  }
  trap stop_services EXIT
  export PG_SERVICE_URL="postgres://postgres@127.0.0.1:$PGPORT/postgres"
  export REDIS_SERVICE_URL="redis://127.0.0.1:$REDIS_PORT/0"
  SERVICES_OK=1
fi
