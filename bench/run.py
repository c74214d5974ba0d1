"""The performance figures of issue 12, side by side in one run, as ratios against two baselines.

    sh bench/run.sh                     # sets up .venv, then runs this file; about 4 minutes
    BENCH_PROFILE=1 sh bench/run.sh     # instead: profile GET /auth/me and the login in-process, print the top

The profile runs through Django's full handler (the test Client) on the same PostgreSQL database and Redis,
under pyinstrument when it can be imported (it is not pinned: `pip install pyinstrument` into .venv for it),
else cProfile; it also prints each path's queries and its time a request, and what a login's CPU is made of
(the verify inside it, the verify alone, the login with a verify that costs nothing).

Three servers, each gunicorn with 2 sync workers on loopback and PostgreSQL, are started here and stopped
again whatever happens: this service (accountsite.wsgi, DEBUG off, Redis db 9, in bench/.service-venv with the
production pins of requirements.txt only), a djoser + simplejwt baseline and a bare Django view (both under
bench/peer/, in their own venv bench/.peer-venv from hashed pins). wrk
drives them all alike, in interleaved rounds so machine noise hits every server alike; each figure is the
median over the rounds. Absolute numbers on a shared 2-core machine are noise: the ratios are the figures.

1. Authenticated GET of the caller's own profile: `GET /auth/me` (our token from `POST /auth/login`) against
   djoser's `GET /auth/users/me/` (its JWT from `/auth/jwt/create/`) and the bare view.
2. Password logins a second, ours and djoser's (Django's default PBKDF2), against the hash ceiling: the cores
   divided by the time of one verify of our Argon2id hash, timed right before and after our logins in every
   round; the figure is the median of the rounds' ratios.
3. RSS of our gunicorn master and its 2 workers after the load (and PSS, which counts shared pages once).

The table is printed and written to bench/results/latest.md. Its own databases (BENCH_DB, accountsite_bench;
BENCH_PEER_DB, bench_peer) are dropped and made again at every run. Knobs: BENCH_ROUNDS (5), BENCH_DURATION seconds per
measurement (8), BENCH_WARMUP (3), BENCH_CONNECTIONS (8), BENCH_REDIS_URL (redis://127.0.0.1:6379/9),
BENCH_PG_URL (postgres://postgres@127.0.0.1:5432); BENCH_PROFILE_REQUESTS (3000) and BENCH_PROFILE_LOGINS (200).
"""

import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness import (
    ROOT,
    VENV_PYTHON,
    Server,
    database_recreate,
    database_url,
    django_setup,
    gunicorn_command,
    http,
    redis_flush,
    service_env,
    service_python,
    stop_on_sigterm,
    venv_ensure,
)

BENCH = ROOT / "bench"
PEER = BENCH / "peer"
PEER_VENV = BENCH / ".peer-venv"
RESULTS = BENCH / "results" / "latest.md"
OUR_DB = os.environ.get("BENCH_DB", "accountsite_bench")
PEER_DB = os.environ.get("BENCH_PEER_DB", "bench_peer")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9")

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
DURATION = int(os.environ.get("BENCH_DURATION", "8"))
WARMUP = int(os.environ.get("BENCH_WARMUP", "3"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "8"))
THREADS = 2
HASH_SAMPLES = 20  # verifies timed before and after our logins in each round

PASSWORD = "bench-Password-1234"
PROFILE_USERS = 4  # tokens the profile GET cycles through, on a terminal no login of the bench touches
LOGIN_USERS = 16  # logins cycle through these users x TERMINALS, so session replacement spreads over rows
TERMINALS = 2
PROFILE_TERMINAL = "bench-profile"

GOAL_VS_DJOSER, GOAL_VS_BARE, GOAL_OF_CEILING, GOAL_RSS_MB = 2.0, 0.5, 0.85, 200.0


# --- Set-up ------------------------------------------------------------------------------------------------

