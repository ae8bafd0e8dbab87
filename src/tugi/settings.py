"""Django settings for Tugi.

Everything that differs between the embedded default (one machine, SQLite, Huey on SQLite) and a
scaled-out installation (PostgreSQL, Huey on Redis) is read from the environment, so only
configuration changes between the two.
"""

import os
import secrets
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent
# Where the embedded default keeps its files (database, queue, secret key, uploads).
DATA_DIR = Path(os.environ.get("TUGI_DATA_DIR", Path.cwd() / "var")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _secret_key() -> str:
    """The secret key from the environment, or one generated once and kept in the data folder."""
    if key := os.environ.get("TUGI_SECRET_KEY"):
        return key
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = _env_bool("TUGI_DEBUG")
ALLOWED_HOSTS = os.environ.get("TUGI_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("TUGI_CSRF_TRUSTED_ORIGINS", "").split(",") if o]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_filters",
    "django_htmx",
    "huey.contrib.djhuey",
    "tugi.core",
    "tugi.people",
    "tugi.access",
    "tugi.desk",
    "tugi.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tugi.core.middleware.LanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tugi.core.middleware.RequestContextMiddleware",
]

ROOT_URLCONF = "tugi.urls"
WSGI_APPLICATION = "tugi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tugi.core.context_processors.navigation",
            ],
        },
    },
]

# The embedded default is SQLite in WAL mode; DATABASE_URL selects PostgreSQL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{DATA_DIR / 'tugi.sqlite3'}", conn_max_age=60
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A worker keeps its connection for a minute, as on PostgreSQL. Opening one per request
    # cost 5–9 ms a request (Django's connection set-up, the PRAGMAs, parsing the schema, and a
    # WAL checkpoint whenever the closing connection was the last one). Keeping it is safe: an
    # idle connection holds no transaction, so it takes no lock and pins no WAL snapshot (writers
    # and checkpoints go on), connections are per thread, a schema change is noticed by SQLite
    # itself, and a connection that saw an error is still closed at the end of its request.
    DATABASES["default"]["CONN_MAX_AGE"] = 60
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE: a writing transaction takes the write lock at BEGIN, so two writers queue
        # instead of failing with "database is locked" halfway through (and the audit chain stays
        # serialised).
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
            " PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": os.environ.get("TUGI_TEST_SQLITE") or None}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Permissions come from the role table in code (one query per request; see core/backends.py).
