"""Real gunicorn processes for tests that need several workers or a process to kill: started on a free
loopback port, each with its own control socket, waited for on /healthz, and stopped (or killed) at the end."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from tests.conftest import free_port

REPO_ROOT = Path(__file__).resolve().parents[1]
START_TIMEOUT = 30.0


def database_url() -> str:
    """The pytest test database (PostgreSQL) as a DATABASE_URL for processes of our own."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        auth += ":" + quote(db["PASSWORD"], safe="")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def call(port: int, method: str, path: str, body: dict | None = None, token: str | None = None,
         timeout: float = 15) -> tuple[int, dict]:
    """One JSON request to 127.0.0.1:`port`: the status and the decoded envelope."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class Server:
    def __init__(self, port: int, process: subprocess.Popen, log: Path) -> None:
        self.port, self.process, self.log = port, process, log

    def worker_pids(self) -> list[int]:
        """The pids of the master's workers (Linux: the children listed in /proc)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def wait_healthy(self, expect: int = 200) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"gunicorn on {self.port} exited with {self.process.returncode}:\n{self.tail()}")
            try:
                if call(self.port, "GET", "/healthz", timeout=5)[0] == expect:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        pytest.fail(f"gunicorn on {self.port} did not answer /healthz in {START_TIMEOUT}s:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def gunicorn(env: dict[str, str], tmp: Path, *, count: int = 1, workers: int = 1) -> Iterator[list[Server]]:
    """`count` gunicorn masters with `workers` sync workers each, on the environment `env` (over os.environ)."""
    servers: list[Server] = []
    try:
        for index in range(count):
            port = free_port()  # the previous server already listens, so never its port
            log = tmp / f"gunicorn-{port}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "accountsite.wsgi", "--workers", str(workers),
                     "--bind", f"127.0.0.1:{port}", "--timeout", "30", "--graceful-timeout", "5",
                     "--control-socket", str(tmp / f"gunicorn-{index}.ctl")],
                    cwd=REPO_ROOT, env={**os.environ, "DEBUG": "false", **env}, stdout=out,
                    stderr=subprocess.STDOUT,
                )
            servers.append(Server(port, process, log))
            servers[-1].wait_healthy()
        yield servers
    finally:
        for server in servers:
            server.stop()
