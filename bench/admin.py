"""The back office at scale: the admin index (its dashboard) and the user list, timed over HTTP on the
million-user database that bench/search.py loads.

    .venv/bin/python bench/search.py --users 1000000 --requests 1   # loads accountsite_search once
    .venv/bin/python bench/admin.py                                  # then time the back office on it
    .venv/bin/python bench/admin.py --database other_copy            # a copy of it (CREATE DATABASE ... TEMPLATE)

It applies any new migration to that database, starts this service with gunicorn (2 sync workers) on it and
its own Redis db, signs a superuser's browser in (a session row and a Django session, as /admin/login/ makes
them) and sends each page sequentially: the index with the dashboard's counts made afresh before every
request (the worst case, once per ADMIN_DASHBOARD_CACHE_SECONDS) and kept (every other request), the user
list unfiltered and with each filter, and a user's page. Goals (issue 15): the index under 1 s, the
unfiltered user list under 100 ms. The table goes to bench/results/admin.md.
"""

import argparse
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from http.client import HTTPConnection
from pathlib import Path

from harness import (
    ROOT,
    VENV_PYTHON,
    Server,
    django_setup,
    gunicorn_command,
    redis_flush,
    service_env,
    service_python,
    stop_on_sigterm,
)

REDIS_URL = os.environ.get("BENCH_ADMIN_REDIS_URL", "redis://127.0.0.1:6379/10")
RESULTS = ROOT / "bench" / "results" / "admin.md"
ADMIN = "bench-admin-operator"
WARMUP = 3


def shapes(today: str) -> list[tuple[str, str, bool, float | None]]:
    """(label, path, fresh dashboard counts before each request, goal in ms for the p95)."""
    return [
        ("index, counts made afresh", "/admin/", True, 1000.0),
        ("index, counts kept", "/admin/", False, 1000.0),
        ("user list", "/admin/accounts/user/", False, 100.0),
        ("user list, status frozen", "/admin/accounts/user/?status__exact=5", False, None),
        ("user list, admin role", "/admin/accounts/user/?is_staff__exact=1", False, None),
        ("user list, developers", "/admin/accounts/user/?is_developer__exact=1", False, None),
        ("user list, tier gold", "/admin/accounts/user/?user_type=4", False, None),
        ("user list, tier admin", "/admin/accounts/user/?user_type=2", False, None),
        ("user list, registered today", f"/admin/accounts/user/?registered_at__gte={today}", False, None),
        ("user list, search common", "/admin/accounts/user/?q=maria", False, None),
        ("user list, search rare", "/admin/accounts/user/?q=quokka", False, None),
        ("user page", "/admin/accounts/user/2/change/", False, None),
        ("user history", "/admin/accounts/user/2/history/", False, None),
    ]


def browser_cookie() -> str:
    """A superuser's signed-in browser, as /admin/login/ leaves it: a session row and a Django session."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db import connections

    from accounts.browser import SESSION_ROW_KEY
    from accounts.models import User
    from accounts.services import sessions

    user = User.objects.filter(username=ADMIN).first() or User.objects.create_superuser(
        ADMIN, None, email=f"{ADMIN}@bench.example")
    row = sessions.browser_session_start(user=user, terminal="bench-admin", ip="127.0.0.1", user_agent="bench",
                                         lifetime=timedelta(hours=2))
    store = SessionStore()
    store.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                  HASH_SESSION_KEY: user.get_session_auth_hash(), SESSION_ROW_KEY: str(row.pk)})
    store.create()
    connections.close_all()
    return f"{settings.SESSION_COOKIE_NAME}={store.session_key}"


def dashboard_forget() -> None:
    from django.core.cache import cache

    from accounts.admin_site import DASHBOARD

    cache.delete_many([f"admin-dashboard:{chart.key}" for chart in DASHBOARD])


def timed_get(port: int, path: str, cookie: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Cookie": cookie})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000, response.status, body


def time_shapes(server: Server, cookie: str, requests: int) -> list[tuple[str, str, float, float, float | None]]:
    from django.utils import timezone

    today = str(timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0).date())
    rows = []
    for label, path, fresh, goal in shapes(today):
        for _ in range(WARMUP):
            timed_get(server.port, path, cookie)
        times = []
        for _ in range(requests):
            if fresh:
                dashboard_forget()
            elapsed, status, body = timed_get(server.port, path, cookie)
            if status != 200:
                raise RuntimeError(f"{path}: {status} {body[:300]!r}")
            times.append(elapsed)
        ordered = sorted(times)
        p50, p95 = ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
        rows.append((label, path, p50, p95, goal))
        verdict = "" if goal is None else ("PASS" if p95 <= goal else f"short by {p95 - goal:.0f} ms")
        print(f"{label:28} {path:52} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {verdict}", flush=True)
    return rows


def markdown(rows: list, database: str, users: int, requests: int) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: `.venv/bin/python bench/admin.py`", "",
        f"{now}, database `{database}` ({users:,} users), gunicorn with 2 sync workers on PostgreSQL, a "
        f"superuser's browser over HTTP; {requests} sequential requests per page after {WARMUP} of warm-up.", "",
        "| page | request | p50 ms | p95 ms | goal | verdict |", "|---|---|---|---|---|---|",
    ]
    for label, path, p50, p95, goal in rows:
        verdict = "" if goal is None else ("PASS" if p95 <= goal else f"short by {p95 - goal:.0f} ms")
        lines.append(f"| {label} | `{path}` | {p50:.1f} | {p95:.1f} | {'' if goal is None else f'< {goal:.0f}'} "
                     f"| {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="accountsite_search",
                        help="the database bench/search.py loaded, or a copy of it (default accountsite_search)")
    parser.add_argument("--requests", type=int, default=20, help="timed requests per page (default 20)")
    args = parser.parse_args()
    stop_on_sigterm()
    env = service_env(db_name=args.database, redis_url=REDIS_URL)
    subprocess.run([str(VENV_PYTHON), "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    django_setup(env)
    from accounts.models import User

    users = User.objects.count()
    if users < 1000:
        sys.exit(f"{args.database} holds {users} users: load it first with bench/search.py")
    redis_flush(REDIS_URL)
    cookie = browser_cookie()
    workdir = Path(tempfile.mkdtemp(prefix="accountsite-admin-"))
    server = Server("ours", gunicorn_command(service_python(), "accountsite.wsgi"), env, ROOT, workdir)
    try:
        server.start("/healthz")
        rows = time_shapes(server, cookie, args.requests)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(markdown(rows, args.database, users, args.requests))
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\nbench: interrupted; every server it started is stopped")
