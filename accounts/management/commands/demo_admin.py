"""Creates (or re-keys) the demo operator account and prints its credentials: development only."""

import secrets

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User, UserStatus


class Command(BaseCommand):
    help = "Create the demo admin 'admin' with a fresh random password and print it (not in production)."

    def handle(self, *args, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_admin is for development; use createsuperuser in production.")
        password = secrets.token_urlsafe(12)
        user = User.objects.filter(username__iexact="admin").first()
        if user is None:
            User.objects.create_superuser("admin", password, email="admin@example.com")
        else:
            user.set_password(password)
            user.is_staff = user.is_superuser = True
            user.status = UserStatus.ACTIVE
            user.save(update_fields=["password", "is_staff", "is_superuser", "status"])
        self.stdout.write(self.style.SUCCESS(f"Demo admin: login 'admin', password '{password}' (/admin/)"))
