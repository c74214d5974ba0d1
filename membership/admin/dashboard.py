"""The dashboard's chart about money (accounts.admin_site): revenue per day, from the ledger."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.admin_site import DashboardChart, dashboard_chart_register
from accountsite.admin import may_view
from accountsite.charts import Bar, Chart
from membership.admin.base import admin_url
from membership.models import LedgerEntry, LedgerKind

DAYS = 30


def revenue_chart(now: datetime) -> Chart:
    """Money in per day: what memberships were charged (net of refunds) and what wallets were topped up."""
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    days = [today - timedelta(days=DAYS - 1 - n) for n in range(DAYS)]
    rows = (LedgerEntry.objects.filter(created_at__gte=days[0])
            .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone())).values("day")
            .annotate(charged=Sum("amount", filter=Q(kind__in=[LedgerKind.CHARGE, LedgerKind.REFUND])),
                      topped=Sum("amount", filter=Q(kind=LedgerKind.TOPUP))).order_by())
    by_day = {row["day"]: (-(row["charged"] or Decimal(0)), row["topped"] or Decimal(0)) for row in rows}

    def ledger(start: datetime, length: timedelta) -> str:
        return admin_url("membership_ledgerentry_changelist", created_at__gte=str(start),
                         created_at__lt=str(start + length))

    bars = tuple(Bar(f"{day:%m-%d}", by_day.get(day.date(), (Decimal(0), Decimal(0))), title=f"{day:%Y-%m-%d}",
                     href=ledger(day, timedelta(days=1))) for day in days)
    charged = sum((values[0] for values in by_day.values()), Decimal("0.00"))
    return Chart("Revenue per day", ledger(days[0], timedelta(days=DAYS)), ("charged", "topped up"), bars,
                 summary=f"{charged:,.2f} charged in {DAYS} days", decimals=2)


dashboard_chart_register(DashboardChart("revenue", 30, revenue_chart, lambda request: may_view(request, LedgerEntry)))
