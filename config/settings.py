"""The one settings module. Every value that differs between machines comes from the environment."""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set unless DEBUG=1.")
    SECRET_KEY = "insecure-development-key-only-used-with-DEBUG-on-0123456789abcdef"

# The public base URL of this server: metadata, `iss`, and assertion audiences are built from it.
OAUTH_ISSUER = env.str("OAUTH_ISSUER", default="http://127.0.0.1:8000").rstrip("/")
_issuer = urlsplit(OAUTH_ISSUER)
if _issuer.scheme not in ("http", "https") or not _issuer.netloc:
    raise ImproperlyConfigured("OAUTH_ISSUER must be an absolute http(s) URL, e.g. https://auth.example.com")
ISSUER_IS_HTTPS = _issuer.scheme == "https"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", _issuer.hostname])

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
    "oauth_server",  # before oauth2_provider: its cleartokens command replaces DOT's
    "oauth2_provider",
    "accounts",
    "resources",
    "saml_bridge",
    "audit",
    "axes",
    "ops",
]

MIDDLEWARE = [
    "ops.middleware.OpsMiddleware",
    "config.middleware.TrustedProxyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "config.middleware.HtmlSecurityHeadersMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes requires
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# A new PostgreSQL connection costs ~7 ms of CPU: keep connections open between requests.
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=300))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Health checks ping only connections idle for this long (config/postgresql/base.py).
DATABASE_HEALTH_CHECK_IDLE_SECONDS = env.float("DATABASE_HEALTH_CHECK_IDLE_SECONDS", default=1.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "config.postgresql"
    # Server-side parameters and prepared statements (psycopg prepares a query on its
    # PREPARE_THRESHOLD-th run on a connection): the hot lookups are parsed and planned once per
    # connection instead of on every request. Behind PgBouncer in transaction mode set 0, unless it is
    # 1.21 or newer with max_prepared_statements > 0.
    _prepare_threshold = env.int("DATABASE_PREPARE_THRESHOLD", default=5)
    if _prepare_threshold > 0:
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            {"server_side_binding": True, "prepare_threshold": _prepare_threshold}
        )

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# WhiteNoise serves the admin's and the API docs' static files from the apps themselves, so gunicorn
# needs no separate file server and no collectstatic step.
WHITENOISE_USE_FINDERS = True
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Transport security follows the scheme of OAUTH_ISSUER, not DEBUG -----------------------
# TLS usually ends at a proxy: X-Forwarded-Proto is honoured only from TRUSTED_PROXIES.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
if TRUSTED_PROXIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = ISSUER_IS_HTTPS
CSRF_COOKIE_SECURE = ISSUER_IS_HTTPS
SECURE_SSL_REDIRECT = ISSUER_IS_HTTPS
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000) if ISSUER_IS_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=ISSUER_IS_HTTPS)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=ISSUER_IS_HTTPS)
# "same-origin", not "no-referrer": browsers send `Origin: null` with no-referrer, which fails CSRF checks.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[f"{_issuer.scheme}://{_issuer.netloc}"])

# --- OAuth 2.0: django-oauth-toolkit configured for RFC 9700 ----------------------------------
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth_server.Client"

ACCESS_TOKEN_EXPIRE_SECONDS = env.int("ACCESS_TOKEN_EXPIRE_SECONDS", default=3600)
REFRESH_TOKEN_EXPIRE_SECONDS = env.int("REFRESH_TOKEN_EXPIRE_SECONDS", default=30 * 24 * 3600)

OAUTH2_PROVIDER = {
    "OAUTH2_SERVER_CLASS": "oauth_server.server.Server",
    "OAUTH2_VALIDATOR_CLASS": "oauth_server.request_validator.RequestValidator",
    "OAUTH2_BACKEND_CLASS": "oauth_server.backends.OAuthLibCore",
    "SCOPES_BACKEND_CLASS": "oauth_server.scopes.DatabaseScopes",
    "APPLICATION_ADMIN_CLASS": "oauth_server.admin.ClientAdmin",
    "SCOPES": {},  # the registry lives in the database (oauth_server.Scope)
    "ACCESS_TOKEN_EXPIRE_SECONDS": ACCESS_TOKEN_EXPIRE_SECONDS,
    "REFRESH_TOKEN_EXPIRE_SECONDS": REFRESH_TOKEN_EXPIRE_SECONDS,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    "OIDC_ISS_ENDPOINT": OAUTH_ISSUER,
    # Plain-http callbacks only where the server itself runs on http (development, loopback tests).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "ALLOWED_REDIRECT_URI_SCHEMES", default=["https"] if ISSUER_IS_HTTPS else ["http", "https"]
    ),
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    # Implicit and password stay available, but only to clients explicitly allowed them.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": False,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": False,
}

