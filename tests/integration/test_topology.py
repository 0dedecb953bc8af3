"""The production topology (issue 13): no number of open trader screens can stop the API.

Four open "live payment" screens used to hold all four sync gunicorn workers, and with them the
health check and the bank's webhook. The shipped layout runs the screens' streams
(`/cua-hang/<id>/su-kien/`) on their own threaded process (`live`), pages/API/webhooks on sync
workers (`web`), and a proxy between them (deploy/Caddyfile). compose.yaml runs it in Docker.
There is no Docker here, so these tests start the same processes from the same commands (the
Procfile, which must agree with compose.yaml) against the throw-away PostgreSQL + Redis, and
prove:

* 50 signed-in screens held open on `live`, while `/api/v1/health` and signed bank
  notifications answer on `web` within 200 ms; the notifications' events reach the screens;
  `live` holds no database connection for them;
* a screen sent to `web` by mistake is answered at once (told to retry), so 50 of them hold no
  worker either;
* the proxy sends screens to `live` (unbuffered) and the rest to `web`, and serves only the
  public uploads;
* the embedded default's runserver (bin/run) is not starved by 50 screens either (it has no
  production budget: DEBUG on; it must answer within 1 s).

Latencies are printed and written to test-artifacts/topology-*.txt.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

import pytest
import yaml
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client
from django.urls import reverse

from core.roles import LIVE_PATH, PROBE_PATHS, WEB_ROLE_RETRY_MS
from payments import services as payments
from payments.providers.banknotify import SIGNATURE_HEADER
from tests.conftest import _skip_or_fail
from tests.factories import banknotify_payload, banknotify_signed, member_of, merchant_with_account

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ARTIFACTS = ROOT / "test-artifacts"
WEBHOOK = "/api/v1/payments/webhooks/banknotify"
SCREENS = 50
BUDGET_MS = 200.0
DEV_SERVER_BUDGET_MS = 1000.0
APP_PROCESSES = ("web", "live", "worker", "beat")


def procfile() -> dict[str, str]:
    entries: dict[str, str] = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


# --- the files agree with each other (every pass) ---------------------------------------------


def test_compose_runs_the_procfiles_commands():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose["services"]
    commands = procfile()

    assert set(commands) == {"release", *APP_PROCESSES}
    assert {"proxy", "postgres", "redis", "migrate", *APP_PROCESSES} <= services.keys()
    for name in APP_PROCESSES:
        assert shlex.split(services[name]["command"]) == shlex.split(commands[name]), name
    assert shlex.split(services["migrate"]["command"]) == shlex.split(commands["release"])
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert cmd and json.loads(cmd.group(1)) == shlex.split(commands["web"])

    # Only the proxy is reachable from outside; it waits for healthy web and live processes,
    # whose probes are the app's /healthz.
    assert [name for name, s in services.items() if s.get("ports")] == ["proxy"]
    assert services["proxy"]["depends_on"] == {
        "web": {"condition": "service_healthy"},
        "live": {"condition": "service_healthy"},
    }
    for name, port in (("web", 8000), ("live", 8001)):
        assert f"http://127.0.0.1:{port}/healthz" in " ".join(services[name]["healthcheck"]["test"])
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    # The app processes start after the migrations, with the required secrets named.
    for name in APP_PROCESSES:
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
        env = services[name]["environment"]
        assert env["DEBUG"] == "false"
        for secret in django_settings.REQUIRED_SECRETS:
            assert ":?" in env[secret], secret


def gunicorn_config(name: str) -> dict[str, str]:
    """deploy/gunicorn_<name>.py as gunicorn itself reads it (validated by its own settings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WEB_", "LIVE_"))}
    out = subprocess.run(
        [
            VENV_BIN / "gunicorn",
            "config.wsgi",
            "-c",
            f"deploy/gunicorn_{name}.py",
            "--print-config",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(
        (key.strip(), value.strip())
        for key, _, value in (line.partition("=") for line in out.splitlines())
    )


def test_web_runs_sync_workers_and_live_runs_threads():
    web, live = gunicorn_config("web"), gunicorn_config("live")

    assert web["worker_class"] == "sync" and web["threads"] == "1"
    assert web["raw_env"] == "['CHOSO_PROCESS_ROLE=web']"
    assert live["worker_class"] == "gthread"
    assert int(live["threads"]) >= 4 * SCREENS
    assert int(live["worker_connections"]) > int(live["threads"])
    assert live["raw_env"] == "['CHOSO_PROCESS_ROLE=live']"
    assert int(live["graceful_timeout"]) <= 10  # a restart cuts streams; browsers reconnect
    # Two gunicorns on one host must not share ~/.gunicorn/gunicorn.ctl.
    assert web["control_socket_disable"] == live["control_socket_disable"] == "True"


def test_the_proxy_routes_the_path_the_app_keeps_for_live():
    caddyfile = (ROOT / "deploy/Caddyfile").read_text()
    route = re.search(r"@live path_regexp (\S+)", caddyfile)

    assert route and route.group(1) == LIVE_PATH.pattern
    assert LIVE_PATH.match(reverse("live_events", args=[7]))
    assert LIVE_PATH.match(reverse("trader_events"))  # the trader-wide channel, every page
    assert not LIVE_PATH.match(reverse("collect", args=[7]))
    assert re.search(
        r"handle @live \{\s*reverse_proxy \S+ \{\s*(#.*\s*)*flush_interval -1", caddyfile
    )


def test_the_role_middleware_runs_before_anything_reads_the_session():
    chain = django_settings.MIDDLEWARE
    here = chain.index("core.roles.ProcessRoleMiddleware")
    assert here < chain.index("django.contrib.sessions.middleware.SessionMiddleware")
    assert here < chain.index("django.contrib.auth.middleware.AuthenticationMiddleware")


# --- the roles, in process (every pass) --------------------------------------------------------


@pytest.mark.django_db
def test_the_web_role_tells_a_screen_to_retry_instead_of_holding_a_worker(client, settings, caplog):
    settings.PROCESS_ROLE = "web"
    merchant = merchant_with_account()
    client.force_login(member_of(merchant))

    response = client.get(f"/cua-hang/{merchant.pk}/su-kien/")

    assert response.status_code == 200  # EventSource gives up for good on anything else
    assert not response.streaming
    assert response["Content-Type"].startswith("text/event-stream")
    assert response.content == f"retry: {WEB_ROLE_RETRY_MS}\n\n".encode()
    assert "live process" in caplog.text
    # The trader-wide stream (every trader page) as well.
    everywhere = client.get("/cua-hang/su-kien/")
    assert (everywhere.status_code, everywhere.streaming) == (200, False)
    assert everywhere.content == f"retry: {WEB_ROLE_RETRY_MS}\n\n".encode()
    # Everything else is served as usual.
    assert client.get("/api/v1/health").status_code == 200
    assert client.get(f"/cua-hang/{merchant.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_live_role_serves_streams_and_probes_only(client, settings):
    settings.PROCESS_ROLE = "live"
    settings.REDIS_URL = ""
    merchant = merchant_with_account()
    client.force_login(member_of(merchant))

    for probe in PROBE_PATHS:
        assert client.get(probe).status_code != 404, probe
    assert client.get("/api/v1/health").status_code == 200
    assert client.get(f"/cua-hang/{merchant.pk}/").status_code == 404
    assert client.get("/dang-nhap/").status_code == 404
    assert client.post(WEBHOOK, data=b"{}", content_type="application/json").status_code == 404

    everywhere = client.get("/cua-hang/su-kien/")
    assert everywhere.streaming and next(iter(everywhere.streaming_content)) == b"retry: 2000\n\n"
    stream = client.get(f"/cua-hang/{merchant.pk}/su-kien/")
    assert stream.streaming and next(iter(stream.streaming_content)) == b"retry: 2000\n\n"
    everywhere.close()
    stream.close()  # last: closing a stream here closes the test's database connection


@pytest.mark.django_db
@pytest.mark.timeout(20)
def test_a_stream_ends_after_its_lifetime_so_its_thread_is_reused(client, settings):
    settings.REDIS_URL = ""
    settings.LIVE_STREAM_MAX_SECONDS = 0.5
    merchant = merchant_with_account()
    client.force_login(member_of(merchant))

    started = time.monotonic()
    response = client.get(f"/cua-hang/{merchant.pk}/su-kien/")
    chunks = list(response.streaming_content)  # ends by itself; the browser then reconnects
    took = time.monotonic() - started

    assert chunks[0] == b"retry: 2000\n\n"
    assert 0.4 <= took < 5


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url(application_name: str) -> str:
    """The test database, for another process; its connections are named in pg_stat_activity."""
    s = connection.settings_dict
    user = quote(s["USER"] or "")
    password = f":{quote(s['PASSWORD'])}" if s["PASSWORD"] else ""
    host = s["HOST"] or "127.0.0.1"
    port = f":{s['PORT']}" if s["PORT"] else ""
    return (
        f"postgres://{user}{password}@{host}{port}/{s['NAME']}?application_name={application_name}"
    )


@dataclass
class Processes:
    """Processes started for a test, each logging to a file; stopped with SIGTERM, as compose
    and a process manager stop them."""

    logdir: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, IO[bytes]] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        program = shutil.which(argv[0], path=env["PATH"])
        assert program, f"{argv[0]} not found"
        self.logs[name] = open(self.logdir / f"{name}.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [program, *argv[1:]],
            cwd=ROOT,
            env=env,
            stdout=self.logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.running[name] = process
        return process

    def log(self, name: str) -> str:
        self.logs[name].flush()
        return (self.logdir / f"{name}.log").read_text(errors="replace")

    def alive(self, name: str) -> None:
        assert self.running[name].poll() is None, f"{name} exited:\n{self.log(name)[-3000:]}"

    def stop(self) -> dict[str, float]:
        """SIGTERM to each; the seconds each took to exit. A process still there after 30 s is
        killed (its whole group) and reported."""
        started = time.monotonic()
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        took: dict[str, float] = {}
        while len(took) < len(self.running) and time.monotonic() - started < 30:
            for name, process in self.running.items():
                if name not in took and process.poll() is not None:
                    took[name] = round(time.monotonic() - started, 1)
            time.sleep(0.05)
        stuck = [name for name in self.running if name not in took]
        for name in stuck:
            os.killpg(self.running[name].pid, signal.SIGKILL)
            self.running[name].wait(timeout=10)
        for log in self.logs.values():
            log.close()
        assert not stuck, f"did not stop within 30 s of SIGTERM: {stuck}"
        return took


def wait_for(
    port: int, path: str, processes: Processes, name: str, *, seconds: float = 60
) -> float:
    """Until GET path answers 200; the seconds it took."""
    started = time.monotonic()
    last = ""
    while True:
        processes.alive(name)
        try:
            status, _ms, body = get(port, path, timeout=2)
            if status == 200:
                return time.monotonic() - started
            last = f"{status} {body[:300]!r}"
        except OSError as exc:
            last = repr(exc)
        assert time.monotonic() - started < seconds, (
            f"{name} not ready ({last}):\n{processes.log(name)[-3000:]}"
        )
        time.sleep(0.1)


def get(port: int, path: str, *, timeout: float = 5) -> tuple[int, float, bytes]:
    """One GET on a new connection (as the proxy makes them): (status, milliseconds, body)."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": "127.0.0.1"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return response.status, (time.perf_counter() - started) * 1000, body


def post_notification(port: int, payload: dict[str, Any], secret: str) -> tuple[int, float, Any]:
    """A signed bank notification, as the provider sends it: (status, milliseconds, answer)."""
    body, signature = banknotify_signed(payload, secret=secret)
    started = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(
            "POST",
            WEBHOOK,
            body=body,
            headers={
                "Host": "127.0.0.1",
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature,
            },
        )
        response = conn.getresponse()
        answer = response.read()
    finally:
        conn.close()
    return response.status, (time.perf_counter() - started) * 1000, json.loads(answer or b"null")


class Screen:
    """A trader's open screen: an authenticated EventSource request, read as raw bytes."""

    def __init__(self, port: int, merchant_id: int, session: str, path: str | None = None) -> None:
        # One shop's stream, or another live path (the trader-wide `/cua-hang/su-kien/`).
        path = path or f"/cua-hang/{merchant_id}/su-kien/"
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Accept: text/event-stream\r\nCookie: {django_settings.SESSION_COOKIE_NAME}="
                f"{session}\r\n\r\n"
            ).encode()
        )
        self.received = b""
        self.closed_by_server = False

    def wait_for(self, needle: bytes, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while needle not in self.received and not self.closed_by_server:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                return False
            if not data:
                self.closed_by_server = True
            self.received += data
        return needle in self.received

    def still_open(self) -> bool:
        """Nothing but keep-alives pending and the server has not hung up."""
        self.sock.settimeout(0.05)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            return True
        self.received += data
        return bool(data)

    def hung_up(self, seconds: float) -> bool:
        """Whether the server closes the connection within `seconds`."""
        self.wait_for(b"\0never\0", seconds)
        return self.closed_by_server

    def close(self) -> None:
        self.sock.close()


def open_screens(port: int, traders: list[tuple[int, str]], needle: bytes) -> list[Screen]:
    """All at once, as after a restart; each must answer `needle` within 15 s."""

    def one(trader: tuple[int, str]) -> Screen:
        screen = Screen(port, *trader)
        assert screen.wait_for(needle, 15), screen.received[:500]
        return screen

    with ThreadPoolExecutor(max_workers=len(traders)) as pool:
        return list(pool.map(one, traders))


def signed_in_traders(count: int) -> list[tuple[int, str, Any]]:
    """(merchant id, session cookie, merchant) for `count` traders, each with a stall."""
    traders = []
    for _ in range(count):
        merchant = merchant_with_account()
        client = Client()
        client.force_login(member_of(merchant))
        traders.append(
            (merchant.pk, client.cookies[django_settings.SESSION_COOKIE_NAME].value, merchant)
        )
    return traders


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    return (
        f"n={len(ordered)} p50={statistics.median(ordered):.1f} ms "
        f"p95={ordered[max(0, round(0.95 * len(ordered)) - 1)]:.1f} ms max={ordered[-1]:.1f} ms"
    )


def report(name: str, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    print(f"\n{name}:\n{text}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / f"topology-{name}.txt").write_text(text)


@dataclass
class Stack:
    web: int
    live: int
    secret_key: str
    webhook_secret: str
    media_root: Path
    var_dir: Path
    processes: Processes
    startup: dict[str, float]


@pytest.fixture(scope="module")
def stack(django_db_setup, tmp_path_factory) -> Iterator[Stack]:
    """web, live, worker and beat from the Procfile, on the test's PostgreSQL and Redis, with
    DEBUG off and every required secret set, as compose.yaml runs them."""
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        _skip_or_fail("needs PostgreSQL and Redis: run bin/test, which starts throw-away servers")
    from config.celery import app

    tmp = tmp_path_factory.mktemp("topology")
    web_port, live_port = free_port(), free_port()
    secret_key, webhook_secret = secrets.token_urlsafe(40), secrets.token_urlsafe(24)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("WEB_", "LIVE_", "GUNICORN", "CHOSO_PROCESS_ROLE", "DATABASE_URL"))
    }
    env.update(
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONUNBUFFERED="1",
        DEBUG="false",
        SECRET_KEY=secret_key,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",  # the proxy terminates TLS; this is plain loopback http
        REDIS_URL=os.environ["REDIS_URL"],
        CELERY_TASK_ALWAYS_EAGER="false",
        CHOSO_VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "media"),
        BANKNOTIFY_URL="http://127.0.0.1:9",
        BANKNOTIFY_API_KEY="test-banknotify-key",
        BANKNOTIFY_WEBHOOK_SECRET=webhook_secret,
        EWALLET_URL="http://127.0.0.1:9",
        EWALLET_API_KEY="test-ewallet-key",
        EWALLET_WEBHOOK_SECRET="test-ewallet-secret",
        TAXGATEWAY_URL="http://127.0.0.1:9",
        TAXGATEWAY_API_KEY="test-taxgateway-key",
        EINVOICE_KEY_SECRET="test-einvoice-key-secret",
        WEB_BIND=f"127.0.0.1:{web_port}",
        WEB_CONCURRENCY="2",
        LIVE_BIND=f"127.0.0.1:{live_port}",
        LIVE_WORKERS="1",
    )
    (tmp / "var").mkdir()
    (tmp / "media").mkdir()
    processes = Processes(logdir=tmp)
    commands = procfile()
    startup: dict[str, float] = {}
    saved = app.conf.task_always_eager
    started = time.monotonic()
    try:
        for name in APP_PROCESSES:
            process_env = {**env, "DATABASE_URL": database_url(f"choso-{name}")}
            processes.start(name, shlex.split(commands[name]), process_env)
        startup["web"] = wait_for(web_port, "/api/v1/health", processes, "web")
        # /healthz touches no database: the live process's only connections are the screens'.
        startup["live"] = wait_for(live_port, "/healthz", processes, "live")
        app.conf.task_always_eager = False
        while not app.control.ping(timeout=0.5):
            processes.alive("worker")
            assert time.monotonic() - started < 60, "the Celery worker did not answer"
        startup["worker"] = time.monotonic() - started
        schedule = tmp / "var" / "celerybeat-schedule"
        while not list(schedule.parent.glob("celerybeat-schedule*")):
            processes.alive("beat")
            assert time.monotonic() - started < 60, f"beat did not start:\n{processes.log('beat')}"
            time.sleep(0.1)
        startup["beat"] = time.monotonic() - started
        yield Stack(
            web=web_port,
            live=live_port,
            secret_key=secret_key,
            webhook_secret=webhook_secret,
            media_root=tmp / "media",
            var_dir=tmp / "var",
            processes=processes,
            startup=startup,
        )
        for name in APP_PROCESSES:
            processes.alive(name)
    finally:
        app.conf.task_always_eager = saved
        stopped = processes.stop()
        report(
            "shutdown", [f"{name}: exited {took} s after SIGTERM" for name, took in stopped.items()]
        )
    assert not list(ROOT.glob("celerybeat-schedule*")), "beat wrote its schedule into the code"


def pg_connections() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT application_name, count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() GROUP BY 1"
        )
        return dict(cursor.fetchall())


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_fifty_open_screens_leave_health_and_the_bank_webhook_fast(stack, settings):
    settings.SECRET_KEY = stack.secret_key  # the sessions below are the processes' sessions
    traders = signed_in_traders(SCREENS)
    merchants = [merchant for _pk, _cookie, merchant in traders]

    def walk_in(merchant) -> dict[str, Any]:
        return banknotify_payload(account=merchant.bank_accounts.get(), amount=20_000)

    def sale_paid(merchant) -> dict[str, Any]:
        """A QR sale's money, its code in a bank-mangled message: settles the sale."""
        reference = f"DH-{secrets.token_hex(4)}"  # one sale each
        intent = payments.intent_create(merchant=merchant, amount=150_000, reference=reference)
        return banknotify_payload(
            account=merchant.bank_accounts.get(),
            amount=150_000,
            description=f"MBVCB.1234567.{intent.reference_code}.CT tu 0011001932418",
        )

    # Cold: the first requests after start. Then each worker serves each kind a few times.
    cold = [
        get(stack.web, "/api/v1/health")[1],
        post_notification(stack.web, walk_in(merchants[-1]), stack.webhook_secret)[1],
        post_notification(stack.web, sale_paid(merchants[-1]), stack.webhook_secret)[1],
    ]
    for _i in range(6):
        get(stack.web, "/api/v1/health")
        post_notification(stack.web, walk_in(merchants[-1]), stack.webhook_secret)
        post_notification(stack.web, sale_paid(merchants[-1]), stack.webhook_secret)

    opened = time.monotonic()
    screens = open_screens(stack.live, [(pk, cookie) for pk, cookie, _m in traders], b"retry: 2000")
    opened_in = time.monotonic() - opened
    try:
        time.sleep(0.3)  # a closed database connection leaves pg_stat_activity shortly after
        connections = pg_connections()
        health: list[float] = []
        for _i in range(20):
            status, ms, body = get(stack.web, "/api/v1/health")
            assert status == 200, body
            health.append(ms)
        # Screens 0-19: money with no sale (the stall's printed QR); 20-29: a QR sale paid.
        # (The notifications are made first, so that only the requests are timed.)
        walk_in_notifications = [walk_in(merchant) for merchant in merchants[:20]]
        sale_notifications = [sale_paid(merchant) for merchant in merchants[20:30]]
        walk_ins: list[float] = []
        for payload in walk_in_notifications:
            status, ms, answer = post_notification(stack.web, payload, stack.webhook_secret)
            assert (status, answer["outcome"]) == (200, "walk_in"), answer
            walk_ins.append(ms)
        sales: list[float] = []
        for payload in sale_notifications:
            status, ms, answer = post_notification(stack.web, payload, stack.webhook_secret)
            assert (status, answer["outcome"]) == (200, "settled"), answer
            sales.append(ms)

        # The money's news came down the right screens: web -> Redis pub/sub -> live -> screen.
        for i in range(20):
            assert screens[i].wait_for(b"event: payment_received", 5), (i, screens[i].received)
        for i in range(20, 30):
            assert screens[i].wait_for(b"event: payment_succeeded", 5), (i, screens[i].received)
        assert all(b"event: " not in screen.received for screen in screens[30:])
        assert all(screen.still_open() for screen in screens)
        for name in APP_PROCESSES:
            stack.processes.alive(name)
    finally:
        for screen in screens:
            screen.close()

    report(
        "fifty-screens",
        [
            f"{SCREENS} signed-in screens held open on live (1 gthread worker), opened at once: "
            f"all streaming within {opened_in * 1000:.0f} ms",
            "while they were open, on web (2 sync workers), one request at a time, each on a new "
            "connection:",
            f"  GET /api/v1/health                  {figures(health)}",
            f"  POST bank notification, walk-in     {figures(walk_ins)}",
            f"  POST bank notification, sale paid   {figures(sales)}",
            f"  first requests after start (not counted): health {cold[0]:.1f} ms, walk-in "
            f"{cold[1]:.1f} ms, sale paid {cold[2]:.1f} ms",
            f"PostgreSQL connections by process while the screens were open: {connections}",
            "ready after (s): " + ", ".join(f"{k} {v:.1f}" for k, v in stack.startup.items()),
        ],
    )
    assert max(health) < BUDGET_MS, figures(health)
    assert max(walk_ins) < BUDGET_MS, figures(walk_ins)
    assert max(sales) < BUDGET_MS, figures(sales)
    # A waiting stream holds no database connection (payments/views.py live_events).
    assert connections.get("choso-live", 0) == 0, connections


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_a_misrouted_proxy_cannot_hold_the_web_workers_either(stack, settings):
    """Send 50 screens to web (2 sync workers) at once: each is answered at once and told to
    retry, the worker hangs up, and the API keeps answering."""
    settings.SECRET_KEY = stack.secret_key
    traders = signed_in_traders(SCREENS)
    needle = f"retry: {WEB_ROLE_RETRY_MS}".encode()

    def misrouted(trader: tuple[int, str]) -> tuple[bool, bool, bytes]:
        screen = Screen(stack.web, *trader)
        try:
            answered = screen.wait_for(needle, 15)
            return answered, screen.hung_up(5), screen.received[-300:]
        finally:
            screen.close()  # as the browser does when a response ends; it comes back later

    during: list[float] = []
    storm_over = threading.Event()

    def probe() -> None:
        while not storm_over.is_set():
            during.append(get(stack.web, "/api/v1/health")[1])
            time.sleep(0.05)

    prober = threading.Thread(target=probe)
    prober.start()
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=SCREENS) as pool:
            results = list(pool.map(misrouted, [(pk, cookie) for pk, cookie, _m in traders]))
    finally:
        storm_over.set()
        prober.join()
    answered_in = time.monotonic() - started
    assert all(answered and hung_up for answered, hung_up, _tail in results), results
    after = []
    for _i in range(20):
        status, ms, body = get(stack.web, "/api/v1/health")
        assert status == 200, body
        after.append(ms)
    assert "reached a web process" in stack.processes.log("web")

    report(
        "misrouted",
        [
            f"{SCREENS} screens sent to web (2 sync workers) at once: all answered "
            f"`retry: {WEB_ROLE_RETRY_MS}` and hung up within {answered_in * 1000:.0f} ms",
            f"  GET /api/v1/health on web during that burst  {figures(during)}",
            f"  GET /api/v1/health on web after it           {figures(after)}",
        ],
    )
    assert max(after) < BUDGET_MS, figures(after)


