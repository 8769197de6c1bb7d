"""Settings, read only from environment variables (README lists every one with its default)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from tracker import queues
from tracker.env import (
    BASE_DIR,
    VAR_DIR,
    env_bool,
    env_int,
    env_intermediaries,
    env_list,
    env_rate,
    env_seconds,
    env_str,
)
from tracker.pgsocket import socket_dir_of, url_for

# --- Core -------------------------------------------------------------------------------------------------


def _secret_key() -> str:
    """SECRET_KEY from the environment, else one generated once and kept in var/ for local use."""
    configured = env_str("SECRET_KEY", "")
    if configured:
        return configured
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
PORT = env_int("PORT", 8000, minimum=1)
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", f"http://127.0.0.1:{PORT}").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "notices",  # first, so its templates (admin index with the dashboard link) win over Django's
    "notices.admin_site.TrackerAdminConfig",  # Django's admin, navigation grouped by task
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI / ReDoc served from our own static files, never from a CDN
]

MIDDLEWARE = [
    "notices.metrics.RequestMetrics",  # first: requests and latency by route, every layer timed (/metrics)
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",  # Content-Security-Policy on every response (README "Security headers")
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Every staff URL: both sign-in steps passed, session neither idle nor too old (README "Staff sign-in").
    "notices.admin.gate.StaffSignInGate",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # The database or the broker away: 503 with Retry-After, never a 500 (notices/health.py).
    "notices.health.DependencyUnavailableMiddleware",
]

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------------------------
# DATABASE_URL, else the embedded PostgreSQL that `make run` owns under var/pg (found by its postmaster.pid).
EMBEDDED_PGDATA = VAR_DIR / "pg"


def _database_url() -> str:
    configured = env_str("DATABASE_URL", "")
    if configured:
        return configured
    socket_dir = socket_dir_of(EMBEDDED_PGDATA) or EMBEDDED_PGDATA
    return url_for(socket_dir)


DATABASE_URL = _database_url()
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DATABASE_NAME", "test_tracker")}
# A persistent connection is checked before each request reuses it: after a database restart no request fails
# on a connection the restart killed (each web thread did once, before).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# While the database or the broker cannot be reached: 503 with this Retry-After (notices/health.py).
UNAVAILABLE_RETRY_AFTER = env_int("UNAVAILABLE_RETRY_AFTER", 10, minimum=1)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth, i18n, static -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/portal/login/"
LOGIN_REDIRECT_URL = "/portal/"
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("de", "Deutsch"), ("nl", "Nederlands"), ("fr", "Français")]
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# --- Staff sign-in (README "Staff sign-in") ---------------------------------------------------------------
# Password, then a second factor (authenticator app or a recovery code) for every staff user, superusers too.
# A staff session ends after STAFF_SESSION_IDLE_TIMEOUT without a request, and STAFF_SESSION_MAX_AGE after
# its sign-in however busy; adding or changing users, groups and API keys asks for password and code again
# unless they were given within the last STAFF_REAUTH_WINDOW.
STAFF_SESSION_IDLE_TIMEOUT = env_seconds("STAFF_SESSION_IDLE_TIMEOUT", 30 * 60)
STAFF_SESSION_MAX_AGE = env_seconds("STAFF_SESSION_MAX_AGE", 12 * 3600)
STAFF_REAUTH_WINDOW = env_seconds("STAFF_REAUTH_WINDOW", 5 * 60)
if min(STAFF_SESSION_IDLE_TIMEOUT, STAFF_SESSION_MAX_AGE, STAFF_REAUTH_WINDOW) <= 0:
    raise ImproperlyConfigured("STAFF_SESSION_IDLE_TIMEOUT, _MAX_AGE and STAFF_REAUTH_WINDOW must be above 0")

# --- Security headers and cookies (README "Security headers") --------------------------------------------
# Every page's scripts and styles come from our own static files: no inline script, style or event handler.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    },
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Production behind TLS: secure cookies, HSTS and a redirect of plain http to https. /healthz stays reachable
# over plain http, so a load balancer can probe it.
SECURE_COOKIES = env_bool("SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SECURE_SSL_REDIRECT = SECURE_COOKIES
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^metrics$"]  # probes and scrapes from inside the network
SECURE_HSTS_SECONDS = int(env_seconds("SECURE_HSTS_SECONDS", 365 * 86400)) if SECURE_COOKIES else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_COOKIES
# X-Forwarded-Proto and X-Forwarded-Host are believed only behind a proxy that sets them (and strips the
# client's own): anyone can send them otherwise.
TRUST_PROXY_HEADERS = env_bool("TRUST_PROXY_HEADERS", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_PROXY_HEADERS else None
USE_X_FORWARDED_HOST = TRUST_PROXY_HEADERS

# --- Mail -------------------------------------------------------------------------------------------------
# EMAIL_URL (smtp://user:pass@host:port, smtps:// or smtp+tls:// for TLS) or the EMAIL_* variables.
# Default: the local SMTP sink that `make run` starts, which writes each mail to var/mail/*.eml.


def _email_settings() -> dict:
    url = env_str("EMAIL_URL", "")
    if url:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps", "smtp+tls"} or not parts.hostname:
            raise ImproperlyConfigured(f"EMAIL_URL={url!r}: use smtp://, smtps:// or smtp+tls://host:port")
        return {
            "HOST": parts.hostname,
            "PORT": parts.port or (465 if parts.scheme == "smtps" else 25),
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "USE_SSL": parts.scheme == "smtps",
            "USE_TLS": parts.scheme == "smtp+tls",
        }
    return {
        "HOST": env_str("EMAIL_HOST", "127.0.0.1"),
        "PORT": env_int("EMAIL_PORT", 8025, minimum=1),
        "USER": env_str("EMAIL_HOST_USER", ""),
        "PASSWORD": env_str("EMAIL_HOST_PASSWORD", ""),
        "USE_SSL": env_bool("EMAIL_USE_SSL", False),
        "USE_TLS": env_bool("EMAIL_USE_TLS", False),
    }


_email = _email_settings()
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = _email["HOST"]
EMAIL_PORT = _email["PORT"]
EMAIL_HOST_USER = _email["USER"]
EMAIL_HOST_PASSWORD = _email["PASSWORD"]
EMAIL_USE_SSL = _email["USE_SSL"]
EMAIL_USE_TLS = _email["USE_TLS"]
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Demo Hotline <notices@hotline.example>")
# Signing at send time (README "Signing, alerts and inbound mail"); empty = off. Files are PEM or DER.
NOTICE_SMIME_CERT = env_str("NOTICE_SMIME_CERT", "")  # the hotline's signing certificate
NOTICE_SMIME_KEY = env_str("NOTICE_SMIME_KEY", "")  # its private key (unencrypted; protect the file)
NOTICE_SMIME_CHAIN = env_str("NOTICE_SMIME_CHAIN", "")  # intermediate certificates to send along
DKIM_PRIVATE_KEY = env_str("DKIM_PRIVATE_KEY", "")  # RSA key file; with DKIM_SELECTOR and DKIM_DOMAIN
DKIM_SELECTOR = env_str("DKIM_SELECTOR", "")
DKIM_DOMAIN = env_str("DKIM_DOMAIN", "")
# Analysts are mailed when a notice cannot be delivered (outbox gave up, or a bounce). Empty: every active
# staff user with an e-mail address.
ANALYST_ALERT_EMAILS = env_list("ANALYST_ALERT_EMAILS", [])
ANALYST_ALERT_MAX_RETRIES = env_int("ANALYST_ALERT_MAX_RETRIES", 5, minimum=0)
ANALYST_ALERT_RETRY_BASE = env_seconds("ANALYST_ALERT_RETRY_BASE", 60)
ANALYST_DIGEST_HOUR = env_int("ANALYST_DIGEST_HOUR", 7, minimum=0)  # UTC hour of the daily alert digest
if ANALYST_DIGEST_HOUR > 23:
    raise ImproperlyConfigured(f"ANALYST_DIGEST_HOUR={ANALYST_DIGEST_HOUR} must be an hour, 0–23")
# Raw mail POSTed by an MTA to /api/v1/inbound/mail/ (413 beyond).
INBOUND_MAIL_MAX_BYTES = env_int("INBOUND_MAIL_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)

# --- The hotline ------------------------------------------------------------------------------------------
HOTLINE_NAME = env_str("HOTLINE_NAME", "Demo Hotline")
HOTLINE_COUNTRY = env_str("HOTLINE_COUNTRY", "DE").upper()
HOTLINE_EMAIL = env_str("HOTLINE_EMAIL", "notices@hotline.example")
HOTLINE_TRUSTED_FLAGGER = env_str("HOTLINE_TRUSTED_FLAGGER", "")  # e.g. the DSC's designation reference

# --- Celery -----------------------------------------------------------------------------------------------
# CELERY_BROKER_URL, else the embedded Redis on a Unix socket under var/ (started by `make run`).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"redis+socket://{VAR_DIR / 'redis.sock'}")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# One queue per kind of work (tracker/queues.py; README "Deployment"): a worker without `-Q` takes them all.
# CELERY_QUEUE_PREFIX puts the queues of one deployment (or one test run) apart on a shared broker.
CELERY_QUEUE_PREFIX = queues.PREFIX
CELERY_TASK_QUEUES = [Queue(queues.named(name), routing_key=queues.named(name)) for name in queues.QUEUES]
CELERY_TASK_DEFAULT_QUEUE = queues.named(queues.DEFAULT)
CELERY_TASK_ROUTES = {name: {"queue": queues.named(queue)} for name, queue in queues.ROUTES.items()}

# How often beat runs each sweep (seconds). Each sweep claims a bounded batch of due rows.
CHECK_SWEEP_INTERVAL = env_seconds("CHECK_SWEEP_INTERVAL", 30)
OUTBOX_SWEEP_INTERVAL = env_seconds("OUTBOX_SWEEP_INTERVAL", 15)
CHECK_BATCH_SIZE = env_int("CHECK_BATCH_SIZE", 1000, minimum=1)
# The trace sweep: assessed URLs with no trace after TRACE_SWEEP_GRACE get their trace queued again.
TRACE_SWEEP_INTERVAL = env_seconds("TRACE_SWEEP_INTERVAL", 120)
TRACE_SWEEP_GRACE = env_seconds("TRACE_SWEEP_GRACE", 600)
TRACE_SWEEP_BATCH_SIZE = env_int("TRACE_SWEEP_BATCH_SIZE", 1000, minimum=1)
CHECK_CLAIM_TIMEOUT = env_seconds("CHECK_CLAIM_TIMEOUT", 900)
OUTBOX_BATCH_SIZE = env_int("OUTBOX_BATCH_SIZE", 100, minimum=1)
# The lease of an outbox claim: its worker's heartbeat renews it every third of it (notices.infra.claims), so
# a worker that died gives its messages back within this time.
OUTBOX_CLAIM_TIMEOUT = env_seconds("OUTBOX_CLAIM_TIMEOUT", 30)
OUTBOX_MAX_ATTEMPTS = env_int("OUTBOX_MAX_ATTEMPTS", 12, minimum=1)
OUTBOX_RETRY_BASE = env_seconds("OUTBOX_RETRY_BASE", 60)

# --- Checker and removal (INTERFACES.md "Definitions") ----------------------------------------------------
REMOVAL_CONFIRMATIONS = env_int("REMOVAL_CONFIRMATIONS", 2, minimum=1)  # K
REMOVAL_MIN_SPACING = env_seconds("REMOVAL_MIN_SPACING", 600)  # M
CHECK_INTERVAL_FIRST_DAY = env_seconds("CHECK_INTERVAL_FIRST_DAY", 600)
CHECK_INTERVAL_FIRST_WEEK = env_seconds("CHECK_INTERVAL_FIRST_WEEK", 3600)
CHECK_INTERVAL_LATER = env_seconds("CHECK_INTERVAL_LATER", 6 * 3600)
CHECK_INTERVAL_BEFORE_NOTICE = env_seconds("CHECK_INTERVAL_BEFORE_NOTICE", 3600)
CHECK_INTERVAL_AFTER_REMOVAL = env_seconds("CHECK_INTERVAL_AFTER_REMOVAL", 24 * 3600)
REAPPEARANCE_WATCH = env_seconds("REAPPEARANCE_WATCH", 30 * 86400)
# Outbound HTTP proxies to check from (other networks/countries); "direct" = no proxy. With two or more, a
# removal is confirmed only when the confirming check comes from another vantage point than the first gone.
CHECKER_VANTAGE_POINTS = env_list("CHECKER_VANTAGE_POINTS", ["direct"])
CHECKER_ALLOW_PRIVATE_TARGETS = env_bool("CHECKER_ALLOW_PRIVATE_TARGETS", False)
CHECKER_CONNECT_TO = env_str("CHECKER_CONNECT_TO", "")
CHECKER_USER_AGENT = env_str(
    "CHECKER_USER_AGENT", f"TakedownTracker/0.1 (+{PUBLIC_BASE_URL}; hotline availability check)"
)
CHECKER_CONNECT_TIMEOUT = env_seconds("CHECKER_CONNECT_TIMEOUT", 10)
CHECKER_READ_TIMEOUT = env_seconds("CHECKER_READ_TIMEOUT", 15)
CHECKER_TOTAL_TIMEOUT = env_seconds("CHECKER_TOTAL_TIMEOUT", 30)
CHECKER_MAX_BYTES = env_int("CHECKER_MAX_BYTES", 4096, minimum=0)
CHECKER_MAX_REDIRECTS = env_int("CHECKER_MAX_REDIRECTS", 5, minimum=0)
CHECKER_CONCURRENCY = env_int("CHECKER_CONCURRENCY", 100, minimum=1)
CHECKER_PER_HOST = env_int("CHECKER_PER_HOST", 2, minimum=1)
CHECKER_PER_HOST_PER_MINUTE = env_int("CHECKER_PER_HOST_PER_MINUTE", 60, minimum=1)
DNS_RESOLVER = env_str("DNS_RESOLVER", "")  # host[:port], IPv6 as [addr]:port; empty = system resolver
DNS_TIMEOUT = env_seconds("DNS_TIMEOUT", 5)

# --- Hosting trace (README "Hosting trace") ---------------------------------------------------------------
# RDAP for addresses outside the imported data. Only these servers are ever contacted (and redirects only to
# them): the base URL, and the servers of the IANA bootstrap file if one is given. Empty base: no RDAP.
RDAP_BASE_URL = env_str("RDAP_BASE_URL", "https://rdap.db.ripe.net/")
# The RDAP server asked about domains (the registrar notice step), e.g. a registry's or an RDAP proxy's base
# URL; empty: the registrar step has no one to ask (and says so).
RDAP_DOMAIN_URL = env_str("RDAP_DOMAIN_URL", "")
RDAP_BOOTSTRAP_FILE = env_str("RDAP_BOOTSTRAP_FILE", "")
RDAP_TIMEOUT = env_seconds("RDAP_TIMEOUT", 5)
# A configured RDAP server whose address is private or reserved (loopback included) is refused unless this is
# set: tests, the demo, or a mirror on the hotline's own network.
RDAP_ALLOW_PRIVATE_TARGETS = env_bool("RDAP_ALLOW_PRIVATE_TARGETS", False)
# Addresses that are no one's abuse desk (an RIR's own, dummies); `@domain` skips a whole domain.
HOSTING_PLACEHOLDER_CONTACTS = [
    address.lower()
    for address in env_list(
        "HOSTING_PLACEHOLDER_CONTACTS",
        [
            "unread@ripe.net",
            "abuse@ripe.net",
            "hostmaster@ripe.net",
            "helpdesk@apnic.net",
            "abuse@apnic.net",
            "hostmaster@arin.net",
            "abuse@arin.net",
            "abuse@lacnic.net",
            "abuse@afrinic.net",
        ],
    )
]
# RIPE NCC's maintainers: the abuse-c climb stops at an object they maintain (as RIPE's whois does).
HOSTING_RS_MAINTAINERS = [
    m.upper()
    for m in env_list(
        "HOSTING_RS_MAINTAINERS", ["RIPE-NCC-HM-MNT", "RIPE-NCC-END-MNT", "RIPE-NCC-LEGACY-MNT"]
    )
]
# CDNs and reverse proxies (ASNs as AS123, prefixes as CIDR): the origin behind them is unknown.
HOSTING_INTERMEDIARIES = env_intermediaries(
    "HOSTING_INTERMEDIARIES",
    ["AS13335", "AS209242", "AS54113", "AS19551", "AS30148", "AS57724", "AS20940", "AS16625"],
)
# After an import, at most this many of the open cases whose hosting changed are queued for a re-trace
# (notices.services.reevaluation); the rest keep their event and are queued by the next re-evaluation.
REEVALUATE_MAX_RETRACES = env_int("REEVALUATE_MAX_RETRACES", 10_000, minimum=0)

# --- Notices ----------------------------------------------------------------------------------------------
DEADLINE_HOTLINE_NOTICE = env_seconds("DEADLINE_HOTLINE_NOTICE", 24 * 3600)
DEADLINE_TRUSTED_FLAGGER_NOTICE = env_seconds("DEADLINE_TRUSTED_FLAGGER_NOTICE", 24 * 3600)
DEADLINE_REMOVAL_ORDER = env_seconds("DEADLINE_REMOVAL_ORDER", 3600)
# Escalation ladders are policies edited in the admin (README "Escalation"). ESCALATION_STEPS is no longer
# read: migration 0028 turned a value set at upgrade time into the default policies; a system check warns.
ESCALATION_SWEEP_INTERVAL = env_seconds("ESCALATION_SWEEP_INTERVAL", 60)
ESCALATION_BATCH_SIZE = env_int("ESCALATION_BATCH_SIZE", 1000, minimum=1)  # cases claimed per sweep
# A sweep's claim on a case lasts this long: a sweep that dies leaves its cases due again afterwards.
ESCALATION_CLAIM_TIMEOUT = env_seconds("ESCALATION_CLAIM_TIMEOUT", 600)
# A failed step retries after ESCALATION_RETRY_BASE × 2ⁿ (at most ESCALATION_RETRY_MAX apart).
ESCALATION_RETRY_BASE = env_seconds("ESCALATION_RETRY_BASE", 300)
ESCALATION_RETRY_MAX = env_seconds("ESCALATION_RETRY_MAX", 86400)
# Just before a notice mail goes out (its first attempt), its URLs' hosts are resolved again: a URL whose
# DNS answer shares no address with its trace moved, and is routed to its new provider instead.
PRESEND_RECHECK = env_bool("PRESEND_RECHECK", True)
# A mail naming a case under a law-enforcement hold without a timeout is looked at again this often.
HOLD_RECHECK = env_seconds("HOLD_RECHECK", 3600)
# Removal orders: what counts as receipt by default ("delivery" or "acknowledgement"), the TCO Regulation's
# time from receipt when the order gives none, and how often beat records the breaches (alerting at once).
ORDER_CLOCK_START = env_str("ORDER_CLOCK_START", "delivery")
TCO_ORDER_TIME = env_seconds("TCO_ORDER_TIME", 3600)
ORDER_SWEEP_INTERVAL = env_seconds("ORDER_SWEEP_INTERVAL", 30)
# Content hosted in HOTLINE_COUNTRY goes to law enforcement before any notice to the provider.
LAW_ENFORCEMENT_FIRST = env_bool("LAW_ENFORCEMENT_FIRST", True)
NOTICE_DISPATCH_SWEEP_INTERVAL = env_seconds("NOTICE_DISPATCH_SWEEP_INTERVAL", 60)
# Four-eyes (README "Four-eyes verification"): on, no notice goes out for a case whose current assessment a
# second analyst (not the assessor) has not verified — not by the admin's Send, a dispatch sweep or the API.
FOUR_EYES_VERIFICATION = env_bool("FOUR_EYES_VERIFICATION", False)
# The soft lock: a case opened or changed by another analyst within this many seconds shows their name.
CASE_LOCK_SECONDS = env_seconds("CASE_LOCK_SECONDS", 15 * 60)
ONE_CLICK_LINK_MAX_AGE = env_seconds("ONE_CLICK_LINK_MAX_AGE", 14 * 86400)

# --- Statistics -------------------------------------------------------------------------------------------
STATS_WORK_MEM = env_str("STATS_WORK_MEM", "256MB")  # PostgreSQL work_mem for the statistics queries
# The longest a read of the cases for the statistics may run (PostgreSQL statement_timeout).
STATS_STATEMENT_TIMEOUT = env_str("STATS_STATEMENT_TIMEOUT", "5min")
# Beat recomputes the unfiltered statistics this often; the API serves that snapshot while it is younger than
# STATS_SNAPSHOT_MAX_AGE (filters, `fresh=true` or an old snapshot compute live).
STATS_REFRESH_INTERVAL = env_seconds("STATS_REFRESH_INTERVAL", 300)
STATS_SNAPSHOT_MAX_AGE = env_seconds("STATS_SNAPSHOT_MAX_AGE", 900)
# A change the snapshots do not include yet (first notice, removal, reappearance) marks them stale at once and
# queues one refresh this long after it; changes meanwhile join that refresh. A refresh claim older than
# STATS_REFRESH_LEASE (a worker that died mid-refresh), or a queued request older than it, no longer blocks
# another.
STATS_REFRESH_DEBOUNCE = env_seconds("STATS_REFRESH_DEBOUNCE", 2)
STATS_REFRESH_LEASE = env_seconds("STATS_REFRESH_LEASE", 600)

# --- Retention (README "Retention") -------------------------------------------------------------------------
# Defaults of the retention settings a supervisor edits in the admin (whole days): how long an ended case
# (removed, gone before notice, closed) and a report judged not illegal keep their URL before the purge.
RETENTION_ENDED_CASES_DAYS = max(1, int(env_seconds("RETENTION_ENDED_CASES", 365 * 86400) // 86400))
RETENTION_NOT_ILLEGAL_DAYS = max(1, int(env_seconds("RETENTION_NOT_ILLEGAL", 90 * 86400) // 86400))
RETENTION_PURGE_INTERVAL = env_seconds("RETENTION_PURGE_INTERVAL", 86400)  # beat runs the purge this often
RETENTION_BATCH_SIZE = env_int("RETENTION_BATCH_SIZE", 500, minimum=1)  # cases per purge transaction

# --- Check partitions (README "Data that grows") ---------------------------------------------------------
# The check table has one partition per month (notices/infra/partitions.py). Beat makes this month's and the
# next CHECK_PARTITIONS_AHEAD months' every CHECK_PARTITION_INTERVAL, and drops whole months older than
# CHECK_RETENTION_MONTHS full months (0: checks are kept for ever; the URL's own state keeps every outcome).
CHECK_PARTITIONS_AHEAD = env_int("CHECK_PARTITIONS_AHEAD", 2, minimum=1)
CHECK_PARTITION_INTERVAL = env_seconds("CHECK_PARTITION_INTERVAL", 6 * 3600)
CHECK_RETENTION_MONTHS = env_int("CHECK_RETENTION_MONTHS", 0, minimum=0)

# --- API --------------------------------------------------------------------------------------------------
API_BULK_MAX_ITEMS = env_int("API_BULK_MAX_ITEMS", 10_000, minimum=1)
API_BULK_MAX_BYTES = env_int("API_BULK_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = API_BULK_MAX_BYTES
# `manage.py import_reports`: lines per committed batch (one transaction, the resume point).
IMPORT_BATCH_LINES = env_int("IMPORT_BATCH_LINES", 5_000, minimum=1)
# Request limits shared by every web process (README "API": rate limits): per API key, and per client address
# for requests without a valid key (missing, malformed, wrong or revoked).
API_THROTTLE_RATE = env_rate("API_THROTTLE_RATE", "6000/min")
API_ANON_THROTTLE_RATE = env_rate("API_ANON_THROTTLE_RATE", "60/min")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["notices.api.auth.BearerKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "notices.api.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PARSER_CLASSES": ["notices.api.parsers.JsonParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "notices.api.errors.exception_handler",
    "DEFAULT_THROTTLE_CLASSES": ["notices.api.auth.KeyRateThrottle"],
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Takedown notice tracker API",
    "DESCRIPTION": (
        "Reports, URLs, hosting traces, notices, provider responses and time-to-removal statistics."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # Every error answer of every operation, in the one error shape (notices/api/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "notices.api.schema.add_error_responses",
    ],
    # The docs page's JavaScript and CSS come from drf-spectacular-sidecar's static files (pinned with the
    # package, served by whitenoise): it works offline and runs no foreign code.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "UrlStatusEnum": "notices.enums.UrlStatus",
        "NoticeStatusEnum": "notices.enums.NoticeStatus",
        "ItemStatusEnum": "notices.enums.ItemStatus",
        "ResponseActionEnum": "notices.enums.ResponseAction",
        "CheckOutcomeEnum": "notices.enums.CheckOutcome",
        "NoticeTypeEnum": "notices.enums.NoticeType",
        "LegalityEnum": "notices.enums.Legality",
        "ClassificationEnum": "notices.enums.Classification",
        "DetectionMethodEnum": "notices.enums.DetectionMethod",
        "MediaTypeEnum": "notices.enums.MediaType",
        "ContactChannelEnum": "notices.enums.ContactChannel",
        "CloseReasonEnum": "notices.enums.CloseReason",
        "WithdrawReasonEnum": "notices.enums.WITHDRAW_CHOICES",
        # The hotline network's shared assessment vocabulary (INHOPE / ICCAM).
        "NetworkClassificationEnum": "notices.enums.NetworkClassification",
        "AgeBandEnum": "notices.enums.AgeBand",
        "VictimGenderEnum": "notices.enums.VictimGender",
        "SiteTypeEnum": "notices.enums.SiteType",
        "PaymentMethodEnum": "notices.enums.PaymentMethod",
        "OutcomeReasonEnum": "notices.enums.OutcomeReason",
        "ExchangeActionEnum": "notices.enums.ExchangeAction",
        "PartnerRoleEnum": "notices.enums.PartnerRole",
    },
}

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Metrics and logs (README "Metrics") -----------------------------------------------------------------
# /metrics answers only a scraper that sends `Authorization: Bearer METRICS_TOKEN` or comes from an address in
# METRICS_ALLOWED_NETWORKS (CIDR list; the address the web server sees, REMOTE_ADDR); with neither set it is
# 404. Web and worker processes write their counters to METRICS_MULTIPROC_DIR (empty: each process serves its
# own values only); empty it when the stack starts (stale files of dead processes are summed otherwise).
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list("METRICS_ALLOWED_NETWORKS", [])
METRICS_MULTIPROC_DIR = env_str(
    "PROMETHEUS_MULTIPROC_DIR", env_str("METRICS_MULTIPROC_DIR", str(VAR_DIR / "metrics"))
)
if METRICS_MULTIPROC_DIR:  # read by prometheus_client when first imported: set before any import of it
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", METRICS_MULTIPROC_DIR)
    Path(METRICS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
# LOG_FORMAT=json: one JSON object per line (time, level, logger, message, exception), redacted as ever.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use plain or json")

# Every line passes the redaction filter (README "Logs"): one-click, invitation and password-reset tokens, API
# keys, bearer tokens and session ids never reach a log. Django's own loggers (requests, runserver) send their
# lines to the same handler instead of the default ones.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "tracker.redaction.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {"()": "tracker.jsonlog.JsonFormatter"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
        "django.db.backends": {"level": "WARNING"},
    },
}

BASE_DIR = BASE_DIR

# --- Sign-in limits (README "Sign-in limits"), the same for every login form, kept in the database ----------
# One account name from one client address: SIGNIN_FREE_FAILURES failures are free, then each further one
# doubles the wait from SIGNIN_DELAY up to SIGNIN_DELAY_MAX; failures older than SIGNIN_FAILURE_MEMORY or
# before a success from that client are forgotten.
SIGNIN_FREE_FAILURES = env_int("SIGNIN_FREE_FAILURES", 5, minimum=1)
SIGNIN_DELAY = env_seconds("SIGNIN_DELAY", 30)
SIGNIN_DELAY_MAX = env_seconds("SIGNIN_DELAY_MAX", 900)
SIGNIN_FAILURE_MEMORY = env_seconds("SIGNIN_FAILURE_MEMORY", 86400)
# One client address, every name: SIGNIN_ADDRESS_LIMIT failures in SIGNIN_ADDRESS_WINDOW, then it waits.
SIGNIN_ADDRESS_LIMIT = env_int("SIGNIN_ADDRESS_LIMIT", 20, minimum=1)
SIGNIN_ADDRESS_WINDOW = env_seconds("SIGNIN_ADDRESS_WINDOW", 300)
# One name from every address (distributed guessing): past SIGNIN_ACCOUNT_LIMIT failures in
# SIGNIN_ACCOUNT_WINDOW, only clients that signed in with that name within SIGNIN_KNOWN_CLIENT_AGE (or reset
# its password from there) may still try; the others wait until the window has room again.
SIGNIN_ACCOUNT_LIMIT = env_int("SIGNIN_ACCOUNT_LIMIT", 30, minimum=1)
SIGNIN_ACCOUNT_WINDOW = env_seconds("SIGNIN_ACCOUNT_WINDOW", 3600)
SIGNIN_KNOWN_CLIENT_AGE = env_seconds("SIGNIN_KNOWN_CLIENT_AGE", 90 * 86400)
# Beat removes attempts (and stale API counters) the limits no longer look at.
SIGNIN_PURGE_INTERVAL = env_seconds("SIGNIN_PURGE_INTERVAL", 3600)

# --- Provider portal (README "Provider portal") -----------------------------------------------------------
PORTAL_INVITATION_MAX_AGE = env_seconds("PORTAL_INVITATION_MAX_AGE", 7 * 86400)
PORTAL_PAGE_SIZE = env_int("PORTAL_PAGE_SIZE", 50, minimum=1)
PASSWORD_RESET_TIMEOUT = int(env_seconds("PASSWORD_RESET_TIMEOUT", 86400))
# Webhooks: new notices POSTed as signed JSON; retries kept in the database, swept by beat.
WEBHOOK_SWEEP_INTERVAL = env_seconds("WEBHOOK_SWEEP_INTERVAL", 15)
WEBHOOK_BATCH_SIZE = env_int("WEBHOOK_BATCH_SIZE", 100, minimum=1)
WEBHOOK_TIMEOUT = env_seconds("WEBHOOK_TIMEOUT", 10)
WEBHOOK_CLAIM_TIMEOUT = env_seconds("WEBHOOK_CLAIM_TIMEOUT", 30)  # the lease, renewed as OUTBOX_CLAIM_TIMEOUT
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 10, minimum=1)
WEBHOOK_RETRY_BASE = env_seconds("WEBHOOK_RETRY_BASE", 60)
WEBHOOK_ALLOW_PRIVATE_TARGETS = env_bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", False)  # tests and demo only

# Delivery channels (README "Delivery channels"): providers' abuse APIs, through the outbox. The key(s)
# encrypting the providers' API credentials (Fernet, comma-separated, the first encrypts); without one no
# credentials can be stored or used.
CHANNEL_CREDENTIALS_KEY = env_str("CHANNEL_CREDENTIALS_KEY", "")
CHANNEL_TIMEOUT = env_seconds("CHANNEL_TIMEOUT", 20)
CHANNEL_POLL_SWEEP_INTERVAL = env_seconds("CHANNEL_POLL_SWEEP_INTERVAL", 60)
CHANNEL_POLL_INTERVAL = env_seconds("CHANNEL_POLL_INTERVAL", 900)  # between two status reads of a report
CHANNEL_POLL_CLAIM_TIMEOUT = env_seconds("CHANNEL_POLL_CLAIM_TIMEOUT", 300)
CHANNEL_POLL_BATCH_SIZE = env_int("CHANNEL_POLL_BATCH_SIZE", 100, minimum=1)
CHANNEL_POLL_MAX = env_int("CHANNEL_POLL_MAX", 2000, minimum=1)  # status reads per report before giving up
CHANNEL_ALLOW_PRIVATE_TARGETS = env_bool("CHANNEL_ALLOW_PRIVATE_TARGETS", False)  # tests and demo only
# --- Public report form (README "Public report form") -------------------------------------------------------
# Reports from one client address (IPv6: its /64) the form takes per period; more get a 429 until it ends.
PUBLIC_REPORT_RATE = env_rate("PUBLIC_REPORT_RATE", "10/hour")  # reports that would be recorded
PUBLIC_REPORT_ATTEMPT_RATE = env_rate("PUBLIC_REPORT_ATTEMPT_RATE", "60/hour")  # every POST of the form
# The signed time stamp of the form: a form sent sooner than the minimum is refused (a bot filling it at
# once), one older than the maximum too (shown again with a fresh stamp).
PUBLIC_REPORT_MIN_SECONDS = env_seconds("PUBLIC_REPORT_MIN_SECONDS", 3)
PUBLIC_REPORT_MAX_AGE = env_seconds("PUBLIC_REPORT_MAX_AGE", 2 * 3600)

# --- Demo only --------------------------------------------------------------------------------------------
# Control port of the demo web host (`make run`): portal "removed" answers take demo pages down for real.
DEMO_WEB_CONTROL_URL = env_str("DEMO_WEB_CONTROL_URL", "")
