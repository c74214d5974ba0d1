"""Anonymises accounts deleted more than N days ago, freeing their login names."""

from datetime import timedelta

from django.core.management.base import BaseCommand

from accounts.services.imports import users_purge_deleted
from accountsite.numbers import whole_number_option

MAX_DAYS = 36_500  # a century: past it no account is old enough, and timedelta's range ends


class Command(BaseCommand):
    help = ("Anonymise users deleted (status 7) more than --older-than DAYS ago: frees the login name and "
            "removes personal data; the row stays for billing and audit history.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--older-than", type=whole_number_option(minimum=0, maximum=MAX_DAYS, unit="days"),
                            required=True, metavar="DAYS",
                            help=f"how long ago the account was deleted, in days (0 to {MAX_DAYS:,})")

    def handle(self, *args, older_than: int, **options) -> None:
        purged = users_purge_deleted(older_than=timedelta(days=older_than))
        self.stdout.write(self.style.SUCCESS(f"purged {purged} deleted account(s)"))
