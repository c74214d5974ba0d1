"""App config for accounts: identity, sessions and tokens."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from accounts.oauth.admin import register as register_oauth_admin

        register_oauth_admin()


class AccountsAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: its login, logout and password change use our services."""

    default = False
    default_site = "accounts.admin_site.AccountsAdminSite"
