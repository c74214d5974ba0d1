"""manage.py recount_quotas [--fix]: repository and storage use recomputed from the real rows."""

from django.core.management.base import BaseCommand

from repos.services import quota_recount


class Command(BaseCommand):
    help = "Recompute repository counts and storage use from the real rows; report differences, repair with --fix."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="set each differing use to the measured value")

    def handle(self, *args, fix: bool = False, **options) -> None:
        differences = quota_recount(fix=fix)
        for d in differences:
            self.stdout.write(f"{d.username} {d.kind}: recorded {d.recorded}, actual {d.actual}"
                              + (" (fixed)" if fix else ""))
        verb = "fixed" if fix else "found"
        self.stdout.write(f"{len(differences)} difference(s) {verb}.")
