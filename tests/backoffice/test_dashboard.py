"""The dashboard on the admin index: charts drawn on the server from the data, each bar a link to the
filtered list behind it, counted at most once a minute, shown to the operators who may see that list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import User
from accounts.services import sessions
from accountsite.audit import AuditAction, audit_record
from accountsite.charts import Bar, Chart, chart_svg, nice_ceiling
from membership.models import TierType
from membership.services import membership_purchase, wallet_topup
from quotas.models import Quota, QuotaKind
from tests.conftest import signed_in_client, staff_user
from tests.factories import UserFactory
from tests.quotas.helpers import MIB

pytestmark = pytest.mark.django_db

CHARTS = ["signups", "sessions", "revenue", "tiers", "near-limits", "sign-in-failures"]


@pytest.fixture
def activity(user, other, admin_user):
    """Two sign-ups today (alice, bob; root too) and one three days ago, a gold member near her storage limit,
    money in, live sessions, three failed sign-ins of which one locked the account."""
    UserFactory(username="early", registered_at=timezone.now() - timedelta(days=3))
    wallet_topup(user=user, amount=Decimal("12000.00"), actor=admin_user)
    membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user)
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).update(use=190 * MIB)
    sessions.session_start(user=user, terminal="phone", ip="127.0.0.1", user_agent="ua")
    sessions.session_start(user=other, terminal="laptop", ip="127.0.0.1", user_agent="ua")
    for action in (AuditAction.LOGIN_FAILED, AuditAction.LOGIN_FAILED, AuditAction.LOGIN_LOCKOUT):
        audit_record(action=action, user=other, ip="198.51.100.1")


def charts_of(response) -> dict:
    return {chart["key"]: chart["data"] for chart in response.context["dashboard"]}


def last(chart) -> tuple:
    return chart.bars[-1].values


def test_the_dashboard_draws_its_charts_from_the_data(operator, activity):
    response = operator.get("/admin/")
    charts = charts_of(response)
    assert list(charts) == CHARTS
    assert last(charts["signups"]) == (3,) and charts["signups"].bars[-4].values == (1,)
    assert len(charts["signups"].bars) == 30 and len(charts["sessions"].bars) == 24
    assert last(charts["sessions"]) == (3,)  # alice's phone, bob's laptop and root's own browser
    assert last(charts["revenue"]) == (Decimal("10000.00"), Decimal("12000.00"))
    assert {bar.label: bar.values for bar in charts["tiers"].bars} == {
        "registered": (2,), "admin": (1,), "certified": (0,), "gold": (1,), "diamond": (0,)}
    assert {bar.label: bar.values for bar in charts["near-limits"].bars}["storage"] == (1, 0)
    assert last(charts["sign-in-failures"]) == (3, 1)
    html = response.content.decode()
    assert html.count('<svg class="chart"') == 6 and "cdn" not in html.lower()
    assert "<title>gold (userType 4): users: 1</title>" in html
    assert "10,000.00 charged in 30 days" in html and "3 failed, 1 lockouts in 24 h" in html


def test_every_bar_opens_the_list_it_counts(operator, activity):
    charts = charts_of(operator.get("/admin/"))

    def listed(href: str) -> int:
        response = operator.get(href)
        assert response.status_code == 200, href
        return len(response.context["cl"].result_list)

    assert listed(charts["signups"].bars[-1].href) == 3
    assert listed(charts["signups"].bars[-4].href) == 1
    assert listed(charts["sessions"].bars[-1].href) == 3
    assert listed(charts["revenue"].bars[-1].href) == 2
    assert listed(next(bar.href for bar in charts["tiers"].bars if bar.label == "gold")) == 1
    assert listed(next(bar.href for bar in charts["near-limits"].bars if bar.label == "storage")) == 1
    assert listed(charts["sign-in-failures"].bars[-1].href) == 3
    for chart in charts.values():
        assert operator.get(chart.href).status_code == 200, chart.href


def test_counts_are_kept_for_a_minute(operator, activity, settings):
    with CaptureQueriesContext(connection) as first:
        operator.get("/admin/")
    with CaptureQueriesContext(connection) as again:
        operator.get("/admin/")
    counting = [q["sql"] for q in first if "COUNT(" in q["sql"].upper()]
    assert len(counting) >= 6 and not [q for q in again if "COUNT(" in q["sql"].upper()]
    UserFactory(username="newcomer")
    assert last(charts_of(operator.get("/admin/"))["signups"]) == (3,)


def test_operators_see_the_charts_of_the_lists_they_may_see(activity):
    billing = signed_in_client(staff_user("cashier", "billing"))
    assert list(charts_of(billing.get("/admin/"))) == ["signups", "revenue", "tiers"]
    support = signed_in_client(staff_user("helper", "support"))
    assert list(charts_of(support.get("/admin/"))) == ["signups", "sessions", "tiers", "near-limits",
                                                       "sign-in-failures"]


def test_header_and_title_come_from_settings_and_view_site_is_the_api_index(operator, settings):
    settings.ADMIN_SITE_HEADER, settings.ADMIN_SITE_TITLE = "Acme accounts", "Acme"
    html = operator.get("/admin/").content.decode()
    assert '<div id="site-name"><a href="/admin/">Acme accounts</a></div>' in html
    assert "<title>Site administration | Acme</title>" in html
    assert '<a href="/">View site</a>' in html
    login = signed_in_client(User.objects.get(username="root")).get("/admin/login/", follow=True)
    assert "Acme accounts" in login.content.decode()


@pytest.mark.parametrize(("value", "top"), [(0, 1), (0.3, 0.5), (1, 1), (7, 10), (12, 20), (45, 50), (101, 200)])
def test_the_y_axis_tops_at_a_round_number(value, top):
    assert nice_ceiling(value) == top


def test_charts_escape_their_text_and_draw_zeroes():
    chart = Chart("<b>title</b>", "/list/", ("a<", "b"), (Bar("<x>", (0, 0), href="/x/?a=1&b=2", title='"t"'),
                                                         Bar("y", (Decimal("2.50"), 1))), decimals=2)
    svg = str(chart_svg(chart))
    assert "<b>" not in svg and "&lt;x&gt;" in svg and 'href="/x/?a=1&amp;b=2"' in svg
    assert "<title>&quot;t&quot;: a&lt;: 0.00, b: 0.00</title>" in svg
    assert svg.count('class="chart-series-0"') == 2 and svg.count('class="chart-series-1"') == 2
    assert "<svg" in str(chart_svg(Chart("empty", "/", ("n",), ())))
