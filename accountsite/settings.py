"""Settings, read from the environment with defaults that run on one machine with no services."""

import base64
import hashlib
import string
import warnings
from datetime import timedelta
from pathlib import Path

import environ
from corsheaders.defaults import default_headers
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from accounts.oauth.keys import oidc_private_key
from accountsite import VERSION

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

# "development" runs with no configuration at all; "production" refuses to start without a real secret
# and turns on every transport-security setting that `check --deploy` asks for.
ENVIRONMENT = env.str("ACCOUNTSITE_ENV", default="development")
PRODUCTION = ENVIRONMENT == "production"
DEBUG = env.bool("DEBUG", default=False)

_DEV_SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or SECRET_KEY.startswith("django-insecure") or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("ACCOUNTSITE_ENV=production needs SECRET_KEY: at least 50 random characters.")

_LOCAL_HOSTS = ["localhost", "127.0.0.1", "[::1]", "testserver"]
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else _LOCAL_HOSTS)
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.apps.AccountsAdminConfig",  # the admin, signing in through the credential service
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "oauth2_provider",
    "accountsite.apps.PlatformConfig",
    "accounts",
    "quotas",
    "membership",
    "repos",
]

# Static files, cookie sessions, the browser's sign-in and messages run for browser pages only
# (accountsite.requests.BROWSER_PATHS): the API authenticates by token, and they cost it a fifth of a GET.
# CSRF stays everywhere (API views are exempt; `check --deploy` wants Django's own class).
# GET /auth/me is answered before this chain, with the headers it gave the first such reply
# (accountsite.fastpath.FastLanes): check a middleware added here against that (tests/accounts/test_fast_lane.py).
MIDDLEWARE = [
    # First, so every reply (a 413 included) carries the CORS headers, and a preflight is answered here,
    # before any authentication.
    "corsheaders.middleware.CorsMiddleware",
    "accountsite.requests.MethodKeepingRedirectMiddleware",  # the redirects below keep a POST a POST
    # Next, so that the refusals of the middleware below (411, 413, a control character) carry the security
    # headers and no cache keeps an API reply.
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "accountsite.requests.NoStoreMiddleware",
    "accountsite.requests.RequestLineMiddleware",  # before anything reads the path or the query
    "accountsite.requests.RepeatedParameterMiddleware",
    "accountsite.requests.BodySizeLimitMiddleware",
    "accountsite.audit.AuditIPMiddleware",  # audit rows written during a request carry its client's address
    "accountsite.requests.StaticFilesMiddleware",  # whitenoise
    "accountsite.requests.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.browser.BrowserSignInMiddleware",
    "accountsite.requests.MessageMiddleware",
]

ROOT_URLCONF = "accountsite.urls"
WSGI_APPLICATION = "accountsite.wsgi.application"
ASGI_APPLICATION = "accountsite.asgi.application"

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

# --- Data stores -------------------------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The user table's tier indexes include non-key columns for PostgreSQL's index-only scans (migration 0012);
# SQLite builds them with their key columns alone, which is all it can use, so its warning says nothing.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "accountsite.postgresql"  # Django's, reading datetimes in C (its base.py)
    # Persistent connections: a new PostgreSQL connection per request costs more than the request.
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=300)
    # Off, as Django has it: on, every request first spends a `SELECT 1` round trip (as much as the one
    # query of an authenticated GET) to spare the one request per worker that fails after a database restart.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
    # The statements every request runs (accountsite.db.prepared_cursor) are prepared on the server from their
    # fifth run on a connection. Turn it off behind a pooler in transaction mode that cannot keep them.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
else:
    # SQLite: transactions take the write lock when they begin and wait for it (instead of failing at
    # once with "database is locked" when two workers write); WAL lets readers run beside a writer.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="accountsite"),
            "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient"},
        }
    }
else:
    CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://accountsite")}
# Brute-force and abuse counters must be one count for every worker process and host: in the cache when it
# is shared and increments atomically (Redis, memcached), else in the database (accountsite.ratelimit),
# never in one process's memory.
_SHARED_ATOMIC_CACHES = {
    "django_redis.cache.RedisCache", "django.core.cache.backends.redis.RedisCache",
    "django.core.cache.backends.memcached.PyMemcacheCache", "django.core.cache.backends.memcached.PyLibMCCache",
}
ACCOUNTS_RATELIMIT_STORE = "cache" if CACHES["default"]["BACKEND"] in _SHARED_ATOMIC_CACHES else "database"

