"""What the accounts serializers share: the password fields and the sign-in's device label."""

from typing import Any

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
