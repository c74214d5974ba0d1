"""Imports legacy accounts from a CSV file (loginname, email, nickname, hash)."""

import csv
import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.services.imports import users_import

COLUMNS = {"loginname", "email", "nickname", "hash"}
# The exit status when rows were skipped (the others imported, or in a dry run checked): not 1, which says the
# file was refused whole and nothing imported, nor 2, argparse's for a usage error (docs/operations.md).
ROWS_SKIPPED = 3


class Command(BaseCommand):
    help = ("Import users from a CSV with columns loginname, email, nickname, hash (hex MD5 or pbkdf2_sha256). "
            "Bad or duplicate rows are reported with their line number and skipped, and the command then exits "
            f"with status {ROWS_SKIPPED}.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check every row, write nothing")

    def handle(self, *args, file: Path, dry_run: bool, **options) -> None:
        try:
            text = file.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        except UnicodeDecodeError as exc:
            raise CommandError(f"{file} is not UTF-8 text (byte {exc.start}: {exc.reason})") from None
        # The csv module splits the records itself (a quoted field may hold a line break, which the import
        # then refuses); each row is reported by the line it starts on.
        reader = csv.DictReader(io.StringIO(text, newline=""))
        start = 1
        try:
            header = reader.fieldnames or []
            missing = COLUMNS - set(header)
            if missing:
                raise CommandError(f"{file}: missing column(s): {', '.join(sorted(missing))}")
            # A row is read into a dict by column name: of two columns with one name, the last would win.
            twice = sorted({name for name in header if name in COLUMNS and header.count(name) > 1})
            if twice:
                raise CommandError(f"{file}: column(s) given more than once: {', '.join(twice)}")
            rows, start = [], reader.line_num + 1
            for row in reader:
                rows.append((start, row))
                start = reader.line_num + 1
        except csv.Error as exc:  # reported by the line its record starts on, as skipped rows are
            raise CommandError(f"{file}, line {start}: {exc}") from None
        # disable=None: a bar only on a terminal, so that cron mail and CI logs carry the summary alone.
        report = users_import(rows=tqdm(rows, desc="import", unit="user", disable=None), dry_run=dry_run)
        for line, reason in report.skipped:
            self.stderr.write(f"line {line}: skipped: {reason}")
        verb = "would import" if dry_run else "imported"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(report.created)}, skipped {len(report.skipped)}"))
        if report.skipped:  # so that cron, or a CI check of a file, sees the import was not whole
            raise CommandError(f"{len(report.skipped)} row(s) skipped; see above", returncode=ROWS_SKIPPED)
