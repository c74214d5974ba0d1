"""Imports legacy accounts from a CSV file (loginname, email, nickname, hash)."""

import csv
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.services.imports import users_import

COLUMNS = {"loginname", "email", "nickname", "hash"}


class Command(BaseCommand):
    help = ("Import users from a CSV with columns loginname, email, nickname, hash (hex MD5 or pbkdf2_sha256). "
            "Bad or duplicate rows are reported with their line number and skipped.")

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
        reader = csv.DictReader(text.splitlines())
        missing = COLUMNS - set(reader.fieldnames or [])
        if missing:
            raise CommandError(f"{file}: missing column(s): {', '.join(sorted(missing))}")
        # Line 1 is the header; DictReader's line_num would count embedded newlines, which we do not allow.
        rows = list(enumerate(reader, start=2))
        report = users_import(rows=tqdm(rows, desc="import", unit="user"), dry_run=dry_run)
        for line, reason in report.skipped:
            self.stderr.write(f"line {line}: skipped: {reason}")
        verb = "would import" if dry_run else "imported"
        self.stdout.write(self.style.SUCCESS(f"{verb} {len(report.created)}, skipped {len(report.skipped)}"))