# --- Identity ------------------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["accounts.backends.LoginNameBackend"]

# Argon2id at the OWASP parameters first; the others only verify imported or older hashes, which
# Django re-hashes with the first hasher on the next successful login.
PASSWORD_HASHERS = [
    "accounts.hashers.OWASPArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "accounts.hashers.LegacyUnsaltedMD5PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
     "OPTIONS": {"user_attributes": ("username", "email", "nickname", "real_name")}},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

ACCESS_TOKEN_LIFETIME = timedelta(minutes=env.int("ACCESS_TOKEN_LIFETIME_MINUTES", default=15))
REFRESH_TOKEN_LIFETIME = timedelta(days=env.int("REFRESH_TOKEN_LIFETIME_DAYS", default=14))
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": ACCESS_TOKEN_LIFETIME,
    "REFRESH_TOKEN_LIFETIME": REFRESH_TOKEN_LIFETIME,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
    "USER_ID_CLAIM": "uid",
    "USER_ID_FIELD": "id",
    "AUTH_HEADER_TYPES": ("Bearer", "Token"),
    "UPDATE_LAST_LOGIN": False,
}

# Brute force and abuse limits, counted in the shared cache (Redis in production) with atomic increments.
ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT = env.int("ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT", default=10)
ACCOUNTS_LOGIN_FAILURES_PER_IP = env.int("ACCOUNTS_LOGIN_FAILURES_PER_IP", default=100)
ACCOUNTS_LOGIN_FAILURE_WINDOW = env.int("ACCOUNTS_LOGIN_FAILURE_WINDOW_SECONDS", default=15 * 60)
ACCOUNTS_REGISTRATIONS_PER_IP = env.int("ACCOUNTS_REGISTRATIONS_PER_IP", default=20)
ACCOUNTS_REGISTRATION_WINDOW = env.int("ACCOUNTS_REGISTRATION_WINDOW_SECONDS", default=60 * 60)
# How many reverse proxies in front of us append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
ACCOUNTS_TRUSTED_PROXIES = env.int("ACCOUNTS_TRUSTED_PROXIES", default=0)
# A session's last-seen time is written at most this often, so most requests stay read-only.
ACCOUNTS_SESSION_TOUCH_SECONDS = env.int("ACCOUNTS_SESSION_TOUCH_SECONDS", default=300)
ACCOUNTS_ACTIVATION_REQUIRED = env.bool("ACCOUNTS_ACTIVATION_REQUIRED", default=False)

# Browser apps on other origins that may call the API (e.g. https://app.example.com); none by default. They
# send tokens in the Authorization header, never cookies, so credentials stay off.
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_ALLOW_HEADERS = (*default_headers, "idempotency-key", "token")
CORS_EXPOSE_HEADERS = ["Retry-After", "WWW-Authenticate"]

# --- REST framework and OpenAPI --------------------------------------------------------------------------

