"""App config for accounts: identity, sessions and tokens."""

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from accounts.oauth_admin import register as register_oauth_admin

        register_oauth_admin()
