"""Settings, all from environment variables with working local defaults.

DJANGO_ENV selects the mode: `local` (default, `make up`), `test` (`make test`)
or `production` (docker-compose; passes `manage.py check --deploy`).
"""

import os
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from config.env import (
    database_from_url,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    redis_url,
)
from config.security import DEFAULT_PERMISSIONS_POLICY, content_security_policy

BASE_DIR = Path(__file__).resolve().parent.parent

DJANGO_ENV = env_choice("DJANGO_ENV", "local", ("local", "test", "production"))
PRODUCTION = DJANGO_ENV == "production"

_DEV_SECRET = "local-dev-secret-key-not-for-production-0123456789abcdefghijklmnop"
SECRET_KEY = env_str("SECRET_KEY", None if PRODUCTION else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DJANGO_ENV=production")
if PRODUCTION and (SECRET_KEY == _DEV_SECRET or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("SECRET_KEY must be a unique value of 50+ characters in production")

# Off unless asked for (DEBUG=1): `make up` serves friendly error pages, never the debug page.
DEBUG = env_bool("DEBUG", False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be false when DJANGO_ENV=production")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", [] if PRODUCTION else ["*"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DJANGO_ENV=production")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "rest_framework",
    "rest_framework_gis",
    "rest_framework_simplejwt",
    # Refresh tokens: rotated on use, the used one blacklisted; logout and deactivation
    # blacklist them too (accounts/revocation.py, docs/security.md).
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_prometheus",
    "axes",
    # Project apps, lowest layer first (see docs/architecture.md).
    "common",  # no models: the migrate/flush commands of docs/database-roles.md
    "accounts",
    "agents",
    "dashboard",
    "alerts",
    "opsactions",
    "sira",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy and Permissions-Policy on every answer (config/security.py).
    "csp.middleware.CSPMiddleware",
    "config.security.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # JSON errors under /api/; 503 + Retry-After when the database is down (common/middleware.py).
    "common.middleware.ErrorShapeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last before the metrics: locks out repeated failed sign-ins (see AXES_* below).
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"

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
                "accounts.web.context.navigation",
            ],
        },
    },
]

# ------------------------------------------------------------------ database
DATABASES = {
    "default": database_from_url("DATABASE_URL", "postgis://molam:molam@127.0.0.1:25432/molam"),
}
# Least privilege (docs/database-roles.md): DATABASE_URL is the application's role, which
# may not change the schema; `migrate` logs in as the schema's owner when DATABASE_OWNER_URL
# is set (only its user and password are used: server and database are DATABASE_URL's).
# Unset: one role does both.
DATABASE_ROLES = None
if env_str("DATABASE_OWNER_URL", None):
    _owner = database_from_url("DATABASE_OWNER_URL", None)
    DATABASE_ROLES = {
        "app": {k: DATABASES["default"][k] for k in ("USER", "PASSWORD")},
        "owner": {k: _owner[k] for k in ("USER", "PASSWORD")},
    }
DATABASES["default"]["CONN_MAX_AGE"] = env_int("DB_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Lets several test runs share one cluster (each helper/CI job its own database).
_test_db_name = env_str("TEST_DATABASE_NAME", None)
if _test_db_name:
    DATABASES["default"]["TEST"] = {"NAME": _test_db_name}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------ redis / cache
REDIS_URL = redis_url("REDIS_URL", "redis://127.0.0.1:26379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "molam"),
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": 1,
            "SOCKET_TIMEOUT": 1,
        },
    }
}

