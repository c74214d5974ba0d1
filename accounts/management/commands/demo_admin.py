"""Creates (or re-keys) the demo operator account and prints its credentials: development only."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import RevokeReason, User, UserStatus
from accounts.services.passwords import password_set
from accounts.services.users import user_status_set


class Command(BaseCommand):
    help = "Create the demo admin 'admin' with a fresh random password and print it (not in production)."

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_admin is for development; use createsuperuser in production.")
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username__iexact="admin").first()
        if user is None:
            try:  # the address may be someone's (their login name or address): the identity rules hold here too
                User.objects.create_superuser("admin", password, email="admin@example.com")
            except ValidationError as exc:
                raise CommandError(f"{exc.messages[0]} Create an operator with `manage.py createsuperuser`.") from None
        elif not user.is_superuser:  # someone registered the name: it is theirs, not a demo account
            raise CommandError(f"The account {user.username!r} exists and is not a superuser: demo_admin does not "
                               "take it over. Create an operator with `manage.py createsuperuser`.")
        else:
            # Re-keyed like any password an operator sets: the account's sessions and tokens end.
            with transaction.atomic():
                password_set(user=user, password=password, actor=None, reason=RevokeReason.PASSWORD_SET)
                user_status_set(user=user, status=UserStatus.ACTIVE, actor=None, reason="demo_admin")
        self.stdout.write(self.style.SUCCESS(f"Demo admin: login 'admin', password '{password}' (/admin/)"))
