"""What the back office's membership pages share: links to admin pages and filtered lists, and the key that
makes a money form's action happen once."""

import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import HttpRequest
from django.urls import reverse

from accounts.selectors import signed_in
from membership.idempotency import idempotency_key_valid, idempotent_reply, request_fingerprint


def admin_url(name: str, *args: Any, **query: Any) -> str:
    url = reverse(f"admin:{name}", args=args)
    return f"{url}?{urlencode(query)}" if query else url


def once_key() -> str:
    """A fresh key for one money form shown (a page, a list's action form)."""
    return f"admin-{secrets.token_urlsafe(24)}"


def once_key_field() -> forms.CharField:
    """A list's money form carries a fresh key per page shown: a double click or a second tab sending the same
    form acts once per wallet (the API's Idempotency-Key, membership.idempotency). An empty key (a page from
    before) acts each time, as it did."""
    return forms.CharField(label="", max_length=200, required=False, widget=forms.HiddenInput,
                           initial=once_key)


def once(request: HttpRequest, *, key: str, operation: str, data: dict[str, Any],
         produce: Callable[[], dict[str, Any]]) -> dict[str, Any] | None:
    """`produce()`'s reply, run once per `key` through the API's Idempotency-Key records; None when the key
    ran already, so nothing was done again. An empty key runs each time. A ServiceError from `produce`, or the
    key sent again with other values (IdempotencyKeyReusedError), is the caller's to show."""
    ran = []

    def counted() -> tuple[int, dict[str, Any]]:
        ran.append(True)
        return 200, produce()

    _status, reply = idempotent_reply(user=signed_in(request), key=idempotency_key_valid(key or None),
                                      fingerprint=request_fingerprint(operation=operation, data=data), produce=counted)
    return reply if ran else None