def wrk_ensure() -> str:
    """wrk from Debian, installed when missing (as root: a CI machine or a fresh developer box)."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("bench: wrk is missing; install it with `apt-get install -y wrk` (root), then run again.")
    print("bench: installing wrk with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env, stdout=subprocess.DEVNULL)
    return shutil.which("wrk") or sys.exit("bench: apt-get installed no wrk")


def peer_venv_ensure() -> Path:
    return venv_ensure(PEER_VENV, PEER / "requirements.txt", "the baseline's packages")


def our_users_create() -> None:
    from accounts.models import User

    for name in [*profile_names("ours"), *login_names("ours")]:
        User.objects.create_user(name, PASSWORD, email=f"{name}@bench.example")


def peer_users_create(python: Path, env: dict[str, str]) -> None:
    names = [*profile_names("djoser"), *login_names("djoser")]
    # One PBKDF2 hash (a million iterations) for all of them: the hash is what a login pays, not set-up.
    code = ("from django.contrib.auth.hashers import make_password; from django.contrib.auth.models import User; "
            f"encoded = make_password({PASSWORD!r}); "
            "User.objects.bulk_create([User(username=n, email=n + '@bench.example', password=encoded) "
            f"for n in {names!r}])")
    subprocess.run([str(python), "manage.py", "shell", "--no-imports", "-c", code], cwd=PEER, env=env, check=True)


def profile_names(server: str) -> list[str]:
    return [f"bench-{server}-me{i}" for i in range(PROFILE_USERS)]


def login_names(server: str) -> list[str]:
    return [f"bench-{server}-login{i}" for i in range(LOGIN_USERS)]


def peer_env(settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "GUNICORN_"))}
    env.update(DJANGO_SETTINGS_MODULE=settings, DATABASE_URL=database_url(PEER_DB))
    return env


# --- Load ----------------------------------------------------------------------------------------------------

LUA = """-- written by bench/run.py: cycles through prepared requests, each thread from its own offset
local specs = %s
local prepared = {}
local started = 0
function setup(thread)
  thread:set("offset", started * math.floor(#specs / %d))
  started = started + 1
end
function init(args)
  for i, s in ipairs(specs) do
    prepared[i] = wrk.format(s[1], s[2], s[3], s[4])
  end
  counter = offset or 0
end
function request()
  counter = counter + 1
  return prepared[(counter %% #prepared) + 1]
end
"""


def lua_string(value: str) -> str:
    return json.dumps(value)  # ASCII JSON strings are valid Lua string literals


def lua_script(requests: list[tuple[str, str, dict[str, str], str | None]]) -> str:
    specs = []
    for method, path, headers, body in requests:
        head = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items())
        specs.append(f"{{{lua_string(method)}, {lua_string(path)}, {{{head}}}, "
                     f"{lua_string(body) if body is not None else 'nil'}}}")
    return LUA % ("{\n  " + ",\n  ".join(specs) + "\n}", THREADS)


@dataclass
class Measure:
    rps: float
    requests: int
    cpu_ms: float  # server CPU per request, all processes of the server
    latency_p50_ms: float


def wrk_run(wrk: str, server: Server, script: Path, seconds: int) -> Measure:
    cpu_before = server.cpu_seconds()
    result = subprocess.run(
        [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "20s", "--latency",
         "-s", str(script), server.base], capture_output=True, text=True, check=True)
    cpu = server.cpu_seconds() - cpu_before
    out = result.stdout
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{server.name}: {bad.group(1)} of {requests} replies were not 2xx:\n{out}\n"
                           f"{server.log_tail()}")
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and sum(map(int, errors.groups())):
        print(f"  note: {server.name}: socket errors ({errors.group(0)})", flush=True)
    latency = re.search(r"50%\s+([\d.]+)(us|ms|s)\b", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return Measure(rps=float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), requests=requests,
                   cpu_ms=cpu * 1000 / max(requests, 1),
                   latency_p50_ms=float(latency.group(1)) * scale[latency.group(2)] if latency else float("nan"))


def our_login_body(name: str, terminal: str) -> str:
    return json.dumps({"username": name, "password": PASSWORD, "terminal": terminal})


def tokens_ours(server: Server) -> list[str]:
    tokens = []
    for name in profile_names("ours"):
        status, reply = http("POST", server.base + "/auth/login",
                             {"username": name, "password": PASSWORD, "terminal": PROFILE_TERMINAL})
        if status != 200:
            raise RuntimeError(f"ours: login of {name} gave {status}: {reply}")
        tokens.append(reply["data"]["access"])
    return tokens


def tokens_djoser(server: Server) -> list[str]:
    tokens = []
    for name in profile_names("djoser"):
        status, reply = http("POST", server.base + "/auth/jwt/create/", {"username": name, "password": PASSWORD})
        if status != 200:
            raise RuntimeError(f"djoser: /auth/jwt/create/ for {name} gave {status}: {reply}")
        tokens.append(reply["access"])
    return tokens


def bearer_gets(path: str, tokens: list[str]) -> list:
    return [("GET", path, {"Authorization": f"Bearer {token}"}, None) for token in tokens]


JSON = {"Content-Type": "application/json"}


def scenario_requests(figure: str, name: str, server: Server) -> list:
    """The requests wrk cycles through. Called before every measurement: access tokens are fetched fresh
    (djoser's live 5 minutes by default), which is also why the profile users sign in on a terminal of their own."""
    if figure == "profile":
        if name == "ours":
            return bearer_gets("/auth/me", tokens_ours(server))
        if name == "djoser":
            return bearer_gets("/auth/users/me/", tokens_djoser(server))
        return [("GET", "/bare/", {}, None)]
    if name == "ours":
        return [("POST", "/auth/login", JSON, our_login_body(user, f"t{terminal}"))
                for terminal in range(TERMINALS) for user in login_names("ours")]
    return [("POST", "/auth/jwt/create/", JSON, json.dumps({"username": user, "password": PASSWORD}))
            for user in login_names("djoser")]


FIGURES = {"profile": ("ours", "djoser", "bare"), "login": ("ours", "djoser")}


def measure_all(wrk: str, servers: dict[str, Server], workdir: Path
                ) -> tuple[dict[str, dict[str, list[Measure]]], list[tuple[float, float]]]:
    """Every figure of every server in interleaved rounds, and the hash timed again in each round (wall and
    CPU of one verify) right before and right after our logins, so that the ceiling sees the same machine as
    the logins it is compared with: this machine's speed drifts by a third within a minute."""
    results: dict[str, dict[str, list[Measure]]] = {figure: {name: [] for name in names}
                                                    for figure, names in FIGURES.items()}
    verifies: list[tuple[float, float]] = []
    script_count = 0

    def one(figure: str, name: str, seconds: int) -> Measure:
        nonlocal script_count
        script_count += 1
        script = workdir / f"load{script_count}.lua"
        script.write_text(lua_script(scenario_requests(figure, name, servers[name])))
        return wrk_run(wrk, servers[name], script, seconds)

    print(f"warm-up: {WARMUP} s for each server and figure", flush=True)
    for figure, names in FIGURES.items():
        for name in names:
            one(figure, name, WARMUP)
    for round_number in range(ROUNDS):
        for figure, names in FIGURES.items():
            # The order of the servers turns each round, so none is always measured first or last.
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                bracketed = (figure, name) == ("login", "ours")
                before = hash_verify_seconds() if bracketed else None
                measure = one(figure, name, DURATION)
                if before is not None:
                    after = hash_verify_seconds()
                    verifies.append(((before[0] + after[0]) / 2, (before[1] + after[1]) / 2))
                    print(f"round {round_number + 1}/{ROUNDS} hash: one Argon2id verify {before[0] * 1000:.1f} ms "
                          f"before our logins and {after[0] * 1000:.1f} ms after ({before[1] * 1000:.1f} and "
                          f"{after[1] * 1000:.1f} ms of CPU; medians of {HASH_SAMPLES})", flush=True)
                results[figure][name].append(measure)
                print(f"round {round_number + 1}/{ROUNDS} {figure:7} {name:6} {measure.rps:8.1f}/s  "
                      f"server CPU {measure.cpu_ms:6.2f} ms a request  p50 {measure.latency_p50_ms:.1f} ms",
                      flush=True)
    return results, verifies


# --- Hash ceiling --------------------------------------------------------------------------------------------

def hash_verify_seconds() -> tuple[float, float]:
    """Median wall and CPU time of one check_password of our Argon2id hash (the verify a login pays).
    The wall time makes the ceiling; the CPU time says how much of it a busy machine took away."""
    from django.contrib.auth.hashers import check_password, get_hasher, make_password

    from accounts.hashers import OWASPArgon2PasswordHasher

    hasher = get_hasher("default")
    assert isinstance(hasher, OWASPArgon2PasswordHasher), f"the first hasher is {type(hasher).__name__}"
    encoded = make_password(PASSWORD, hasher=hasher)
    check_password(PASSWORD, encoded)
    walls, cpus = [], []
    for _ in range(HASH_SAMPLES):
        wall, cpu = time.perf_counter(), time.thread_time()
        assert check_password(PASSWORD, encoded)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.thread_time() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def _verify_for(seconds: float, encoded: str, results) -> None:
    from django.contrib.auth.hashers import check_password

    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        assert check_password(PASSWORD, encoded)
        count += 1
    results.put(count)


def hash_parallel_rate(seconds: float = 5.0) -> float:
    """Verifies a second with one process per core verifying at once: what the cores really give when every
    one of them hashes (they share memory bandwidth and caches), a reference beside the ceiling."""
    import multiprocessing

    from django.contrib.auth.hashers import make_password

    encoded = make_password(PASSWORD)
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    workers = [context.Process(target=_verify_for, args=(seconds, encoded, results)) for _ in range(cores())]
    for worker in workers:
        worker.start()
    total = sum(results.get() for _ in workers)
    for worker in workers:
        worker.join()
    return total / seconds


def cores() -> int:
    return len(os.sched_getaffinity(0))


# --- Report --------------------------------------------------------------------------------------------------

def verdict_at_least(value: float, goal: float) -> str:
    """PASS, or how far short; a value that rounds to the goal says so with a third decimal (0.499 of 0.5)."""
    if value >= goal:
        return "PASS"
    places = 2 if round(goal - value, 2) > 0 else 3
    return f"short by {goal - value:.{places}f} ({value:.3f}; x{goal / value:.{places}f} needed)"


def verdict_at_most_mb(value: float, goal: float) -> str:
    return "PASS" if value <= goal else f"short by {value - goal:.0f} MB ({value:.0f} > {goal:.0f})"


def median_of(measures: list[Measure], attribute: str) -> float:
    return statistics.median(getattr(measure, attribute) for measure in measures)


def ceiling_shares(results: dict, verifies: list[tuple[float, float]]) -> list[float]:
    """Each round's logins a second as a share of that round's ceiling (the verify timed around them)."""
    return [login.rps * wall / cores() for login, (wall, _) in zip(results["login"]["ours"], verifies, strict=True)]


def report(results: dict, verifies: list[tuple[float, float]], parallel: float,
           memory: dict[str, tuple[float, float]], processes: list[float]) -> str:
    verify_s = statistics.median(wall for wall, _ in verifies)
    verify_cpu_s = statistics.median(cpu for _, cpu in verifies)
    share = statistics.median(ceiling_shares(results, verifies))
    profile, login = results["profile"], results["login"]
    ours, djoser, bare = (median_of(profile[name], "rps") for name in ("ours", "djoser", "bare"))
    ours_login, djoser_login = median_of(login["ours"], "rps"), median_of(login["djoser"], "rps")
    ceiling = cores() / verify_s
    cpu = {name: median_of(profile[name], "cpu_ms") for name in profile}
    login_cpu = {name: median_of(login[name], "cpu_ms") for name in login}
    rss = memory["ours"][0]
    rows = [
        ("authenticated GET of the own profile, req/s", f"{djoser:,.0f}", f"{bare:,.0f}",
         f"{ours:,.0f} (`/auth/me`)", "", "", ""),
        ("… ours / djoser", "", "", f"**{ours / djoser:.2f}**", f"≥ {GOAL_VS_DJOSER}",
         verdict_at_least(ours / djoser, GOAL_VS_DJOSER),
         f"by server CPU per request: {cpu['djoser'] / cpu['ours']:.2f}"),
        ("… ours / bare view", "", "", f"**{ours / bare:.2f}**", f"≥ {GOAL_VS_BARE}",
         verdict_at_least(ours / bare, GOAL_VS_BARE), f"by server CPU per request: {cpu['bare'] / cpu['ours']:.2f}"),
        ("… server CPU per request, ms", f"{cpu['djoser']:.2f}", f"{cpu['bare']:.2f}", f"{cpu['ours']:.2f}",
         "", "", "reference"),
        ("password logins/s", f"{djoser_login:,.1f} (PBKDF2)", "-", f"{ours_login:,.1f}", "", "", ""),
        ("… server CPU per login, ms", f"{login_cpu['djoser']:.1f}", "-", f"{login_cpu['ours']:.1f}", "", "",
         "reference"),
        ("one Argon2id verify (ours), ms", "", "", f"{verify_s * 1000:.1f}", "", "",
         f"median of {ROUNDS} rounds, each the mean of the medians of {HASH_SAMPLES} timed right before and "
         f"after our logins; {verify_cpu_s * 1000:.1f} ms of CPU"),
        ("hash ceiling, logins/s", "", "", f"{ceiling:,.1f}", "", "", f"{cores()} cores ÷ one verify"),
        ("… logins / hash ceiling", "", "", f"**{share:.2f}**", f"≥ {GOAL_OF_CEILING}",
         verdict_at_least(share, GOAL_OF_CEILING),
         f"median of the rounds' ratios, each round's logins against the verify timed around them (medians "
         f"alone: {ours_login / ceiling:.2f}); the hash is {verify_cpu_s * 1000 / login_cpu['ours']:.2f} of the "
         f"server CPU per login"),
        ("verifies/s, every core verifying at once", "", "", f"{parallel:,.1f}", "", "",
         f"{parallel / ceiling:.2f} of the ceiling: the cores share memory bandwidth; logins reach "
         f"{ours_login / parallel:.2f} of it"),
        ("RSS, master + 2 workers after load, MB", f"{memory['djoser'][0]:.0f}", f"{memory['bare'][0]:.0f}",
         f"**{rss:.0f}**", f"≤ {GOAL_RSS_MB:.0f}", verdict_at_most_mb(rss, GOAL_RSS_MB),
         "sum of VmRSS: " + " + ".join(f"{mb:.0f}" for mb in processes) + " (master first)"),
        ("… PSS, MB", f"{memory['djoser'][1]:.0f}", f"{memory['bare'][1]:.0f}", f"{memory['ours'][1]:.0f}",
         "", "", "shared pages counted once"),
    ]
    header = ("figure", "djoser + simplejwt", "bare Django view", "this service", "goal", "verdict", "note")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def raw_rounds(results: dict, verifies: list[tuple[float, float]]) -> str:
    lines = ["| figure | server | req/s per round | server CPU ms/request per round |", "|---|---|---|---|"]
    for figure, servers in results.items():
        for name, measures in servers.items():
            lines.append(f"| {figure} | {name} | {', '.join(f'{m.rps:.1f}' for m in measures)} | "
                         f"{', '.join(f'{m.cpu_ms:.2f}' for m in measures)} |")
    profile = results["profile"]
    for other in ("djoser", "bare"):
        ratios = [ours.rps / theirs.rps for ours, theirs in zip(profile["ours"], profile[other], strict=True)]
        lines.append(f"| profile | ours / {other} | {', '.join(f'{r:.2f}' for r in ratios)} "
                     f"(median {statistics.median(ratios):.2f}) | |")
    lines.append(f"| hash | one verify, ms | {', '.join(f'{wall * 1000:.1f}' for wall, _ in verifies)} | |")
    shares = ceiling_shares(results, verifies)
    lines.append(f"| login | ours / that round's ceiling | {', '.join(f'{share:.2f}' for share in shares)} "
                 f"(median {statistics.median(shares):.2f}) | |")
    return "\n".join(lines)


def git_revision() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{git('rev-parse', '--short', 'HEAD')}{dirty}"


def markdown(table: str, raw: str) -> str:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"# Benchmark: `sh bench/run.sh`\n\n"
        f"{now}, commit {git_revision()}, {cores()} cores, {platform.platform()}, PostgreSQL on loopback.\n"
        f"Each server: gunicorn, 2 sync workers. wrk -t{THREADS} -c{CONNECTIONS}, {ROUNDS} interleaved rounds of "
        f"{DURATION} s per server and figure after a {WARMUP} s warm-up; medians over the rounds.\n\n"
        f"{table}\n\n## Every round\n\n{raw}\n"
    )


# --- Profile hook --------------------------------------------------------------------------------------------

def profile_hot_paths() -> None:
    """GET /auth/me and POST /auth/login through Django's full handler in this process, on the bench's
    PostgreSQL database and Redis: queries per request, time per request, then the top of a profile."""
    from django.db import connection
    from django.test import Client

    gets = int(os.environ.get("BENCH_PROFILE_REQUESTS", "3000"))
    logins = int(os.environ.get("BENCH_PROFILE_LOGINS", "200"))
    client = Client(HTTP_HOST="127.0.0.1")  # production's ALLOWED_HOSTS (service_env) refuse `testserver`
    names = login_names("ours")

    def login(i: int):
        reply = client.post("/auth/login", our_login_body(names[i % len(names)], f"t{i % TERMINALS}"),
                            content_type="application/json")
        assert reply.status_code == 200, reply.content
        return reply

    reply = client.post("/auth/login", our_login_body(profile_names("ours")[0], PROFILE_TERMINAL),
                        content_type="application/json")
    assert reply.status_code == 200, reply.content
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reply.json()['data']['access']}"}

    def me(_i: int):
        reply = client.get("/auth/me", **auth)
        assert reply.status_code == 200, reply.content
        return reply

    for label, call, count in (("GET /auth/me", me, gets), ("POST /auth/login", login, logins)):
        for i in range(min(50, count)):
            call(i)
        queries: list[str] = []

        def capture(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        # Not CaptureQueriesContext: the test client's request_started signal empties the query log it reads.
        with connection.execute_wrapper(capture):
            call(0)
        start = time.perf_counter()
        for i in range(count):
            call(i)
        each = (time.perf_counter() - start) / count
        print(f"\n=== {label}: {len(queries)} queries, {each * 1000:.2f} ms a request in-process "
              f"(mean of {count}) ===")
        for sql in queries:
            print(f"  sql: {sql[:160]}")
        profile_run(label, lambda call=call, count=count: [call(i) for i in range(count)])
    login_cost_split(login, logins)


def login_cost_split(login, count: int) -> None:
    """What a login's CPU is made of: the verify inside it, the verify alone, and the login with a verify that
    costs nothing. The difference tells what the 7 MiB hash costs the code around it (it leaves the CPU's
    caches cold for the Python that follows)."""
    from accounts.hashers import OWASPArgon2PasswordHasher

    real = OWASPArgon2PasswordHasher.verify
    inside = [0.0]

    def timed(self, password, encoded):
        start = time.thread_time()
        try:
            return real(self, password, encoded)
        finally:
            inside[0] += time.thread_time() - start

    def cpu_per_login() -> float:
        start = time.thread_time()
        for i in range(count):
            login(i)
        return (time.thread_time() - start) / count

    try:
        OWASPArgon2PasswordHasher.verify = timed
        whole = cpu_per_login()
        OWASPArgon2PasswordHasher.verify = lambda self, password, encoded: True
        without = cpu_per_login()
    finally:
        OWASPArgon2PasswordHasher.verify = real
    alone = hash_verify_seconds()[1]
    verify = inside[0] / count
    print(f"\n=== POST /auth/login, CPU in-process (means of {count}) ===\n"
          f"  a login: {whole * 1000:.2f} ms, of which the verify {verify * 1000:.2f} ms "
          f"(alone: {alone * 1000:.2f} ms) and the rest {(whole - verify) * 1000:.2f} ms\n"
          f"  a login whose verify costs nothing: {without * 1000:.2f} ms; the hash makes the rest of a login "
          f"{(whole - verify - without) * 1000:.2f} ms slower, and itself {(verify - alone) * 1000:.2f} ms slower "
          f"than alone")


def profile_run(label: str, work) -> None:
    try:
        from pyinstrument import Profiler
    except ImportError:
        Profiler = None
    if Profiler is not None:
        profiler = Profiler(interval=0.0002)
        profiler.start()
        work()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
        return
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    work()
    profiler.disable()
    for order, top in (("cumulative", 45), ("tottime", 25)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats(order).print_stats(top)
        text = out.getvalue().replace(str(ROOT) + "/", "")
        text = re.sub(r"\S*/(site-packages|lib/python3\.\d+)/", "", text)
        print(f"--- cProfile of {label}, by {order} (pyinstrument is not installed) ---")
        print(text[text.find("   ncalls"):] if "   ncalls" in text else text)


# --- Main ----------------------------------------------------------------------------------------------------

def main() -> None:
    stop_on_sigterm()
    profile_only = os.environ.get("BENCH_PROFILE", "") not in ("", "0")
    wrk = None if profile_only else wrk_ensure()
    peer_python = None if profile_only else peer_venv_ensure()
    our_python = None if profile_only else service_python()
    workdir = Path(tempfile.mkdtemp(prefix="accountsite-bench-"))
    servers: dict[str, Server] = {}
    try:
        print(f"bench: databases {OUR_DB}" + ("" if profile_only else f", {PEER_DB}") + f"; Redis {REDIS_URL}",
              flush=True)
        our_env = service_env(db_name=OUR_DB, redis_url=REDIS_URL)
        database_recreate(OUR_DB)
        redis_flush(REDIS_URL)
        subprocess.run([str(VENV_PYTHON), "manage.py", "migrate", "--no-input", "-v0"], cwd=ROOT, env=our_env,
                       check=True)
        django_setup(our_env)
        our_users_create()
        if profile_only:
            profile_hot_paths()
            return
        database_recreate(PEER_DB)
        subprocess.run([str(peer_python), "manage.py", "migrate", "--no-input", "-v0"], cwd=PEER,
                       env=peer_env("peersite.settings"), check=True)
        peer_users_create(peer_python, peer_env("peersite.settings"))

        parallel = hash_parallel_rate()
        print(f"hash: {parallel:.1f} verifies/s with {cores()} processes verifying at once; one verify is timed "
              f"around our logins in every round", flush=True)
        from django.db import connections

        connections.close_all()

        servers["ours"] = Server("ours", gunicorn_command(our_python, "accountsite.wsgi"), our_env, ROOT, workdir)
        servers["djoser"] = Server("djoser", gunicorn_command(peer_python, "peersite.wsgi"),
                                   peer_env("peersite.settings"), PEER, workdir)
        servers["bare"] = Server("bare", gunicorn_command(peer_python, "peersite.wsgi"),
                                 peer_env("peersite.bare_settings"), PEER, workdir)
        for name, ready in (("ours", "/healthz"), ("djoser", "/auth/users/me/"), ("bare", "/bare/")):
            servers[name].start(ready)
        print("servers: " + ", ".join(f"{name} {server.base}" for name, server in servers.items()), flush=True)

        results, verifies = measure_all(wrk, servers, workdir)
        memory = {name: server.memory_mb() for name, server in servers.items()}
        table = report(results, verifies, parallel, memory, servers["ours"].process_rss_mb())
        print("\n" + table + "\n")
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(markdown(table, raw_rounds(results, verifies)))
        print(f"written to {RESULTS.relative_to(ROOT)}")
    finally:
        for server in servers.values():
            server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("\nbench: interrupted; every server it started is stopped")
