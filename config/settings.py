"""Chợ Số settings: one module, driven by environment variables.

No variables at all gives the embedded default: SQLite file under ./var, Celery tasks run eagerly
in-process, local-memory cache, DEBUG on. Production sets DATABASE_URL, REDIS_URL, SECRET_KEY,
ALLOWED_HOSTS and DEBUG=false, and every secret in REQUIRED_SECRETS (without one it refuses to
start).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_rate, env_str, env_tax_code

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("CHOSO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", default=True)
_INSECURE_DEV_KEY = "django-insecure-choso-embedded-default-not-for-production"
SECRET_KEY = env_str("SECRET_KEY", _INSECURE_DEV_KEY if DEBUG else "")
# With DEBUG off, SECRET_KEY and every secret that guards money are required: see "required
# secrets" at the end, which names all the missing ones at once.
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",  # trigram search lookups on PostgreSQL; inert on SQLite
    "ninja",
    "core",
    "merchants",
    "payments",
    "einvoice",
    "market",
    "virtual_expo",
    "config.apps.SiteConfig",  # the top layer: commands that span apps (demo, periodic)
]

MIDDLEWARE = [
    # issue 13: every log line of a request carries its id, echoed in X-Request-ID
    "core.middleware.RequestIdMiddleware",
    # issue 13: /healthz and /readyz answer whatever the Host header (load-balancer probes)
    "core.middleware.HealthProbeHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # issue 13: Content-Security-Policy on every page (SECURE_CSP below)
    "core.middleware.ContentSecurityPolicyMiddleware",
    "core.middleware.CompressPagesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # issue 13: under /api/ every error is JSON in the API's error shape (unknown paths, 405, 413)
    "core.middleware.ApiErrorShapeMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # issue 13: NUL / control characters in a path, query string or form are a 400
    "core.middleware.RequestHygieneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "core.middleware.ApplicationErrorMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "merchants.context.trader_live",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    # PostgreSQL with psycopg 3: parameters sent apart from the statement (server-side binding)
    # instead of interpolated by the driver, and, after DATABASE_PREPARE_THRESHOLD executions of
    # one statement on a connection, a named prepared statement that PostgreSQL plans once.
    # Both off by default; see README "Configuration" for pgbouncer (transaction pooling).
    if env_bool("DATABASE_SERVER_SIDE_BINDING", default=False):
        DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if env_str("DATABASE_PREPARE_THRESHOLD"):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = env_int(
            "DATABASE_PREPARE_THRESHOLD", 0
        )
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(VAR_DIR / "choso.sqlite3")),
            "OPTIONS": {
                # WAL + IMMEDIATE transactions: concurrent writers wait instead of failing.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                ),
            },
            # Tests use a file too, not shared-cache memory: a live server thread and the test
            # then wait for each other's writes as production processes do, instead of failing
            # with "database table is locked".
            "TEST": {"NAME": str(VAR_DIR / "test-choso.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis, cache, celery -------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A web-shop search's rendered results are kept this long (0: not cached); see
# market/shop/views.py. New goods and prices show up in search at most this late.
SHOP_RESULTS_CACHE_SECONDS = env_int("SHOP_RESULTS_CACHE_SECONDS", 30)

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Asia/Ho_Chi_Minh"
# Paid sales' automatic e-invoices go in batches (market/sales/invoicing.py): the first sale paid in
# a burst queues one task this many milliseconds later, which issues every due sale, this many
# per transaction. A shopper's explicit request and a refund's adjustment keep a task each.
INVOICE_BATCH_DELAY_MS = env_int("INVOICE_BATCH_DELAY_MS", 1000)
INVOICE_BATCH_SIZE = max(1, env_int("INVOICE_BATCH_SIZE", 50))

# --- auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "merchants.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 8},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed sign-ins allowed per phone number within the window before it is locked for a while.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5)
LOGIN_LOCK_SECONDS = env_int("LOGIN_LOCK_SECONDS", 15 * 60)

# --- rate limits (issue 13: core/clientip.py, core/ratelimits.py) ---------------------------
# The load balancers / reverse proxies in front of the app: comma-separated IPs or CIDRs (`unix`
# for one connected over a Unix socket). X-Forwarded-For is read only when REMOTE_ADDR is one of
# them, and then the client is its right-most address that is not; empty: REMOTE_ADDR is the
# client and the header is ignored.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES")
# django-ratelimit: counters in the default cache (Redis in production: shared by all workers);
# its "ip" key uses the same helper; a cache outage lets requests through rather than fail.
# django_ratelimit is not in INSTALLED_APPS: its system check knows neither Django's own
# RedisCache (atomic INCR) nor that locmem is only the embedded default.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", default=True)
RATELIMIT_USE_CACHE = "default"
RATELIMIT_IP_META_KEY = "core.clientip.client_ip"
RATELIMIT_FAIL_OPEN = True
# Rates "count/period" (period s, m, h or d, with an optional multiplier: 30/15m); `off` disables.
# Failed sign-ins from one client, whatever the numbers (per number: LOGIN_MAX_FAILURES above).
RATE_LOGIN_PER_IP = env_rate("RATE_LOGIN_PER_IP", "30/15m")
# Public invoice lookups (lookup, view, PDF, XML by code) per client; wrong codes are counted
# apart (EINVOICE_LOOKUP_MAX_MISSES per EINVOICE_LOOKUP_WINDOW below).
RATE_INVOICE_LOOKUP = env_rate("RATE_INVOICE_LOOKUP", "60/10m")
# Exhibition inquiries sent per client (page and API).
RATE_EXPO_INQUIRY = env_rate("RATE_EXPO_INQUIRY", "5/15m")
# Web-shop checkout submissions (the page's POST) per client.
RATE_CHECKOUT = env_rate("RATE_CHECKOUT", "20/10m")
# JSON API calls per API key, per signed-in user (session), per client IP without either.
# The payment webhooks are never limited: providers retry in bursts.
RATE_API_KEY = env_rate("RATE_API_KEY", "600/m")
RATE_API_USER = env_rate("RATE_API_USER", "600/m")
RATE_API_ANON = env_rate("RATE_API_ANON", "300/m")

# --- i18n / time ----------------------------------------------------------------------------
LANGUAGE_CODE = "vi"
LANGUAGES = [("vi", _("Tiếng Việt")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Ho_Chi_Minh"
USE_I18N = True
USE_TZ = True

# --- static & media -------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS: list[Path | tuple[str, Path]] = [BASE_DIR / "static"]
if (BASE_DIR / "node_modules/pannellum/build").is_dir():  # `npm ci`: the 360° viewer (Hội chợ ảo)
    STATICFILES_DIRS.append(("pannellum", BASE_DIR / "node_modules/pannellum/build"))
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
if DEBUG:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns when it is missing
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploaded product photos and documents: at most this many bytes each.
# Phone photos are large; catalogue photos are shrunk to 1200 px on arrival.
MAX_UPLOAD_IMAGE_BYTES = env_int("MAX_UPLOAD_IMAGE_BYTES", 15 * 1024 * 1024)
# Issue 13 (core/uploads.py): a booth's 360° panorama (a 16K camera JPEG), shrunk to 4096 × 2048;
# a booth's PDF document, stored as uploaded once parsed (core/pdf_check.py).
MAX_UPLOAD_PANORAMA_BYTES = env_int("MAX_UPLOAD_PANORAMA_BYTES", 40 * 1024 * 1024)
MAX_UPLOAD_PDF_BYTES = env_int("MAX_UPLOAD_PDF_BYTES", 10 * 1024 * 1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 8 * 1024 * 1024

# --- security (production) ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_AGE = 60 * 60 * 24 * 30  # traders stay signed in on their own phone for a month
# issue 13: a session cookie Django never issued (NUL...) is no session, not a 500
# (core/sessions.py)
SESSION_ENGINE = "core.sessions"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # One line per finished task is noise (tasks run in-process in the embedded default);
        # failures are still logged.
        "celery.app.trace": {"level": "WARNING"},
        "kombu.connection": {"level": "ERROR"},
    },
}

NINJA_PAGINATION_PER_PAGE = 50
# issue 13: every @paginate takes a limit of at most 100 and an offset of at most 100.000
# (a 422 beyond; core/pagination.py).
NINJA_PAGINATION_CLASS = "core.pagination.BoundedLimitOffsetPagination"
NINJA_PAGINATION_MAX_LIMIT = 100

# --- Idempotency-Key ------------------------------------------------------------------------
# A request still in progress holds its key for this long; after that (a killed worker) a retry
# with the same key takes it over and runs again.
IDEMPOTENCY_LEASE_SECONDS = env_int("IDEMPOTENCY_LEASE_SECONDS", 60)
# Keys (and their saved answers) are forgotten after this many hours, as Stripe does.
IDEMPOTENCY_TTL_HOURS = env_int("IDEMPOTENCY_TTL_HOURS", 24)

# --- payments -------------------------------------------------------------------------------
PAYMENT_INTENT_TTL_MINUTES = env_int("PAYMENT_INTENT_TTL_MINUTES", 15)
# A walk-in transfer below this many đồng is flagged as a possible "bait" transfer.
WALK_IN_BAIT_BELOW = env_int("WALK_IN_BAIT_BELOW", 10_000)
# Bank-notification provider (sandbox: sandboxes/banknotify, started by bin/run on loopback).
BANKNOTIFY_URL = env_str("BANKNOTIFY_URL", "http://127.0.0.1:8101")
BANKNOTIFY_API_KEY = env_str("BANKNOTIFY_API_KEY", "sandbox-banknotify-key" if DEBUG else "")
BANKNOTIFY_WEBHOOK_SECRET = env_str(
    "BANKNOTIFY_WEBHOOK_SECRET", "sandbox-banknotify-secret" if DEBUG else ""
)
BANKNOTIFY_TOLERANCE_SECONDS = env_int("BANKNOTIFY_TOLERANCE_SECONDS", 300)
# SePay, the traders' own bank-alert accounts (payments/bankalerts.py; sandbox: sandboxes/sepay,
# started by bin/run on loopback). Each trader's webhook key or secret is stored per connection,
# encrypted with a key derived from BANK_ALERT_KEY_SECRET (empty: EINVOICE_KEY_SECRET, then
# SECRET_KEY). Only the user API's address is the operator's: `check --deploy` refuses a
# loopback or plain-http one.
SEPAY_API_URL = env_str(
    "SEPAY_API_URL", "http://127.0.0.1:8105" if DEBUG else "https://my.sepay.vn"
)
BANK_ALERT_KEY_SECRET = env_str("BANK_ALERT_KEY_SECRET", "")
# E-wallet provider (sandbox: sandboxes/ewallet, started by bin/run on loopback).
EWALLET_URL = env_str("EWALLET_URL", "http://127.0.0.1:8102")
EWALLET_API_KEY = env_str("EWALLET_API_KEY", "sandbox-ewallet-key" if DEBUG else "")
EWALLET_WEBHOOK_SECRET = env_str(
    "EWALLET_WEBHOOK_SECRET", "sandbox-ewallet-secret" if DEBUG else ""
)
EWALLET_TIMEOUT_SECONDS = env_int("EWALLET_TIMEOUT_SECONDS", 10)
# Which e-wallet adapter takes new e-wallet sales: "ewallet" (the Stripe-style provider above) or
# "momo" (MoMo's payment gateway v2, payments/providers/momo.py; docs/ewallet-momo.md). Intents
# already made keep the provider that made them (a MoMo order id starts "CSMOMO-").
EWALLET_PROVIDER = env_str("EWALLET_PROVIDER", "ewallet")
if EWALLET_PROVIDER not in ("ewallet", "momo"):
    raise ImproperlyConfigured("EWALLET_PROVIDER must be 'ewallet' or 'momo'")
# MoMo (sandbox: sandboxes/momo, started by bin/run on loopback 8106). The operator's partner
# account: MoMo gives the partner code, access key and secret key. With DEBUG on they default to
# the sandbox's public values; `check --deploy` refuses those, empty ones and a sandbox endpoint
# when MoMo is the provider (payments/checks.py).
MOMO_ENDPOINT = env_str(
    "MOMO_ENDPOINT", "http://127.0.0.1:8106" if DEBUG else "https://payment.momo.vn"
)
MOMO_PARTNER_CODE = env_str("MOMO_PARTNER_CODE", "MOMOCHOSO2026" if DEBUG else "")
MOMO_ACCESS_KEY = env_str("MOMO_ACCESS_KEY", "sandbox-momo-access" if DEBUG else "")
MOMO_SECRET_KEY = env_str("MOMO_SECRET_KEY", "sandbox-momo-secret" if DEBUG else "")
# Where MoMo posts its IPN (our public address) and where it sends the shopper back.
MOMO_IPN_URL = env_str("MOMO_IPN_URL", "http://127.0.0.1:8000/api/v1/payments/webhooks/momo")
MOMO_REDIRECT_URL = env_str("MOMO_REDIRECT_URL", "http://127.0.0.1:8000/")
MOMO_TIMEOUT_SECONDS = env_int("MOMO_TIMEOUT_SECONDS", 10)
# Demo aid: the QR page links to the sandbox bank's shopper page with the payload filled in.
SANDBOX_LINKS = env_bool("SANDBOX_LINKS", default=DEBUG)

# --- e-invoices --------------------------------------------------------------------------------
# The public address printed (as a QR and a link) on every invoice for its lookup page.
EINVOICE_PUBLIC_URL = env_str("EINVOICE_PUBLIC_URL", "http://127.0.0.1:8000")
# Key material for encrypting merchants' signing keys at rest. Required with DEBUG off; in
# development, empty means derived from SECRET_KEY (einvoice/signing.py).
EINVOICE_KEY_SECRET = env_str("EINVOICE_KEY_SECRET", "")
# The e-invoice solution provider's tax code (MST), written on every invoice as MSTTCGP; validated
# as an enterprise MST at start. Empty (development) leaves the element out.
EINVOICE_PROVIDER_TAX_CODE = env_tax_code("EINVOICE_PROVIDER_TAX_CODE")
# Cash-register invoices may go unsigned (Decree 70/2025); sign them anyway when true.
EINVOICE_SIGN_CASH_REGISTER = env_bool("EINVOICE_SIGN_CASH_REGISTER", False)
# Each signature is checked right after signing, on the bytes stored (einvoice/signing.py
# signature_problem); true adds signxml's own verification too (about 1 ms per invoice).
EINVOICE_VERIFY_AFTER_SIGN = env_bool("EINVOICE_VERIFY_AFTER_SIGN", False)
# Public lookup: wrong codes allowed per IP per window before 429.
EINVOICE_LOOKUP_MAX_MISSES = env_int("EINVOICE_LOOKUP_MAX_MISSES", 10)
EINVOICE_LOOKUP_WINDOW = env_int("EINVOICE_LOOKUP_WINDOW", 15 * 60)

# --- e-invoice transmission -------------------------------------------------------------------
# Tax-authority gateway (sandbox: sandboxes/taxgateway, started by bin/run on loopback).
TAXGATEWAY_URL = env_str("TAXGATEWAY_URL", "http://127.0.0.1:8103")
TAXGATEWAY_API_KEY = env_str("TAXGATEWAY_API_KEY", "sandbox-taxgateway-key" if DEBUG else "")
# Per request: read timeout and connect timeout, seconds. One attempt per transmission try;
# retries are scheduled (next_attempt_at), never slept in the caller.
TAXGATEWAY_TIMEOUT_SECONDS = env_int("TAXGATEWAY_TIMEOUT_SECONDS", 10)
TAXGATEWAY_CONNECT_TIMEOUT_SECONDS = env_int("TAXGATEWAY_CONNECT_TIMEOUT_SECONDS", 3)
# Backoff between transmission attempts: base × 2^(attempt-1) seconds, capped; then "failed".
TAXGATEWAY_RETRY_BASE_SECONDS = env_int("TAXGATEWAY_RETRY_BASE_SECONDS", 30)
TAXGATEWAY_RETRY_CAP_SECONDS = env_int("TAXGATEWAY_RETRY_CAP_SECONDS", 30 * 60)
TAXGATEWAY_MAX_ATTEMPTS = env_int("TAXGATEWAY_MAX_ATTEMPTS", 12)
# Cash-register invoices per end-of-day batch request.
TAXGATEWAY_BATCH_SIZE = env_int("TAXGATEWAY_BATCH_SIZE", 500)

# --- SMS (issue 16) -----------------------------------------------------------------------------
# The SMS provider (sandbox: sandboxes/sms, started by bin/run on loopback; core/sms.py is the one
# adapter). Sent after commit by the core.send_sms task; `check --deploy` refuses an empty key, the
# sandbox's key and a loopback URL (core/checks.py).
SMS_URL = env_str("SMS_URL", "http://127.0.0.1:8104")
SMS_API_KEY = env_str("SMS_API_KEY", "sandbox-sms-key" if DEBUG else "")
SMS_TIMEOUT_SECONDS = env_int("SMS_TIMEOUT_SECONDS", 5)
SMS_CONNECT_TIMEOUT_SECONDS = env_int("SMS_CONNECT_TIMEOUT_SECONDS", 3)
# One-time codes sent by SMS (password reset, phone confirmation): minutes they live, wrong tries
# each allows; and how many may be asked for per number and per client (core/ratelimits.py).
VERIFICATION_CODE_TTL_MINUTES = env_int("VERIFICATION_CODE_TTL_MINUTES", 10)
VERIFICATION_CODE_MAX_ATTEMPTS = env_int("VERIFICATION_CODE_MAX_ATTEMPTS", 5)
RATE_SMS_CODE_PER_PHONE = env_rate("RATE_SMS_CODE_PER_PHONE", "3/15m")
RATE_SMS_CODE_PER_IP = env_rate("RATE_SMS_CODE_PER_IP", "10/15m")
# Code checks (right or wrong) per client, whatever the numbers.
RATE_SMS_CODE_CHECK_PER_IP = env_rate("RATE_SMS_CODE_CHECK_PER_IP", "30/15m")

# === Issue 13: production fails loud on bad configuration ===================================

# --- required secrets -------------------------------------------------------------------------
# Every secret that guards money or signed documents. With DEBUG on they default to the
# sandboxes' values (EINVOICE_KEY_SECRET to one derived from SECRET_KEY); with DEBUG off each
# must be set, and the process stops here naming every one that is missing. core/checks.py
# reports the same list (also under `manage.py check --deploy`), and the webhook verifiers refuse
# an empty secret whatever DEBUG says.
REQUIRED_SECRETS = (
    "SECRET_KEY",
    "BANKNOTIFY_API_KEY",
    "BANKNOTIFY_WEBHOOK_SECRET",
    "EWALLET_API_KEY",
    "EWALLET_WEBHOOK_SECRET",
    "TAXGATEWAY_API_KEY",
    "EINVOICE_KEY_SECRET",
)
if not DEBUG:
    _missing_secrets = [name for name in REQUIRED_SECRETS if not str(globals()[name]).strip()]
    if _missing_secrets:
        raise ImproperlyConfigured(
            "DEBUG is off, so these secrets must be set (non-empty) in the environment: "
            + ", ".join(_missing_secrets)
            + " (see README.md, Configuration)"
        )

# --- structured logs with a request id; Sentry ---------------------------------------------
# core.middleware.RequestIdMiddleware keeps each request's id (X-Request-ID) in a contextvar;
# core.logs.RequestIdFilter puts it on every record the console handler writes ("-" outside a
# request). LOG_FORMAT: "json" (one JSON object per line, python-json-logger; the default with
# DEBUG off) or "text" (the default in development and tests).
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG else "json").strip().lower()
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be 'json' or 'text', got {LOG_FORMAT!r}")
_log_formatters = cast(dict[str, dict[str, Any]], LOGGING["formatters"])
_log_formatters["plain"]["format"] = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
)
_log_formatters["json"] = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}
LOGGING["filters"] = {"request_id": {"()": "core.logs.RequestIdFilter"}}
_log_console = cast(dict[str, dict[str, Any]], LOGGING["handlers"])["console"]
_log_console["filters"] = ["request_id"]
_log_console["formatter"] = "json" if LOG_FORMAT == "json" else "plain"
# Celery workers log through the same handler (and format) instead of replacing it.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Errors to Sentry only when SENTRY_DSN is set; never personal data (phones, IPs, cookies).
SENTRY_DSN = env_str("SENTRY_DSN").strip()
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
if SENTRY_DSN:
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
    )

# --- Content-Security-Policy ----------------------------------------------------------------
# Sent on every HTML page by core.middleware.ContentSecurityPolicyMiddleware (the shape of
# Django 6.0's SECURE_CSP). No inline script anywhere: page code lives in static/js/ (a test scans
# the templates). Styles may be inline: a few style="width: …%" bars, and Pannellum (the 360°
# viewer) and Swagger UI style their own elements; Pannellum's icons are data: URLs and it reads
# panoramas through blob: URLs. Booth videos are YouTube (no-cookie) or Vimeo frames.
SECURE_CSP: dict[str, list[str]] = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'", "'unsafe-inline'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "frame-src": ["https://www.youtube-nocookie.com", "https://player.vimeo.com"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# --- health probes ----------------------------------------------------------------------------
# /healthz (alive) and /readyz (database, Redis, beat heartbeat; core/health.py) answer over plain
# http on any Host: load balancers probe the container's own address, not the public name.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# --- issue 13: process roles and the live path (core/roles.py, deploy/, Procfile) -------------
# Production runs the pages/API/webhooks (`web`, gunicorn sync workers) and the trader screens'
# live streams (`live`, gunicorn gthread) as separate processes; deploy/gunicorn_*.py set the
# role. `all` (the default) serves everything: runserver in bin/run, tests, benchmarks.
PROCESS_ROLE = env_str("CHOSO_PROCESS_ROLE", "all").strip().lower() or "all"
if PROCESS_ROLE not in ("all", "web", "live"):
    raise ImproperlyConfigured(
        f"CHOSO_PROCESS_ROLE must be 'all', 'web' or 'live', got {PROCESS_ROLE!r}"
    )
# After the request id and probe-host middleware, before everything that reads the session.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware"),
    "core.roles.ProcessRoleMiddleware",
)
# A live stream ends after about this many seconds (minus up to 10 % jitter); the browser's
# EventSource reconnects 2 s later. Threads go back to the pool and open screens spread over
# the processes again after a restart or a scale-up.
LIVE_STREAM_MAX_SECONDS = env_int("LIVE_STREAM_MAX_SECONDS", 10 * 60)
# Celery beat's schedule state: under the writable var dir, not the (read-only) code directory.
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
