"""Sonae settings: everything that differs between machines comes from the environment.

Local defaults work out of the box (DESIGN decision 7); README.md lists every variable.
"""

import datetime as dt
from pathlib import Path
from urllib.parse import unquote, urlparse, urlsplit

from csp.constants import NONCE, NONE, SELF
from django.conf.locale import LANG_INFO
from django.core.exceptions import ImproperlyConfigured

from disaster.core import languages
from disaster.core.env import env, env_bool, env_list, is_loopback_url

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set the SECRET_KEY environment variable to a long random "
            "string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or set DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 (debug only)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "disaster.apps.DisasterConfig",
    "shelters",
    "stockpile",
    "alerts",
    "maps",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "leaflet",
    "ninja",  # serves /api/docs' Swagger UI from our own static files, never a CDN
    "csp",
    "channels",
    "procrastinate.contrib.django",
    "axes",
]

MIDDLEWARE = [
    "disaster.core.limits.BodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "disaster.core.languages.StaffLanguageMiddleware",
    "disaster.core.audit.AuditViaMiddleware",
    "disaster.core.idempotency.IdempotencyMiddleware",
    "disaster.api.MethodNotAllowedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "disaster.urls"
ASGI_APPLICATION = "disaster.asgi.application"
AUTH_USER_MODEL = "disaster.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

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
                # CSP_NONCE: the nonce of django-leaflet's map set-up (`leaflet_map … csp_nonce=`)
                "csp.context_processors.nonce",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    """postgres://user:password@host:port/name → a Django DATABASES entry (PostGIS)."""
    parts = urlparse(url)
    if parts.scheme not in {"postgres", "postgresql", "postgis"}:
        raise ImproperlyConfigured(f"DATABASE_URL must be a postgres:// URL, not {parts.scheme}://")
    return {
        "ENGINE": "django.contrib.gis.db.backends.postgis",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": parts.port or "",
        "CONN_MAX_AGE": env("DB_CONN_MAX_AGE", default=0, cast=int),
        "CONN_HEALTH_CHECKS": True,
    }


DATABASES = {
    "default": database_from_url(
        env("DATABASE_URL", default="postgres://sonae:sonae@127.0.0.1:5432/sonae")
    )
}
# A pool of connections per process (psycopg_pool), for serving: a new PostgreSQL connection
# costs a process fork and a cold catalogue cache, several times the work of a stock
# movement. Django pools only with CONN_MAX_AGE = 0. A web process has a thread per pooled
# connection, so a request that waits for one finds the database away: after
# DB_POOL_TIMEOUT_S it is answered 503 (disaster/core/errors.py) and frees its thread for the
# next, rather than every thread waiting out a restart together.
DB_POOL_SIZE = env("DB_POOL_SIZE", default=0, cast=int)
DB_POOL_TIMEOUT_S = env("DB_POOL_TIMEOUT_S", default=3.0, cast=float)
if DB_POOL_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {"min_size": 1, "max_size": DB_POOL_SIZE, "timeout": DB_POOL_TIMEOUT_S}
    }
# Threads serving HTTP in each web process (disaster/asgi.py). With a pool, one per pooled
# connection: more only queue for a connection, and the queue cost a stock movement's
# throughput 30 % (bench/stock_api.py: 16 threads 183 requests/s, 4 threads 259).
HTTP_THREADS = env("HTTP_THREADS", default=DB_POOL_SIZE or 8, cast=int)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            # Pub/sub: each process subscribes once and hands an event to its sockets in
            # memory. The list-based RedisChannelLayer popped each socket's copy from Redis
            # one round trip at a time: ~0.3 ms per socket per event, most of the push
            # latency to 200 operations screens (bench/push_latency.py).
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # No read timeout on the subscription: redis-py 8's default 5 s would end an
                # idle one; and any read timeout routes commands through asyncio.wait_for,
                # which on 3.11 can swallow a closing consumer's cancel.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": None,
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        # redis-py 8 caps a pool at 100 connections and then fails; a burst
                        # of WebSocket handshakes each takes one for group_add (200 at once
                        # answered 500 in bench/push_latency.py).
                        "max_connections": env("REDIS_MAX_CONNECTIONS", default=1000, cast=int),
                    }
                ],
                "prefix": env("CHANNEL_PREFIX", default="sonae"),
            },
        }
    }