# ------------------------------------------------------------------ kafka
KAFKA_BOOTSTRAP_SERVERS = env_str("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:29092")
KAFKA_EVENT_TOPICS = env_list("KAFKA_EVENT_TOPICS", ["wallet.events", "connect.events"])
KAFKA_DLQ_TOPIC = env_str("KAFKA_DLQ_TOPIC", "dashboard.events.dlq")
KAFKA_OPS_COMMANDS_TOPIC = env_str("KAFKA_OPS_COMMANDS_TOPIC", "ops.commands")
KAFKA_CONSUMER_GROUP = env_str("KAFKA_CONSUMER_GROUP", "dashboard-aggregator")
# The DLQ topic's copy of a dead letter (dashboard/ingest/dead_letters.py): a larger
# one is published truncated (whole in the table); keep it at or below the topic's
# max.message.bytes. Transient publish errors are retried this long, then the
# letter is marked `failed` in the table and ingestion goes on.
KAFKA_DLQ_MAX_MESSAGE_BYTES = env_int("KAFKA_DLQ_MAX_MESSAGE_BYTES", 1_000_000, minimum=4096)
KAFKA_DLQ_RETRY_SECONDS = env_int("KAFKA_DLQ_RETRY_SECONDS", 60, minimum=1)
# Kafka's normal defaults in production; the local broker (Tansu) needs short
# session timeouts, set by scripts/stack.sh (see ../shared/recipes/local-stack.md).
KAFKA_SESSION_TIMEOUT_MS = env_int("KAFKA_SESSION_TIMEOUT_MS", 45000, minimum=1000)
KAFKA_HEARTBEAT_INTERVAL_MS = env_int("KAFKA_HEARTBEAT_INTERVAL_MS", 3000, minimum=100)
KAFKA_MAX_POLL_INTERVAL_MS = env_int("KAFKA_MAX_POLL_INTERVAL_MS", 300000, minimum=1000)
# Batches only fill up when there is a backlog, so a large cap costs no latency
# at steady rates and buys throughput when catching up (measured: docs/ingestion.md).
KAFKA_BATCH_SIZE = env_int("KAFKA_BATCH_SIZE", 20000, minimum=1)
# Worker processes of one consume_events (dashboard/ingest/workers.py): parsing
# and aggregating is CPU work a single Python process does on one core only.
# Default: one per CPU
# this process may run on, plus one, as each worker also waits on PostgreSQL for
# part of every batch; capped, since a container's CPU limit is not visible here
# (set it to the pod's CPU limit + 1 in production).
INGEST_PROCESSES = env_int("INGEST_PROCESSES", min(len(os.sched_getaffinity(0)), 8) + 1, minimum=1)
# Consumer liveness (dashboard/ingest/heartbeat.py, health check "ingestion"): a
# heartbeat lives this long in Redis; a partition of the event topics may stay
# with no live consumer this long (rebalances, start-up); a consumer with lag may
# go this long without committing offsets before it counts as stalled.
INGEST_HEARTBEAT_TTL_S = env_int("INGEST_HEARTBEAT_TTL_S", 30, minimum=3)
INGEST_UNASSIGNED_GRACE_S = env_int("INGEST_UNASSIGNED_GRACE_S", 45, minimum=0)
INGEST_STALL_S = env_int("INGEST_STALL_S", 60, minimum=1)

# ------------------------------------------------------------------ celery
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL)
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND", REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_HEARTBEAT_INTERVAL_S = env_int("CELERY_HEARTBEAT_INTERVAL_S", 10, minimum=1)
SNAPSHOT_REFRESH_INTERVAL_S = env_int("SNAPSHOT_REFRESH_INTERVAL_S", 60, minimum=1)
SNAPSHOT_FULL_REFRESH_INTERVAL_S = env_int("SNAPSHOT_FULL_REFRESH_INTERVAL_S", 900, minimum=1)
OUTBOX_RELAY_INTERVAL_S = env_int("OUTBOX_RELAY_INTERVAL_S", 5, minimum=1)

# Beat schedule: every periodic job of the product, by dotted task name. Each
# app defines its task in its own tasks.py; no cron anywhere.
CELERY_BEAT_SCHEDULE = {
    "beat-heartbeat": {
        "task": "dashboard.tasks.beat_heartbeat",
        "schedule": CELERY_HEARTBEAT_INTERVAL_S,
    },
    "refresh-dirty-snapshots": {
        "task": "dashboard.tasks.refresh_dirty_snapshots",
        "schedule": SNAPSHOT_REFRESH_INTERVAL_S,
    },
    "refresh-all-snapshots": {
        "task": "dashboard.tasks.refresh_all_snapshots",
        "schedule": SNAPSHOT_FULL_REFRESH_INTERVAL_S,
    },
    "maintain-ingest-partitions": {
        "task": "dashboard.tasks.maintain_partitions",
        "schedule": 3600,
    },
    "expire-pending-actions": {
        "task": "opsactions.tasks.expire_pending_actions",
        "schedule": 60,
    },
    "rollback-due-actions": {
        "task": "opsactions.tasks.rollback_due_actions",
        "schedule": 60,
    },
    "relay-outbox": {
        "task": "opsactions.tasks.relay_outbox",
        "schedule": OUTBOX_RELAY_INTERVAL_S,
    },
}

