"""App config for accounts: identity, sessions and tokens."""

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from corsheaders.signals import check_request_enabled

        from accounts import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from accounts.oauth.admin import register as register_oauth_admin
        from accounts.oauth.cors import spa_origin_allowed

        register_oauth_admin()
        # django-cors-headers' hook for origins beyond CORS_ALLOWED_ORIGINS (a library's extension point, not
        # domain flow): single-page apps at userinfo and revocation.
        check_request_enabled.connect(spa_origin_allowed, dispatch_uid="accounts.oauth.cors")


class AccountsAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site: its login, logout and password change use our services."""

    default = False
    default_site = "accounts.admin_site.AccountsAdminSite"