# Implicit and password are refused to every client not explicitly allowed them (the validator asks
# the client, not DOT's global gates), so DOT's warnings that they are "enabled" do not apply.
SILENCED_SYSTEM_CHECKS = ["oauth2_provider.W001", "oauth2_provider.W002"]

# Client secrets are 256-bit random strings: a keyed fast hash is the right tool, not PBKDF2.
# Changing this key invalidates every stored client secret.
CLIENT_SECRET_HASH_KEY = env.str("CLIENT_SECRET_HASH_KEY", default="")

# Where `seed_demo` writes the demo clients' ids and secrets for the sample applications.
DEMO_CLIENTS_FILE = env.path("DEMO_CLIENTS_FILE", default=BASE_DIR / ".demo-clients.json")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
}

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # DOT logs request details at DEBUG; its warnings (RFC 9700 gates) stay visible.
        "oauth2_provider": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        # pysaml2 and its schema library chatter at INFO; xmlsec1's own complaints stay at WARNING.
        "xmlschema": {"level": "WARNING"},
        "saml2": {"level": "WARNING"},
    },
}

# --- Resource server and gateway (resources/) ---------------------------------------------------
# Every DRF view is a protected API: bearer token from the Authorization header, scopes declared per view.
REST_FRAMEWORK |= {
    "DEFAULT_AUTHENTICATION_CLASSES": ["resources.authentication.BearerTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["resources.permissions.HasRequiredScopes"],
    "EXCEPTION_HANDLER": "resources.exceptions.api_exception_handler",
    # JSON only: DRF's browsable HTML API would need a session login, and these APIs take bearer tokens.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "resources.negotiation.SingleRendererNegotiation",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Protected APIs",
    "DESCRIPTION": "The resource server's APIs, the token information service and the gateway routes. "
                   "Every call carries an OAuth 2.0 access token in the Authorization header.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files are served by us (drf-spectacular-sidecar), not fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SERVE_AUTHENTICATION": [],
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "resources.schema.add_bearer_errors_and_other_endpoints",
    ],
}
# The gateway refuses request bodies over this many bytes with 413 (default 10 MiB).
GATEWAY_MAX_BODY_BYTES = env.int("GATEWAY_MAX_BODY_BYTES", default=10 * 1024 * 1024)
# Seconds a new gateway route waits for its upstream unless it says otherwise.
GATEWAY_DEFAULT_TIMEOUT = env.float("GATEWAY_DEFAULT_TIMEOUT", default=30.0)
# httpx logs every upstream call with its URL at INFO: the gateway's own warnings are enough.
LOGGING["loggers"]["httpx"] = {"level": "WARNING"}

# --- SAML bridge (saml_bridge/) ------------------------------------------------------------------
# Our SAML entity ID, which IdPs put in the Audience. Empty: OAUTH_ISSUER (read at use, so it follows it).
SAML_ENTITY_ID = env.str("SAML_ENTITY_ID", default="")
# Allowed clock difference with IdPs when checking NotBefore / NotOnOrAfter (RFC 7522 §3 rule 6).
SAML_CLOCK_SKEW_SECONDS = env.int("SAML_CLOCK_SKEW_SECONDS", default=60)
# Assertions larger than this are refused before any XML parsing.
SAML_MAX_ASSERTION_BYTES = env.int("SAML_MAX_ASSERTION_BYTES", default=64 * 1024)
# Path of xmlsec1, which pysaml2 runs to check signatures. Empty: found on PATH (checked at startup).
XMLSEC_BINARY = env.str("XMLSEC_BINARY", default="")

