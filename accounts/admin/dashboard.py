"""The dashboard's charts about accounts (accounts.admin_site): sign-ups, sessions, tiers, failed
sign-ins."""

from datetime import datetime, timedelta

from django.db.models import Case, Count, F, When
from django.db.models.functions import TruncDate, TruncHour
from django.utils import timezone

from accounts.admin.base import changelist_url
from accounts.admin_site import DashboardChart, dashboard_chart_register
from accounts.models import AuditEvent, Session, User
from accounts.plans import plans
from accountsite.admin import may_view
from accountsite.audit import AuditAction
from accountsite.charts import Bar, Chart

DAYS, HOURS = 30, 24


def local_days(now: datetime, count: int) -> list[datetime]:
    """The starts (local midnight) of the last `count` days, today last."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return [today - timedelta(days=count - 1 - n) for n in range(count)]


def local_hours(now: datetime, count: int) -> list[datetime]:
    """The starts of the last `count` hours, the current one last."""
    hour = timezone.localtime(now).replace(minute=0, second=0, microsecond=0)
    return [hour - timedelta(hours=count - 1 - n) for n in range(count)]


def period(field: str, start: datetime, length: timedelta) -> dict[str, str]:
    """A list filter for [start, start + length) on a date-time field, as the lists' date filters write it."""
    return {f"{field}__gte": str(start), f"{field}__lt": str(start + length)}


def signups_chart(now: datetime) -> Chart:
    days = local_days(now, DAYS)
    counts = dict(User.objects.filter(registered_at__gte=days[0])
                  .annotate(day=TruncDate("registered_at", tzinfo=timezone.get_current_timezone()))
                  .values_list("day").annotate(n=Count("id")).values_list("day", "n"))
    bars = tuple(Bar(f"{day:%m-%d}", (counts.get(day.date(), 0),), title=f"{day:%Y-%m-%d}",
                     href=changelist_url(User, **period("registered_at", day, timedelta(days=1)))) for day in days)
    return Chart("Sign-ups per day", changelist_url(User, **period("registered_at", days[0], timedelta(days=DAYS))),
                 ("sign-ups",), bars, summary=f"{sum(counts.values())} in {DAYS} days")


def sessions_chart(now: datetime) -> Chart:
    hours = local_hours(now, HOURS)
    live = Session.objects.filter(Session.live(now))
    counts = dict(live.filter(last_seen_at__gte=hours[0])
                  .annotate(hour=TruncHour("last_seen_at", tzinfo=timezone.get_current_timezone()))
                  .values_list("hour").annotate(n=Count("id")).values_list("hour", "n"))
    bars = tuple(Bar(f"{hour:%H}h", (counts.get(hour, 0),), title=f"last seen {hour:%Y-%m-%d %H}:00",
                     href=changelist_url(Session, state="live", **period("last_seen_at", hour, timedelta(hours=1))))
                 for hour in hours)
    return Chart("Active sessions, by last use", changelist_url(Session, state="live"), ("live sessions",), bars,
                 summary=f"{live.count()} live, {sum(counts.values())} used in {HOURS} h")


def tiers_chart(now: datetime) -> Chart:
    in_force = Case(When(invalid_at__lte=now, then=F("user_type_after")), default=F("user_type"))
    counts = dict(User.objects.annotate(tier=in_force).values_list("tier").annotate(n=Count("*"))
                  .values_list("tier", "n").order_by())
    bars = tuple(Bar(name, (counts.get(user_type, 0),), title=f"{name} (userType {user_type})",
                     href=changelist_url(User, user_type=user_type)) for user_type, name in plans().tier_choices())
    return Chart("Users per tier", changelist_url(User), ("users",), bars, summary=f"{sum(counts.values())} users")


SIGN_IN_FAILURES = (AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT)


def failures_chart(now: datetime) -> Chart:
    hours = local_hours(now, HOURS)
    rows = (AuditEvent.objects.filter(action__in=SIGN_IN_FAILURES, created_at__gte=hours[0])
            .annotate(hour=TruncHour("created_at", tzinfo=timezone.get_current_timezone()))
            .values_list("hour", "action").annotate(n=Count("id")).order_by())
    failed: dict[datetime, int] = {}
    lockouts: dict[datetime, int] = {}
    for hour, action, n in rows:
        failed[hour] = failed.get(hour, 0) + n  # a lockout row is a failed sign-in too
        if action == AuditAction.LOGIN_LOCKOUT:
            lockouts[hour] = n

    def audit_list(start: datetime, length: timedelta) -> str:
        return changelist_url(AuditEvent, action__in=",".join(SIGN_IN_FAILURES), **period("created_at", start, length))

    bars = tuple(Bar(f"{hour:%H}h", (failed.get(hour, 0), lockouts.get(hour, 0)), title=f"{hour:%Y-%m-%d %H}:00",
                     href=audit_list(hour, timedelta(hours=1))) for hour in hours)
    return Chart("Failed sign-ins and lockouts per hour", audit_list(hours[0], timedelta(hours=HOURS)),
                 ("failed sign-ins", "lockouts"), bars,
                 summary=f"{sum(failed.values())} failed, {sum(lockouts.values())} lockouts in {HOURS} h")


dashboard_chart_register(DashboardChart("signups", 10, signups_chart, lambda request: may_view(request, User)))
dashboard_chart_register(DashboardChart("sessions", 20, sessions_chart, lambda request: may_view(request, Session)))
dashboard_chart_register(DashboardChart("tiers", 40, tiers_chart, lambda request: may_view(request, User)))
dashboard_chart_register(DashboardChart("sign-in-failures", 60, failures_chart,
                                        lambda request: may_view(request, AuditEvent)))
