"""The admin user search at scale: N users in PostgreSQL, every search shape of GET /users/ timed over HTTP.

    .venv/bin/python bench/search.py                 # 1,000,000 users; .venv comes from sh bench/run.sh
    .venv/bin/python bench/search.py --users 200000  # another size (the database is loaded again)
    .venv/bin/python bench/search.py --reload        # load again even if the count is already there
    .venv/bin/python bench/search.py --split         # also: where each shape's CPU goes, in this process

It works in a database of its own, accountsite_search (BENCH_SEARCH_DB; Redis db 10, BENCH_SEARCH_REDIS_URL), and
never touches another. The first run migrates it and loads the users in SQL (INSERT ... SELECT generate_series):
every user with the rows every user has, a membership, a wallet and 4 quotas, with varied login names, e-mails,
nicknames, real names, statuses and tiers, plus a few needles with names nobody else has. Then VACUUM ANALYZE, as
autovacuum would leave a table that old. Later runs find the count there, apply any new migration and go straight
to the timing.

The timing starts this service with gunicorn (2 sync workers), signs in as a superuser and sends the shapes
sequentially, in rounds of one request each (after a warm-up; --requests rounds), printing p50 and p95 against
the goal of issue 12 (p95 <= 10 ms for every shape), and writes the table to bench/results/search.md. A `~`
before the matches marks a total that is not exact (an estimate or a capped count).
"""

import argparse
import datetime
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

from harness import (
    ROOT,
    VENV_PYTHON,
    Server,
    database_ensure,
    database_recreate,
    database_url,
    django_setup,
    gunicorn_command,
    http,
    redis_flush,
    service_env,
    service_python,
    stop_on_sigterm,
)

SEARCH_DB = os.environ.get("BENCH_SEARCH_DB", "accountsite_search")
REDIS_URL = os.environ.get("BENCH_SEARCH_REDIS_URL", "redis://127.0.0.1:6379/10")
RESULTS = ROOT / "bench" / "results" / "search.md"
ADMIN, PASSWORD = "bench-search-admin", "bench-Password-1234"
GOAL_P95_MS = 10.0
WARMUP = 5
PAGE_SIZE = 20



def _words(text: str) -> list[str]:
    return text.split()


# Names are drawn from these lists by a hash of the user's number, so every run loads the same data.
FIRST = _words(
    "Maria Jose Ana Juan Luis Carlos Wei Li Fang Yan Mohammed Fatima Ahmed Aisha Olga Ivan Dmitri Anna Sofia Lucas "
    "Emma Noah Liam Olivia Mia Elena Marco Giulia Hans Greta Pierre Camille Hiroshi Yuki Kenji Sakura Priya Arjun "
    "Ravi Ananya Kwame Amara Chidi Zainab Lars Ingrid Mateo Valentina Diego Lucia Omar Leila Tomasz Kasia Nguyen "
    "Linh Jack Grace Samuel Chloe")
LAST = _words(
    "Garcia Rodriguez Martinez Lopez Wang Zhang Liu Chen Yang Khan Ali Hassan Ivanov Petrov Smirnova Kowalski Nowak "
    "Mueller Schmidt Schneider Rossi Russo Ferrari Dubois Martin Bernard Sato Suzuki Takahashi Tanaka Sharma Patel "
    "Singh Kumar Okafor Mensah Diallo Nielsen Hansen Johansson Silva Santos Oliveira Pereira Smith Johnson Williams "
    "Brown Jones Miller Davis Wilson Taylor Nguyen Tran Kim Lee Park Cohen Levi")
WORDS = _words(
    "blue red green silver golden dark bright quiet swift lucky happy brave clever lazy wild tiny mighty cosmic "
    "pixel retro neon shadow storm river forest ocean mountain falcon wolf tiger panda fox owl dragon phoenix comet "
    "rocket ninja coder hacker gamer rider walker dreamer maker builder wizard knight pirate robot cat dog bear lion "
    "eagle shark moon sun star cloud rain snow")
DOMAINS = _words(
    "gmail.com outlook.com yahoo.com qq.com 163.com proton.me icloud.com mail.ru web.de example.org uni-example.edu "
    "company.example")
NEEDLES = 3  # users named quokka.zanzibar<i>, "Quirinus Zanzibar", "QuokkaKing": no one else matches

