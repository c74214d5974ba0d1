"""What the back office's membership pages share: links to admin pages and filtered lists, and the key that
makes a money form's action happen once."""

import secrets
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.urls import reverse


def admin_url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def once_key_field() -> forms.CharField:
    """A list's money form carries a fresh key per page shown: a double click or a second tab sending the same
    form acts once per wallet (the API's Idempotency-Key, membership.idempotency). An empty key (a page from
    before) acts each time, as it did."""
    return forms.CharField(label="", max_length=200, required=False, widget=forms.HiddenInput,
                           initial=lambda: f"admin-{secrets.token_urlsafe(24)}")
