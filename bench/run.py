"""Benchmarks: password hashing cost, password logins per second and authenticated requests per second,
against real gunicorn workers on loopback. One command, figures printed:

    .venv/bin/python bench/run.py                 # SQLite + local-memory cache in a temporary directory
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/accountsite_bench REDIS_URL=redis://127.0.0.1:6379/9 \
        .venv/bin/python bench/run.py             # the production parts

Targets (2 cores): one Argon2id hash about 20 ms of one core; about 80 password logins a second;
authenticated requests an order of magnitude faster than logins (one query to authenticate).
"""

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PASSWORD = "bench-Password-1234"
USERS = 8
LOGINS = int(os.environ.get("BENCH_LOGINS", "400"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
THREADS = 8


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_hash() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "accountsite.settings")
    import django

    django.setup()
    from accounts.hashers import OWASPArgon2PasswordHasher

    hasher = OWASPArgon2PasswordHasher()
    times = []
    for _ in range(30):
        start = time.perf_counter()
        hasher.encode(PASSWORD, hasher.salt())
        times.append(time.perf_counter() - start)
    print(f"argon2id hash (m=19456,t=2,p=1): median {statistics.median(times) * 1000:.1f} ms")


def server_cpu_seconds(master_pid: int) -> float:
    """User + system CPU time of the gunicorn master and its workers, from /proc (Linux)."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    pids = [master_pid, *map(int, children)]
    ticks = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def timed(label: str, total: int, call, master_pid: int) -> None:
    latencies: list[float] = []

    def one(i: int) -> int:
        start = time.perf_counter()
        status = call(i)
        latencies.append(time.perf_counter() - start)
        return status

    cpu_before, start = server_cpu_seconds(master_pid), time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        statuses = list(pool.map(one, range(total)))
    elapsed = time.perf_counter() - start
    cpu_each = (server_cpu_seconds(master_pid) - cpu_before) / total
    bad = sum(1 for status in statuses if status != 200)
    latencies.sort()
    p95 = latencies[int(len(latencies) * 0.95) - 1] * 1000
    print(f"{label}: {total / elapsed:.0f}/s over {total} requests, {THREADS} clients; "
          f"p50 {statistics.median(latencies) * 1000:.1f} ms, p95 {p95:.1f} ms; non-200: {bad}")
    # The load generator shares the machine's cores; the server's own CPU per request says what the
    # service itself can do with every core of the machine.
    print(f"  server CPU {cpu_each * 1000:.1f} ms a request: {os.cpu_count() / cpu_each:.0f}/s with all "
          f"{os.cpu_count()} cores serving")


def main() -> None:
    bench_hash()
    workdir = tempfile.mkdtemp(prefix="accountsite-bench-")
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{workdir}/bench.sqlite3")
    env.update(ACCOUNTS_REGISTRATIONS_PER_IP="100000", ACCOUNTS_LOGIN_FAILURES_PER_IP="100000",
               DJANGO_SETTINGS_MODULE="accountsite.settings")
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "accountsite.wsgi", "--workers", str(os.cpu_count() or 2),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"], cwd=ROOT, env=env,
    )
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=5).ok:
                    break
            except requests.RequestException:  # not listening yet, or still starting
                time.sleep(0.1)
        stamp = int(time.time())
        names = [f"bench{stamp}x{i}" for i in range(USERS)]
        tokens = []
        for name in names:
            reply = requests.post(f"{base}/auth/register", json={"username": name, "password": PASSWORD}, timeout=10)
            reply.raise_for_status()
            tokens.append(reply.json()["data"]["access"])
        print(f"database: {env['DATABASE_URL'].split(':')[0]}, cache: {'redis' if env.get('REDIS_URL') else 'local'}")
        timed("password login", LOGINS, lambda i: requests.post(
            f"{base}/auth/login", timeout=30,
            json={"username": names[i % USERS], "password": PASSWORD, "terminal": f"t{i % 4}"}).status_code,
            server.pid)
        headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
        timed("authenticated GET /auth/sessions", REQUESTS, lambda i: requests.get(
            f"{base}/auth/sessions", headers=headers[i % USERS], timeout=30).status_code, server.pid)
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()
