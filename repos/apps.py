"""App config for repos."""

from django.apps import AppConfig


class ReposConfig(AppConfig):
    name = "repos"
    default_auto_field = "django.db.models.BigAutoField"
