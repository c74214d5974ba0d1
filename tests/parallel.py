"""Real parallelism for concurrency tests: threads, each on its own database connection."""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import connection

THREADS = 8


def run_parallel(call: Callable[[int], Any], count: int, threads: int = THREADS) -> list[Any]:
    """Runs call(0..count-1) spread over `threads` threads that start together; returns each call's
    result, or the exception it raised. Every thread closes its own connection when it is done."""
    start = threading.Barrier(threads)

    def worker(indexes: range) -> list[Any]:
        results: list[Any] = []
        try:
            start.wait()
            for index in indexes:
                try:
                    results.append(call(index))
                except Exception as exc:  # collected: the test asserts on every outcome
                    results.append(exc)
        finally:
            connection.close()
        return results

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(worker, range(n, count, threads)) for n in range(threads)]
        return [result for future in futures for result in future.result()]


def waited_or_done(done: threading.Event, wait: float = 10) -> None:
    """Returns once another connection waits for a lock this thread's transaction holds, or once `done` (the
    other thread has finished without waiting). A thread holding its locks calls it where the other must
    meet them: no sleep guesses when the other arrives. pg_locks and pg_blocking_pids are read afresh by each
    statement, unlike pg_stat_activity in a transaction. PostgreSQL only."""
    deadline = time.monotonic() + wait
    with connection.cursor() as cursor:
        while not done.is_set():
            cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE NOT granted"
                           " AND pg_backend_pid() = ANY(pg_blocking_pids(pid)))")
            if cursor.fetchone()[0]:
                return
            assert time.monotonic() < deadline, "the other thread neither finished nor waited for a lock"
            time.sleep(0.01)
