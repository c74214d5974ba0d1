"""The WSGI fast lane of GET /auth/me (accountsite.fastpath.FastLanes, served by accountsite.wsgi): it
answers the plain case with the full stack's reply, headers included, and leaves everything else to
Django's handler."""

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import OperationalError, close_old_connections
from django.utils import timezone

from accounts.models import Session
from accountsite.fastpath import FastLanes
from accountsite.wsgi import application, django_application
from tests.accounts.test_sessions import login

pytestmark = pytest.mark.django_db


def wsgi(app, method: str = "GET", path: str = "/auth/me", body: bytes = b"", **environ: str) -> tuple:
    """The reply of a WSGI application: status, headers in name order, body."""
    query = path.partition("?")[2]
    request = {"REQUEST_METHOD": method, "PATH_INFO": path.partition("?")[0], "QUERY_STRING": query,
               "SERVER_NAME": "localhost", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_HOST": "localhost", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
               "wsgi.input": io.BytesIO(body), "wsgi.errors": sys.stderr, "wsgi.multithread": False,
               "wsgi.multiprocess": True, "wsgi.run_once": False, "wsgi.version": (1, 0)}
    if body:
        request.update(CONTENT_LENGTH=str(len(body)), CONTENT_TYPE="application/json")
    request.update(environ)
    started: dict = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:
        started.update(status=status, headers=headers)

    with connection_kept():
        chunks = app(request, start_response)
        try:
            content = b"".join(chunks)
        finally:
            getattr(chunks, "close", lambda: None)()
    return started["status"], sorted(started["headers"]), content


@contextmanager
def connection_kept() -> Iterator[None]:
    """As Django's test client does: the test's transaction is open, so a request must not close its
    connection (close_old_connections would, on PostgreSQL)."""
    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def handled(monkeypatch) -> list:
    """The paths Django's handler was given (the lane answers the others itself)."""
    seen: list = []
    real = WSGIHandler.get_response

    def get_response(handler, request):
        seen.append(request.path)
        return real(handler, request)

    monkeypatch.setattr(WSGIHandler, "get_response", get_response)
    return seen


@pytest.fixture
def token(user) -> str:
    return f"Bearer {login('web')['access']}"


@pytest.fixture
def lanes() -> FastLanes:
    """A lane of its own, so no test sees headers another one taught the served application."""
    return FastLanes(django_application, paths=["/auth/me"])


def test_the_served_application_answers_a_plain_profile_read_itself_as_django_would(user, token, handled):
    user.intro = "ü \u2028 <b>"
    user.save(update_fields=["intro"])
    first = wsgi(application, HTTP_AUTHORIZATION=token)  # passes through the middleware once: it learns
    again = wsgi(application, HTTP_AUTHORIZATION=token)
    assert handled == []
    django = wsgi(django_application, HTTP_AUTHORIZATION=token)
    assert handled == ["/auth/me"]
    assert first == again == django
    status, headers, body = django
    assert status == "200 OK" and ("X-Frame-Options", "DENY") in headers and b'"loginname":"alice"' in body
    assert ("Content-Length", str(len(body))) in headers


@pytest.mark.parametrize("accept", ["*/*", "application/json", "text/html, application/json, */*"])
def test_any_plain_json_accept_is_answered_by_the_lane(token, handled, lanes, accept):
    reply = wsgi(lanes, HTTP_AUTHORIZATION=token, HTTP_ACCEPT=accept)
    assert handled == [] and reply == wsgi(django_application, HTTP_AUTHORIZATION=token, HTTP_ACCEPT=accept)


def test_an_https_request_gets_the_middlewares_hsts_header(token, handled, settings):
    settings.SECURE_HSTS_SECONDS = 3600
    django = WSGIHandler()  # SecurityMiddleware reads its settings when the chain is built
    lanes = FastLanes(django, paths=["/auth/me"])
    secure = {"HTTP_AUTHORIZATION": token, "wsgi.url_scheme": "https", "SERVER_PORT": "443"}
    plain = wsgi(lanes, HTTP_AUTHORIZATION=token)
    learned = [wsgi(lanes, **secure) for _ in range(2)]
    assert handled == []
    assert learned == [wsgi(django, **secure)] * 2
    assert ("Strict-Transport-Security", "max-age=3600") in learned[0][1]
    assert not any(name == "Strict-Transport-Security" for name, _ in plain[1])


def test_a_request_the_middleware_redirects_is_always_left_to_django(token, handled, settings):
    settings.SECURE_SSL_REDIRECT = True
    lanes = FastLanes(WSGIHandler(), paths=["/auth/me"])
    replies = [wsgi(lanes, HTTP_AUTHORIZATION=token) for _ in range(2)]
    assert handled == ["/auth/me", "/auth/me"] and replies[0][0].startswith("301")


def test_a_revoked_session_is_refused_at_once(user, token, handled, lanes):
    assert wsgi(lanes, HTTP_AUTHORIZATION=token)[0] == "200 OK"
    Session.objects.filter(user=user).update(revoked_at=timezone.now())
    status, _, body = wsgi(lanes, HTTP_AUTHORIZATION=token)
    assert status == "401 Unauthorized" and b'"code":7005' in body and handled == ["/auth/me"]


