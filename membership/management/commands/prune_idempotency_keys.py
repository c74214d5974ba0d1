"""Daily job: deletes Idempotency-Key records past IDEMPOTENCY_KEY_TTL_HOURS."""

from django.core.management.base import BaseCommand

from membership.idempotency import idempotency_keys_prune


class Command(BaseCommand):
    help = ("Delete the Idempotency-Key records older than IDEMPOTENCY_KEY_TTL_HOURS (24), in batches; such a key "
            "no longer replays anyway. Safe to run again. Run it daily.")

    def handle(self, *args, **options) -> None:
        pruned = idempotency_keys_prune()
        self.stdout.write(self.style.SUCCESS(f"pruned {pruned} idempotency key(s)"))