# --- JWT (oauth_server: RFC 7523, RFC 9068) ---------------------------------------------------------
# Client assertions (JWT-bearer grant, private_key_jwt): refused before parsing above this size.
JWT_ASSERTION_MAX_BYTES = env.int("JWT_ASSERTION_MAX_BYTES", default=8 * 1024)
# An assertion's iat may be at most this old (RFC 7523 §3 rule 6).
JWT_ASSERTION_MAX_AGE_SECONDS = env.int("JWT_ASSERTION_MAX_AGE_SECONDS", default=300)
# An assertion's exp may be at most this far ahead; also bounds how long a used jti is kept.
JWT_ASSERTION_MAX_LIFETIME_SECONDS = env.int("JWT_ASSERTION_MAX_LIFETIME_SECONDS", default=3600)
# Allowed clock difference with clients for exp, nbf and iat.
JWT_CLOCK_SKEW_SECONDS = env.int("JWT_CLOCK_SKEW_SECONDS", default=60)
# Fetching a client's jwks_uri: timeout (seconds), largest response read, cache lifetime, and how
# often an unknown kid may trigger a refetch (per client).
JWKS_FETCH_TIMEOUT = env.float("JWKS_FETCH_TIMEOUT", default=5.0)
JWKS_FETCH_MAX_BYTES = env.int("JWKS_FETCH_MAX_BYTES", default=64 * 1024)
JWKS_CACHE_SECONDS = env.int("JWKS_CACHE_SECONDS", default=300)
JWKS_REFETCH_INTERVAL_SECONDS = env.int("JWKS_REFETCH_INTERVAL_SECONDS", default=30)
# Our own JWKS (/.well-known/jwks.json): how long resource servers may cache it.
JWKS_MAX_AGE_SECONDS = env.int("JWKS_MAX_AGE_SECONDS", default=300)
# JWT access tokens (RFC 9068): the "aud" claim. Empty: OAUTH_ISSUER (read at use).
JWT_ACCESS_TOKEN_AUDIENCE = env.str("JWT_ACCESS_TOKEN_AUDIENCE", default="")
# Algorithm of new signing keys (manage.py rotatekeys --algorithm overrides): RS256 or ES256.
JWT_SIGNING_ALGORITHM = env.str("JWT_SIGNING_ALGORITHM", default="RS256")
# Encrypts the signing keys' private halves in the database. Empty: derived from SECRET_KEY (then
# SECRET_KEY_FALLBACKS still decrypt keys stored before a SECRET_KEY change).
SIGNING_KEY_ENCRYPTION_KEY = env.str("SIGNING_KEY_ENCRYPTION_KEY", default="")

# --- Operations (ops/) ------------------------------------------------------------------------------
# /metrics answers callers presenting `Authorization: Bearer <METRICS_TOKEN>` (empty: no token accepted),
# and callers connecting straight from these addresses/CIDRs (never through a proxy: a request carrying
# X-Forwarded-For/Forwarded, or coming from TRUSTED_PROXIES, needs the token). Everyone else: 404.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=["127.0.0.1", "::1"])
# Several gunicorn workers: PROMETHEUS_MULTIPROC_DIR (read by prometheus-client from the environment)
# must name an empty, writable directory; ops/gunicorn_hooks.py empties it when gunicorn starts.
# A Redis that stops answering must not hang requests and probes: bounded connect and socket timeouts.
if REDIS_URL:
    _redis_options = CACHES["default"].setdefault("OPTIONS", {})
    _redis_options.setdefault("socket_connect_timeout", env.float("REDIS_CONNECT_TIMEOUT", default=2.0))
    _redis_options.setdefault("socket_timeout", env.float("REDIS_SOCKET_TIMEOUT", default=2.0))