# (label, query string): each filter alone with a rare and a common value, then the pages.
SHAPES = [
    ("loginName rare", {"loginName": "quokka"}),
    ("loginName common", {"loginName": "maria"}),
    ("userName rare", {"userName": "zanzibar"}),
    ("userName common", {"userName": "garcia"}),
    ("nickName rare", {"nickName": "quokkaking"}),
    ("nickName common", {"nickName": "wolf"}),
    ("email 77@", {"email": "77@"}),
    ("email rare", {"email": "needle.example"}),
    ("status frozen", {"status": "5"}),
    ("role admin", {"role": "admin"}),
    ("userType gold", {"userType": "4"}),
    ("userType admin", {"userType": "2"}),
    ("no filter", {}),
    ("first page, size 100", {"page": "1", "size": "100"}),
]


def sql_list(words: list[str]) -> str:
    return "(ARRAY[" + ",".join(f"'{word}'" for word in words) + "])"


def pick(array: str, size: int, salt: int) -> str:
    return f"{array}[1 + (h.v{salt} %% {size})]"


LOAD_SQL = """
CREATE TEMP TABLE bench_h ON COMMIT DROP AS
SELECT i,
       abs(hashtextextended(i::text, 1)) AS v1, abs(hashtextextended(i::text, 2)) AS v2,
       abs(hashtextextended(i::text, 3)) AS v3, abs(hashtextextended(i::text, 4)) AS v4,
       abs(hashtextextended(i::text, 5)) AS v5, abs(hashtextextended(i::text, 6)) AS v6
FROM generate_series(1, %(n)s) AS i;

INSERT INTO accounts_user (id, password, last_login, is_superuser, username, email, email_verified, nickname,
                           real_name, intro, github, school, website, status, is_staff, is_developer,
                           registered_at, password_changed_at, status_changed_at)
SELECT h.i,
       'argon2$argon2id$v=19$m=7168,t=5,p=1$' || left(md5(h.i::text), 22) || '$' || md5('p' || h.i) || 'AbCdEfGhIj1',
       CASE WHEN h.v6 %% 3 = 0 THEN NULL ELSE now() - make_interval(secs => h.v6 %% 8000000) END,
       false,
       CASE h.v5 %% 4
         WHEN 0 THEN lower({first}) || '.' || lower({last}) || h.i
         WHEN 1 THEN lower({first}) || '_' || h.i
         WHEN 2 THEN lower(left({first}, 1)) || lower({last}) || h.i
         ELSE {word_a} || '-' || {word_b} || h.i
       END,
       CASE WHEN h.v6 %% 20 = 0 THEN NULL
            WHEN h.v5 %% 3 = 0 THEN lower({first}) || '.' || lower({last}) || h.i || '@' || {domain}
            ELSE lower({word_a}) || h.i || '@' || {domain} END,
       h.v6 %% 10 < 7,
       CASE WHEN h.v4 %% 10 = 0 THEN '' WHEN h.v4 %% 3 = 0 THEN initcap({word_a}) || initcap({word_b})
            ELSE {word_a} || '_' || {word_b} END,
       CASE WHEN h.v3 %% 7 = 0 THEN '' ELSE {first} || ' ' || {last} END,
       '', '', '', '',
       CASE WHEN h.v2 %% 1000 < 850 THEN 2 WHEN h.v2 %% 1000 < 920 THEN 1 WHEN h.v2 %% 1000 < 950 THEN 3
            WHEN h.v2 %% 1000 < 980 THEN 5 ELSE 7 END,
       h.v1 %% 1000 = 0,
       h.v4 %% 50 = 0,
       now() - make_interval(secs => h.v1 %% 157000000),
       NULL, NULL
FROM bench_h AS h;

SELECT setval(pg_get_serial_sequence('accounts_user', 'id'), %(n)s);

INSERT INTO membership_membership (user_id, tier_id, expires_at, started_at, updated_at, period_started_at,
                                   period_years, period_value)
SELECT u.id, t.id,
       CASE WHEN t.user_type IN (3, 4, 5) THEN now() + make_interval(days => (h.v3 %% 880)::int - 180) END,
       u.registered_at, now(),
       CASE WHEN t.user_type IN (4, 5) THEN now() - make_interval(days => (h.v3 %% 180)::int) END,
       CASE WHEN t.user_type IN (4, 5) THEN 1 ELSE 0 END,
       CASE WHEN t.user_type IN (4, 5) THEN t.fee ELSE 0 END
FROM bench_h AS h
JOIN accounts_user AS u ON u.id = h.i
JOIN membership_tier AS t ON t.user_type = CASE
    WHEN u.is_staff THEN 2 WHEN h.v5 %% 100 < 80 THEN 1 WHEN h.v5 %% 100 < 90 THEN 3
    WHEN h.v5 %% 100 < 96 THEN 4 ELSE 5 END;

UPDATE accounts_user AS u
SET user_type = t.user_type, invalid_at = CASE WHEN t.user_type <> 2 THEN m.expires_at END, user_type_after = 1
FROM membership_membership AS m JOIN membership_tier AS t ON t.id = m.tier_id
WHERE m.user_id = u.id AND t.user_type <> 1;

INSERT INTO membership_wallet (user_id, balance, updated_at)
SELECT h.i, CASE WHEN h.v4 %% 10 = 0 THEN (h.v4 %% 100000) / 100.0 ELSE 0 END, now()
FROM bench_h AS h;

INSERT INTO quotas_quota (user_id, kind, quota, use, day, updated_at)
SELECT m.user_id, k.kind,
       CASE k.kind WHEN 'repo_public' THEN t.repo_public WHEN 'repo_private' THEN t.repo_private
                   WHEN 'deposit' THEN t.deposit_bytes ELSE t.pulls_per_day END,
       0, NULL, now()
FROM membership_membership AS m
JOIN membership_tier AS t ON t.id = m.tier_id
CROSS JOIN (VALUES ('repo_public'), ('repo_private'), ('deposit'), ('pullnum')) AS k(kind);

UPDATE accounts_user
SET username = 'quokka.zanzibar' || id, email = 'quokka.zanzibar' || id || '@needle.example',
    nickname = 'QuokkaKing', real_name = 'Quirinus Zanzibar', status = 2
WHERE id IN (SELECT (%(n)s / (%(needles)s + 1)) * k FROM generate_series(1, %(needles)s) AS k);
""".format(
    first=pick(sql_list(FIRST), len(FIRST), 1), last=pick(sql_list(LAST), len(LAST), 2),
    word_a=pick(sql_list(WORDS), len(WORDS), 3), word_b=pick(sql_list(WORDS), len(WORDS), 4),
    domain=pick(sql_list(DOMAINS), len(DOMAINS), 6),
)

