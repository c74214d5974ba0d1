"""manage.py recount_quotas [--fix]: repository and storage use recomputed from the real rows."""

from django.core.management.base import BaseCommand, CommandError

from repos.services import quota_recount

# The exit status of a report that found drift (not 1, an error, nor 2, argparse's usage error), so that the
# weekly job, a monitor or a script sees it without reading the report. With --fix the drift is repaired: 0.
DRIFT_FOUND = 3


class Command(BaseCommand):
    help = ("Recompute repository counts and storage use from the real rows; report differences (then exit with "
            f"status {DRIFT_FOUND}), repair them with --fix.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--fix", action="store_true", help="set each differing use to the measured value")

    def handle(self, *args, fix: bool = False, **options) -> None:
        differences = quota_recount(fix=fix)
        for d in differences:
            self.stdout.write(f"{d.username} {d.kind}: recorded {d.recorded}, actual {d.actual}"
                              + (" (fixed)" if fix else ""))
        verb = "fixed" if fix else "found"
        self.stdout.write(f"{len(differences)} difference(s) {verb}.")
        if differences and not fix:
            raise CommandError(f"{len(differences)} quota use(s) differ from the rows; --fix sets them",
                               returncode=DRIFT_FOUND)
