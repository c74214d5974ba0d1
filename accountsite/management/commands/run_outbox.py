"""manage.py run_outbox [--once] [--interval SECONDS]: the outbox worker (mail delivery and retries)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from accountsite.outbox import outbox_run


class Command(BaseCommand):
    help = "Runs the outbox's due tasks (e-mail), retrying failures with backoff; --once for one pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over the due tasks, then exit")
        parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls when idle")

    def handle(self, *args: Any, once: bool, interval: float, **options: Any) -> None:
        while True:
            done, failed = outbox_run()
            if done or failed:
                self.stdout.write(f"outbox: {done} done, {failed} failed")
            if once:
                return
            if not done:
                time.sleep(interval)
