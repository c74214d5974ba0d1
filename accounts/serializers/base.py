"""What the accounts serializers share: the password fields, the sign-in's device label, and datetimes written as
DRF writes them."""

import functools
from datetime import datetime, tzinfo
from typing import Any

from django.utils import timezone
from rest_framework import serializers

from accountsite.text import ONE_LINE


def password_field(**kwargs: Any) -> serializers.CharField:
    # Never trimmed or truncated: whatever string arrives is the password (seed 004 clients send MD5s).
    return serializers.CharField(max_length=128, trim_whitespace=False, write_only=True, **kwargs)


def new_password_field(**kwargs: Any) -> serializers.CharField:
    """A password being set: also at least 8 characters (the schema says so; the services' validators
    check the rest)."""
    return password_field(min_length=8, **kwargs)


def terminal_field() -> serializers.CharField:
    """The device label a sign-in names (its session's, listed back to the user): one line of plain text,
    so no control or text-direction character can disguise it."""
    return serializers.CharField(max_length=64, required=False, default="default", validators=[ONE_LINE])


def instant(moment: datetime | None, zone: tzinfo | None = None) -> str | None:
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone, UTC as `Z`. A reply that
    writes several passes the zone it read once (`zone`): reading it costs as much as the rest of this."""
    if not moment:
        return None
    text = moment.astimezone(zone or timezone.get_current_timezone()).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class ZoneReadOnce:
    """For a serializer that writes datetimes with `instant`: the current time zone, read once by the serializer.
    A list's child serializer writes every item, so a page of users reads it once instead of three times a user."""

    @functools.cached_property
    def zone(self) -> tzinfo:
        return timezone.get_current_timezone()
