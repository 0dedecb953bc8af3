from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connection

# Playwright runs an event loop in the test thread; Django must allow its sync ORM there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

IN_CI = os.environ.get("CI") == "true"
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"


def _skip_or_fail(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} — in CI this must run, not skip")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings, tmp_path):
    # Argon2 is the production hasher (tested in test_settings); MD5 keeps the suite fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    # No test reaches a tax gateway by accident (a demo sandbox may be running on 8103): those
    # that need one start the sandbox and point this at it.
    settings.TAXGATEWAY_URL = "http://127.0.0.1:9"
    # Nor an SMS gateway (bin/run's sandbox on 8104): the `sms` fixture starts one.
    settings.SMS_URL = "http://127.0.0.1:9"
    from django.core.cache import cache

    cache.clear()


class RateLimitClock:
    """django-ratelimit's clock, frozen for one test: its windows are fixed (aligned to the
    epoch), so on a slow machine a window could end mid-test and reset a counter. advance()
    moves it (past ``Retry-After``, a limit lifts)."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def ratelimit_clock(monkeypatch) -> RateLimitClock:
    """Rate-limit counters themselves live in the cache, cleared above before every test."""
    import django_ratelimit.core

    clock = RateLimitClock()
    monkeypatch.setattr(django_ratelimit.core, "time", clock)
    return clock


@pytest.fixture
def sms(settings):
    """The sandbox SMS gateway, which every text of the test goes to (read its ``outbox()``)."""
    from sandboxes.sms import SmsSandbox

    sandbox = SmsSandbox(["test-sms-key"]).start()
    settings.SMS_URL = sandbox.url
    settings.SMS_API_KEY = "test-sms-key"
    yield sandbox
    sandbox.stop()


@pytest.fixture(autouse=True)
def _tasks_run_inline():
    """Background tasks run inline in tests, whichever broker is configured: no test waits for
    a worker that is not there (with REDIS_URL, settings would otherwise queue them in Redis)."""
    from config.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(autouse=True)
def _needs_backends(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        _skip_or_fail("needs PostgreSQL: run bin/test, which starts a throw-away server")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        _skip_or_fail("needs Redis: run bin/test, which starts a throw-away server")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        return browser_type_launch_args
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-quic",
        ],
    }


# A trader's or shopper's phone: what every browser test sees unless its module says otherwise.
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
}


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def chromium_available():
    if not Path(CHROMIUM).exists():
        _skip_or_fail(f"needs Debian's Chromium at {CHROMIUM} (apt-get install -y chromium)")
