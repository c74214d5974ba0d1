"""Daily job: expired paid memberships fall back to tier 1."""

from django.core.management.base import BaseCommand

from membership.services import membership_expire_due


class Command(BaseCommand):
    help = "Move memberships past their expiry back to tier 1 (quota limits lowered, use kept)."

    def handle(self, *args, **options) -> None:
        moved = membership_expire_due()
        self.stdout.write(f"{moved} membership(s) expired to tier 1.")
