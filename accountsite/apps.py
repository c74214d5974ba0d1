"""The platform as a Django app: it owns the tables every app relies on (accountsite.models)."""

from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "accountsite"
    verbose_name = "platform"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accountsite import checks  # noqa: F401  # registers the deploy checks
