"""The embedded default (SQLite, no REDIS_URL) under two gunicorn worker processes: the brute-force counters
are in the database, so ten wrong passwords spread over both lock the account on both (issue 11)."""

import os
import subprocess
import sys

import pytest

from accountsite import errors
from tests.conftest import status_and_code
from tests.factories import PASSWORD
from tests.servers import REPO_ROOT, call, gunicorn

pytestmark = pytest.mark.processes


def test_ten_failures_over_two_sqlite_workers_lock_the_account_on_both(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "REDIS_URL": "", "CACHE_URL": "locmemcache://"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input"], cwd=REPO_ROOT, check=True,
                   env={**os.environ, **env}, capture_output=True)
    with gunicorn(env, tmp_path, count=2) as (first, second):
        status, body = call(first.port, "POST", "/auth/register", {"username": "alice", "password": PASSWORD})
        assert (status, body["code"]) == (201, 0), body
        for attempt in range(10):
            server = (first, second)[attempt % 2]
            status, body = call(server.port, "POST", "/auth/login", {"username": "alice", "password": "wrong-Pw-1"})
            assert (status, body["code"]) == (401, errors.WrongPasswordError.code), body
        for server in (first, second):
            status, body = call(server.port, "POST", "/auth/login", {"username": "alice", "password": PASSWORD})
            assert (status, body["code"]) == status_and_code(errors.TooManyRequestsError), body

