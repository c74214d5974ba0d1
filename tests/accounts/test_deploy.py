"""Production configuration: `check --deploy` is clean, and production refuses to start without a secret."""

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


def test_check_deploy_passes_in_production():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", ACCOUNTSITE_ENV="production",
                     SECRET_KEY=secrets.token_urlsafe(48)[:64], ALLOWED_HOSTS="a.example.com")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_secret_key():
    result = _manage("check", ACCOUNTSITE_ENV="production", ALLOWED_HOSTS="a.example.com")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SECRET_KEY" in result.stderr


def test_production_refuses_a_short_or_development_secret_key():
    for weak in ("short-secret", "django-insecure-" + "x" * 60):
        result = _manage("check", ACCOUNTSITE_ENV="production", ALLOWED_HOSTS="a.example.com", SECRET_KEY=weak)
        assert result.returncode != 0 and "SECRET_KEY" in result.stderr, weak


def test_development_runs_with_no_configuration():
    result = _manage("check")
    assert result.returncode == 0, result.stdout + result.stderr
