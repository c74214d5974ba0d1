"""Fixtures shared by every test: role clients, a clean cache, fast hashing, and envelope helpers."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts import services
from tests.factories import PASSWORD, AdminFactory, UserFactory

# Argon2id costs ~20 ms a hash; tests that are not about hashing use a fast hasher first in the list.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS + list(settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def password():
    return PASSWORD


def client_for(user, terminal: str = "default") -> APIClient:
    """An API client signed in as `user` through a real session on `terminal`."""
    _session, pair = services.session_start(user=user, terminal=terminal, ip="127.0.0.1", user_agent="pytest")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access}")
    client.user, client.tokens = user, pair
    return client


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other(db):
    return UserFactory(username="bob")


@pytest.fixture
def admin_user(db):
    return AdminFactory(username="root")


@pytest.fixture
def anon_client():
    return APIClient()


@pytest.fixture
def user_client(user):
    return client_for(user)


@pytest.fixture
def other_client(other):
    return client_for(other)


@pytest.fixture
def admin_client(admin_user):
    return client_for(admin_user)


def envelope(response, code: int = 0, status: int | None = None):
    """Asserts the reply is the contract's envelope with `code` (and `status`) and returns its body."""
    body = response.json()
    assert body["code"] == code, body
    assert "msg" in body and "data" in body, body
    if status is not None:
        assert response.status_code == status, (response.status_code, body)
    if code == 0:
        assert response.status_code in (200, 201), (response.status_code, body)
    else:
        assert response.status_code >= 400 and body["data"] is None, body
    return body
