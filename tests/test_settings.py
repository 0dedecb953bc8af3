"""config/settings.py: production settings pass Django's deploy checks, bad environments fail
loudly, and the system endpoints (docs, OpenAPI schema, health) answer.

Settings are read once per process, so each environment is tried in a fresh subprocess.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Variables config/settings.py reads; the subprocesses get only what each test sets.
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "CHOSO_VAR_DIR",
    "STATIC_ROOT",
    "MEDIA_ROOT",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_PRELOAD",
    "CELERY_TASK_ALWAYS_EAGER",
    "LOGIN_MAX_FAILURES",
    "LOGIN_LOCK_SECONDS",
    "DJANGO_SETTINGS_MODULE",
    "DJANGO_ALLOW_ASYNC_UNSAFE",  # set by tests/conftest.py for Playwright, never in production
    # issue 13: required secrets, logs, Sentry
    "BANKNOTIFY_API_KEY",
    "BANKNOTIFY_WEBHOOK_SECRET",
    "EWALLET_API_KEY",
    "EWALLET_WEBHOOK_SECRET",
    "TAXGATEWAY_API_KEY",
    "EINVOICE_KEY_SECRET",
    "SMS_URL",
    "SMS_API_KEY",
    "LOG_FORMAT",
    "LOG_LEVEL",
    "SENTRY_DSN",
    "SENTRY_ENVIRONMENT",
}

# With DEBUG off each of these must be set (config/settings.py REQUIRED_SECRETS).
REQUIRED_SECRETS = [
    "SECRET_KEY",
    "BANKNOTIFY_API_KEY",
    "BANKNOTIFY_WEBHOOK_SECRET",
    "EWALLET_API_KEY",
    "EWALLET_WEBHOOK_SECRET",
    "TAXGATEWAY_API_KEY",
    "EINVOICE_KEY_SECRET",
]


def _env(tmp_path: Path, **variables: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS_VARIABLES}
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    env["CHOSO_VAR_DIR"] = str(tmp_path / "var")
    env.update(variables)
    return env


def _production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    production = {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "choso.example.vn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6399/0",
        "SMS_URL": "https://sms.example.vn",
        "SMS_API_KEY": secrets.token_urlsafe(40),
        "TAXGATEWAY_URL": "https://hoadon.example.vn",
        "BANKNOTIFY_URL": "https://baoco.example.vn",
        "EWALLET_URL": "https://vi.example.vn",
    }
    production |= {
        name: secrets.token_urlsafe(40) for name in REQUIRED_SECRETS if name not in production
    }
    return _env(tmp_path, **(production | overrides))


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return _run(env, "-c", "import django; django.setup()\n" + code)


# --- environment ------------------------------------------------------------------------------


def test_it_passes_the_deploy_checks_with_production_settings(tmp_path) -> None:
    result = _run(
        _production_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr + result.stdout


def test_it_flags_a_short_secret_key_in_the_deploy_checks(tmp_path) -> None:
    result = _run(
        _production_env(tmp_path, SECRET_KEY="short"),
        "manage.py",
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )

    assert result.returncode != 0
    assert "security.W009" in result.stderr + result.stdout


@pytest.mark.parametrize("secret_key", [None, ""])
def test_it_refuses_to_start_without_a_secret_key_when_debug_is_off(tmp_path, secret_key) -> None:
    env = _production_env(tmp_path)
    if secret_key is None:
        del env["SECRET_KEY"]
    else:
        env["SECRET_KEY"] = secret_key

    result = _run(env, "manage.py", "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


# --- required secrets (issue 13) ---------------------------------------------------------------


@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_it_fails_the_deploy_checks_naming_a_missing_secret(tmp_path, name) -> None:
    env = _production_env(tmp_path)
    del env[name]

    result = _run(env, "manage.py", "check", "--deploy")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert f"must be set (non-empty) in the environment: {name} " in result.stderr


def test_it_names_every_empty_secret_at_once(tmp_path) -> None:
    # Set but empty, or only blanks, is as missing as unset.
    env = _production_env(
        tmp_path, **{n: ["", "  "][i % 2] for i, n in enumerate(REQUIRED_SECRETS)}
    )

    result = _run(env, "manage.py", "check", "--deploy")

    assert result.returncode != 0
    assert ", ".join(REQUIRED_SECRETS) in result.stderr


def test_it_warns_in_the_deploy_checks_about_a_sandbox_secret_in_production(tmp_path) -> None:
    env = _production_env(tmp_path, BANKNOTIFY_WEBHOOK_SECRET="sandbox-banknotify-secret")

    result = _run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "core.W001" in result.stderr + result.stdout
    assert "BANKNOTIFY_WEBHOOK_SECRET is the sandboxes' public development value" in (
        result.stderr + result.stdout
    )


def test_it_keeps_the_sandbox_secrets_in_development_and_knows_them_as_public(tmp_path) -> None:
    result = _python(
        _env(tmp_path),
        "import json\n"
        "from django.conf import settings\n"
        "print(json.dumps({n: getattr(settings, n) for n in settings.REQUIRED_SECRETS}))",
    )

    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert list(values) == REQUIRED_SECRETS
    assert values.pop("SECRET_KEY").startswith("django-insecure-")
    assert values.pop("EINVOICE_KEY_SECRET") == ""  # derived from SECRET_KEY in development
    from core.checks import DEVELOPMENT_VALUES

    assert set(values.values()) == DEVELOPMENT_VALUES


@pytest.mark.parametrize("name", REQUIRED_SECRETS)
def test_it_reports_an_empty_secret_in_the_system_checks_when_debug_is_off(settings, name) -> None:
    from django.core.checks import Tags, run_checks

    settings.DEBUG = False
    for other in REQUIRED_SECRETS:
        setattr(settings, other, "x" * 50)
    setattr(settings, name, "")
    settings.SMS_URL, settings.SMS_API_KEY = "https://sms.example.vn", "x" * 50  # a real provider
    settings.TAXGATEWAY_URL = "https://hoadon.example.vn"

    at_start = run_checks(tags=[Tags.security])
    deploy = run_checks(tags=[Tags.security], include_deployment_checks=True)

    for messages in (at_start, deploy):
        ours = [m for m in messages if m.id.startswith("core.")]
        assert [(m.id, m.level >= 40) for m in ours] == [("core.E001", True)]
        assert ours[0].msg.startswith(f"{name} is empty")


def test_it_reports_an_empty_secret_in_the_deploy_checks_in_development(settings) -> None:
    from django.core.checks import Tags, run_checks

    settings.DEBUG = True
    settings.EINVOICE_KEY_SECRET = ""

    assert not [m for m in run_checks(tags=[Tags.security]) if m.id.startswith("core.")]
    deploy = run_checks(tags=[Tags.security], include_deployment_checks=True)
    assert "core.E002" in [m.id for m in deploy]
    assert any(m.msg.startswith("EINVOICE_KEY_SECRET is empty") for m in deploy)


# --- logs and Sentry (issue 13) ------------------------------------------------------------------


def test_it_logs_one_json_object_per_line_in_production(tmp_path) -> None:
    result = _python(
        _production_env(tmp_path),
        "import logging\nlogging.getLogger('choso.test').warning('đã nhận %s đồng', 150000)",
    )

    assert result.returncode == 0, result.stderr
    line = json.loads(result.stderr.strip().splitlines()[-1])
    assert line["message"] == "đã nhận 150000 đồng"
    assert (line["level"], line["logger"], line["request_id"]) == ("WARNING", "choso.test", "-")
    assert "time" in line


def test_it_logs_plain_text_in_development(tmp_path) -> None:
    result = _python(_env(tmp_path), "import logging\nlogging.getLogger('x').warning('hello')")

    assert result.returncode == 0, result.stderr
    assert result.stderr.strip().endswith("WARNING x [-] hello")


def test_it_refuses_an_unknown_log_format(tmp_path) -> None:
    result = _run(_env(tmp_path, LOG_FORMAT="yaml"), "manage.py", "check")

    assert result.returncode != 0
    assert "LOG_FORMAT must be 'json' or 'text', got 'yaml'" in result.stderr


@pytest.mark.parametrize("dsn", ["", "https://public@sentry.example.invalid/7"])
def test_it_starts_sentry_only_when_a_dsn_is_set(tmp_path, dsn) -> None:
    result = _python(
        _production_env(tmp_path, SENTRY_DSN=dsn),
        "import json, sentry_sdk\n"
        "c = sentry_sdk.get_client()\n"
        "print(json.dumps([c.is_active(), c.options.get('send_default_pii'),"
        " sorted(getattr(c, 'integrations', {}))]))",
    )

    assert result.returncode == 0, result.stderr
    active, pii, integrations = json.loads(result.stdout)
    if dsn:
        assert active is True and pii is False
        assert {"django", "celery"} <= set(integrations)
    else:
        assert active is False


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DEBUG", "maybe"), ("DEBUG", "flase"), ("LOGIN_MAX_FAILURES", "five")],
)
def test_it_fails_loudly_on_a_malformed_variable(tmp_path, variable, value) -> None:
    result = _run(_env(tmp_path, **{variable: value}), "manage.py", "check")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr
    assert repr(value) in result.stderr


def test_it_runs_with_no_variables_at_all(tmp_path) -> None:
    result = _python(
        _env(tmp_path),
        "import json\n"
        "from django.conf import settings\n"
        "print(json.dumps([settings.DEBUG, settings.DATABASES['default']['ENGINE'],"
        " settings.CACHES['default']['BACKEND'], settings.CELERY_TASK_ALWAYS_EAGER]))",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        True,
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        True,
    ]


def test_it_hashes_passwords_with_argon2_in_production(tmp_path) -> None:
    result = _python(
        _production_env(tmp_path),
        "from django.conf import settings\n"
        "from django.contrib.auth.hashers import make_password\n"
        "print(settings.PASSWORD_HASHERS[0])\n"
        "print(make_password('mat-khau-an-toan-2026').split('$')[0])",
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["django.contrib.auth.hashers.Argon2PasswordHasher", "argon2"]


def test_it_uses_redis_for_the_cache_and_hardens_cookies_in_production(tmp_path) -> None:
    result = _python(
        _production_env(tmp_path),
        "import json\n"
        "from django.conf import settings as s\n"
        "print(json.dumps([s.CACHES['default']['BACKEND'], s.CACHES['default']['LOCATION'],"
        " s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        " s.ALLOWED_HOSTS, s.CELERY_TASK_ALWAYS_EAGER]))",
    )

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [
        "django.core.cache.backends.redis.RedisCache",
        "redis://127.0.0.1:6399/0",
        True,
        True,
        True,
        ["choso.example.vn"],
        False,
    ]


# --- system endpoints -------------------------------------------------------------------------


def test_it_redirects_api_docs_to_the_openapi_docs_page(client) -> None:
    response = client.get("/api/docs")

    assert response.status_code == 302
    assert response["Location"] == "/api/v1/docs"
    assert client.get(response["Location"]).status_code == 200


@pytest.mark.django_db
def test_it_lists_the_market_and_merchants_paths_in_the_openapi_schema(client) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in [
        "/api/v1/market/markets",
        "/api/v1/market/markets/{slug}/stalls",
        "/api/v1/market/applications",
        "/api/v1/market/review/applications",
        "/api/v1/market/review/applications/{application_id}/approve",
        "/api/v1/market/review/applications/{application_id}/reject",
        "/api/v1/merchants/",
        "/api/v1/merchants/{merchant_id}/products",
        "/api/v1/health",
    ]:
        assert path in paths, path
    submit = paths["/api/v1/market/applications"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in submit.get("parameters", [])]


@pytest.mark.django_db
def test_it_answers_the_health_check(client) -> None:
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.json() == {"ok": True, "database": True}


# --- redis ------------------------------------------------------------------------------------


@pytest.mark.redis
def test_it_shares_the_cache_between_connections_through_redis() -> None:
    from django.core.cache import cache, caches

    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    key = f"choso-test:{secrets.token_hex(8)}"
    cache.set(key, 3, timeout=60)

    fresh = caches.create_connection("default")

    assert fresh is not cache._connections["default"]  # type: ignore[attr-defined]
    assert fresh.get(key) == 3
    fresh.incr(key)
    assert cache.get(key) == 4


@pytest.mark.redis
@pytest.mark.django_db
def test_it_keeps_a_login_lockout_visible_to_another_worker_process(client, tmp_path) -> None:
    from merchants.forms import _login_failures_key
    from tests.factories import UserFactory

    user = UserFactory()
    for _ in range(settings.LOGIN_MAX_FAILURES):
        client.post("/dang-nhap/", {"username": user.phone, "password": "sai-mat-khau"})

    other_worker = _python(
        _env(tmp_path, REDIS_URL=os.environ["REDIS_URL"]),
        "from django.core.cache import cache\n"
        f"print(cache.get({_login_failures_key(user.phone)!r}))",
    )

    assert other_worker.returncode == 0, other_worker.stderr
    assert int(other_worker.stdout) == settings.LOGIN_MAX_FAILURES
