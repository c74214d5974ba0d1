"""The platform as a Django app: it owns the tables every app relies on (accountsite.models)."""

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "accountsite"
    verbose_name = "platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.db.models import Field

        from accountsite import checks  # noqa: F401  # registers the deploy checks
        from accountsite.db import UpperIContains, sqlite_functions

        # `icontains` (the user search, the back office's search boxes) in any case on SQLite as on PostgreSQL.
        Field.register_lookup(UpperIContains)
        connection_created.connect(sqlite_functions, dispatch_uid="accountsite.db.sqlite_functions")
