"""What the back office's account pages share: links to filtered lists, read-only lists, how many
rows a page shows."""

from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.db import models
from django.http import HttpRequest
from django.urls import reverse

RECENT = 20  # rows of each kind the user page shows; the rest are a link away
HISTORY_PAGE = 100


def changelist_url(model: type[models.Model], **query: Any) -> str:
    """The back-office list of `model`, filtered by `query` (the list's own filter parameters)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