@pytest.fixture(scope="module")
def proxy(stack, tmp_path_factory) -> Iterator[int]:
    """deploy/Caddyfile itself, in front of the stack's web and live."""
    caddy = shutil.which("caddy")
    if not caddy:
        _skip_or_fail("needs Caddy to run deploy/Caddyfile (apt-get install -y caddy)")
    tmp = tmp_path_factory.mktemp("caddy")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp),
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "SITE_ADDRESS": f"http://127.0.0.1:{port}",
        "WEB_UPSTREAM": f"127.0.0.1:{stack.web}",
        "LIVE_UPSTREAM": f"127.0.0.1:{stack.live}",
        "MEDIA_ROOT": str(stack.media_root),
        "CADDY_ADMIN": "off",
    }
    processes = Processes(logdir=tmp)
    try:
        processes.start(
            "proxy",
            [caddy, "run", "--config", str(ROOT / "deploy/Caddyfile"), "--adapter", "caddyfile"],
            env,
        )
        wait_for(port, "/api/v1/health", processes, "proxy")
        yield port
    finally:
        processes.stop()


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_the_proxy_sends_screens_to_live_unbuffered_and_the_rest_to_web(stack, proxy, settings):
    settings.SECRET_KEY = stack.secret_key
    [(merchant_id, cookie, merchant)] = signed_in_traders(1)

    # live's first bytes (web would say `retry: 5000` and hang up).
    [screen] = open_screens(proxy, [(merchant_id, cookie)], b"retry: 2000")
    # The trader-wide channel (every page of the trader's) goes to live as well.
    everywhere = Screen(proxy, merchant_id, cookie, path="/cua-hang/su-kien/")
    assert everywhere.wait_for(b"retry: 2000", 15), everywhere.received[:500]
    try:
        payload = banknotify_payload(account=merchant.bank_accounts.get(), amount=30_000)
        sent = time.monotonic()
        status, webhook_ms, answer = post_notification(proxy, payload, stack.webhook_secret)
        assert (status, answer["outcome"]) == (200, "walk_in")
        assert screen.wait_for(b"event: payment_received", 5), screen.received
        relayed_ms = (time.monotonic() - sent) * 1000
        assert screen.still_open()
        assert everywhere.wait_for(b"event: payment_received", 5), everywhere.received
        assert f'"merchant_id": {merchant_id}'.encode() in everywhere.received
    finally:
        screen.close()
        everywhere.close()
    # Pages go to web (live would answer 404): a signed-out visitor is sent to sign in.
    status, _ms, _body = get(proxy, f"/cua-hang/{merchant_id}/")
    assert status == 302

    # Public uploads straight from the volume; private ones never.
    public = stack.media_root / "products/2026/11/ca-thu.jpg"
    private = stack.media_root / "einvoices/2026/11/C26TBL-0000001.pdf"
    papers = stack.media_root / "applications/2026/11/cccd.jpg"
    for path in (public, private, papers):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"file " + path.name.encode())
    status, _ms, body = get(proxy, "/media/products/2026/11/ca-thu.jpg")
    assert (status, body) == (200, b"file ca-thu.jpg")
    assert get(proxy, "/media/einvoices/2026/11/C26TBL-0000001.pdf")[0] == 404
    assert get(proxy, "/media/applications/2026/11/cccd.jpg")[0] == 404

    report(
        "proxy",
        [
            f"bank notification through the proxy: answered in {webhook_ms:.1f} ms; its event on "
            f"the screen (through the proxy, from live) {relayed_ms:.1f} ms after it was sent",
        ],
    )