REST_FRAMEWORK = {
    # text/json: seed 004's clients send and accept JSON under that type.
    "DEFAULT_RENDERER_CLASSES": ["accountsite.envelope.EnvelopeRenderer", "accountsite.envelope.LegacyJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "accountsite.envelope.JSONParser",
        "accountsite.envelope.LegacyJSONParser",
        "accountsite.requests.FormParser",
        "accountsite.requests.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.SessionTokenAuthentication",
        "accounts.oauth.authentication.OAuthTokenAuthentication",
    ],
    # Every view names the operation of each action; accountsite.policy decides who may do it.
    "DEFAULT_PERMISSION_CLASSES": ["accountsite.permissions.OperationPermission"],
    "DEFAULT_PAGINATION_CLASS": "accountsite.pagination.PagePagination",
    "DEFAULT_METADATA_CLASS": "accountsite.metadata.EndpointMetadata",
    "DEFAULT_SCHEMA_CLASS": "accountsite.schema.EnvelopeAutoSchema",
    "EXCEPTION_HANDLER": "accountsite.api.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "accountsite.envelope.ContentNegotiation",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": ACCOUNTS_TRUSTED_PROXIES,
    "PAGE_SIZE": 20,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "accountsite API",
    "DESCRIPTION": "Accounts and sessions, users, an OAuth2 / OpenID Connect provider, quotas, membership "
    "billing and repositories. Every reply is the envelope `{code, msg, data[, error]}`: `code` 0 is success, "
    "any other code is an error listed under each operation (all of them: docs/errors.md in the repository). "
    "Sign in with `POST /auth/login` and send `Authorization: Bearer <access>`.",
    "TAGS": [
        {"name": "auth", "description": "Sign-up, sign-in per terminal, tokens, sessions and one's own account"},
        {"name": "users", "description": "Users as records, e-mailed codes, passwords and operators' search"},
        {"name": "repos", "description": "Repositories, commits and pulls, paid from quotas"},
        {"name": "mfa", "description": "Second factors: the authenticator app, recovery codes and passkeys"},
        {"name": "quotas", "description": "Each account's limits and use: repositories, storage, daily pulls"},
        {"name": "membership", "description": "Tiers, prices, purchases, the wallet and its ledger"},
        {"name": "developer", "description": "A developer's OAuth applications"},
        {"name": "oauth", "description": "Seed 001's OAuth exchange (the standard flow is under /oauth/authorize/)"},
        {"name": "operations", "description": "The service itself: its links and health"},
    ],
    "VERSION": VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accountsite.schema.envelope_schema_hook",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Mail, time, static ---------------------------------------------------------------------------------

vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)  # an SMTP server that hangs fails the attempt, retried later
# Mail goes through the outbox (accountsite.outbox). In production `manage.py run_outbox` delivers it; in
# development each request delivers its own mail right after its commit, so runserver alone is enough.
OUTBOX_INLINE = env.bool("OUTBOX_INLINE", default=not PRODUCTION)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="accountsite <no-reply@accountsite.local>")



def _link_template(name: str, default: str, *fields: str) -> str:
    """A front-end link template from the environment, naming exactly the fields it is filled with. One naming
    another field (`{lang}`) or none failed on every mail it built: a 500 at sign-up, a reset mail retried
    for ever."""
    template = env.str(name, default=default)
    try:
        named = {field for _, field, _, _ in string.Formatter().parse(template) if field is not None}
    except ValueError:  # an unmatched brace
        named = None
    if named != set(fields):
        wanted = " and ".join(f"{{{field}}}" for field in fields)
        raise ImproperlyConfigured(f"{name} must name {wanted}, and nothing else in braces (a brace itself is "
                                   "written {{ or }}).")
    return template


# Links in account e-mails point at the front end; {loginname} and {sid} are filled in (URL-quoted).
ACCOUNTS_ACTIVATION_URL = _link_template(
    "ACCOUNTS_ACTIVATION_URL", "http://localhost:8000/activate?user={loginname}&sid={sid}", "loginname", "sid")
ACCOUNTS_RESET_URL = _link_template(
    "ACCOUNTS_RESET_URL", "http://localhost:8000/reset?user={loginname}&sid={sid}", "loginname", "sid")
ACCOUNTS_EMAIL_CHANGE_URL = _link_template(
    "ACCOUNTS_EMAIL_CHANGE_URL", "http://localhost:8000/email/verify?user={loginname}&sid={sid}", "loginname", "sid")
# Lifetimes of the e-mailed single-use secrets (a reset code lasts one hour).
ACCOUNTS_ACTIVATION_SECRET_HOURS = env.int("ACCOUNTS_ACTIVATION_SECRET_HOURS", default=72)
ACCOUNTS_RESET_SECRET_MINUTES = env.int("ACCOUNTS_RESET_SECRET_MINUTES", default=60)
ACCOUNTS_EMAIL_CHANGE_SECRET_HOURS = env.int("ACCOUNTS_EMAIL_CHANGE_SECRET_HOURS", default=24)
# How many secret-bearing e-mails (activation resend, password reset, e-mail change) one account name
# and one client IP may ask for per window: they cost a mail each and could flood an inbox.
ACCOUNTS_SECRET_MAILS_PER_ACCOUNT = env.int("ACCOUNTS_SECRET_MAILS_PER_ACCOUNT", default=5)
ACCOUNTS_SECRET_MAILS_PER_IP = env.int("ACCOUNTS_SECRET_MAILS_PER_IP", default=30)
ACCOUNTS_SECRET_MAIL_WINDOW = env.int("ACCOUNTS_SECRET_MAIL_WINDOW_SECONDS", default=60 * 60)