else:
    # One process only: fine for a laptop, not for several ASGI processes.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# The operations room's live channel (disaster/core/consumers.py): how often an open socket
# checks that its token or session still belongs to staff, and how often it joins its group
# again (0: a quarter of the channel layer's group_expiry, after which the in-memory layer
# silently drops a member; the Redis pub/sub layer drops none).
LIVE_AUTH_RECHECK_S = env("LIVE_AUTH_RECHECK_S", default=30.0, cast=float)
LIVE_GROUP_REFRESH_S = env("LIVE_GROUP_REFRESH_S", default=0.0, cast=float)

# Staff and admin logins (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one
# user name from one client, that pair is locked out for LOGIN_LOCKOUT_MINUTES (another
# address, or another user from this one, may still log in); a success starts the count
# afresh. The client is the one rate limits see (TRUSTED_PROXIES).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = env("LOGIN_FAILURE_LIMIT", default=5, cast=int)
LOGIN_LOCKOUT_MINUTES = env("LOGIN_LOCKOUT_MINUTES", default=15, cast=int)
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "disaster.core.clients.request_client"
AXES_LOCKOUT_CALLABLE = "disaster.views.login_locked_out"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# Japanese first; staff pages in Japanese and English, the residents' pages and bots in
# every language residents choose (disaster/core/languages.py); times in Asia/Tokyo.
LANGUAGE_CODE = "ja"
LANGUAGES = languages.RESIDENT
STAFF_LANGUAGES = languages.STAFF
LANG_INFO.update(languages.LANG_INFO)
LOCALE_PATHS = [BASE_DIR / "disaster" / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_MANIFEST = env_bool("STATIC_MANIFEST", default=False)
# Without a manifest, WhiteNoise serves straight from the apps' static folders.
STATIC_ROOT = BASE_DIR / "staticfiles" if STATIC_MANIFEST else None
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(BASE_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if STATIC_MANIFEST
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST

# Security: strict unless debugging on a laptop.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env("SECURE_HSTS_SECONDS", default=31536000, cast=int)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=False)
    if env_bool("BEHIND_TLS_PROXY", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")


def _shared_data_dir() -> Path:
    """The real open data written by others (../shared/data beside the checkout)."""
    candidates = [parent / "shared" / "data" for parent in BASE_DIR.parents]
    candidates.append(Path("/work/shared/data"))  # where CI's clean clone may live apart
    return next((c for c in candidates if c.is_dir()), candidates[0])


SHARED_DATA_DIR = Path(env("SHARED_DATA_DIR", default=str(_shared_data_dir())))

# The municipality this instance serves (used to reject reports far outside it).
CITY_NAME = env("CITY_NAME", default="座間市")
# The city's name in messages and pages not in Japanese (empty: romanised from CITY_NAME).
CITY_NAME_EN = env("CITY_NAME_EN", default="Zama City")
CITY_CODE = env("CITY_CODE", default="142166")

# JMA 防災情報XML (disaster/warnings): the Atom feeds polled (empty: none), each at most once
# per JMA_POLL_INTERVAL_S (JMA refreshes its high-frequency feeds every minute and asks
# clients to use If-Modified-Since), only entries from JMA_OFFICES (empty: every office).
# Which telegrams concern the city: its municipality codes (気象・地震・火山情報／市町村等,
# from CITY_CODE), its earthquake region (地震情報／細分区域) and forecast regions (一次・二次
# 細分区域, for 記録的短時間大雨情報), and the designated rivers (指定河川) it names. Earthquakes
# and 記録的短時間大雨情報 stay on the panels for JMA_REPORT_SHOWN_HOURS after they arrive.
_JMA_CITY_DEFAULTS = {  # 座間市: 神奈川県東部 for earthquakes, 西部・県央 for forecasts
    "142166": {"quake": ["360"], "regions": ["140020", "140022"], "rivers": ["相模川"]},
}
_jma_city = _JMA_CITY_DEFAULTS.get(CITY_CODE, {"quake": [], "regions": [], "rivers": []})
JMA_FEED_URLS = env_list(
    "JMA_FEED_URLS",
    default=[
        "https://www.data.jma.go.jp/developer/xml/feed/extra.xml",
        "https://www.data.jma.go.jp/developer/xml/feed/eqvol.xml",
    ],
)
JMA_POLL_INTERVAL_S = env("JMA_POLL_INTERVAL_S", default=60.0, cast=float)
JMA_HTTP_TIMEOUT_S = env("JMA_HTTP_TIMEOUT_S", default=10.0, cast=float)
JMA_FETCH_THREADS = env("JMA_FETCH_THREADS", default=4, cast=int)  # new entries fetched at once
JMA_OFFICES = env_list("JMA_OFFICES", default=[])
JMA_AREA_CODES = env_list("JMA_AREA_CODES", default=[CITY_CODE[:5] + "00"])
JMA_QUAKE_REGION_CODES = env_list("JMA_QUAKE_REGION_CODES", default=_jma_city["quake"])
JMA_REGION_CODES = env_list("JMA_REGION_CODES", default=_jma_city["regions"])
JMA_RIVERS = env_list("JMA_RIVERS", default=_jma_city["rivers"])
JMA_REPORT_SHOWN_HOURS = env("JMA_REPORT_SHOWN_HOURS", default=6.0, cast=float)

# Where residents reach this instance: links in SMS and LINE messages, the CAP feed, and
# the URL Twilio signs its callbacks with.
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")

# Damage reports: photos up to this size; reports of the same category within this
# distance and time are proposed as duplicates; the public form takes this many reports per
# client per hour. Without a city boundary loaded, points must lie in CITY_BBOX
# (west,south,east,north).
# One limit for the server and the public form's promise (a phone's photo is often 5–10 MB).
REPORT_PHOTO_MAX_BYTES = env("REPORT_PHOTO_MAX_BYTES", default=10_000_000, cast=int)
REPORT_DUPLICATE_METRES = env("REPORT_DUPLICATE_METRES", default=150, cast=int)
REPORT_DUPLICATE_MINUTES = env("REPORT_DUPLICATE_MINUTES", default=120, cast=int)
REPORT_PUBLIC_PER_HOUR = env("REPORT_PUBLIC_PER_HOUR", default=10, cast=int)
# Attempts, refused ones included (a broken photo is still work to open).
REPORT_PUBLIC_ATTEMPTS_PER_HOUR = env("REPORT_PUBLIC_ATTEMPTS_PER_HOUR", default=30, cast=int)
CITY_BBOX = [
    float(v) for v in env_list("CITY_BBOX", default=["139.33", "35.44", "139.46", "35.53"])
]
# The proxies whose X-Forwarded-For is believed (comma-separated addresses or CIDR networks,
# e.g. the load balancer's): the client is the right-most address there that is not one of
# them. Empty: the peer's own address is the client, whatever the header says.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", default=[])
# Request bodies: a count sheet and an open-data file may be this large; any other request
# that carries no file, DATA_UPLOAD_MAX_MEMORY_SIZE (Django's 2.5 MB). Larger → 413, unread.
SHEET_MAX_BYTES = env("SHEET_MAX_BYTES", default=5 * 1024 * 1024, cast=int)
OPENDATA_MAX_BYTES = env("OPENDATA_MAX_BYTES", default=10 * 1024 * 1024, cast=int)
# An alert's drawn area must lie within the city, or at most this far outside its boundary
# (a line drawn along the boundary by hand strays a little); CAP carries only the city part.
ALERT_AREA_BUFFER_M = env("ALERT_AREA_BUFFER_M", default=500, cast=int)
# The public map's occupancy band: 混雑 (crowded) from this % of capacity, 満員 at 100 %.
MAP_CROWDED_PERCENT = env("MAP_CROWDED_PERCENT", default=80, cast=int)
# Whether the city publishes exact head-counts, as 七尾市 did after the 2024 Noto earthquake:
# then the public API and the open shelter-status file carry them; otherwise the band only.
PUBLISH_HEADCOUNTS = env_bool("PUBLISH_HEADCOUNTS", default=False)
# The most the files of one /admin/setup-city/ upload may weigh together.
CITY_SETUP_MAX_BYTES = env("CITY_SETUP_MAX_BYTES", default=60 * 1024 * 1024, cast=int)

# Providers (unset → console transport; DESIGN decision 5).
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM_NUMBER = env("TWILIO_FROM_NUMBER", default="")
TWILIO_BASE_URL = env("TWILIO_BASE_URL", default="")
LINE_CHANNEL_SECRET = env("LINE_CHANNEL_SECRET", default="")
LINE_CHANNEL_ACCESS_TOKEN = env("LINE_CHANNEL_ACCESS_TOKEN", default="")
LINE_API_BASE_URL = env("LINE_API_BASE_URL", default="")
# LINE serves message content (residents' photos) from its own host, api-data.line.me.
LINE_DATA_BASE_URL = env("LINE_DATA_BASE_URL", default="")
# A channel without credentials is delivered to the console: nothing is sent, and the API
# and the pages say so. A laptop (DEBUG) does that by default; production only when told to
# by name, and otherwise refuses to start without every credential and a PUBLIC_BASE_URL
# residents can reach: an alert "sent" to nobody, or with links to the sender's own
# machine, must not look like a working system.
ALERTS_CONSOLE_DELIVERY = env_bool("ALERTS_CONSOLE_DELIVERY", default=DEBUG)
if not DEBUG and not ALERTS_CONSOLE_DELIVERY:
    _needed = {
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": TWILIO_FROM_NUMBER,
        "LINE_CHANNEL_ACCESS_TOKEN": LINE_CHANNEL_ACCESS_TOKEN,
        "LINE_CHANNEL_SECRET": LINE_CHANNEL_SECRET,
    }
    _missing = [name for name, value in _needed.items() if not value]
    if is_loopback_url(PUBLIC_BASE_URL):
        _missing.append(f"PUBLIC_BASE_URL (is {PUBLIC_BASE_URL}, this machine)")
    if _missing:
        raise ImproperlyConfigured(
            "Alerts would reach nobody with DEBUG off: missing " + ", ".join(_missing) + ". "
            "Set them, or set ALERTS_CONSOLE_DELIVERY=1 to deliver to the console on purpose "
            "(nothing is sent)."
        )

# Residents' messages to the LINE bot and by SMS (alerts/subscriptions.py): pieces of one damage
# report are put together within this many minutes; a sender gets this many answers a
# minute (beyond, one polite refusal, then silence); a shelter's map link in replies.
RESIDENT_PIECES_MINUTES = env("RESIDENT_PIECES_MINUTES", default=10, cast=int)
RESIDENT_MESSAGES_PER_MINUTE = env("RESIDENT_MESSAGES_PER_MINUTE", default=20, cast=int)
# SMS sign-up (alerts/residents/subscriptions.py): codes go to numbers of these country codes
# only (comma-separated; the city's own, +81, by default); a client may ask this many times
# an hour, a number gets this many codes a day, and all numbers together this many an hour.
SMS_ALLOWED_COUNTRY_CODES = env_list("SMS_ALLOWED_COUNTRY_CODES", default=["+81"])
SMS_CODES_PER_CLIENT_PER_HOUR = env("SMS_CODES_PER_CLIENT_PER_HOUR", default=5, cast=int)
SMS_CODES_PER_NUMBER_PER_DAY = env("SMS_CODES_PER_NUMBER_PER_DAY", default=5, cast=int)
SMS_CODES_PER_HOUR = env("SMS_CODES_PER_HOUR", default=300, cast=int)
# A safety check (安否確認) takes answers for this long after its alert went out: a word
# texted weeks later answers nothing.
SAFETY_ANSWER_HOURS = env("SAFETY_ANSWER_HOURS", default=72, cast=int)
SHELTER_MAP_LINK = env(
    "SHELTER_MAP_LINK", default="https://maps.gsi.go.jp/#17/{latitude:.6f}/{longitude:.6f}/"
)
# Alert fan-out (alerts/fanout.py, alerts/transports/base.py).
ALERTS_SEND_ATTEMPTS = env("ALERTS_SEND_ATTEMPTS", default=6, cast=int)  # per request, per run
ALERTS_RETRY_BASE_S = env("ALERTS_RETRY_BASE_S", default=0.5, cast=float)
ALERTS_RETRY_MAX_S = env("ALERTS_RETRY_MAX_S", default=30.0, cast=float)
ALERTS_HTTP_TIMEOUT_S = env("ALERTS_HTTP_TIMEOUT_S", default=10.0, cast=float)
ALERTS_SEND_THREADS = env("ALERTS_SEND_THREADS", default=8, cast=int)
# Twilio has no bulk send: single sends from this many processes (one GIL each)...
ALERTS_SEND_PROCESSES = env("ALERTS_SEND_PROCESSES", default=2, cast=int)
# ...with this many requests in flight in all (shared out between them). Twilio limits an
# account's concurrent API requests and answers 429 (error 20429) above its limit.
ALERTS_SMS_CONCURRENCY = env("ALERTS_SMS_CONCURRENCY", default=64, cast=int)
ALERTS_PROGRESS_INTERVAL_S = env("ALERTS_PROGRESS_INTERVAL_S", default=2.0, cast=float)
# A 429's Retry-After is honoured up to this many seconds (a provider asking for more
# would hold a sending thread, and the alert, for longer than its message stays useful).
# A fan-out job that ends unfinished (a provider down, a worker killed) runs again after
# 2, 4, 8 … seconds, never more than ALERTS_JOB_RETRY_MAX_S apart, until every delivery is
# settled; deliveries still queued when the alert expires are settled as undeliverable,
# which ends the retries of any alert within its validity.
ALERTS_JOB_RETRY_MAX_S = env("ALERTS_JOB_RETRY_MAX_S", default=30, cast=int)
ALERTS_JOB_ATTEMPTS = env("ALERTS_JOB_ATTEMPTS", default=1000, cast=int)
ALERTS_RETRY_AFTER_MAX_S = env("ALERTS_RETRY_AFTER_MAX_S", default=120.0, cast=float)
# Twilio drops an SMS it could not hand over within this (its ValidityPeriod), so a queued
# level-4 order never arrives late; 15 minutes.
ALERTS_SMS_VALIDITY_S = env("ALERTS_SMS_VALIDITY_S", default=900, cast=int)
# An alert's SMS may be a concatenated message of at most this many segments (153 GSM-7 or
# 67 UCS-2 units each; one alone holds 160 / 70). Three carry level, action, area, link and
# the shelter in every language's script (Nepali and Vietnamese are UCS-2), while every
# segment is billed and counts against Twilio's per-second sending rate.
ALERTS_SMS_MAX_SEGMENTS = env("ALERTS_SMS_MAX_SEGMENTS", default=3, cast=int)
# Deliveries claimed per provider request: a LINE multicast takes up to this many user ids
# (never more than LINE's 500); each SMS thread claims this many single sends at a time
# (few enough that a worker killed mid-claim leaves little to resume).
ALERTS_SEND_LINE_BATCH = env("ALERTS_SEND_LINE_BATCH", default=500, cast=int)
ALERTS_SEND_CLAIM = env("ALERTS_SEND_CLAIM", default=50, cast=int)
# LINE's documented rate limit for multicast is 200 requests per second per channel
# (developers.line.biz/en/reference/messaging-api/#rate-limits; pushes have 2,000): the
# fan-out paces its LINE requests to this, shared by the threads of each sending process.
ALERTS_LINE_MAX_RPS = env("ALERTS_LINE_MAX_RPS", default=200.0, cast=float)

# Background jobs run through Procrastinate on the same PostgreSQL.
PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "jobs"  # each app's jobs.py
# Workers (disaster/core/workers.py, `manage.py run_worker`): a worker beats every
# WORKER_HEARTBEAT_S, also while a job of its runs through a database error or a shutdown;
# one silent for WORKER_STALLED_AFTER_S is dead, and every worker looks for the jobs of
# dead ones every WORKER_RECOVERY_INTERVAL_S and retries them. Workers poll for jobs each
# second instead of LISTENing: a LISTEN connection that cannot reconnect while PostgreSQL
# restarts stops Procrastinate's worker.
WORKER_HEARTBEAT_S = env("WORKER_HEARTBEAT_S", default=5.0, cast=float)
WORKER_STALLED_AFTER_S = env("WORKER_STALLED_AFTER_S", default=30.0, cast=float)
WORKER_RECOVERY_INTERVAL_S = env("WORKER_RECOVERY_INTERVAL_S", default=10.0, cast=float)
PROCRASTINATE_WORKER_DEFAULTS = {
    "listen_notify": False,
    "fetch_job_polling_interval": 1.0,
    "update_heartbeat_interval": WORKER_HEARTBEAT_S,
    "stalled_worker_timeout": WORKER_STALLED_AFTER_S,
}
PROCRASTINATE_ON_APP_READY = "disaster.core.workers.on_app_ready"
EVENT_LOG_RETENTION_DAYS = env("EVENT_LOG_RETENTION_DAYS", default=30, cast=int)
IDEMPOTENCY_RETENTION_DAYS = env("IDEMPOTENCY_RETENTION_DAYS", default=7, cast=int)

# Stockpile: a shortage is fewer days of supply than this (national guidance: stock for
# three days); long-stay ratios (toilets 1 per 20 instead of 1 per 50) after this many days
# of an incident; lots expiring within USE_FIRST days are handed out first, within
# ROTATION days offered for drills and rolling stock (ローリングストック).
STOCK_SHORTAGE_DAYS = env("STOCK_SHORTAGE_DAYS", default=3.0, cast=float)
STOCK_LONG_TERM_AFTER_DAYS = env("STOCK_LONG_TERM_AFTER_DAYS", default=7, cast=int)
STOCK_USE_FIRST_DAYS = env("STOCK_USE_FIRST_DAYS", default=30, cast=int)
STOCK_ROTATION_DAYS = env("STOCK_ROTATION_DAYS", default=90, cast=int)

# Head-counts carry the time they were observed (the tablet's clock at entry). One further
# ahead of ours than the skew is refused, and so is one older than the shelter's opening or
# than HEADCOUNT_MAX_AGE_DAYS (a slip of the date, not a paper record of the first night).
HEADCOUNT_CLOCK_SKEW_S = env("HEADCOUNT_CLOCK_SKEW_S", default=300, cast=int)
HEADCOUNT_MAX_AGE_DAYS = env("HEADCOUNT_MAX_AGE_DAYS", default=30, cast=int)

MAP_TILES_URL = env(
    "MAP_TILES_URL", default="https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png"
)
LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (35.4887, 139.4074),
    "DEFAULT_ZOOM": 13,
    "TILES": [
        (
            "地理院タイル",
            MAP_TILES_URL,
            {
                "attribution": '<a href="https://maps.gsi.go.jp/development/ichiran.html">'
                "地理院タイル</a>",
                "maxZoom": 18,
            },
        )
    ],
    "RESET_VIEW": False,
}

# Content-Security-Policy (django-csp): scripts only from our own files, plus the inline
# scripts that carry the response's nonce (django-leaflet's map set-up); pictures from us and
# the map tiles' host; no frames, plugins or foreign forms. CSP_REPORT_ONLY=1 only reports.
_tiles = urlsplit(MAP_TILES_URL)
_csp = {
    "default-src": [SELF],
    "script-src": [SELF, NONCE],
    "style-src": [SELF],
    "img-src": [SELF, "data:", "blob:", f"{_tiles.scheme}://{_tiles.netloc}"],
    "connect-src": [SELF],
    "font-src": [SELF],
    "object-src": [NONE],
    "base-uri": [SELF],
    "form-action": [SELF],
    "frame-ancestors": [NONE],
    "worker-src": [SELF],
    "manifest-src": [SELF],
}
if env_bool("CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": _csp}
else:
    CONTENT_SECURITY_POLICY = {"DIRECTIVES": _csp}
# Permissions-Policy (django-permissions-policy): the maps ask for the phone's position;
# nothing here uses the camera (the report form's file picker does not need it), the
# microphone, payments or sensors.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    "geolocation": ["self"],
    "fullscreen": ["self"],
    "camera": [],
    "microphone": [],
    "payment": [],
    "usb": [],
    "accelerometer": [],
    "gyroscope": [],
    "magnetometer": [],
}

# Debian 12 ships GDAL 3.6; Sonae never opens untrusted raster or vector files with GDAL.
SILENCED_SYSTEM_CHECKS = ["gis.W001"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes tells every login at INFO; lockouts are warnings.
        "axes": {"level": "WARNING"},
        "procrastinate": {"level": env("PROCRASTINATE_LOG_LEVEL", default="WARNING")},
    },
}
