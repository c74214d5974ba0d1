"""Real parallelism for concurrency tests: threads, each on its own database connection."""

import threading
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
