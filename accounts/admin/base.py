"""What the back office's account pages share: links to filtered lists, how many rows a page shows."""

from typing import Any
from urllib.parse import urlencode

from django.db import models
from django.urls import reverse

RECENT = 20  # rows of each kind the user page shows; the rest are a link away
HISTORY_PAGE = 100


def changelist_url(model: type[models.Model], **query: Any) -> str:
    """The back-office list of `model`, filtered by `query` (the list's own filter parameters)."""
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return f"{url}?{urlencode(query)}" if query else url