AUTHENTICATION_BACKENDS = ["tugi.core.backends.RoleBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = _env_bool("TUGI_SECURE_COOKIES")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_AGE = 8 * 3600  # one working day

# Estonian first; English as the alternative.
LANGUAGE_CODE = "et"
LANGUAGES = [("et", "Eesti"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["tugi.formats"]
TIME_ZONE = "Europe/Tallinn"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"

# Background work: Huey on SQLite by default, in its own file so queue writes never contend with
# application writes; TUGI_HUEY_REDIS_URL moves it to Redis.
TASK_LOCKS = [
    "tugi-lifecycle-reconcile",
    "tugi-access-compliance",
    "tugi-access-grant-end-notices",
    "tugi-substitution-proposals",
    "tugi-substitution-notices",
    "tugi-substitution-reconcile",
    "tugi-desk-mail-poll",
]
HUEY = {
    "name": "tugi",
    "immediate": _env_bool("TUGI_HUEY_IMMEDIATE"),
    # A worker killed while holding a task lock would leave it held for ever (Huey's SQLite
    # storage has no lock expiry): the consumer clears these at start. Every task that takes one
    # is idempotent, so an overlap after a restart is harmless. tests/core/test_task_locks.py
    # checks that the list names every lock in the source. max_delay: an idle worker looks for
    # work at least every second (Huey's default backs off to 10 s), so a change due now is
    # applied within a second or two.
    "consumer": {
        "workers": 2,
        "worker_type": "thread",
        "extra_locks": ",".join(TASK_LOCKS),
        "max_delay": 1.0,
    },
}
if redis_url := os.environ.get("TUGI_HUEY_REDIS_URL"):
    HUEY.update({"huey_class": "huey.RedisHuey", "url": redis_url})
else:
    HUEY.update(
        {"huey_class": "tugi.core.queue.TugiSqliteHuey", "filename": str(DATA_DIR / "huey.sqlite3")}
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tugi.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "tugi.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "tugi.api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tugi API",
    "DESCRIPTION": "REST API of Tugi, the application-support and access-administration desk.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
}

# Mail out (SMTP) and in (IMAP). Without TUGI_IMAP_HOST the mailbox is not polled.
EMAIL_HOST = os.environ.get("TUGI_SMTP_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("TUGI_SMTP_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("TUGI_SMTP_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("TUGI_SMTP_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("TUGI_SMTP_STARTTLS")
EMAIL_USE_SSL = _env_bool("TUGI_SMTP_SSL")
EMAIL_TIMEOUT = 30
if os.environ.get("TUGI_SMTP_HOST") is None:
    # No mail server configured (the embedded demo): mail goes to the log, not to the world.
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
TUGI_MAIL_FROM = os.environ.get("TUGI_MAIL_FROM", "Tugi <tugi@localhost>")
# The right-hand side of Tugi's Message-IDs (default: the domain of TUGI_MAIL_FROM).
TUGI_MAIL_DOMAIN = os.environ.get("TUGI_MAIL_DOMAIN", "")
# Where mailed links point: the address staff open Tugi at.
TUGI_BASE_URL = os.environ.get("TUGI_BASE_URL", "http://127.0.0.1:8000")
# The desk's own mailbox for its notices (empty: every user who works the desk's queues).
TUGI_DESK_EMAIL = os.environ.get("TUGI_DESK_EMAIL", "")
TUGI_IMAP_HOST = os.environ.get("TUGI_IMAP_HOST", "")
TUGI_IMAP_PORT = int(os.environ.get("TUGI_IMAP_PORT", "993"))
TUGI_IMAP_USER = os.environ.get("TUGI_IMAP_USER", "")
TUGI_IMAP_PASSWORD = os.environ.get("TUGI_IMAP_PASSWORD", "")
TUGI_IMAP_FOLDER = os.environ.get("TUGI_IMAP_FOLDER", "INBOX")
TUGI_IMAP_SSL = _env_bool("TUGI_IMAP_SSL", True)

# HR imports: a stalled apply is resumed after this many minutes without progress; previews
# nobody applied are discarded (their file deleted) after this many days.
TUGI_IMPORT_STALE_MINUTES = int(os.environ.get("TUGI_IMPORT_STALE_MINUTES", "10"))
TUGI_IMPORT_PREVIEW_DAYS = int(os.environ.get("TUGI_IMPORT_PREVIEW_DAYS", "7"))

# The lifecycle engine's policies (docs/operations.md, "Lifecycle policies").
# A joiner's roles justified by the job description: "grant" directly, or "request" (filed for
# approval like any other application).
TUGI_JOINER_POLICY = os.environ.get("TUGI_JOINER_POLICY", "grant")
# A mover keeps the roles the new position no longer justifies this many days.
TUGI_MOVER_GRACE_DAYS = int(os.environ.get("TUGI_MOVER_GRACE_DAYS", "14"))
# A leaver's accounts are suspended when the last day ends and closed this many days later.
TUGI_LEAVER_CLOSE_AFTER_DAYS = int(os.environ.get("TUGI_LEAVER_CLOSE_AFTER_DAYS", "30"))
# A change still pending this many minutes after it was due is reported to the desk.
TUGI_CHANGE_OVERDUE_MINUTES = int(os.environ.get("TUGI_CHANGE_OVERDUE_MINUTES", "5"))
# How far ahead the people concerned are told: a substitution starts, a time-limited grant ends.
TUGI_SUBSTITUTION_NOTICE_DAYS = int(os.environ.get("TUGI_SUBSTITUTION_NOTICE_DAYS", "2"))
TUGI_GRANT_END_NOTICE_DAYS = int(os.environ.get("TUGI_GRANT_END_NOTICE_DAYS", "14"))
# Substitutions are proposed from the vacation schedule for absences starting this many days ahead
# (unplanned leave needs 14 days' notice).
TUGI_SUBSTITUTION_PROPOSE_DAYS = int(os.environ.get("TUGI_SUBSTITUTION_PROPOSE_DAYS", "14"))
# Who may order a substitution: any of "manager" (the absent person's manager), "unit_head" (head
# of their unit or of a unit above it), "hr" (users with access.order_any_substitution).
TUGI_SUBSTITUTION_AUTHORITY = tuple(
    os.environ.get("TUGI_SUBSTITUTION_AUTHORITY", "manager,unit_head,hr").split(",")
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("TUGI_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
