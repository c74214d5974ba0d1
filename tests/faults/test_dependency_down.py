"""A database or cache that does not answer gives the envelope 1001 with 503, inside DRF and outside it, and
sign-in fails closed (issue 11). In-process, with the failure injected; tests/faults/test_processes.py
does it to real servers."""

import pytest
import redis
from django.db import InterfaceError, OperationalError, ProgrammingError
from rest_framework.test import APIClient

from accounts import selectors
from accounts.models import Session
from accountsite import errors
from tests.conftest import client_for, envelope
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _broken(*args, **kwargs):
    raise InterfaceError("connection already closed")


@pytest.mark.parametrize("failure", [InterfaceError("connection already closed"),
                                     OperationalError("database is locked")])
def test_a_database_that_does_not_answer_is_503_in_the_envelope(monkeypatch, user, failure):
    def broken(*args, **kwargs):
        raise failure

    monkeypatch.setattr(selectors, "user_for_login", broken)
    client = APIClient(raise_request_exception=False)
    response = client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")
    envelope(response, errors.DependencyDownError)
    assert response.status_code == 503 and response["Content-Type"] == "application/json"


def test_a_query_error_on_a_working_database_is_still_a_crash(monkeypatch, user):
    def broken(*args, **kwargs):
        raise ProgrammingError('relation "no_such_table" does not exist')

    monkeypatch.setattr(selectors, "user_for_login", broken)
    client = APIClient(raise_request_exception=False)
    response = client.post("/auth/login", {"username": "alice", "password": PASSWORD}, format="json")
    assert (response.status_code, response.json()["code"]) == (500, 1001)


def test_a_failure_outside_drf_is_503_in_the_envelope_too(monkeypatch, admin_user, client):
    from django.contrib.sessions.backends.db import SessionStore

    client.force_login(admin_user, backend="accounts.backends.LoginNameBackend")
    monkeypatch.setattr(SessionStore, "load", _broken)  # Django's session middleware, before any view
    client.raise_request_exception = False
    response = client.get("/admin/")
    envelope(response, errors.DependencyDownError)


@pytest.fixture
def cache_down(settings):
    """Every call to the shared cache fails as django-redis does when Redis is gone."""
    from django.core.cache import caches

    settings.ACCOUNTS_RATELIMIT_STORE = "cache"

    def refused(*args, **kwargs):
        raise redis.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    backend = caches["default"]
    # Undone when this fixture ends, before the autouse one empties the cache.
    with pytest.MonkeyPatch.context() as patch:
        for method in ("add", "get", "set", "incr", "decr", "get_many", "delete", "delete_many"):
            patch.setattr(backend, method, refused)
        if hasattr(backend, "client"):  # django-redis: the rate limits run their scripts on its Redis connection
            patch.setattr(backend.client, "get_client", refused)
        yield


def test_without_the_shared_cache_sign_in_fails_closed(cache_down, user):
    client = APIClient(raise_request_exception=False)
    for password in (PASSWORD, "wrong-Passw0rd-1"):
        envelope(client.post("/auth/login", {"username": "alice", "password": password}, format="json"),
                 errors.DependencyDownError)
    assert not Session.objects.exists()  # no sign-in without its lockout count


def test_without_the_shared_cache_signed_in_reads_keep_working(user, request):
    signed_in = client_for(user)
    request.getfixturevalue("cache_down")
    assert envelope(signed_in.get("/auth/me"))["data"]["loginname"] == "alice"
    assert envelope(signed_in.get("/auth/sessions"))["data"]