def _mfa_keys_listed() -> list[str]:
    return [key.strip() for key in env.list("MFA_ENCRYPTION_KEYS", default=[]) if key.strip()]


def _mfa_keys_given() -> list[str]:
    """The keys the environment names (MFA_ENCRYPTION_KEYS, else MFA_ENCRYPTION_KEY), blanks left out."""
    return _mfa_keys_listed() or [key for key in [env.str("MFA_ENCRYPTION_KEY", default="").strip()] if key]


def _mfa_keys() -> list[str]:
    """The keys, each checked: a bad one is named by its place in the list, never shown (logs keep this).
    Without any given, one derived from SECRET_KEY."""
    listed = _mfa_keys_listed()
    keys = _mfa_keys_given() or [base64.urlsafe_b64encode(
        hashlib.sha256(b"accountsite.mfa:" + SECRET_KEY.encode()).digest()).decode()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            entry = f"MFA_ENCRYPTION_KEYS entry {position} of {len(keys)}" if listed else "MFA_ENCRYPTION_KEY"
            raise ImproperlyConfigured(f"{entry} must be a Fernet key: 32 url-safe base64-encoded bytes.") from None
    return keys


# Second factors. TOTP secrets are encrypted and recovery-code hashes keyed with MFA_KEYS, Fernet keys
# (32 url-safe base64 bytes) newest first: the first encrypts and hashes, any of them reads, so a key is
# rotated by putting a new one first (docs/operations.md: Rotating the MFA key). MFA_ENCRYPTION_KEYS lists
# them (comma-separated); without it MFA_ENCRYPTION_KEY is the one key, by default derived from SECRET_KEY,
# so set one before ever rotating SECRET_KEY, or every enrolled authenticator app stops working.
MFA_KEYS = _mfa_keys()
MFA_KEYS_DERIVED = not _mfa_keys_given()  # check --deploy warns (accountsite.checks)
MFA_ISSUER = env.str("MFA_ISSUER", default="accountsite")  # the name authenticator apps show
# How long the mfa_token of a sign-in waiting for its second factor lives.
MFA_TOKEN_SECONDS = env.int("MFA_TOKEN_SECONDS", default=300)
# Staff without a second factor are sent to enrol one at their next back-office sign-in.
STAFF_MFA_REQUIRED = env.bool("STAFF_MFA_REQUIRED", default=False)
# Passkeys (WebAuthn): the relying party is this site's host name; browsers sign for one of these origins.
WEBAUTHN_RP_ID = env.str("WEBAUTHN_RP_ID", default="localhost")
WEBAUTHN_RP_NAME = env.str("WEBAUTHN_RP_NAME", default="accountsite")
WEBAUTHN_ORIGINS = env.list("WEBAUTHN_ORIGINS", default=["http://localhost:8000"])
# The security log (GET /auth/events) shows this many days; prune_security_events deletes older sign-ins.
ACCOUNTS_SECURITY_LOG_DAYS = env.int("ACCOUNTS_SECURITY_LOG_DAYS", default=90)
# An Idempotency-Key replays its first reply for this long; past it the key is gone (a request with it is a
# new one) and prune_idempotency_keys deletes its record. Stripe keeps keys 24 hours. At least an hour: with
# none, every retry of a purchase would charge again.
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
if IDEMPOTENCY_KEY_TTL_HOURS < 1:
    raise ImproperlyConfigured("IDEMPOTENCY_KEY_TTL_HOURS must be at least 1.")
# The new-device notice links here to end the session it names ({session} is filled in).
ACCOUNTS_SESSIONS_URL = _link_template(
    "ACCOUNTS_SESSIONS_URL", "http://localhost:8000/account/sessions?end={session}", "session")

# The back office (/admin/): its header and browser title, and how long the dashboard's counts are kept.
ADMIN_SITE_HEADER = env.str("ADMIN_SITE_HEADER", default="accountsite back office")
ADMIN_SITE_TITLE = env.str("ADMIN_SITE_TITLE", default="accountsite")
ADMIN_DASHBOARD_CACHE_SECONDS = env.int("ADMIN_DASHBOARD_CACHE_SECONDS", default=60)

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# gunicorn alone serves the Swagger UI assets of /docs/ (from the installed packages; no CDN, no web server,
# collectstatic optional).
WHITENOISE_USE_FINDERS = True
# ...so a missing STATIC_ROOT (no collectstatic run yet) is expected, not worth a warning at every start.
warnings.filterwarnings("ignore", message="No directory at: ", category=UserWarning)

# Requests larger than this are refused with 1013 before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"client_mistake": {"()": "accountsite.logfilters.ClientMistake"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "ERROR"}, "django.server": {"level": "WARNING"},
                # What a request alone sets off, and the envelope already answers (400, 413).
                **{f"django.security.{name}": {"filters": ["client_mistake"]} for name in (
                    "DisallowedHost", "TooManyFieldsSent", "TooManyFilesSent", "RequestDataTooBig",
                    "SuspiciousMultipartForm")}},
}