# --- the embedded default (every pass) ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(120)
def test_bin_runs_runserver_is_not_starved_by_open_screens(settings, tmp_path):
    """bin/run serves with runserver, which gives every connection its own thread: 50 open
    screens leave the health check and the webhook answering."""
    key, webhook_secret = secrets.token_urlsafe(40), secrets.token_urlsafe(24)
    settings.SECRET_KEY = key
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_URL", "SQLITE_PATH", "CHOSO_PROCESS_ROLE", "DEBUG"))
    }
    env.update(
        PYTHONUNBUFFERED="1",
        SECRET_KEY=key,
        BANKNOTIFY_WEBHOOK_SECRET=webhook_secret,
        CHOSO_VAR_DIR=str(tmp_path / "var"),
        TAXGATEWAY_URL="http://127.0.0.1:9",
        CELERY_TASK_ALWAYS_EAGER="true",  # bin/run has no worker
    )
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url("choso-runserver")
    else:
        env["SQLITE_PATH"] = str(connection.settings_dict["NAME"])
    traders = signed_in_traders(SCREENS)
    processes = Processes(logdir=tmp_path)
    processes.start(
        "runserver",
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        {**env, "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"},
    )
    try:
        wait_for(port, "/api/v1/health", processes, "runserver")
        for _i in range(3):
            get(port, "/api/v1/health")
        screens = open_screens(port, [(pk, cookie) for pk, cookie, _m in traders], b"retry: 2000")
        try:
            health = []
            for _i in range(10):
                status, ms, body = get(port, "/api/v1/health")
                assert status == 200, body
                health.append(ms)
            webhook = []
            for i in range(5):
                payload = banknotify_payload(
                    account=traders[i][2].bank_accounts.get(), amount=20_000
                )
                status, ms, answer = post_notification(port, payload, webhook_secret)
                assert (status, answer["outcome"]) == (200, "walk_in"), answer
                webhook.append(ms)
            for i in range(5):
                assert screens[i].wait_for(b"event: payment_received", 5), screens[i].received
            assert all(screen.still_open() for screen in screens)
        finally:
            for screen in screens:
                screen.close()
    finally:
        processes.stop()
    report(
        f"runserver-{connection.vendor}",
        [
            f"{SCREENS} screens open on runserver ({connection.vendor}):",
            f"  GET /api/v1/health        {figures(health)}",
            f"  POST bank notification    {figures(webhook)}",
        ],
    )
    # The development server with DEBUG on (every query recorded): what matters is that it
    # answers at all while the screens are open; the production budget is the gunicorns'.
    assert max(health) < DEV_SERVER_BUDGET_MS, figures(health)
    assert max(webhook) < DEV_SERVER_BUDGET_MS, figures(webhook)