@pytest.mark.parametrize("case", ["no token", "bad signature", "app token", "query string", "accept xml",
                                  "accept with indent", "head", "put", "a body", "an origin", "a host refused",
                                  "prepend www", "refused user agents", "a trailing slash", "database error"])
def test_anything_but_the_plain_case_is_left_to_django(user, token, handled, lanes, settings, monkeypatch, case):
    from accounts.oauth import applications
    from tests.conftest import app_client

    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    request: dict = {"HTTP_AUTHORIZATION": token}
    method, path, body = "GET", "/auth/me", b""
    if case == "no token":
        del request["HTTP_AUTHORIZATION"]
    elif case == "bad signature":
        request["HTTP_AUTHORIZATION"] = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    elif case == "app token":
        request["HTTP_AUTHORIZATION"] = f"Bearer {app_client(user, scope='read').raw_token}"
    elif case == "query string":
        path = "/auth/me?format=json"
    elif case == "accept xml":
        request["HTTP_ACCEPT"] = "application/xml"
    elif case == "accept with indent":
        request["HTTP_ACCEPT"] = "application/json; indent=4"
    elif case in ("head", "put"):
        method = case.upper()
    elif case == "a body":
        body = b'{"nickname": "x"}'
    elif case == "an origin":
        request["HTTP_ORIGIN"] = "https://app.example"
    elif case == "a host refused":
        request["HTTP_HOST"] = "evil.example"
    elif case == "prepend www":
        settings.PREPEND_WWW = True
    elif case == "refused user agents":
        settings.DISALLOWED_USER_AGENTS = [r"^curl/"]
        request["HTTP_USER_AGENT"] = "curl/8.0"
    elif case == "a trailing slash":
        path = "/auth/me/"
    else:
        def down(user):
            raise OperationalError("database is locked")

        monkeypatch.setattr(applications, "developer_summary", down)
    reply = wsgi(lanes, method, path, body, **request)
    assert handled == [path.partition("?")[0]]  # Django's handler answered, once
    assert reply == wsgi(django_application, method, path, body, **request)
    if case == "database error":
        assert reply[0].startswith("503") and b'"code":1001' in reply[2]
    if case == "an origin":
        assert ("access-control-allow-origin", "https://app.example") in reply[1]


def test_a_lane_request_is_one_request_to_django_s_signal_receivers(token, lanes):
    """request_started and request_finished (the connection checks, the caches closed) once per reply; a
    request the lane declines after starting is one for the lane and one for Django's handler."""
    seen: list = []

    def started(**kwargs):
        seen.append("started")

    def finished(**kwargs):
        seen.append("finished")

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    try:
        wsgi(lanes, HTTP_AUTHORIZATION=token)
        wsgi(lanes, HTTP_AUTHORIZATION=token)
        wsgi(lanes, path="/auth/me?x=1", HTTP_AUTHORIZATION=token)  # declined before it starts
        wsgi(lanes)  # no token: declined by the answer
    finally:
        signals.request_started.disconnect(started)
        signals.request_finished.disconnect(finished)
    assert seen == ["started", "finished"] * 5


def test_a_lane_without_a_fast_view_leaves_every_request_to_django(token, handled):
    lanes = FastLanes(django_application, paths=["/auth/sessions", "/no/such/path"])
    wsgi(lanes, path="/auth/sessions", HTTP_AUTHORIZATION=token)
    wsgi(lanes, path="/no/such/path", HTTP_AUTHORIZATION=token)
    assert handled == ["/auth/sessions", "/no/such/path"]


def test_the_audit_address_is_held_while_the_lane_answers(token, lanes, monkeypatch):
    from accounts.views import auth
    from accountsite.audit import request_ip

    seen: list = []
    real = auth.me_data

    def me_data(user):
        seen.append(request_ip())
        return real(user)

    monkeypatch.setattr(auth, "me_data", me_data)
    wsgi(lanes, HTTP_AUTHORIZATION=token, REMOTE_ADDR="10.1.2.3")
    assert seen == ["10.1.2.3"] and request_ip() is None


def test_the_middleware_is_the_one_the_lane_was_checked_against(settings):
    """The lane repeats the headers the middleware gave its first reply, which is right for middleware whose
    work on such a request depends on the scheme alone. A middleware added here must be checked for that
    first (one that sets a request id, say, would have its first id repeated), then added to this list."""
    assert settings.MIDDLEWARE == [
        "corsheaders.middleware.CorsMiddleware",
        "accountsite.requests.MethodKeepingRedirectMiddleware",  # by the status and method alone
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "accountsite.requests.NoStoreMiddleware",  # by the path alone
        "accountsite.requests.RequestLineMiddleware",
        "accountsite.requests.RepeatedParameterMiddleware",  # the lane takes no query string
        "accountsite.requests.BodySizeLimitMiddleware",
        "accountsite.audit.AuditIPMiddleware",
        "accountsite.requests.StaticFilesMiddleware",
        "accountsite.requests.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "accounts.browser.BrowserSignInMiddleware",
        "accountsite.requests.MessageMiddleware",
    ]