# --- Production transport security ----------------------------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Load balancers probe the health check over plain HTTP; a redirect would read as "down".
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# --- OAuth2 / OpenID Connect provider (django-oauth-toolkit) ---------------------------------------------

OAUTH2_PROVIDER = {
    # RFC 9700 (OAuth 2.0 Security BCP): no implicit or password grant, S256 PKCE only, tokens only in
    # headers, `iss` in authorization responses, hashed token storage, refresh-token replay detection.
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": PRODUCTION,
    # Plain http callbacks only outside production (local development and the browser tests).
    "ALLOWED_REDIRECT_URI_SCHEMES": env.list(
        "OAUTH2_REDIRECT_URI_SCHEMES", default=["https"] if PRODUCTION else ["http", "https"]
    ),
    "PKCE_REQUIRED": True,
    # Our validator (accounts/oauth/validators.py): claims per scope, and which clients and users may sign in.
    "OAUTH2_VALIDATOR_CLASS": "accounts.oauth.validators.AccountsOAuth2Validator",
    "OIDC_ENABLED": True,
    # The issuer every ID token, discovery document and authorization reply names. Empty: taken from the
    # request's Host (one of ALLOWED_HOSTS), which is right only while the service answers to one name.
    "OIDC_ISS_ENDPOINT": env.str("OIDC_ISSUER", default="").rstrip("/"),
    "OIDC_RSA_PRIVATE_KEY": oidc_private_key(
        from_env=env.str("OIDC_RSA_PRIVATE_KEY", default=""), production=PRODUCTION,
        dev_file=BASE_DIR / "var" / "oidc.key",
    ),
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    # What the token endpoint accepts (accounts.oauth.endpoints.TokenView) and the metadata advertises.
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    # "none": public clients (native and single-page apps) send only their client_id, and PKCE.
    "OAUTH2_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    "OIDC_TOKEN_ENDPOINT_AUTH_METHODS_SUPPORTED": ["client_secret_basic", "client_secret_post", "none"],
    # Shown on the consent page, so they are written for the person being asked.
    "SCOPES": {
        "openid": "Confirm who you are (your account id)",
        "profile": "See your login name, nickname and public profile",
        "email": "See your e-mail address",
        "read": "Read your account data on your behalf",
        "write": "Change your account data on your behalf",
    },
    "DEFAULT_SCOPES": ["openid"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_ACCESS_TOKEN_EXPIRE_SECONDS", default=60 * 60),
    "ID_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_ID_TOKEN_EXPIRE_SECONDS", default=60 * 60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env.int("OAUTH2_REFRESH_TOKEN_EXPIRE_SECONDS", default=14 * 24 * 60 * 60),
    # The consent page is shown every time, unless the app asks for no page (prompt=none, or DOT's
    # approval_prompt=auto) and a live grant of the user already covers the scopes (accounts.oauth.consent).
    "REQUEST_APPROVAL_PROMPT": "force",
}
# Named so a foreign key to DOT's application (accounts.OAuthCode) can be migrated; the model is DOT's own.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
# The sign-in page of the OAuth consent flow (a Django session, separate from the API's tokens).
LOGIN_URL = "oauth-login"
