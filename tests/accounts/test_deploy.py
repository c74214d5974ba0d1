"""Production configuration: `check --deploy` is clean, and production refuses to start without a secret."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {key: value for key, value in os.environ.items()
            if key not in ("SECRET_KEY", "JWT_SIGNING_KEY", "ALLOWED_HOSTS", "DEBUG", "ACCOUNTSITE_ENV")}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120, check=False)


def _throwaway_rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


PRODUCTION_MAIL = {
    "EMAIL_URL": "smtp+tls://user:password@mail.example.com:587",
    "ACCOUNTS_ACTIVATION_URL": "https://app.example.com/activate?user={loginname}&sid={sid}",
    "ACCOUNTS_RESET_URL": "https://app.example.com/reset?user={loginname}&sid={sid}",
    "ACCOUNTS_EMAIL_CHANGE_URL": "https://app.example.com/email/verify?user={loginname}&sid={sid}",
    "ACCOUNTS_SESSIONS_URL": "https://app.example.com/account/sessions?end={session}",
    "MFA_ENCRYPTION_KEYS": "z6OEZ0JYwwxM6YwGb_X3QlJK1HNHHSOWbxB5eWGVDsA=",
}


def _check_deploy(**env: str) -> subprocess.CompletedProcess:
    return _manage("check", "--deploy", "--fail-level", "WARNING", ACCOUNTSITE_ENV="production",
                   SECRET_KEY=secrets.token_urlsafe(48)[:64], ALLOWED_HOSTS="a.example.com",
                   OIDC_RSA_PRIVATE_KEY=_throwaway_rsa_key(), **env)


def test_check_deploy_passes_in_production():
    result = _check_deploy(**PRODUCTION_MAIL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_development_mail_settings_in_production():
    """Left at their defaults, production mail went to the console (codes in the log) and linked to
    http://localhost:8000."""
    result = _check_deploy(**{**PRODUCTION_MAIL, "EMAIL_URL": "consolemail://",
                              "ACCOUNTS_RESET_URL": "http://localhost:8000/reset?user={loginname}&sid={sid}"})
    assert result.returncode != 0
    assert "accountsite.W001" in result.stderr and "ACCOUNTS_RESET_URL is not an https link" in result.stderr
    assert "ACCOUNTS_ACTIVATION_URL" not in result.stderr


def test_check_deploy_flags_an_mfa_key_derived_from_the_secret_key():
    """Without MFA_ENCRYPTION_KEYS the key is derived from SECRET_KEY: the README's start-up once made a new
    SECRET_KEY in every shell, and each restart left enrolled apps and queued mail unreadable, unflagged."""
    mail = {name: value for name, value in PRODUCTION_MAIL.items() if name != "MFA_ENCRYPTION_KEYS"}
    for blank in ("", ",", " , "):
        result = _check_deploy(**mail, MFA_ENCRYPTION_KEYS=blank, MFA_ENCRYPTION_KEY="")
        assert result.returncode != 0 and "accountsite.W003" in result.stderr, (blank, result.stderr)


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", ACCOUNTSITE_ENV="production", ALLOWED_HOSTS="a.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_or_development_secret_key():
    for weak in ("short-secret", "django-insecure-" + "x" * 60):
        result = _manage("check", ACCOUNTSITE_ENV="production", ALLOWED_HOSTS="a.example.com", SECRET_KEY=weak)
        assert result.returncode != 0 and "SECRET_KEY" in result.stderr, weak


def test_a_malformed_mfa_encryption_key_refuses_to_start():
    result = _manage("check", MFA_ENCRYPTION_KEY="not-a-fernet-key")
    assert result.returncode != 0 and "MFA_ENCRYPTION_KEY" in result.stderr


def test_a_link_template_naming_another_field_refuses_to_start():
    """Filled in for every mail, a template naming a field it is not given failed each one (a 500 at sign-up)."""
    for template in ("https://app.example/#/activate/{loginname}?sid={sid}&lang={lang}",
                     "https://app.example/activate?sid={sid}", "https://app.example/a?u={loginname}&s={sid"):
        result = _manage("check", ACCOUNTS_ACTIVATION_URL=template)
        assert result.returncode != 0 and "ACCOUNTS_ACTIVATION_URL must name {loginname} and {sid}" in result.stderr
    assert _manage("check", ACCOUNTS_SESSIONS_URL="https://app.example/s?end={session}&x={{y}}").returncode == 0