# ------------------------------------------------------------------ product settings
REPORTING_CURRENCY = env_str("REPORTING_CURRENCY", "XOF")
# Dashboard reads (dashboard/api/authentication.py): seconds a user's checked identity
# (active, role, scope, permissions), copied to Redis, stands in for the database; a
# deactivation or a change of the user or of a role group voids copies at once
# (dashboard/api/identity.py), and a change no signal reports (bulk update, raw SQL)
# within AUTH_CHANGES_CHECK_S (database triggers, checked by beat). 0: always the database.
OVERVIEW_AUTH_CACHE_S = env_int("OVERVIEW_AUTH_CACHE_S", 60, minimum=0)
AUTH_CHANGES_CHECK_S = env_int("AUTH_CHANGES_CHECK_S", 5, minimum=1)
CELERY_BEAT_SCHEDULE["check-auth-changes"] = {
    "task": "accounts.tasks.check_auth_changes",
    "schedule": AUTH_CHANGES_CHECK_S,
    "options": {"expires": 2 * AUTH_CHANGES_CHECK_S},  # a stopped worker: no backlog
}
# Each web process mirrors the Redis values the API reads most (overview bytes, identity
# copies, the auth epoch, time-series answers), dropped by Redis's keyspace notifications
# (common/redis_mirror.py). false: every read goes to Redis.
REDIS_MIRROR = env_bool("REDIS_MIRROR", True)
# Time-series answers stored in Redis under their scope's generation, which ingestion
# renews after each commit (dashboard/snapshots/series_cache.py): exact for what
# ingestion counts; writes outside it show within these seconds. 0: never stored.
SERIES_CACHE_S = env_int("SERIES_CACHE_S", 120, minimum=0)
SEEN_EVENT_RETENTION_DAYS = env_int("SEEN_EVENT_RETENTION_DAYS", 7, minimum=1)
# Retention (docs/retention.md), enforced daily by dashboard.tasks.enforce_retention:
# dead letters by the day they arrived; figures (hourly aggregates, rollups) by
# whole months before the current one. Audit and ops actions are never deleted.
DEAD_LETTER_RETENTION_DAYS = env_int("DEAD_LETTER_RETENTION_DAYS", 90, minimum=1)
AGGREGATE_RETENTION_MONTHS = env_int("AGGREGATE_RETENTION_MONTHS", 120, minimum=1)
CELERY_BEAT_SCHEDULE["enforce-retention"] = {
    "task": "dashboard.tasks.enforce_retention",
    "schedule": 86400,
}
# Transactions page (dashboard/web/stream.py): a server-sent-events connection holds
# a web thread, so it is closed after STREAM_CONNECTION_S (the browser reconnects
# and resumes from its last event id); a keep-alive every STREAM_HEARTBEAT_S also
# finds a client that went away.
STREAM_CONNECTION_S = env_int("STREAM_CONNECTION_S", 25, minimum=1)
STREAM_HEARTBEAT_S = env_int("STREAM_HEARTBEAT_S", 5, minimum=1)
OPS_ACTION_PENDING_TTL_HOURS = env_int("OPS_ACTION_PENDING_TTL_HOURS", 24, minimum=1)
# An approved action not executed within this many hours of its quorum expires.
OPS_ACTION_APPROVED_TTL_HOURS = env_int("OPS_ACTION_APPROVED_TTL_HOURS", 24, minimum=1)


# --- opsactions: reversal risk threshold per currency, effect duration cap, relay batch.
def _amounts_by_currency(name, default):
    from decimal import Decimal, InvalidOperation

    out = {}
    for item in env_list(name, default):
        code, _, amount = item.partition(":")
        try:
            value = Decimal(amount)
        except InvalidOperation:
            value = None
        if len(code) != 3 or not code.isupper() or value is None or not value.is_finite():
            raise ImproperlyConfigured(f"{name}: {item!r} is not CUR:AMOUNT (e.g. XOF:1000000)")
        out[code] = value
    return out


