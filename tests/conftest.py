"""Fixtures shared by every test: role clients and the caller-role matrix, a clean cache, fast hashing, the
envelope assertion, the "nothing changed" fixture, and the back office's signed-in clients and browser sign-in."""

import secrets
import shutil
import socket
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.browser import SESSION_ROW_KEY
from accounts.models import User, UserStatus
from accounts.services import sessions
from accountsite import errors
from accountsite.pagination import table_size_estimate
from tests.documented_replies import recording, undocumented
from tests.factories import PASSWORD, AdminFactory, UserFactory
from tests.snapshots import snapshot

# Argon2id costs ~20 ms a hash; tests that are not about hashing use a fast hasher first in the list.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def pytest_runtest_setup(item):
    """`@pytest.mark.postgres`: real parallel transactions, row locks, triggers or trigram indexes, which
    SQLite does not have; such tests are skipped, saying so, on any other database."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip(f"needs PostgreSQL (set DATABASE_URL=postgres://...); this run uses {connection.vendor}")


@pytest.fixture(scope="session", autouse=True)
def _documented_replies():
    """Every reply the suite's API calls get is one /schema/ documents (tests.documented_replies)."""
    replies: set = set()
    with recording(replies):
        yield
    problems = undocumented(replies)
    assert not problems, "replies /schema/ does not document:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS + list(settings.PASSWORD_HASHERS)


@pytest.fixture(autouse=True)
def _clean_cache():
    cache.clear()
    table_size_estimate.clear()  # a test's table is not the one an earlier test analysed
    yield
    cache.clear()


@pytest.fixture
def password():
    return PASSWORD


def browser_terminal_of(client, door: str) -> str:
    """The terminal of a sign-in at `door` in the test client's browser: the door and the browser's id cookie."""
    from accounts.browser import BROWSER_COOKIE

    return f"{door} {client.cookies[BROWSER_COOKIE].value}"


def browser_sign_in(client, user, terminal: str = "admin"):
    """Signs a Django test client's browser in as `user`, as /admin/login/ does: a session row behind
    the cookie (accounts.browser), so the back office and the OAuth pages accept it."""
    session = sessions.browser_session_start(user=user, terminal=terminal, ip="127.0.0.1", user_agent="pytest",
                                             lifetime=timedelta(hours=1))
    client.force_login(user, backend="accounts.backends.LoginNameBackend")
    cookie_session = client.session
    cookie_session[SESSION_ROW_KEY] = str(session.pk)
    cookie_session.save()
    return session


def signed_in_client(user, ip: str = "127.0.0.1") -> Client:
    """A browser client signed in to the back office as `user` (a session row behind the cookie), from `ip`."""
    client = Client(REMOTE_ADDR=ip)
    browser_sign_in(client, user)
    return client


@pytest.fixture
def operator(admin_user) -> Client:
    """root, a superuser, in the back office from 203.0.113.9."""
    return signed_in_client(admin_user, ip="203.0.113.9")


def messages_of(response) -> list[str]:
    """The back office's messages on a page the test client followed to."""
    return [str(message) for message in response.context["messages"]]


