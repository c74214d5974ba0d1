"""Deletes sign-in activity older than the security log's retention (ACCOUNTS_SECURITY_LOG_DAYS)."""

from django.core.management.base import BaseCommand

from accounts.services.security_log import security_events_prune


class Command(BaseCommand):
    help = ("Delete sign-ins, sign-outs, refused sign-ins and lockouts older than ACCOUNTS_SECURITY_LOG_DAYS "
            "(90); changes to accounts stay in the audit trail. Run it daily.")

    def handle(self, *args, **options) -> None:
        deleted = security_events_prune()
        self.stdout.write(self.style.SUCCESS(f"pruned {deleted} sign-in event(s)"))