OPS_REVERSAL_HIGH_RISK_AMOUNTS = _amounts_by_currency(
    "OPS_REVERSAL_HIGH_RISK_AMOUNTS",
    ["XOF:1000000", "XAF:1000000", "GNF:15000000", "NGN:2500000", "EUR:1500", "USD:1500"],
)
OPS_ACTION_MAX_EFFECT_HOURS = env_int("OPS_ACTION_MAX_EFFECT_HOURS", 24 * 30, minimum=1)
OUTBOX_RELAY_BATCH = env_int("OUTBOX_RELAY_BATCH", 500, minimum=1)

# ------------------------------------------------------------------ agents (agent map)
# Float below this (in the agent's currency) is "low float" for agents created
# by ingestion; ops can change it per agent.
AGENTS_DEFAULT_LOW_FLOAT_THRESHOLD = env_int(
    "AGENTS_DEFAULT_LOW_FLOAT_THRESHOLD", 100000, minimum=0
)
# agents.tasks.refresh_agent_map: ages sales_24h out and rebuilds the cluster grid.
AGENTS_MAP_REFRESH_INTERVAL_S = env_int("AGENTS_MAP_REFRESH_INTERVAL_S", 60, minimum=5)
AGENTS_HISTORY_RETENTION_DAYS = env_int("AGENTS_HISTORY_RETENTION_DAYS", 90, minimum=2)
CELERY_BEAT_SCHEDULE["refresh-agent-map"] = {
    "task": "agents.tasks.refresh_agent_map",
    "schedule": AGENTS_MAP_REFRESH_INTERVAL_S,
}
CELERY_BEAT_SCHEDULE["prune-agent-history"] = {
    "task": "agents.tasks.prune_agent_history",
    "schedule": 3600,
}

# ------------------------------------------------------------------ alerts
# Alert rules are evaluated every ALERTS_EVALUATION_INTERVAL_S (docs/alerts.md);
# notification groups are flushed and webhooks delivered every ALERTS_NOTIFY_INTERVAL_S.
ALERTS_EVALUATION_INTERVAL_S = env_int("ALERTS_EVALUATION_INTERVAL_S", 60, minimum=1)
ALERTS_NOTIFY_INTERVAL_S = env_int("ALERTS_NOTIFY_INTERVAL_S", 10, minimum=1)
ALERTS_WEBHOOK_TIMEOUT_S = env_int("ALERTS_WEBHOOK_TIMEOUT_S", 5, minimum=1)
ALERTS_DELIVERY_MAX_ATTEMPTS = env_int("ALERTS_DELIVERY_MAX_ATTEMPTS", 6, minimum=1)
ALERTS_DELIVERY_BACKOFF_S = env_int("ALERTS_DELIVERY_BACKOFF_S", 30, minimum=1)
ALERTS_EVALUATION_RETENTION_DAYS = env_int("ALERTS_EVALUATION_RETENTION_DAYS", 30, minimum=1)
ALERTS_FROM_EMAIL = env_str("ALERTS_FROM_EMAIL", "alerts@molam.local")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
CELERY_BEAT_SCHEDULE["evaluate-alert-rules"] = {
    "task": "alerts.tasks.evaluate_alert_rules",
    "schedule": ALERTS_EVALUATION_INTERVAL_S,
}
CELERY_BEAT_SCHEDULE["send-alert-notifications"] = {
    "task": "alerts.tasks.send_notifications",
    "schedule": ALERTS_NOTIFY_INTERVAL_S,
}

