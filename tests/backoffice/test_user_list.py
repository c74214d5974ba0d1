"""The user list at scale: no full count beside the page's, the whole table counted by PostgreSQL's
estimate, a large filtered list counted up to a cap and said to be "more than" it, or by the planner's
estimate where it expects more than the cap."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.admin.users import UserAdmin
from accounts.models import User, UserStatus
from accountsite.admin import EstimatedCountPaginator
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def crowd(user, other):
    for n in range(4):
        UserFactory(username=f"frozen{n}", status=UserStatus.FROZEN)


def test_small_lists_are_counted_exactly_once(operator, crowd):
    with CaptureQueriesContext(connection) as captured:
        response = operator.get("/admin/accounts/user/")
    cl = response.context["cl"]
    assert cl.result_count == 7 and not cl.paginator.estimated and not cl.paginator.capped
    assert len([q for q in captured if "COUNT(" in q["sql"].upper()]) == 1
    assert "7 users" in " ".join(response.content.decode().split())


def test_a_large_filtered_list_reads_more_than_the_cap(operator, crowd, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 3)
    response = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN})
    assert response.context["cl"].paginator.capped
    assert "more than 3 users" in " ".join(response.content.decode().split())
    searched = operator.get("/admin/accounts/user/", {"q": "frozen"})
    assert "more than 3 results" in " ".join(searched.content.decode().split())
    exact = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.ACTIVE})
    assert exact.context["cl"].result_count == 3 and not exact.context["cl"].paginator.capped


@pytest.mark.postgres
def test_the_whole_table_is_counted_by_the_planners_estimate(operator, crowd, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_from", 1)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
    with CaptureQueriesContext(connection) as captured:
        response = operator.get("/admin/accounts/user/")
    assert response.context["cl"].paginator.estimated
    assert response.context["cl"].result_count == User.objects.count()
    assert not [q for q in captured if 'COUNT(*) AS "__count" FROM "accounts_user"' in q["sql"]]
    assert f"about {User.objects.count()} users" in " ".join(response.content.decode().split())
    # A filtered list is counted, not estimated.
    filtered = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN})
    assert filtered.context["cl"].result_count == 4 and not filtered.context["cl"].paginator.estimated


@pytest.mark.postgres
def test_a_filter_the_planner_expects_past_the_cap_is_counted_by_its_estimate(operator, crowd, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "estimate_from", 1)
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 2)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE accounts_user")
    with CaptureQueriesContext(connection) as captured:
        response = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN})
    assert response.context["cl"].paginator.estimated and response.context["cl"].result_count == 4
    assert not [q for q in captured if q["sql"].startswith("SELECT COUNT(*)")], captured.captured_queries
    assert "about 4 users" in " ".join(response.content.decode().split())


@pytest.mark.parametrize("value", ["%", "abc", "99999999999999999999", "-1", "7"])
def test_a_user_type_that_names_no_tier_is_the_lists_error_not_a_500(operator, crowd, value):
    response = operator.get("/admin/accounts/user/", {"user_type": value})
    assert response.status_code == 302 and response["Location"].endswith("?e=1")
    tier_one = User.objects.filter(User.with_tier(1, timezone.now())).count()
    assert operator.get("/admin/accounts/user/", {"user_type": "1"}).context["cl"].result_count == tier_one > 0


def test_no_list_counts_its_facets(operator, crowd):
    # Django's "Show counts" counts every choice of every filter over the whole list: at a million users
    # the tier filter's count ran for minutes. Every list of the back office goes without.
    from django.contrib import admin

    assert {type(model_admin).__name__ for model_admin in admin.site._registry.values()
            if model_admin.show_facets != admin.ShowFacets.NEVER} == set()
    with CaptureQueriesContext(connection) as captured:
        response = operator.get("/admin/accounts/user/", {"_facets": "True"})
    assert response.status_code == 200
    assert not [q for q in captured if "FILTER (WHERE" in q["sql"].upper()], captured.captured_queries


def test_the_rows_past_a_capped_count_are_paged_to(operator, crowd, monkeypatch):
    # 4 frozen users, counted up to 3 ("more than 3"), 2 a page: the third page holds the fourth.
    monkeypatch.setattr(EstimatedCountPaginator, "count_cap", 3)
    monkeypatch.setattr(UserAdmin, "list_per_page", 2)
    seen = []
    for page in (1, 2, 3):
        response = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN, "p": page})
        assert response.status_code == 200, (page, response.get("Location"))
        seen += [user.username for user in response.context["cl"].result_list]
        if page == 2:  # the last counted page links on to the next
            paginator = response.content.decode().split('<p class="paginator">')[1].split("</p>")[0]
            assert "p=3" in paginator, paginator
    assert seen == [f"frozen{n}" for n in range(4)]
    past_the_end = operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN, "p": 4})
    assert past_the_end.status_code == 200 and list(past_the_end.context["cl"].result_list) == []
    assert operator.get("/admin/accounts/user/", {"status__exact": UserStatus.FROZEN, "p": 10**30}).status_code == 302
