"""Shared reads of quotas: a user's rows, today's pulls, and the rows near, over or without their limit."""

from datetime import date, datetime

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accountsite.errors import NotFoundError
from quotas.models import UNLIMITED, Quota, QuotaKind, limit_in_force


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


def use_at(row: Quota, now: datetime) -> int:
    """The use that counts at `now`: for pulls, that day's."""
    return pulls_today(row, now)["use"] if row.kind == QuotaKind.PULLS else row.use


def usage_alias(queryset: QuerySet[Quota], now: datetime) -> QuerySet[Quota]:
    """Rows with a limit (not unlimited) and some use that counts now (for pulls: today's), with the limit
    in force aliased as `limit_now`."""
    return (queryset.alias(limit_now=limit_in_force(now)).exclude(limit_now=UNLIMITED)
            .filter(Q(use__gt=0) & (~Q(kind=QuotaKind.PULLS) | Q(day__gte=local_day(now)))))


def unlimited(queryset: QuerySet[Quota], now: datetime) -> QuerySet[Quota]:
    """Rows whose limit in force is unlimited (a lapsed paid period's by its fallback)."""
    return queryset.alias(limit_now=limit_in_force(now)).filter(limit_now=UNLIMITED)


# A quota is near its limit from 90% of it on: use >= limit - limit // NEAR_SHARE, ceil(0.9 x limit), written
# without a product that a 64-bit limit could overflow (near_limit here, quota_state in the back office).
NEAR_SHARE = 10


def near_limit(queryset: QuerySet[Quota], now: datetime) -> QuerySet[Quota]:
    """Rows near the limit in force or past it (NEAR_SHARE; integer division in SQL too)."""
    return usage_alias(queryset, now).filter(use__gte=F("limit_now") - F("limit_now") / NEAR_SHARE)


NEAR_OVER = Q(use__gt=F("limit_now"))  # of near_limit's rows: those past the limit