# ------------------------------------------------------------------ sira
# Recommendations past valid_until expire; the built-in advisor (model "baseline") runs hourly.
SIRA_EXPIRE_INTERVAL_S = env_int("SIRA_EXPIRE_INTERVAL_S", 300, minimum=10)
SIRA_ADVISOR_INTERVAL_S = env_int("SIRA_ADVISOR_INTERVAL_S", 3600, minimum=60)
# Kafka intake (manage.py consume_recommendations); invalid messages go to the DLQ topic.
SIRA_KAFKA_TOPIC = env_str("SIRA_KAFKA_TOPIC", "sira.recommendations")
SIRA_KAFKA_DLQ_TOPIC = env_str("SIRA_KAFKA_DLQ_TOPIC", "sira.recommendations.dlq")
SIRA_KAFKA_GROUP = env_str("SIRA_KAFKA_GROUP", "sira-intake")
# Auto-remediation (sira/autoremediation.py; off until `manage.py sira_autoremediation`):
# the account that requests the actions and the distinct policy principal that approves them.
SIRA_SERVICE_USERNAME = env_str("SIRA_SERVICE_USERNAME", "sira")
SIRA_AUTO_PRINCIPAL_USERNAME = env_str("SIRA_AUTO_PRINCIPAL_USERNAME", "sira-auto-remediation")
CELERY_BEAT_SCHEDULE["sira-expire-recommendations"] = {
    "task": "sira.tasks.expire_recommendations",
    "schedule": SIRA_EXPIRE_INTERVAL_S,
}
CELERY_BEAT_SCHEDULE["sira-baseline-advisor"] = {
    "task": "sira.tasks.run_baseline_advisor",
    "schedule": SIRA_ADVISOR_INTERVAL_S,
}
# ------------------------------------------------------------------ widgets
# Seconds a widget's data stays cached at most (a snapshot refresh of its scope drops it
# sooner: dashboard/widgets/cache.py).
WIDGET_DATA_CACHE_S = env_int("WIDGET_DATA_CACHE_S", 300, minimum=1)

# ------------------------------------------------------------------ transactions
# Every counted event kept (dashboard/transactions/, docs/transactions.md), in daily
# partitions: whole days older than the retention are dropped by beat, which also
# creates the coming days' partitions ahead.
TRANSACTIONS_RETENTION_DAYS = env_int("TRANSACTIONS_RETENTION_DAYS", 400, minimum=1)
TRANSACTIONS_PARTITIONS_AHEAD_DAYS = env_int("TRANSACTIONS_PARTITIONS_AHEAD_DAYS", 3, minimum=1)
TRANSACTIONS_MAINTAIN_INTERVAL_S = env_int("TRANSACTIONS_MAINTAIN_INTERVAL_S", 3600, minimum=60)
# Largest page of GET /api/dashboard/transactions (`limit`).
TRANSACTIONS_PAGE_MAX = env_int("TRANSACTIONS_PAGE_MAX", 500, minimum=10)
CELERY_BEAT_SCHEDULE["transactions-partitions"] = {
    "task": "dashboard.tasks.maintain_transaction_partitions",
    "schedule": TRANSACTIONS_MAINTAIN_INTERVAL_S,
}

# ------------------------------------------------------------------ API
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "common.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"]
    + ([] if PRODUCTION else ["rest_framework.renderers.BrowsableAPIRenderer"]),
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 15, minimum=1)),
    "REFRESH_TOKEN_LIFETIME": timedelta(hours=env_int("JWT_REFRESH_HOURS", 24, minimum=1)),
    "SIGNING_KEY": env_str("JWT_SIGNING_KEY", SECRET_KEY),
    "UPDATE_LAST_LOGIN": True,
    # Each refresh returns a new refresh token and blacklists the one used: a stolen
    # refresh token works once at most, and its reuse after the owner's is refused.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
