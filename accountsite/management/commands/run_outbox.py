"""manage.py run_outbox [--once] [--interval SECONDS]: the outbox worker (mail delivery and retries)."""

import time
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import InterfaceError, OperationalError, connections

from accountsite.numbers import decimal_option
from accountsite.outbox import outbox_run

DOWN_WAIT = 5  # seconds between tries while the database does not answer

# Not a tight loop on the database, not past an hour.
INTERVAL = decimal_option(minimum=Decimal("0.1"), maximum=Decimal(3600), places=3, unit="seconds")


class Command(BaseCommand):
    help = "Runs the outbox's due tasks (e-mail), retrying failures with backoff; --once for one pass."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="one pass over the due tasks, then exit")
        parser.add_argument("--interval", type=INTERVAL, default=Decimal(1),
                            help="seconds between polls when idle, 0.1 to 3600")

    def handle(self, *args: Any, once: bool, interval: Decimal, **options: Any) -> None:
        while True:
            try:
                done, failed = outbox_run()
            except (OperationalError, InterfaceError) as exc:
                # The database went away (a restart, a dropped connection): the worker waits and tries again on
                # a new connection, as gunicorn's workers do; the rows wait in the database meanwhile.
                if once:
                    raise CommandError(f"outbox: the database did not answer ({exc})") from None
                self.stderr.write(f"outbox: the database did not answer, trying again in {DOWN_WAIT} s ({exc})")
                connections.close_all()
                time.sleep(DOWN_WAIT)
                continue
            if done or failed:
                self.stdout.write(f"outbox: {done} done, {failed} failed")
            if once:
                return
            if not done:
                time.sleep(float(interval))