def app_client(user, scope: str = "read write", *, owner=None) -> APIClient:
    """An API client holding an app's OAuth access token for `user` with `scope` (as /oauth/token/ issues
    them); the app belongs to `owner`, by default a developer made for it."""
    from oauth2_provider.models import AccessToken

    from accounts.oauth import applications
    from tests.factories import UserFactory

    owner = owner or UserFactory(username=f"dev-{secrets.token_hex(4)}")
    application = applications.application_create(owner=owner, redirect_uris="https://app.example/cb").application
    raw = secrets.token_urlsafe(32)
    AccessToken.objects.create(user=user, application=application, token=raw, scope=scope,
                               expires=timezone.now() + timedelta(hours=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    client.user, client.application, client.raw_token = user, application, raw
    return client


def staff_user(username: str, *groups: str, permissions: tuple[str, ...] = ()):
    """A staff account (not a superuser) in the named groups ("support", "billing") with these extra
    permissions ("app_label.codename")."""
    from django.contrib.auth.models import Group, Permission

    from tests.factories import UserFactory

    user = UserFactory(username=username, is_staff=True)
    user.groups.set(Group.objects.filter(name__in=groups))
    for name in permissions:
        app_label, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: permission caches start empty


def client_for(user, terminal: str = "default") -> APIClient:
    """An API client signed in as `user` through a real session on `terminal`."""
    _session, pair = sessions.session_start(user=user, terminal=terminal, ip="127.0.0.1", user_agent="pytest")
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


# The callers of an endpoint's permission matrix (`caller_client`). The last four are refused before any
# endpoint rule applies, with REFUSED_ROLES[role].
CALLER_ROLES = ("anonymous", "self", "other", "admin", "inactive", "frozen", "deleted", "logged_out")
REFUSED_ROLES: dict[str, type[errors.ServiceError]] = {
    "inactive": errors.AccountNotActivatedError, "frozen": errors.AccountDisabledError,
    "deleted": errors.AccountDisabledError, "logged_out": errors.NotAuthenticatedError,
}
_ROLE_STATUS = {"inactive": UserStatus.INACTIVE, "frozen": UserStatus.FROZEN, "deleted": UserStatus.DELETED}


def signed_out(client: APIClient) -> APIClient:
    """The client after POST /auth/logout: it still sends its token, which has ended."""
    envelope(client.post("/auth/logout", {}, format="json"), status=200)
    return client


@pytest.fixture
def caller_client(request, user):
    """`caller_client(role)`: an API client for one of CALLER_ROLES.

    "self" is alice (the `user` fixture); "other" is bob and "admin" root (the `other` and `admin_user`
    fixtures, made when first asked for). "inactive", "frozen" and "deleted" are accounts of their own whose
    token was issued while they were active, the status then changed in the table only, so the check at
    authentication is what refuses them. "logged_out" is alice's token on another terminal after she signed
    out there (her other sessions stay)."""

    def make(role: str) -> APIClient:
        if role == "anonymous":
            return APIClient()
        if role == "self":
            return client_for(user)
        if role == "other":
            return client_for(request.getfixturevalue("other"))
        if role == "admin":
            return client_for(request.getfixturevalue("admin_user"))
        if role == "logged_out":
            return signed_out(client_for(user, terminal="logged-out"))
        caller = UserFactory(username=f"{role}-caller")
        client = client_for(caller)
        User.objects.filter(pk=caller.pk).update(status=_ROLE_STATUS[role])
        return client

    return make


@pytest.fixture
def unchanged(db):
    """Call it after a refused request: it asserts the database is as it was when this fixture was set up
    (tests.snapshots; list it after the fixtures that build the test's world)."""
    return snapshot().assert_unchanged


def envelope(response, error: type[errors.ServiceError] | None = None, *, status: int | None = None):
    """Asserts the reply is the contract's envelope and returns its body.

    `envelope(response)` is a success: code 0, status 200 or 201 (`status=` names which). With an error class
    from accountsite.errors the code is its `code` and the status its `status_code`, unless `status=` names
    the other status the contract gives that code at this door (WrongPasswordError is 401 at sign-in, an
    InvalidParametersError 415 for a media type the API does not read)."""
    body = response.json()
    code = error.code if error is not None else 0
    expected_status = status or (error.status_code if error is not None else None)
    assert body["code"] == code, body
    assert "msg" in body and "data" in body, body
    if expected_status is not None:
        assert response.status_code == expected_status, (response.status_code, body)
    if code == 0:
        assert response.status_code in (200, 201), (response.status_code, body)
    else:
        assert response.status_code >= 400 and body["data"] is None, body
    return body


def status_and_code(error: type[errors.ServiceError]) -> tuple[int, int]:
    """(HTTP status, envelope code) of an error class, for tests that collect raw replies (threads, processes)."""
    return error.status_code, error.code


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(settings, monkeypatch):
    """A page in Debian's headless chromium driven by Playwright (never a downloaded browser)."""
    if not shutil.which(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    # Playwright's sync API keeps an event loop running in this thread, and Django refuses ORM calls
    # made beside a running loop; the tests' own ORM calls are ordinary synchronous ones. Scoped to the
    # test, so no later subprocess (e.g. `check --deploy`) inherits it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    # The live server's request threads must not keep persistent connections to the test database.
    monkeypatch.setitem(connections.databases["default"], "CONN_MAX_AGE", 0)
    settings.ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            # While Playwright's event loop runs in this thread, Django keeps the thread's database connections
            # in a context variable instead of its thread-local storage, where the test database's teardown
            # looks: those opened by the test are closed here, or one outlives the session and PostgreSQL
            # refuses to drop the test database.
            connections.close_all()
            browser.close()


def admin_page_sign_in(page, live_server, username: str, *, then: str = "#user-tools") -> None:
    """Sign in on the back office's login page in the browser, then wait for `then` (the signed-in header, or
    the second-factor step)."""
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector(then)


def bearer(token: str) -> APIClient:
    """A client that sends `token` (a session's access token, or an app's) as a Bearer credential."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client