# Refresh tokens past their expiry (issued or blacklisted) are deleted hourly.
CELERY_BEAT_SCHEDULE["flush-expired-tokens"] = {
    "task": "accounts.tasks.flush_expired_tokens",
    "schedule": 3600,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Molam unified dashboard API",
    "DESCRIPTION": "Overview, time series, agent map, ops actions with multi-signature "
    "approval. Scopes: platform, merchant:ID, agent:ID, bank:ID, region:CC.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the installed sidecar package: no CDN at run time. (No ReDoc page:
    # its bundle always loads Redocly's logo, and its template Google fonts, from the internet.)
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}
# opsactions: a stable enum name for ops-action statuses ("status" collides).
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {})["OpsActionStatusEnum"] = (
    "opsactions.choices.ActionStatus"
)
# Stable enum names for the closed sets of alerts, SIRA and widgets.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "AlertStatusEnum": "alerts.choices.AlertStatus",
        "AlertSeverityEnum": "alerts.choices.Severity",
        "AlertCategoryEnum": "alerts.choices.AlertCategory",
        "AlertSeriesStateEnum": "alerts.choices.SeriesState",
        "AlertDeliveryStatusEnum": "alerts.choices.DeliveryStatus",
        "SiraRecommendationStatusEnum": "sira.choices.RecStatus",
        "SiraPriorityEnum": "sira.choices.Priority",
        "SiraRecommendationTypeEnum": "sira.choices.RecType",
        "WidgetTypeEnum": "dashboard.widgets.choices.WidgetType",
        "RoleEnum": "accounts.choices.Role",
        "ScopeKindEnum": "accounts.choices.ScopeKind",
        "AuditActorRoleEnum": "opsactions.choices.AUDIT_ACTOR_ROLES",
    }
)
# The transactions API's closed sets (docs/transactions.md); the alerts' source keeps
# the name it had before a second `source` field appeared.
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"].update(
    {
        "SourceEnum": "alerts.choices.AlertSource",
        "EventSourceEnum": "dashboard.choices.Source",
        "EventTypeEnum": "dashboard.choices.EventType",
        "EventStatusEnum": "dashboard.choices.EventOutcome",
    }
)

# ------------------------------------------------------------------ i18n, static
# English and French; LocaleMiddleware picks the browser's language unless the
# user chose one with the switcher (set_language, a cookie).
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# The project's own assets, and the few files of the libraries npm installs into
# node_modules at setup (package.json; never committed) that pages load, each
# under vendor/<library>/ (common/staticfinders.py lists them).
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "common.staticfinders.VendorFinder",
]
# Served by the web process itself (whitenoise), compressed, with hashed names
# that browsers may cache for ever. `collectstatic` runs in every setup path.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Library files reference source maps and fonts that are not shipped: keep the
# manifest strict for our own files but do not fail on those references.
WHITENOISE_MANIFEST_STRICT = False
# Source maps are for developers' tools, never loaded by a page: not worth compressing
# (they are most of the bytes, and brotli is slow).
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = [
    "jpg", "jpeg", "png", "gif", "webp", "zip", "gz", "tgz", "bz2", "tbz", "xz", "br",
    "woff", "woff2", "map",
]  # fmt: skip

# ------------------------------------------------------------------ sign-in
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out (username, address) before the password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Failed sign-ins (product login, admin and the JWT endpoint alike): after
# AXES_FAILURE_LIMIT failures for one username from one address, that pair is
# locked out for AXES_COOLOFF_MINUTES. Counted in the database, so every web
# process sees the same count.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE_S", 8 * 3600, minimum=300)
# Tile server of the agent map's basemap in production (e.g. a company tile
# cache: https://tiles.example/{z}/{x}/{y}.png); empty: offline country outlines.
MAP_TILE_URL = env_str("MAP_TILE_URL", "")
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
if DJANGO_ENV == "test":
    # Fast hashing keeps the suite quick; never used outside tests.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# ------------------------------------------------------------------ security headers, cookies
# Every mode (docs/security.md): nothing but our own origin loads scripts, styles,
# images (plus data: URLs and the map's tile server, if set) or is fetched; no framing.
CONTENT_SECURITY_POLICY = content_security_policy(map_tile_url=MAP_TILE_URL)
PERMISSIONS_POLICY = DEFAULT_PERMISSIONS_POLICY
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts never read a cookie (the CSRF token reaches htmx from the page itself).
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# ------------------------------------------------------------------ security (production)
if PRODUCTION:
    # HTTPS only: cookies marked Secure, with the __Host- prefix (this host, path /).
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # Health is probed over plain HTTP inside the cluster.
    SECURE_REDIRECT_EXEMPT = [r"^api/dashboard/health$", r"^metrics$", r"^api/ping$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# GDAL 3.6 (Debian 12) cannot block file/network access in spatial references;
# the project never parses user-supplied SRS definitions, so the warning is noise.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
