"""Two real gunicorn processes sharing PostgreSQL (and Redis): revocation and lockout hold across them."""

import http.client

import pytest

from accountsite import errors
from tests.conftest import status_and_code
from tests.factories import PASSWORD, UserFactory
from tests.servers import call, database_url, gunicorn

# serialized_rollback: the flush after each test would otherwise drop the tiers seeded by a migration.
pytestmark = [
    pytest.mark.processes, pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def two_servers(tmp_path):
    """Two independent gunicorn processes (one worker each) on the pytest test database."""
    with gunicorn({"DATABASE_URL": database_url(), "CONN_MAX_AGE": "0"}, tmp_path, count=2) as servers:
        yield [server.port for server in servers]


def test_logout_through_one_process_is_refused_at_once_by_the_other(two_servers):
    first, second = two_servers
    UserFactory(username="alice")
    status, web = call(first, "POST", "/auth/login", {"username": "alice", "password": PASSWORD, "terminal": "web"})
    assert (status, web["code"]) == (200, 0), web
    status, phone = call(first, "POST", "/auth/login",
                         {"username": "alice", "password": PASSWORD, "terminal": "phone"})
    assert (status, phone["code"]) == (200, 0), phone
    web, phone = web["data"], phone["data"]
    assert call(first, "GET", "/auth/me", token=web["access"])[0] == 200

    status, body = call(second, "POST", "/auth/logout", {}, token=web["access"])
    assert (status, body["code"]) == (200, 0), body

    status, body = call(first, "GET", "/auth/me", token=web["access"])
    assert (status, body["code"]) == status_and_code(errors.NotAuthenticatedError), body
    status, body = call(first, "POST", "/auth/refresh", {"refresh": web["refresh"]})
    assert (status, body["code"]) == status_and_code(errors.NotAuthenticatedError), body
    status, body = call(first, "GET", "/auth/me", token=phone["access"])
    assert (status, body["code"], body["data"]["loginname"]) == (200, 0, "alice"), body
    status, body = call(second, "GET", "/auth/me", token=phone["access"])
    assert (status, body["code"]) == (200, 0), body


def test_lockout_is_shared_across_processes(two_servers):
    """In Redis with REDIS_URL, else in PostgreSQL (accountsite.ratelimit)."""
    first, second = two_servers
    UserFactory(username="alice")
    for attempt in range(10):
        port = first if attempt % 2 else second
        status, body = call(port, "POST", "/auth/login", {"username": "alice", "password": "wrong-Passw0rd-1"})
        assert (status, body["code"]) == (401, errors.WrongPasswordError.code), body  # 401 at sign-in
    for port in (first, second):
        status, body = call(port, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})
        assert (status, body["code"]) == status_and_code(errors.TooManyRequestsError), body


def test_head_is_answered_without_a_body_and_without_a_warning_in_the_log(tmp_path):
    """gunicorn 27 drops a HEAD reply's body itself, but logs a WARNING for each such request: a load
    balancer's HEAD /healthz every few seconds, or anyone's HEADs, filled the log. A HEAD reply keeps the
    GET's status and headers, Content-Length included, and sends no body."""
    UserFactory(username="alice")
    with gunicorn({"DATABASE_URL": database_url()}, tmp_path) as [server]:
        for path, status in (("/healthz", 200), ("/users/alice", 200), ("/auth/me", 401), ("/nowhere", 404)):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
            connection.request("GET", path)
            got = connection.getresponse()
            length = len(got.read())
            connection.request("HEAD", path)
            head = connection.getresponse()
            assert (head.status, head.getheader("Content-Length"), head.read()) == (status, str(length), b""), path
            connection.close()
        log = server.log.read_text(errors="replace")
    assert "no-body response" not in log, log
