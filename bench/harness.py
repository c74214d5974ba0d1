"""What bench/run.py and bench/search.py share: PostgreSQL databases of their own, gunicorn servers in process
groups of their own (each with its own control socket), HTTP calls, and CPU and memory read from /proc."""

import contextlib
import functools
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
SERVICE_VENV = ROOT / "bench" / ".service-venv"
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
START_TIMEOUT = 60.0


def venv_ensure(venv: Path, requirements: Path, what: str) -> Path:
    """`venv` with the hashed pins of `requirements` and nothing else, reinstalled when they change; its python."""
    python = venv / "bin" / "python"
    stamp = venv / f".installed-{hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]}"
    if stamp.exists():
        return python
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
    print(f"bench: installing {what} into {venv.relative_to(ROOT)}", flush=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "--require-hashes", "-r", str(requirements)], check=True)
    stamp.touch()
    return python


def service_python() -> Path:
    """The python of a venv with this service's production pins only (requirements.txt): the servers under test
    run the packages a deployment installs. The development venv would add what its tools pull in (Pygments,
    which DRF imports when it is installed, is 1 MB a worker) to the memory figures."""
    return venv_ensure(SERVICE_VENV, ROOT / "requirements.txt", "this service's production packages")


def database_url(name: str) -> str:
    return f"{PG_URL.rstrip('/')}/{name}"


def _maintenance_connection():
    import psycopg

    return psycopg.connect(database_url("postgres"), autocommit=True)


def database_recreate(name: str) -> None:
    """Drops and creates the named database; only ever called with the bench's own database names."""
    from psycopg import sql

    with _maintenance_connection() as conn:
        # FORCE: a server left over from an interrupted run may still hold a persistent connection.
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_ensure(name: str) -> bool:
    """Creates the database if it is missing; True if it was created."""
    from psycopg import sql

    with _maintenance_connection() as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def redis_flush(url: str) -> None:
    """Empties the bench's own Redis database (the number at the end of `url`), nothing else."""
    import redis

    redis.Redis.from_url(url).flushdb()


def service_env(*, db_name: str, redis_url: str) -> dict[str, str]:
    """The environment of this service as production runs it (ACCOUNTSITE_ENV=production: mail left in the
    outbox for `run_outbox`, production's checks and headers), on the bench's database and Redis db, with a
    secret key and an OIDC signing key made for this run. Plain HTTP on loopback: in production TLS ends at
    the proxy before gunicorn, so the redirect to HTTPS is off here."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ACCOUNTS_", "DJANGO_", "GUNICORN_"))
           and key not in ("CONN_MAX_AGE", "DEBUG", "OUTBOX_INLINE", "EMAIL_URL", "MFA_ENCRYPTION_KEY",
                           "MFA_ENCRYPTION_KEYS", "JWT_SIGNING_KEY")}
    env.update(DJANGO_SETTINGS_MODULE="accountsite.settings", ACCOUNTSITE_ENV="production", DEBUG="false",
               SECRET_KEY=_run_secrets()["secret_key"], OIDC_RSA_PRIVATE_KEY=_run_secrets()["oidc_key"],
               ALLOWED_HOSTS="127.0.0.1,localhost", SECURE_SSL_REDIRECT="false",
               DATABASE_URL=database_url(db_name), REDIS_URL=redis_url, CACHE_KEY_PREFIX="accountsite-bench")
    return env


@functools.cache
def _run_secrets() -> dict[str, str]:
    """A secret key and an RSA key for this run only, made on first use (every process of one run shares them
    through the env)."""
    import secrets

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode()
    return {"secret_key": secrets.token_urlsafe(64), "oidc_key": pem}


def django_setup(env: dict[str, str]) -> None:
    """Django in this process, on the same settings and database as the server under test."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None,
         timeout: float = 30) -> tuple[int, Any]:
    """One request; returns the status and the decoded JSON body (None if the body is not JSON)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


@dataclass
class Server:
    """A gunicorn master started in its own session (process group), so stopping it stops its workers."""

    name: str
    command: list[str]
    env: dict[str, str]
    cwd: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def start(self, ready_path: str) -> None:
        command = [*self.command, "--bind", f"127.0.0.1:{self.port}",
                   # gunicorn 27's default control socket is one path per user: two masters would share it.
                   "--control-socket", str(self.workdir / f"{self.name}.sock")]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                http("GET", self.base + ready_path, timeout=5)  # any HTTP reply means it is serving
            except OSError:
                time.sleep(0.2)
                continue
            if len(self.worker_pids()) >= self._workers():
                return
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer in {START_TIMEOUT:.0f}s:\n{self.log_tail()}")

    def _workers(self) -> int:
        return int(self.command[self.command.index("--workers") + 1]) if "--workers" in self.command else 1

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def worker_pids(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []

    def pids(self) -> list[int]:
        return [self.process.pid, *self.worker_pids()]

    def cpu_seconds(self) -> float:
        """User + system CPU time of the master and its live workers, from /proc (Linux)."""
        ticks = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                ticks += int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def process_rss_mb(self) -> list[float]:
        """VmRSS of the master, then of each worker, in MB."""
        sizes = []
        for pid in self.pids():
            with contextlib.suppress(OSError):
                status = Path(f"/proc/{pid}/status").read_text()
                sizes.append(int(status.split("VmRSS:")[1].split()[0]) / 1024)
        return sizes

    def memory_mb(self) -> tuple[float, float]:
        """(RSS, PSS) of the master and its workers in MB. RSS counts pages the workers share with the master
        (copy-on-write after fork) once per process; PSS splits them, so it is the memory the group really uses."""
        pss = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                    if line.startswith("Pss:"):
                        pss += int(line.split()[1])
        return sum(self.process_rss_mb()), pss / 1024


def gunicorn_command(python: Path, app: str, workers: int = 2) -> list[str]:
    return [str(python), "-m", "gunicorn", app, "--workers", str(workers), "--worker-class", "sync",
            "--timeout", "60", "--log-level", "warning"]


def stop_on_sigterm() -> None:
    """SIGTERM ends the bench like Ctrl-C does: through the `finally` that stops its servers."""

    def _raise(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _raise)
