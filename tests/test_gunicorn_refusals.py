"""What gunicorn answers itself, for a request it cannot parse (the application never sees it): the envelope,
as JSON, with the status gunicorn chose, except that a client's unknown transfer coding is 400, not 501.
gunicorn.conf.py replaces gunicorn's HTML page; these requests go to a real gunicorn over a raw socket."""

import json
import runpy
import socket

import pytest

from accountsite import errors
from tests.servers import REPO_ROOT, gunicorn

pytestmark = pytest.mark.processes

HOST = b"Host: 127.0.0.1\r\n"


def exchange(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends raw bytes and reads the whole reply (gunicorn closes the connection after a refusal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head, _, body = reply.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [line.split(":", 1) for line in lines]
    names = [name.lower() for name, _ in headers]
    assert len(names) == len(set(names)), head  # each header once
    return int(status_line.split()[1]), {name.lower(): value.strip() for name, value in headers}, body


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("gunicorn")
    env = {"DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}", "REDIS_URL": "", "CACHE_URL": "locmemcache://"}
    with gunicorn(env, tmp) as (server,):
        yield server.port


@pytest.mark.parametrize(("request_bytes", "status", "error", "words"), [
    (b"GARBAGE\r\n\r\n", 400, errors.InvalidParametersError, "not valid HTTP"),
    (b"GET / HTTP/1.1\r\n" + HOST + b"Bad Header\r\n\r\n", 400, errors.InvalidParametersError, "not valid HTTP"),
    (b"GET /\x00 HTTP/1.1\r\n" + HOST + b"\r\n", 400, errors.InvalidParametersError, "not valid HTTP"),
    (b"GET /" + b"a" * 5000 + b" HTTP/1.1\r\n" + HOST + b"\r\n", 414, errors.InvalidParametersError, "too long"),
    (b"GET / HTTP/1.1\r\n" + HOST + b"X-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, errors.InvalidParametersError,
     "too large"),
    (b"GET / HTTP/1.1\r\n" + HOST + b"".join(b"X-%d: 1\r\n" % n for n in range(101)) + b"\r\n", 431,
     errors.InvalidParametersError, "too large"),
    (b"POST /auth/login HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: zstd\r\n\r\n", 400,
     errors.InvalidParametersError, "transfer coding"),
])
def test_a_request_gunicorn_cannot_parse_gets_the_envelope(port, request_bytes, status, error, words):
    got, headers, body = exchange(port, request_bytes)
    assert got == status
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close" and headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body)
    reply = json.loads(body)
    assert reply.keys() == {"code", "msg", "data"} and reply["data"] is None
    assert reply["code"] == error.code and words in reply["msg"]


def test_a_valid_request_still_reaches_the_application(port):
    status, headers, body = exchange(port, b"GET /nowhere HTTP/1.1\r\n" + HOST + b"Connection: close\r\n\r\n")
    assert (status, json.loads(body)["code"]) == (404, errors.NotFoundError.code)
    assert "x-frame-options" in headers  # Django's middleware answered: the request went through gunicorn


def test_the_codes_are_the_errors_of_the_envelope():
    """gunicorn.conf.py cannot import the application's errors (the master has no Django); they agree."""
    conf = runpy.run_path(str(REPO_ROOT / "gunicorn.conf.py"))
    by_status = {error.status_code: error.code for error in (errors.InvalidParametersError,
                                                             errors.PermissionDeniedError)}
    for status, code, _ in conf["REFUSALS"].values():
        assert code == by_status.get(status, errors.InvalidParametersError.code)
    assert conf["INTERNAL"][:2] == (errors.ServiceError.status_code, errors.ServiceError.code)
