"""Two real gunicorn processes sharing PostgreSQL (and Redis): revocation and lockout hold across them."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from accountsite import errors
from tests.conftest import free_port, status_and_code
from tests.factories import PASSWORD, UserFactory

# serialized_rollback: the flush after each test would otherwise drop the tiers seeded by a migration.
pytestmark = [
    pytest.mark.processes, pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 30.0



def _database_url() -> str:
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"gunicorn on {port} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if call(port, "GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    pytest.fail(f"gunicorn on {port} did not answer /healthz in {START_TIMEOUT}s:\n{log.read_text()[-3000:]}")


@pytest.fixture
def two_servers():
    """Two independent gunicorn processes (one worker each) on the pytest test database."""
    env = {**os.environ, "DATABASE_URL": _database_url(), "CONN_MAX_AGE": "0", "DEBUG": "false"}
    processes: list[subprocess.Popen] = []
    ports: list[int] = []
    with tempfile.TemporaryDirectory() as logs:
        try:
            for index in range(2):
                port = free_port()  # the previous server already listens, so never its port
                log = Path(logs) / f"gunicorn{index}.log"
                with log.open("wb") as out:
                    processes.append(subprocess.Popen(
                        [sys.executable, "-m", "gunicorn", "accountsite.wsgi", "--workers", "1",
                         "--bind", f"127.0.0.1:{port}", "--timeout", "30"],
                        cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                    ))
                ports.append(port)
                _wait_healthy(port, processes[-1], log)
            yield ports
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


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
    if not os.environ.get("REDIS_URL"):
        pytest.skip("needs REDIS_URL: without a shared cache each process counts failures on its own")
    first, second = two_servers
    UserFactory(username="alice")
    for attempt in range(10):
        port = first if attempt % 2 else second
        status, body = call(port, "POST", "/auth/login", {"username": "alice", "password": "wrong-Passw0rd-1"})
        assert (status, body["code"]) == (401, errors.WrongPasswordError.code), body  # 401 at sign-in
    for port in (first, second):
        status, body = call(port, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})
        assert (status, body["code"]) == status_and_code(errors.TooManyRequestsError), body
