"""What every app's serializers share: instants written in UTC.

The API writes every datetime as ISO 8601 in UTC, `Z` for the offset, whatever TIME_ZONE says: that setting
names the service's local calendar (when the day's pulls restart, what a year of membership is), not how
replies write time. DRF writes datetimes in the current time zone, which is TIME_ZONE's; ModelSerializer
here maps the models' DateTimeFields to InstantField, and replies written by hand use `instant`.
"""

from datetime import UTC, datetime, tzinfo

from django.db import models
from rest_framework import serializers


def instant(moment: datetime | None) -> str | None:
    """A datetime as the API writes it: ISO 8601 in UTC, with `Z`; None stays None."""
    if not moment:
        return None
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


class InstantField(serializers.DateTimeField):
    """DRF's DateTimeField, in UTC both ways: replies are written in it, and a time given without an offset
    is read as UTC."""

    def default_timezone(self) -> tzinfo:
        return UTC


class ModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: InstantField}