# --- Abuse resistance and audit (axes, rate limits, audit/) ----------------------------------------
# Login lockout (django-axes): AXES_FAILURE_LIMIT failed sign-ins for one username (from any address),
# or LOGIN_FAILURE_LIMIT_PER_IP from one address (for any usernames), within the cool-off time lock that
# username or address out for the cool-off time. Covers the login page, the admin's login and the
# password grant. Unlock in admin (Axes > Access attempts: delete the attempt) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`.
from datetime import timedelta  # noqa: E402
import re  # noqa: E402

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first, as django-axes requires
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_IP = env.int("LOGIN_FAILURE_LIMIT_PER_IP", default=20)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
AXES_COOLOFF_TIME = timedelta(minutes=LOGIN_LOCKOUT_MINUTES)
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # either one reaching its limit locks out
AXES_HANDLER = "accounts.lockout.LockoutHandler"  # the per-IP limit of its own (LOGIN_FAILURE_LIMIT_PER_IP)
AXES_CLIENT_IP_CALLABLE = "config.middleware.client_ip"  # X-Forwarded-For only from TRUSTED_PROXIES
AXES_LOCKOUT_CALLABLE = "accounts.views.lockout_response"  # the login page's "try again in N minutes"
# Attempts during a lockout do not extend it, so "try again in N minutes" holds; a success does not reset
# the count either (it would let a guesser reset an address's count by signing in to an account of theirs).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = False
AXES_DISABLE_ACCESS_LOG = True  # successful sign-ins are in the audit trail
LOGGING["loggers"]["axes"] = {"level": "WARNING"}  # its INFO lines repeat the audit trail's
# axes stores the attempt's GET/POST data: mask everything secret the token endpoint may carry.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "password", "client_secret", "client_assertion",
                             "assertion", "code", "code_verifier", "refresh_token", "token", "csrfmiddlewaretoken"]
LOGIN_REDIRECT_URL = "connected-apps"  # signing in without a `next` shows the user's connected apps

# Rate limits of the token, revocation and introspection endpoints, per client and per client IP
# (oauth_server/rate_limits.py): "COUNT/UNIT" with UNIT s, m, h or d, optionally a multiple ("100/10s");
# 0 or empty turns a limit off. Counted in the cache: Redis when REDIS_URL is set, shared by every process
# and machine (without it each process counts for itself). Over a limit: 429 slow_down with Retry-After.
def _rate_limit(name, default):
    value = env.str(name, default=default).strip().lower()
    if value in ("", "0"):
        return None
    match = re.fullmatch(r"(\d+)/(\d*)([smhd])", value)
    if not match or int(match[1]) == 0 or match[2] == "0":
        raise ImproperlyConfigured(f'{name} must look like "600/m" or "100/10s" (0 or empty: no limit), not {value!r}')
    return value


RATE_LIMITS = {
    "token": {"client": _rate_limit("RATE_LIMIT_TOKEN_PER_CLIENT", "600/m"),
              "ip": _rate_limit("RATE_LIMIT_TOKEN_PER_IP", "1200/m")},
    "revoke": {"client": _rate_limit("RATE_LIMIT_REVOKE_PER_CLIENT", "600/m"),
               "ip": _rate_limit("RATE_LIMIT_REVOKE_PER_IP", "1200/m")},
    # Resource servers may introspect every call they receive: more room.
    "introspect": {"client": _rate_limit("RATE_LIMIT_INTROSPECT_PER_CLIENT", "3000/m"),
                   "ip": _rate_limit("RATE_LIMIT_INTROSPECT_PER_IP", "6000/m")},
}

# The audit trail (audit/): rows in the database (admin > Audit trail) and one JSON object per line on
# the "audit" logger: stderr, or AUDIT_LOG_FILE when set (reopened when rotated away).
AUDIT_LOG_FILE = env.str("AUDIT_LOG_FILE", default="")
# `manage.py clearaudit` deletes the database's audit events older than this (the log lines are the log's).
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
LOGGING["formatters"]["audit_json"] = {"format": "%(message)s"}
LOGGING["handlers"]["audit"] = (
    {"class": "logging.handlers.WatchedFileHandler", "filename": AUDIT_LOG_FILE, "formatter": "audit_json"}
    if AUDIT_LOG_FILE else {"class": "logging.StreamHandler", "formatter": "audit_json"}
)
LOGGING["loggers"]["audit"] = {"handlers": ["audit"], "level": "INFO", "propagate": False}
