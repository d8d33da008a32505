"""Berth settings. Everything a deployment changes comes from the environment (see README.md)."""

from __future__ import annotations

from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from config.env import env, env_bool, env_int, env_list

# Lets Django's generic classes be written with their type arguments (ModelForm[Registry]) at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env("BERTH_DATA_DIR", str(BASE_DIR / "data")))

DEBUG = env_bool("DJANGO_DEBUG", False)

SECRET_KEY = env("DJANGO_SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("BERTH_ALLOW_GENERATED_SECRET", True):
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set")
    # A per-installation key kept in the data folder, so sessions survive restarts
    # without anyone having to invent a secret for a local run.
    _key_file = DATA_DIR / "secret_key"
    if _key_file.exists():
        SECRET_KEY = _key_file.read_text().strip()
    else:
        from django.core.management.utils import get_random_secret_key

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = get_random_secret_key()
        _key_file.write_text(SECRET_KEY)
        _key_file.chmod(0o600)

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "images_app",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "images_app.middleware.SecurityHeadersMiddleware",
    # Inside the headers middleware: its refusals get the same headers.
    "images_app.middleware.ReadOnlyModeMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
    "images_app.middleware.EngineErrorMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "images_app.context_processors.berth",
            ],
        },
    },
]

ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

# Connections outlive requests: config/asgi.py keeps request threads between requests, and a new
# connection a page cost more than its queries (bench.load). Health checks drop a dead one first.
DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{DATA_DIR / 'berth.sqlite3'}"), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front, so concurrent writers
    # (web, worker, audit chain) queue up instead of failing half-way with
    # "database is locked"; WAL lets readers run beside a writer.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": env_int("BERTH_DB_TIMEOUT", 20, minimum=1),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    _test_db = env("BERTH_TEST_DATABASE")
    if _test_db:
        # Tests share the database with a real worker and web server in other
        # processes, so it must be a file, not SQLite's in-memory default.
        DATABASES["default"]["TEST"] = {"NAME": _test_db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # ModelBackend's login, with permissions read from role groups in one query.
    "images_app.roles.RoleBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Django's database sessions, with the read every request makes prepared once per process.
SESSION_ENGINE = "images_app.sessions"
SESSION_COOKIE_AGE = env_int("BERTH_SESSION_SECONDS", 8 * 3600, minimum=60)
# Messages ("Removal requested") wait in the session, which every page of a signed-in person reads
# anyway: the default (a signed cookie, then the session) built a cookie signer for every request.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Login throttling (django-axes): lock a username+address after repeated failures.
AXES_FAILURE_LIMIT = env_int("BERTH_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("BERTH_LOGIN_LOCKOUT_MINUTES", 15, minimum=1) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False
# Behind a proxy, the address the proxy saw (not one the client wrote into X-Forwarded-For).
AXES_CLIENT_IP_CALLABLE = "images_app.throttling.login_client_ip"

# Served over HTTPS in production: set BERTH_HTTPS=1.
BERTH_HTTPS = env_bool("BERTH_HTTPS", False)
SESSION_COOKIE_SECURE = BERTH_HTTPS
CSRF_COOKIE_SECURE = BERTH_HTTPS
SECURE_SSL_REDIRECT = BERTH_HTTPS and env_bool("BERTH_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("BERTH_HSTS_SECONDS", 31536000 if BERTH_HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = BERTH_HTTPS
SECURE_HSTS_PRELOAD = BERTH_HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BERTH_BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("BERTH_TIME_ZONE", "UTC")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
# The container image collects static files at build time, outside the data volume (BERTH_STATIC_ROOT).
STATIC_ROOT = Path(env("BERTH_STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env_bool("BERTH_MANIFEST_STATIC", True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Without collectstatic (a local `make run`), WhiteNoise serves from the finders.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
# Pages link the hashed names only: collectstatic keeps no unhashed copy (half the static files, and a smaller image).
WHITENOISE_KEEP_ONLY_HASHED_FILES = True

# --- Berth -----------------------------------------------------------------
REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/0")
DOCKER_HOST = env("DOCKER_HOST", "unix:///var/run/docker.sock")
# TLS for tcp:// endpoints, as the docker CLI reads them: certificates in DOCKER_CERT_PATH
# (ca.pem, cert.pem, key.pem); DOCKER_TLS_VERIFY set to anything non-empty verifies the engine.
DOCKER_CERT_PATH = env("DOCKER_CERT_PATH")
DOCKER_TLS_VERIFY = env("DOCKER_TLS_VERIFY") != ""
# More endpoints: BERTH_ENVIRONMENTS="local=unix:///var/run/docker.sock,build=tcp://10.0.0.5:2376"
BERTH_ENVIRONMENTS = env("BERTH_ENVIRONMENTS", f"local={DOCKER_HOST}")
BERTH_DEFAULT_ENVIRONMENT = BERTH_ENVIRONMENTS.split(",")[0].split("=")[0].strip()
BERTH_SANDBOX = env_bool("BERTH_SANDBOX", False)
BERTH_READ_ONLY = env_bool("BERTH_READ_ONLY", False)
BERTH_ENGINE_TIMEOUT = env_int("BERTH_ENGINE_TIMEOUT", 30, minimum=1)
BERTH_ALLOW_SELF_APPROVAL = env_bool("BERTH_ALLOW_SELF_APPROVAL", False)
BERTH_REQUEST_EXPIRY_HOURS = env_int("BERTH_REQUEST_EXPIRY_HOURS", 72, minimum=1)
# Removals of at most this many items run inside the web request; longer ones go to a worker.
BERTH_REMOVAL_INLINE_MAX = env_int("BERTH_REMOVAL_INLINE_MAX", 5, minimum=0)
BERTH_PULL_STALE_SECONDS = env_int("BERTH_PULL_STALE_SECONDS", 90, minimum=2)
# A pull whose layers only wait on the engine's retries this long (registry gone mid-pull) is failed.
BERTH_PULL_STALL_SECONDS = env_int("BERTH_PULL_STALL_SECONDS", 45, minimum=1)
BERTH_SEARCH_CACHE_SECONDS = env_int("BERTH_SEARCH_CACHE_SECONDS", 300, minimum=0)
# Seconds a search may wait on the engine, which waits on the remote index.
BERTH_SEARCH_TIMEOUT = env_int("BERTH_SEARCH_TIMEOUT", 20, minimum=1)
# Seconds to wait for a registry's HTTP API (browsing catalogs and tags).
BERTH_REGISTRY_TIMEOUT = env_int("BERTH_REGISTRY_TIMEOUT", 15, minimum=1)
BERTH_AUDIT_RETENTION_DAYS = env_int("BERTH_AUDIT_RETENTION_DAYS", 365, minimum=1)
# Where `manage.py audit_retention` writes the archives of the events it drops.
BERTH_AUDIT_ARCHIVE_DIR = env("BERTH_AUDIT_ARCHIVE_DIR", str(DATA_DIR / "audit-archive"))
# The event-kept inventory (images_app.services.inventory): pages read it while its keeper is alive.
BERTH_INVENTORY = env_bool("BERTH_INVENTORY", True)
BERTH_INVENTORY_HEARTBEAT_SECONDS = env_int("BERTH_INVENTORY_HEARTBEAT_SECONDS", 1, minimum=1)
# A keeper silent this long is taken for dead: pages read the engine live.
BERTH_INVENTORY_STALE_SECONDS = env_int("BERTH_INVENTORY_STALE_SECONDS", 5, minimum=2)
# An event unapplied this long: pages say "as of" the last time the inventory was current.
BERTH_INVENTORY_AS_OF_SECONDS = env_int("BERTH_INVENTORY_AS_OF_SECONDS", 3, minimum=1)
# How long the keeper gathers a burst of events (docker run = create + start) into one read.
BERTH_INVENTORY_COALESCE_MS = env_int("BERTH_INVENTORY_COALESCE_MS", 50, minimum=0)
# The safety net: a full read this often even when events say nothing changed.
BERTH_INVENTORY_RECONCILE_SECONDS = env_int("BERTH_INVENTORY_RECONCILE_SECONDS", 300, minimum=10)
# Keep the heavy part of list pages per web process while their data is unchanged (images_app.kept_pages).
BERTH_KEPT_PAGES = env_bool("BERTH_KEPT_PAGES", True)
BERTH_PAGE_SIZE = env_int("BERTH_PAGE_SIZE", 50, minimum=5)
# Update checks (images_app.services.updates): how often each environment's tags are checked, in
# minutes ("name=minutes,..." overrides per environment), how many HEADs at once per registry, and
# how long one may take.
# How often beat looks for environments whose update check is due (the check runs only for those).
BERTH_UPDATE_CHECK_TICK_SECONDS = env_int("BERTH_UPDATE_CHECK_TICK_SECONDS", 60, minimum=0)
BERTH_UPDATE_CHECK_MINUTES = env_int("BERTH_UPDATE_CHECK_MINUTES", 360, minimum=1)
BERTH_UPDATE_CHECK_INTERVALS = env("BERTH_UPDATE_CHECK_INTERVALS")
BERTH_UPDATE_CHECK_CONCURRENCY = env_int("BERTH_UPDATE_CHECK_CONCURRENCY", 4, minimum=1)
BERTH_UPDATE_CHECK_TIMEOUT = env_int("BERTH_UPDATE_CHECK_TIMEOUT", 10, minimum=1)
# Notifications (images_app.services.notifications): attempts per delivery, the first retry's wait
# (doubling after), a receiver's timeout, and the address links in messages start with.
BERTH_NOTIFY_ATTEMPTS = env_int("BERTH_NOTIFY_ATTEMPTS", 5, minimum=1)
try:
    BERTH_NOTIFY_RETRY_SECONDS = float(env("BERTH_NOTIFY_RETRY_SECONDS", "30"))
except ValueError:
    raise ImproperlyConfigured("BERTH_NOTIFY_RETRY_SECONDS must be a number of seconds") from None
BERTH_NOTIFY_TIMEOUT = env_int("BERTH_NOTIFY_TIMEOUT", 10, minimum=1)
BERTH_PUBLIC_URL = env("BERTH_PUBLIC_URL").rstrip("/")
# Email goes through Django's mail settings, read from the environment under Django's own names.
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", str(DATA_DIR / "mail"))
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "berth@localhost")
# Key for secrets stored at rest (registry passwords); derived from SECRET_KEY when unset.
BERTH_SECRETS_KEY = env("BERTH_SECRETS_KEY")
# The engine watcher (manage.py berth_watcher): its lease, silence before a reconnect, history kept.
BERTH_WATCHER_LEASE_SECONDS = env_int("BERTH_WATCHER_LEASE_SECONDS", 15, minimum=2)
BERTH_WATCHER_IDLE_SECONDS = env_int("BERTH_WATCHER_IDLE_SECONDS", 60, minimum=1)
BERTH_WATCHER_BACKOFF_MAX_SECONDS = env_int("BERTH_WATCHER_BACKOFF_MAX_SECONDS", 30, minimum=1)
BERTH_WATCHER_HISTORY = env_int("BERTH_WATCHER_HISTORY", 20, minimum=1)

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "berth",
    },
    # Drawn page parts and whole pages (images_app.kept_pages), in each web process: 5-70 kB each,
    # so at most ~15 MB. Keys name the data they were drawn from: an old one is never asked again,
    # and goes when the store is full (least recently used first) or after TIMEOUT. Per process on
    # purpose: a kept part's age and CSRF marks carry a number of the process that drew them.
    "pages": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "berth-pages",
        "TIMEOUT": 600,
        "OPTIONS": {"MAX_ENTRIES": 200},
    },
}

# --- Celery ----------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# A killed worker must not lose the job: acknowledge only after the task ends,
# and give the message back when the worker process dies under it.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Redis redelivers unacknowledged messages after this; the stale-job sweep covers sooner.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("BERTH_VISIBILITY_TIMEOUT", 3600, minimum=10)}
# Publishing must fail fast when Redis is down so the user gets a 503 at once.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_ALWAYS_EAGER = False
# The queue Berth's jobs go to and its workers read: several Berths can share one Redis.
CELERY_TASK_DEFAULT_QUEUE = env("BERTH_QUEUE", "celery")

# --- Scheduled work (Celery beat; config/celery.py builds the schedule) ------
# Seconds between runs of each periodic task; 0 switches that task off.
BERTH_BEAT_SWEEP_SECONDS = env_int("BERTH_BEAT_SWEEP_SECONDS", 30, minimum=0)  # stale pulls and removal jobs
BERTH_BEAT_EXPIRE_SECONDS = env_int("BERTH_BEAT_EXPIRE_SECONDS", 300, minimum=0)  # overdue cleanup requests
BERTH_BEAT_RETENTION_SECONDS = env_int("BERTH_BEAT_RETENTION_SECONDS", 86400, minimum=0)  # audit retention
BERTH_BEAT_VERIFY_SECONDS = env_int("BERTH_BEAT_VERIFY_SECONDS", 86400, minimum=0)  # audit chain check
BERTH_BEAT_POLICIES_SECONDS = env_int("BERTH_BEAT_POLICIES_SECONDS", 60, minimum=0)  # retention policies due
# A running removal job that reported nothing this long lost its worker (it reports after every item;
# one `docker rmi` of a big image on slow disks can take minutes, so longer than the pulls' heartbeat).
BERTH_REMOVAL_STALE_SECONDS = env_int("BERTH_REMOVAL_STALE_SECONDS", 600, minimum=2)
# Beat's persistent schedule (last run of each task), in the data folder, so a restart does not rerun them all.
CELERY_BEAT_SCHEDULE_FILENAME = env("BERTH_BEAT_SCHEDULE_FILE", str(DATA_DIR / "celerybeat-schedule"))

# --- JSON API (images_app/api/) ------------------------------------------------
# Requests per token (or per logged-in user) in each window of BERTH_API_RATE_WINDOW seconds; 0: no limit.
BERTH_API_RATE_LIMIT = env_int("BERTH_API_RATE_LIMIT", 600, minimum=0)
BERTH_API_RATE_WINDOW = env_int("BERTH_API_RATE_WINDOW", 60, minimum=1)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "images_app.api.auth.TokenAuthentication",
        "images_app.api.auth.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["images_app.api.permissions.HasRole"],
    "DEFAULT_THROTTLE_CLASSES": ["images_app.api.throttling.TokenRateThrottle"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "images_app.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # The schema names path ids as the URLs do ({pk}), not DRF's default {id}.
    "SCHEMA_COERCE_PATH_PK": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Berth API",
    "DESCRIPTION": "Docker images of a team's hosts: list, pull, remove (with previews and approvals), "
    "search, registries and the audit history. Authenticate with `Authorization: Bearer <token>` "
    "(create tokens on the Tokens page).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["images_app.api.permissions.HasRole"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "SORT_OPERATIONS": False,
    # Self-hosted Swagger UI (no CDN: Berth runs offline and its CSP allows only 'self').
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "ImageStatusEnum": ["in_use", "unused", "dangling"],
        "ImageStatusFilterEnum": ["in_use", "unused", "dangling", "outdated"],
        "PullStatusEnum": "images_app.models.pulls.PullJob.Status",
        "RemovalJobStatusEnum": "images_app.models.cleanup.RemovalJob.Status",
        "RequestStatusEnum": "images_app.models.cleanup.CleanupRequest.Status",
        "AuditOutcomeEnum": "images_app.models.audit.AuditEvent.Outcome",
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("BERTH_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
