"""manage.py run_outbox [--once] [--interval SECONDS]: the outbox worker (mail delivery and retries)."""

import argparse
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accountsite.outbox import outbox_run


def _seconds(raw: str) -> float:
    """--interval: a number of seconds the worker can sleep between polls (not negative, not NaN, not a
    tight loop on the database, not past an hour)."""
    try:
        value = float(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from None
    if not 0.1 <= value <= 3600:  # also false for NaN
        raise argparse.ArgumentTypeError(f"{raw!r}: give 0.1 to 3600 seconds")
    return value


class Command(BaseCommand):
    help = "Runs the outbox's due tasks (e-mail), retrying failures with backoff; --once for one pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over the due tasks, then exit")
        parser.add_argument("--interval", type=_seconds, default=1.0,
                            help="seconds between polls when idle, 0.1 to 3600")

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        while True:
            done, failed = outbox_run()
            if done or failed:
                self.stdout.write(f"outbox: {done} done, {failed} failed")
            if once:
                return
            if not done:
                time.sleep(interval)
