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
SESSION_COOKIE_AGE = env_int("BERTH_SESSION_SECONDS", 8 * 3600, minimum=60)
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
STATIC_ROOT = DATA_DIR / "static"
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
BERTH_PAGE_SIZE = env_int("BERTH_PAGE_SIZE", 50, minimum=5)
# Key for secrets stored at rest (registry passwords); derived from SECRET_KEY when unset.
BERTH_SECRETS_KEY = env("BERTH_SECRETS_KEY")

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "berth",
    }
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("BERTH_LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "axes": {"level": "WARNING"}},
}
