"""Django settings, read from the environment.

Every variable has a safe development default so ``make run`` works with nothing
configured; the README has one table of them.  With ``DEBUG`` off the process refuses
to start on the development secret key or without ``ALLOWED_HOSTS``.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from oncall import log_format
from oncall.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ONCALL_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)  # SQLite file and filesystem broker

DEV_SECRET_KEY = "dev-insecure-secret-key-do-not-use-in-production"  # noqa: S105

DEBUG = env_bool("DEBUG", True)
SECRET_KEY = env_str("SECRET_KEY", DEV_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [])
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

if not DEBUG:
    if not SECRET_KEY or SECRET_KEY == DEV_SECRET_KEY:
        raise ImproperlyConfigured(
            "DEBUG is off but SECRET_KEY is unset or the development default. Set "
            "SECRET_KEY to a long random value, e.g. the output of: python -c "
            "'import secrets; print(secrets.token_urlsafe(50))'"
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "DEBUG is off but ALLOWED_HOSTS is empty. Set ALLOWED_HOSTS to the "
            "comma-separated host names this service answers to, "
            "e.g. ALLOWED_HOSTS=oncall.example.com"
        )
elif not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

_public = urlsplit(PUBLIC_BASE_URL)
if _public.scheme not in ("http", "https") or not _public.netloc:
    raise ImproperlyConfigured(
        f"PUBLIC_BASE_URL={PUBLIC_BASE_URL!r} must be an absolute http(s) URL, "
        "e.g. https://oncall.example.com"
    )
CSRF_TRUSTED_ORIGINS = [f"{_public.scheme}://{_public.netloc}"]
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SILENCED_SYSTEM_CHECKS: list[str] = []
if not DEBUG and _public.scheme == "https":
    # Served to users over https: cookies never travel in clear, and browsers are
    # told to come back over https only (HSTS, sent on https requests).
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = 365 * 24 * 3600
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True  # only hosts under our own name
    # Preloading is an opt-in to browsers' built-in lists that is hard to undo: the
    # operator's decision (at their proxy), not a default of ours.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
    if BEHIND_TLS_PROXY:
        SECURE_SSL_REDIRECT = True
        # Probes and scrapers inside the deployment talk plain HTTP to the web server
        # (docker-compose's healthcheck, Prometheus).
        SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    else:
        # Without the proxy's X-Forwarded-Proto we cannot tell https requests from
        # http ones, so redirecting would loop: TLS and the http->https redirect are
        # the TLS-terminating proxy's job (what Django's check suggests as well).
        SILENCED_SYSTEM_CHECKS.append("security.W008")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "oncall",
    "scheduling",
    "alerts",
]

MIDDLEWARE = [
    "oncall.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "oncall.middleware.DatabaseUnavailableMiddleware",
]

# The Alertmanager webhook's chain (oncall/wsgi.py): a token-authenticated JSON POST
# needs no sessions, CSRF, users, messages, frame options or static files, and under
# a storm every middleware is paid a thousand times a second.
INTAKE_MIDDLEWARE = [
    "oncall.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "oncall.middleware.DatabaseUnavailableMiddleware",
]

# The calendar feeds' chain (``/ical/``, oncall/wsgi.py): calendar apps poll a
# token-authenticated GET thousands of times an hour and never send a cookie or
# render HTML, so sessions, CSRF, users, messages and frame options are pure cost
# there; HTTPS redirects and HSTS (SecurityMiddleware) still apply.
FEED_MIDDLEWARE = [
    "oncall.metrics.RequestMetricsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "oncall.middleware.DatabaseUnavailableMiddleware",
]
# The hot paths' statements (a feed poll's lookup, an API token's, the deploy
# gate's facts) as prepared statements on PostgreSQL, parsed and planned once per
# connection (scheduling/hot_sql.py).  Off behind a pooler that cannot keep
# protocol-level prepared statements (PgBouncer before 1.21 in transaction
# mode); Django's other queries are never prepared.
PREPARED_STATEMENTS = env_bool("PREPARED_STATEMENTS", True)

if not DEBUG:
    # The web server serves the admin's static files itself (runserver does in DEBUG).
    MIDDLEWARE.insert(2, "whitenoise.middleware.WhiteNoiseMiddleware")

ROOT_URLCONF = "oncall.urls"
WSGI_APPLICATION = "oncall.wsgi.application"

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
            ],
        },
    },
]

# SQLite by default (embedded: nothing to install).  WAL and IMMEDIATE transactions
# let the web process, the worker and beat write to one file without "database is
# locked" errors under ordinary load.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'oncall.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _test_db = env_str("ONCALL_TEST_DB", "")
    if _test_db:
        # Tests that start a real worker need a database file both processes open.
        DATABASES["default"]["TEST"] = {"NAME": _test_db}
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

_VALIDATORS = "django.contrib.auth.password_validation"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"{_VALIDATORS}.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# API tokens (scheduling/authentication.py) first, so a 401 names Bearer; the
# session (with CSRF) serves the browsable API and the admin's own calls.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "scheduling.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_THROTTLE_CLASSES": ["scheduling.throttling.PerTokenRateThrottle"],
    # Signed in, and an API token may only do what its scopes allow; the views
    # scope every lookup to the caller's teams (scheduling/access/).
    "DEFAULT_PERMISSION_CLASSES": ["scheduling.access.permissions.SignedInWithScope"],
    # Bounded in size and nesting (oncall/api_parsers.py); forms as DRF parses them.
    "DEFAULT_PARSER_CLASSES": [
        "oncall.api_parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "oncall.api_errors.exception_handler",
}
# Requests per token (or per signed-in user, or per address) and period; empty
# turns the limit off.  Counted in the cache below.
API_THROTTLE_RATE = env_str("API_THROTTLE_RATE", "1200/min")
if API_THROTTLE_RATE and not re.fullmatch(
    r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", API_THROTTLE_RATE
):
    raise ImproperlyConfigured(
        f"API_THROTTLE_RATE={API_THROTTLE_RATE!r}: use e.g. 600/min (per s, min, "
        "hour or day), or empty for no limit"
    )
# The cache holds the throttle counts: per process by default, shared by every
# web process once CACHE_URL names Redis (production).
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
        }
    }
elif CACHE_URL:
    raise ImproperlyConfigured(
        f"CACHE_URL={CACHE_URL!r}: use redis://host:6379/1, or leave it empty for "
        "a per-process cache"
    )
SPECTACULAR_SETTINGS = {
    "TITLE": "oncall API",
    "DESCRIPTION": "On-call schedules, incidents and reports.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from the drf-spectacular-sidecar package, served as our
    # own static files: /api/docs/ works offline, with no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Enum components (the default hook), then local times as patterns.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "oncall.api_schema.local_times",
        "oncall.api_schema.error_responses",
    ],
    # Models share field names with different choices ("kind", "role", "status",
    # "urgency"): name each enum.
    "ENUM_NAME_OVERRIDES": {
        "IntegrationKindEnum": "alerts.models.Integration.Kind",
        "TimelineKindEnum": "alerts.models.TimelineEntry.Kind",
        "HandoffRoleEnum": "alerts.models.HandoffNote.Role",
        "ShiftRoleEnum": "scheduling.models.Shift.ROLE_CHOICES",
        "PostmortemStatusEnum": "alerts.models.Postmortem.Status",
        "ActionItemStatusEnum": "alerts.models.ActionItem.Status",
        # Routes may leave urgency to the severity label (""); incidents may not.
        "RouteUrgencyEnum": "alerts.models.Route.Urgency",
        "IncidentUrgencyEnum": "alerts.models.Incident.Urgency",
        # An incident's source (Alertmanager, heartbeat, ...) and an SLO's
        # indicator source (incident time, Prometheus ratio).
        "IncidentSourceEnum": "alerts.models.Incident.Source",
        "SloSourceEnum": "alerts.models.SLO.Source",
    },
}

# --- Celery -------------------------------------------------------------------
# The embedded default broker is kombu's filesystem transport: no server needed.
# Production sets CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", "") or None
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    for _sub in ("queue", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # How often an idle worker lists the queue folder for new messages (kombu's
        # default is 1 s, a second added to every hop of a webhook's way to a page).
        # A directory listing every 100 ms costs nothing noticeable.
        "polling_interval": 0.1,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Nothing we enqueue waits long in the broker (no long ETAs by design), so a
        # task still unacked after this is one whose worker died: redeliver it.
        "visibility_timeout": 600,
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 60)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 90)
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# How often a worker checks for ETA tasks that came due (default 1 s): the sweep
# publishes escalation steps with an ETA of their due time, so this bounds how late
# they start.
CELERY_WORKER_TIMER_PRECISION = 0.1
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Publishing from a web request must not hang when the broker is down: fail fast,
# the periodic sweeps pick up whatever was stored but not enqueued.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# Stops within a fraction of a second of SIGTERM on every broker (oncall/worker.py).
CELERY_WORKER_CONSUMER = "oncall.worker:Consumer"
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Write the schedule file after every task sent: its mtime is beat's liveness signal
# (the docker-compose healthcheck reads it).
CELERY_BEAT_SYNC_EVERY = 1

# --- Alert intake -------------------------------------------------------------
# Alertmanager's webhooks are a few kB; max_alerts: 0 on a huge group can reach
# hundreds of kB.  Bigger bodies are refused with 413 before they are read.
ALERTMANAGER_MAX_BODY_BYTES = env_int("ALERTMANAGER_MAX_BODY_BYTES", 1024 * 1024)
# How often unprocessed webhook deliveries are looked for (and re-enqueued once
# older than twice this): the bound on how late a webhook stored while the broker
# was down gets processed.
DELIVERY_SWEEP_SECONDS = env_int("DELIVERY_SWEEP_SECONDS", 30)
# A worker processes up to this many pending webhooks in one transaction (bulk
# queries for new groups and repeats): fewer round trips under a storm.
ALERTMANAGER_BATCH_SIZE = env_int("ALERTMANAGER_BATCH_SIZE", 500)
# After a batch smaller than the above, wait this long before claiming the next one.
ALERTMANAGER_BATCH_WAIT_MS = env_int("ALERTMANAGER_BATCH_WAIT_MS", 100)
# Processed webhook deliveries are kept this long (the admin shows them), then pruned.
ALERTMANAGER_DELIVERY_RETENTION_DAYS = env_int(
    "ALERTMANAGER_DELIVERY_RETENTION_DAYS", 14
)

# --- SLOs and the deploy gate ----------------------------------------------------
# How often every SLO is evaluated (the gate answers from the stored evaluation).
SLO_EVALUATION_SECONDS = env_int("SLO_EVALUATION_SECONDS", 60)
# An evaluation older than this is stale: the gate says so (and freezes when
# failing closed).
SLO_STALE_AFTER_SECONDS = env_int("SLO_STALE_AFTER_SECONDS", 300)
# Stale or missing evaluation: answer from the last figures with a warning
# (fail-open, the default) or freeze (fail-closed).
SLO_GATE_FAIL_CLOSED = env_bool("SLO_GATE_FAIL_CLOSED", False)
# Prometheus ratio SLIs are queried here (its HTTP API), with basic auth or a
# bearer token when set.
PROMETHEUS_URL = env_str("PROMETHEUS_URL", "")
PROMETHEUS_USERNAME = env_str("PROMETHEUS_USERNAME", "")
PROMETHEUS_PASSWORD = env_str("PROMETHEUS_PASSWORD", "")
PROMETHEUS_BEARER_TOKEN = env_str("PROMETHEUS_BEARER_TOKEN", "")
PROMETHEUS_TIMEOUT_SECONDS = env_int("PROMETHEUS_TIMEOUT_SECONDS", 10)
PROMETHEUS_CONCURRENCY = env_int("PROMETHEUS_CONCURRENCY", 8)

# --- Scheduling -----------------------------------------------------------------
# How far ahead shifts are materialized (the periodic task keeps extending it).
ONCALL_SCHEDULE_HORIZON_WEEKS = env_int("ONCALL_SCHEDULE_HORIZON_WEEKS", 26)
if ONCALL_SCHEDULE_HORIZON_WEEKS < 1:
    raise ImproperlyConfigured("ONCALL_SCHEDULE_HORIZON_WEEKS must be at least 1")

# Out-of-office calendars (members' PTO iCal URLs), fetched every this many seconds.
OOO_FETCH_INTERVAL_SECONDS = env_int("OOO_FETCH_INTERVAL_SECONDS", 900)
OOO_FETCH_CONNECT_TIMEOUT = float(env_int("OOO_FETCH_CONNECT_TIMEOUT", 5))
OOO_FETCH_READ_TIMEOUT = float(env_int("OOO_FETCH_READ_TIMEOUT", 10))
# The whole fetch of one calendar, redirects included.
OOO_FETCH_DEADLINE = float(env_int("OOO_FETCH_DEADLINE", 30))
OOO_FETCH_MAX_BYTES = env_int("OOO_FETCH_MAX_BYTES", 2 * 1024 * 1024)
# Loopback, private, link-local and reserved addresses are refused (a member's URL
# must not reach inside our network) unless they lie in one of these networks
# (CIDR, comma-separated; the tests allow 127.0.0.0/8 for their local server).
OOO_FETCH_ALLOWED_NETWORKS = env_list("OOO_FETCH_ALLOWED_NETWORKS", [])
for _cidr in OOO_FETCH_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_cidr.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"OOO_FETCH_ALLOWED_NETWORKS: {_cidr!r} is not a network (CIDR)"
        ) from None

# The demo Alertmanager integration's token (manage.py oncall_demo); random if unset.
ONCALL_DEMO_TOKEN = env_str("ONCALL_DEMO_TOKEN", "")

# --- Paging (Twilio) ----------------------------------------------------------
PAGING_TRANSPORT = env_str("PAGING_TRANSPORT", "console")
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID", "")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN", "")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER", "")
# Where the Twilio SDK sends its requests; tests point it at a local fake.
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL", "https://api.twilio.com")
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10)
TWILIO_VALIDATE_SIGNATURES = env_bool("TWILIO_VALIDATE_SIGNATURES", True)
if PAGING_TRANSPORT not in ("console", "twilio"):
    raise ImproperlyConfigured(
        f"PAGING_TRANSPORT={PAGING_TRANSPORT!r}: use 'console' or 'twilio'"
    )
if not TWILIO_VALIDATE_SIGNATURES and not DEBUG:
    raise ImproperlyConfigured(
        "TWILIO_VALIDATE_SIGNATURES=0 is only allowed with DEBUG on: without it "
        "anyone could acknowledge incidents by posting to /twilio/sms/"
    )

# --- Escalation and paging -----------------------------------------------------
# The beat's sweep interval: a due step or page goes out within about this long.
ESCALATION_SWEEP_SECONDS = env_int("ESCALATION_SWEEP_SECONDS", 5)
# A sweep that enqueued a row leaves it alone this long (the task is in the broker).
ESCALATION_ENQUEUE_LEASE_SECONDS = env_int("ESCALATION_ENQUEUE_LEASE_SECONDS", 30)
ESCALATION_SWEEP_BATCH = env_int("ESCALATION_SWEEP_BATCH", 2000)
# Ids per escalation or paging task: a burst of due steps or pages is claimed and
# written in a few transactions of this many rows, not one task per row.
ESCALATION_TASK_BATCH = env_int("ESCALATION_TASK_BATCH", 100)
# The ceiling of "repeat until acknowledged".
ESCALATION_MAX_ROUNDS = env_int("ESCALATION_MAX_ROUNDS", 10)
# A page claimed by a worker that has not reported back after this long is sent
# again (the worker died between claim and send).  Must exceed a Twilio request.
PAGE_SEND_LEASE_SECONDS = env_int("PAGE_SEND_LEASE_SECONDS", 60)
# Transient errors (timeouts, 429, 5xx): attempts per number, exponential backoff.
PAGE_MAX_ATTEMPTS = env_int("PAGE_MAX_ATTEMPTS", 3)
PAGE_RETRY_BASE_SECONDS = env_int("PAGE_RETRY_BASE_SECONDS", 5)
PAGE_RETRY_MAX_SECONDS = env_int("PAGE_RETRY_MAX_SECONDS", 60)
# Provider requests one paging task makes at once (a thread each): a Twilio request
# takes 100-300 ms, so a batch sent one after another would delay its last page by
# seconds.  Keep it under the account's concurrency limit (Twilio answers 429 past
# it) divided by the number of worker processes.
PAGE_SEND_CONCURRENCY = env_int("PAGE_SEND_CONCURRENCY", 16)
# Storm protection: at most this many SMS and calls per member per window (0 = no
# limit); beyond it, one bundle SMS per STORM_BUNDLE_SECONDS.
STORM_MAX_PAGES = env_int("STORM_MAX_PAGES", 5)
STORM_WINDOW_SECONDS = env_int("STORM_WINDOW_SECONDS", 600)
STORM_BUNDLE_SECONDS = env_int("STORM_BUNDLE_SECONDS", 120)
for _name in (
    "ESCALATION_SWEEP_SECONDS",
    "ESCALATION_ENQUEUE_LEASE_SECONDS",
    "ESCALATION_SWEEP_BATCH",
    "ESCALATION_TASK_BATCH",
    "ESCALATION_MAX_ROUNDS",
    "PAGE_MAX_ATTEMPTS",
    "PAGE_SEND_CONCURRENCY",
):
    if globals()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} must be at least 1")
if PAGE_SEND_LEASE_SECONDS <= TWILIO_TIMEOUT_SECONDS:
    raise ImproperlyConfigured(
        f"PAGE_SEND_LEASE_SECONDS={PAGE_SEND_LEASE_SECONDS} must exceed "
        f"TWILIO_TIMEOUT_SECONDS={TWILIO_TIMEOUT_SECONDS}: a page still being sent "
        "would be sent again"
    )

# --- Handoff notes ----------------------------------------------------------------
# Shift boundaries this far back still get their note (the periodic task was down),
# and their notes are auto-submitted and reminded; older notes are history.  0 turns
# the periodic handoff work off.
HANDOFF_LOOKBACK_HOURS = env_int("HANDOFF_LOOKBACK_HOURS", 24)
# Alertmanager's own URL (not its webhook's): handoff notes list the silences that
# expire during the next shift.  Unset: none are read.
ALERTMANAGER_URL = env_str("ALERTMANAGER_URL", "").rstrip("/")
ALERTMANAGER_TIMEOUT_SECONDS = env_int("ALERTMANAGER_TIMEOUT_SECONDS", 5)
# How long a link in a handoff SMS or email works (once).
HANDOFF_LINK_MAX_AGE_SECONDS = env_int("HANDOFF_LINK_MAX_AGE_SECONDS", 24 * 3600)
# Handoff notes go out by email too when the member's user has an address, once a
# real backend is set.  Not Django's console backend by default: it would print
# the notes' signed links to stdout, past the log redaction.
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "oncall@localhost")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)

# --- Metrics and admin logins --------------------------------------------------
# When set, /metrics answers only requests with "Authorization: Bearer <token>".
METRICS_TOKEN = env_str("METRICS_TOKEN", "")
# Seconds a web process reuses the database-derived gauges of /metrics (backlog,
# open incidents, escalation health, pages, insights, SLOs, pay, heartbeats)
# before asking the database again: they are at most this stale.  0: every scrape.
METRICS_DATABASE_GAUGES_SECONDS = env_int("METRICS_DATABASE_GAUGES_SECONDS", 5)
# Failed admin logins per client address and user name before the login form
# refuses to check passwords for ADMIN_LOGIN_LOCKOUT_SECONDS (counted in the cache).
ADMIN_LOGIN_MAX_FAILURES = 5
# Engineers' own login (their handoff pages), and where it leads.
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/handoffs/"
ADMIN_LOGIN_LOCKOUT_SECONDS = 15 * 60

# --- Logging ------------------------------------------------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "text")
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT={LOG_FORMAT!r}: use 'text' or 'json'")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": log_format.formatters(),
    # Tokens in URL paths (the webhook's) are redacted from every line.
    "filters": log_format.filters(),
    "handlers": {"console": log_format.console_handler(LOG_FORMAT)},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # Django's defaults give these their own handlers (without our filter):
        # send them through the root's.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        "django.server": {"handlers": [], "level": "INFO", "propagate": True},
    },
}