TABLES = ("accounts_user", "membership_membership", "membership_wallet", "quotas_quota")


def connect():
    import psycopg

    return psycopg.connect(database_url(SEARCH_DB), autocommit=True)


def loaded_users() -> int:
    """Users loaded by an earlier run, or -1 if an earlier run stopped before its tables were made."""
    import psycopg

    try:
        with connect() as conn:
            return conn.execute("SELECT count(*) FROM accounts_user WHERE NOT is_superuser").fetchone()[0]
    except psycopg.errors.UndefinedTable:
        return -1


def migrate(env: dict[str, str]) -> None:
    subprocess.run([str(VENV_PYTHON), "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)


def secondary_indexes(conn) -> list[tuple[str, list[str]]]:
    """(name, statements) of the indexes on TABLES that no constraint owns: the ones a bulk load may drop
    and build again afterwards, which is several times faster than updating them row by row. The statements
    make the index again with the statistics target of each of its columns that has one (migration 0011
    sets them on the trigram expressions; pg_get_indexdef leaves them out, and ANALYZE needs them)."""
    rows = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
        "ARRAY(SELECT format('ALTER INDEX %%s ALTER COLUMN %%s SET STATISTICS %%s', i.indexrelid::regclass, "
        "a.attnum, a.attstattarget) FROM pg_attribute AS a WHERE a.attrelid = i.indexrelid "
        "AND a.attstattarget > 0 ORDER BY a.attnum) FROM pg_index AS i "
        "WHERE i.indrelid = ANY(%s::regclass[]) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)", [list(TABLES)],
    ).fetchall()
    return [(name, [definition, *targets]) for name, definition, targets in rows]


def load(users: int, env: dict[str, str]) -> None:
    """One transaction: an interrupted load leaves no users, so the next run loads again."""
    database_recreate(SEARCH_DB)
    migrate(env)
    print(f"loading {users:,} users with their memberships, wallets and quotas ...", flush=True)
    start = time.perf_counter()
    with connect() as conn, conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        conn.execute("SET LOCAL work_mem = '64MB'")
        # No foreign-key trigger per row: every row refers to a user made just before it in this transaction.
        conn.execute("SET LOCAL session_replication_role = replica")
        indexes = secondary_indexes(conn)
        for name, _statements in indexes:
            conn.execute(f"DROP INDEX {name}")
        for statement in LOAD_SQL.split(";\n\n"):
            conn.execute(statement, {"n": users, "needles": NEEDLES}, prepare=False)
        rows = time.perf_counter() - start
        for _name, statements in indexes:
            for statement in statements:
                conn.execute(statement)
    loaded = time.perf_counter() - start
    print(f"loaded in {loaded:.1f} s: rows {rows:.1f} s, then {len(indexes)} indexes {loaded - rows:.1f} s "
          f"({'under' if loaded < 120 else 'OVER'} the 2-minute budget)", flush=True)


def vacuum_analyze() -> None:
    start = time.perf_counter()
    with connect() as conn:
        for table in TABLES:
            conn.execute(f"VACUUM (ANALYZE) {table}")
    print(f"VACUUM ANALYZE in {time.perf_counter() - start:.1f} s", flush=True)


def admin_ensure() -> None:
    from accounts.models import User

    if not User.objects.filter(username=ADMIN).exists():
        User.objects.create_superuser(ADMIN, PASSWORD, email=f"{ADMIN}@bench.example")
    from django.db import connections

    connections.close_all()


def admin_token(server: Server) -> str:
    status, reply = http("POST", server.base + "/auth/login",
                         {"username": ADMIN, "password": PASSWORD, "terminal": "bench-search"})
    if status != 200:
        raise RuntimeError(f"admin login gave {status}: {reply}")
    return reply["data"]["access"]


def timed_get(port: int, path: str, token: str) -> tuple[float, int, bytes]:
    start = time.perf_counter()
    conn = HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    return (time.perf_counter() - start) * 1000, response.status, body


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _checked_get(port: int, path: str, token: str) -> tuple[float, bytes]:
    elapsed, status, body = timed_get(port, path, token)
    if status != 200:
        raise RuntimeError(f"{path}: {status} {body[:300]!r}")
    return elapsed, body


def deepest_page() -> tuple[int, int]:
    """(the deepest page by number at PAGE_SIZE, the rows pages by number reach): `after` goes on from there."""
    from accountsite.pagination import KeysetPagePagination

    return KeysetPagePagination.max_rows // PAGE_SIZE, KeysetPagePagination.max_rows


def shape_paths(users: int) -> list[tuple[str, str]]:
    """(label, path) of every shape: SHAPES, then the deepest page by number and pages deep by key."""
    deepest, _rows = deepest_page()
    deep_key = str(users * 9 // 10)
    shapes = [*SHAPES, (f"deepest page {deepest}", {"page": str(deepest)}),
              ("deep page by key", {"after": deep_key}),
              ("loginName common by key", {"loginName": "maria", "after": deep_key})]
    return [(label, "/users/" + (f"?{urlencode(params)}" if params else "")) for label, params in shapes]


def time_shapes(server: Server, requests: int, users: int) -> list[tuple[str, str, str, float, float]]:
    """Every shape once a round, `requests` rounds: a burst of load from elsewhere on the machine hits every
    shape alike instead of the few that were running then."""
    import json

    deepest, max_rows = deepest_page()
    labelled = shape_paths(users)
    paths = [path for _label, path in labelled]
    token, signed_in = admin_token(server), time.monotonic()
    bodies = {}
    for path in paths:
        for _ in range(WARMUP):
            _elapsed, bodies[path] = _checked_get(server.port, path, token)
    times: dict[str, list[float]] = {path: [] for path in paths}
    for _ in range(requests):
        if time.monotonic() - signed_in > 300:  # well inside an access token's lifetime
            token, signed_in = admin_token(server), time.monotonic()
        for path in paths:
            elapsed, _body = _checked_get(server.port, path, token)
            times[path].append(elapsed)
    _elapsed, status, _body = timed_get(server.port, f"/users/?page={deepest + 1}", token)
    print(f"page {deepest + 1} (past row {max_rows:,}): HTTP {status}, "
          f"{'1007 pointing to after, as documented' if status == 400 else 'NOT the documented 1007'}", flush=True)
    rows = []
    for label, path in labelled:
        data = json.loads(bodies[path])["data"]
        matches = f"{'' if data['total_exact'] else '~'}{data['total']:,}"  # ~: an estimate or a capped count
        p50, p95 = percentile(times[path], 0.5), percentile(times[path], 0.95)
        rows.append((label, path, matches, p50, p95))
        verdict = "PASS" if p95 <= GOAL_P95_MS else f"short by {p95 - GOAL_P95_MS:.1f} ms"
        print(f"{label:24} {path:42} {matches:>11} matches  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {verdict}",
              flush=True)
    return rows


def split_shapes(paths: list[str], requests: int) -> None:
    """Each shape through Django's handler in this process: its CPU a request, how much of it is Django
    compiling SELECT statements (most of what compiling each shape once would save; building the querysets is
    the rest), and the statements' wall time (the database's work and the round trips, on the same cores)."""
    from django.db import connection
    from django.db.models.sql import compiler
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")  # production's ALLOWED_HOSTS refuse `testserver`
    reply = client.post("/auth/login", {"username": ADMIN, "password": PASSWORD, "terminal": "bench-search-split"},
                        content_type="application/json")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reply.json()['data']['access']}"}
    spent = {"compiling": 0.0, "statements": 0.0}
    depth = [0]
    as_sql = compiler.SQLCompiler.as_sql

    def timed_as_sql(self, *args, **kwargs):  # a subquery's compiling is part of its statement's
        depth[0] += 1
        start = time.thread_time()
        try:
            return as_sql(self, *args, **kwargs)
        finally:
            depth[0] -= 1
            if not depth[0]:
                spent["compiling"] += time.thread_time() - start

    def timed_statement(execute, sql, params, many, context):
        start = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["statements"] += time.perf_counter() - start

    print(f"\nin this process, means of {requests} requests a shape:", flush=True)
    compiler.SQLCompiler.as_sql = timed_as_sql
    try:
        with connection.execute_wrapper(timed_statement):
            for path in paths:
                for _ in range(WARMUP):
                    client.get(path, **auth)
                spent.update(compiling=0.0, statements=0.0)
                start = time.thread_time()
                for _ in range(requests):
                    reply = client.get(path, **auth)
                    if reply.status_code != 200:
                        raise RuntimeError(f"{path}: {reply.status_code} {reply.content[:300]!r}")
                cpu = (time.thread_time() - start) / requests * 1000
                compiling, statements = (spent[part] / requests * 1000 for part in ("compiling", "statements"))
                print(f"{path:42} CPU {cpu:5.2f} ms, of which compiling SELECTs {compiling:4.2f} ms; "
                      f"statements {statements:5.2f} ms (wall)", flush=True)
    finally:
        compiler.SQLCompiler.as_sql = as_sql


def markdown(rows: list, users: int, requests: int) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: `.venv/bin/python bench/search.py`", "",
        f"{now}, {users:,} users, gunicorn with 2 sync workers on PostgreSQL, as a superuser over HTTP; "
        f"{requests} rounds of one request per shape, sequential, after {WARMUP} of warm-up.", "",
        "| shape | request | matches | p50 ms | p95 ms | goal | verdict |", "|---|---|---|---|---|---|---|",
    ]
    for label, path, matches, p50, p95 in rows:
        verdict = "PASS" if p95 <= GOAL_P95_MS else f"short by {p95 - GOAL_P95_MS:.1f} ms"
        lines.append(f"| {label} | `{path}` | {matches} | {p50:.1f} | {p95:.1f} | ≤ {GOAL_P95_MS:.0f} | {verdict} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000, help="how many users to load (default 1,000,000)")
    parser.add_argument("--reload", action="store_true", help="load again even if the count is already there")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per shape (default 50)")
    parser.add_argument("--split", action="store_true",
                        help="then time each shape in this process: its CPU, Django's compiling, its statements")
    args = parser.parse_args()
    if args.users < 100:
        parser.error("--users: at least 100")
    stop_on_sigterm()
    env = service_env(db_name=SEARCH_DB, redis_url=REDIS_URL)
    created = database_ensure(SEARCH_DB)
    if created or args.reload or loaded_users() != args.users:
        load(args.users, env)
        vacuum_analyze()
    else:
        print(f"{SEARCH_DB} already holds {args.users:,} users: not loading again (--reload to force)", flush=True)
        migrate(env)
    django_setup(env)
    admin_ensure()
    redis_flush(REDIS_URL)
    workdir = Path(tempfile.mkdtemp(prefix="accountsite-search-"))
    server = Server("ours", gunicorn_command(service_python(), "accountsite.wsgi"), env, ROOT, workdir)
    try:
        server.start("/healthz")
        rows = time_shapes(server, args.requests, args.users)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(markdown(rows, args.users, args.requests))
    print(f"written to {RESULTS.relative_to(ROOT)}")
    if args.split:
        split_shapes([path for _label, path in shape_paths(args.users)], args.requests)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\nbench: interrupted; every server it started is stopped")
