"""Short-lived, single-use tickets in the store every worker process and host shares: a sign-in waiting for
its second factor, a passkey ceremony's challenge. The store is the one the rate limits use
(settings.ACCOUNTS_RATELIMIT_STORE): the cache when it is shared (Redis), else the database
(accountsite.models.Ticket), so a ticket issued by one gunicorn worker is known to the others.

A ticket is read (`ticket_read`) as often as needed while it lives, and used up by `ticket_take`, which
answers True for exactly one caller however many race for it. `ticket_add` stores one only where none
lives, and answers True for exactly one caller too: a short lock shared by every worker.
"""

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from accountsite.models import Ticket


def _in_database() -> bool:
    return settings.ACCOUNTS_RATELIMIT_STORE == "database"


def _expired_swept() -> float:
    """Deletes the expired tickets of the database store (they go as new ones come); answers the time now."""
    now = time.time()
    Ticket.objects.filter(expires__lte=now).delete()
    return now


def ticket_put(key: str, value: Any, seconds: int) -> None:
    """Stores `value` (JSON-serialisable) under `key` for `seconds`."""
    if not _in_database():
        cache.set(key, value, seconds)
        return
    now = _expired_swept()
    Ticket.objects.update_or_create(key=key, defaults={"value": value, "expires": now + seconds})


def ticket_add(key: str, value: Any, seconds: int) -> bool:
    """Stores `value` under `key` for `seconds` unless a live ticket holds the key; True if this call stored it."""
    if not _in_database():
        return bool(cache.add(key, value, seconds))
    now = _expired_swept()
    try:
        with transaction.atomic():
            Ticket.objects.create(key=key, value=value, expires=now + seconds)
    except IntegrityError:
        return False
    return True


def ticket_read(key: str) -> Any:
    """The value of a live ticket, or None."""
    if not _in_database():
        return cache.get(key)
    row = Ticket.objects.filter(key=key, expires__gt=time.time()).values_list("value", flat=True).first()
    return row


def ticket_take(key: str) -> bool:
    """Uses the ticket up; True for the one caller that did (a live ticket), False for every other."""
    if not _in_database():
        return bool(cache.delete(key))
    deleted, _ = Ticket.objects.filter(key=key, expires__gt=time.time()).delete()
    return bool(deleted)
