"""Re-encrypts the TOTP secrets with the first of MFA_KEYS, after a new key was put first."""

from django.core.management.base import BaseCommand

from accounts.services.mfa import mfa_key_rotate


class Command(BaseCommand):
    help = ("Re-encrypt every authenticator-app secret with the first key of MFA_ENCRYPTION_KEYS and count the "
            "unused recovery codes that still need an older key. Safe to run again (docs/operations.md).")

    def handle(self, *args, **options) -> None:
        result = mfa_key_rotate()
        self.stdout.write(self.style.SUCCESS(f"re-encrypted {result.totp_rotated} authenticator-app secret(s)"))
        if result.totp_unreadable:
            self.stdout.write(self.style.ERROR(
                f"{result.totp_unreadable} authenticator-app secret(s) open with no configured key: their key was "
                "removed, and those apps must be enrolled again"))
        if result.codes_on_older_keys:
            self.stdout.write(
                f"{result.codes_on_older_keys} unused recovery code(s) of {result.accounts_on_older_keys} "
                "account(s) still need an older key: keep it until they are used or replaced (run this "
                "command again to recount)")
        else:
            self.stdout.write("no unused recovery code needs an older key: only the first key is needed now")
