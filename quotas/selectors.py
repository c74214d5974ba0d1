"""Shared reads of quotas: a user's rows and today's pulls."""

from datetime import date, datetime

from django.utils import timezone

from accounts.models import User
from accountsite.errors import NotFoundError
from quotas.models import Quota, QuotaKind


def local_day(now: datetime) -> date:
    """The day pulls count in: the calendar day of TIME_ZONE, so the count restarts at local midnight."""
    return timezone.localdate(now)


def quota_rows(user: User, kinds: tuple[str, ...]) -> dict[str, Quota]:
    """The user's rows of these kinds; NotFoundError names the record when any is missing."""
    rows = {row.kind: row for row in Quota.objects.filter(user=user, kind__in=kinds)}
    if len(rows) != len(kinds):
        raise NotFoundError(f"{user.username} has no {' / '.join(QuotaKind(k).label for k in kinds)} quota record.")
    return rows


def pulls_today(row: Quota, now: datetime | None = None) -> dict:
    """{quota, use, day} for today: a count from an earlier day reads as 0 (it restarts at local midnight)."""
    now = now or timezone.now()
    today = local_day(now)
    current = row.day is not None and row.day >= today
    return {"quota": row.limit_at(now), "use": row.use if current else 0, "day": today}