def test_development_runs_with_no_configuration():
    result = _manage("check")
    assert result.returncode == 0, result.stdout + result.stderr


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"], "cache": s.CACHES["default"]["BACKEND"],
    "access_minutes": s.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() / 60,
    "refresh_days": s.SIMPLE_JWT["REFRESH_TOKEN_LIFETIME"].days,
    "activation": s.ACCOUNTS_ACTIVATION_REQUIRED, "debug": s.DEBUG,
    "per_account": s.ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT, "per_ip": s.ACCOUNTS_LOGIN_FAILURES_PER_IP,
    "registrations": s.ACCOUNTS_REGISTRATIONS_PER_IP,
}))
"""


def _settings_with(**env: str) -> dict:
    base = {key: value for key, value in os.environ.items()
            if key not in ("DATABASE_URL", "REDIS_URL", "CACHE_URL", "DEBUG", "ACCOUNTSITE_ENV")}
    result = subprocess.run([sys.executable, "-c", PRINT_SETTINGS], cwd=REPO_ROOT, capture_output=True, text=True,
                            timeout=120, check=False,
                            env={**base, "DJANGO_SETTINGS_MODULE": "accountsite.settings", **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_defaults_need_no_services():
    values = _settings_with()
    assert values == {
        "engine": "django.db.backends.sqlite3", "cache": "django.core.cache.backends.locmem.LocMemCache",
        "access_minutes": 15, "refresh_days": 14, "activation": False, "debug": False,
        "per_account": 10, "per_ip": 100, "registrations": 20,
    }


def test_configuration_from_the_environment():
    values = _settings_with(
        DATABASE_URL="postgres://u:p@db.example:5432/site", REDIS_URL="redis://cache.example:6379/3",
        ACCESS_TOKEN_LIFETIME_MINUTES="5", REFRESH_TOKEN_LIFETIME_DAYS="2", ACCOUNTS_ACTIVATION_REQUIRED="true",
        ACCOUNTS_LOGIN_FAILURES_PER_ACCOUNT="4", ACCOUNTS_LOGIN_FAILURES_PER_IP="40",
        ACCOUNTS_REGISTRATIONS_PER_IP="3",
    )
    assert values == {
        "engine": "accountsite.postgresql", "cache": "django_redis.cache.RedisCache",
        "access_minutes": 5, "refresh_days": 2, "activation": True, "debug": False,
        "per_account": 4, "per_ip": 40, "registrations": 3,
    }


PROBE_HTTP = """
import django
django.setup()
from django.test import Client
client = Client()
health, slashed, api = client.get("/healthz"), client.get("/healthz/"), client.get("/auth/me")
login = client.post("/auth/login?next=1", {"loginName": "a"}, content_type="application/json")
print(health.status_code, slashed.status_code, api.status_code, api.get("Location"), login.status_code,
      login.get("Location"))
"""


def test_production_redirects_to_https_except_the_health_check_and_keeps_a_post_a_post():
    # The probe needs a database that answers, not this run's: an in-memory SQLite one.
    base = {key: value for key, value in os.environ.items()
            if key not in ("DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "CACHE_URL")}
    result = subprocess.run(
        [sys.executable, "-c", PROBE_HTTP], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={**base, "DATABASE_URL": "sqlite://:memory:", "DJANGO_SETTINGS_MODULE": "accountsite.settings",
             "ACCOUNTSITE_ENV": "production",
             "SECRET_KEY": secrets.token_urlsafe(48), "ALLOWED_HOSTS": "testserver",
             "OIDC_RSA_PRIVATE_KEY": _throwaway_rsa_key()},
    )
    assert result.returncode == 0, result.stderr
    # A POST is sent on with 308, which keeps its method and body (a 301 is followed with a GET).
    # /healthz/ too: every path works with and without its slash, and a probe over HTTP took a 301 for "down".
    assert result.stdout.split() == ["200", "200", "301", "https://testserver/auth/me",
                                     "308", "https://testserver/auth/login?next=1"], result.stdout


def test_every_setting_read_from_the_environment_is_in_the_readme_table():
    import re

    source = (REPO_ROOT / "accountsite" / "settings.py").read_text()
    read = set(re.findall(r'\benv(?:\.\w+)?\(\s*"([A-Z][A-Z0-9_]*)"', source))
    table = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)`", (REPO_ROOT / "README.md").read_text(), re.MULTILINE))
    table |= set(re.findall(r"^\| `[A-Z0-9_]+` / `([A-Z][A-Z0-9_]*)`", (REPO_ROOT / "README.md").read_text(),
                            re.MULTILINE))
    assert len(read) > 30
    assert read - table == set(), "settings the README's Configuration table does not list"
