"""The back office for quotas and repositories: every change goes through the same services as the API."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import AuditEvent
from membership.models import TierType
from membership.services import membership_tier_assign
from quotas.models import UNLIMITED, Quota, QuotaKind
from repos import services
from repos.models import Repository
from repos.services import commit_create, repository_create
from tests.conftest import browser_sign_in
from tests.quotas.helpers import give_tier, row
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


def inline(commits=()) -> dict:
    """The management form of the read-only commits inline, as the change page posts it."""
    data = {"commits-TOTAL_FORMS": str(len(commits)), "commits-INITIAL_FORMS": str(len(commits)),
            "commits-MIN_NUM_FORMS": "0", "commits-MAX_NUM_FORMS": "1000"}
    data.update({f"commits-{i}-id": str(c.pk) for i, c in enumerate(commits)})
    data.update({f"commits-{i}-repo": str(c.repo_id) for i, c in enumerate(commits)})
    return data


def test_quota_list_filters_over_the_limit(operator, user, other):
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).update(quota=5, use=9, day=timezone.localdate())
    # Yesterday's pulls count for nothing today, as in the API: bob is not over his limit.
    Quota.objects.filter(user=other, kind=QuotaKind.PULLS).update(quota=5, use=9,
                                                                  day=timezone.localdate() - timedelta(days=1))
    page = operator.get("/admin/quotas/quota/?usage=over")
    assert page.status_code == 200
    assert [str(quota) for quota in page.context["cl"].result_list] == ["alice · pulls per day 9 / 5"]


def test_quota_limit_edit_goes_through_the_service(operator, user, admin_user):
    quota = row(user, QuotaKind.PULLS)
    response = operator.post(f"/admin/quotas/quota/{quota.pk}/change/", {"quota": "42"})
    assert response.status_code == 302
    assert row(user, QuotaKind.PULLS).quota == 42
    assert AuditEvent.objects.filter(action="quota.limits", user=user, actor=admin_user).exists()


@pytest.mark.parametrize("lapsed", [False, True], ids=["paid", "lapsed"])
def test_saving_a_quota_unchanged_leaves_a_paid_limit_to_its_period(operator, user, lapsed):
    """The form showed the stored limit and every save set it: pressing Save on a gold member's record made
    gold's 20 public repositories last past the membership's end, and on a lapsed member's gave them back."""
    ends = timezone.now() + (timedelta(days=-1) if lapsed else timedelta(days=30))
    membership_tier_assign(user=user, user_type=TierType.GOLD, actor=None, expires_at=ends)
    quota = row(user, QuotaKind.REPO_PUBLIC)
    page = operator.get(f"/admin/quotas/quota/{quota.pk}/change/").content.decode()
    shown = re.search(r'name="quota" value="([^"]*)"', page).group(1)
    assert shown == ("0" if lapsed else "20")  # the limit in force
    before = snapshot()
    assert operator.post(f"/admin/quotas/quota/{quota.pk}/change/", {"quota": shown}).status_code == 302
    before.assert_unchanged()
    assert row(user, QuotaKind.REPO_PUBLIC).limit_at(ends + timedelta(days=1)) == 0


def test_recount_action_repairs_the_selected_users(operator, user):
    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="one")
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(use=9)
    quota = row(user, QuotaKind.REPO_PUBLIC)
    operator.post("/admin/quotas/quota/", {"action": "recount", "_selected_action": [quota.pk]})
    assert row(user, QuotaKind.REPO_PUBLIC).use == 1


def test_recount_by_an_operator_leaves_an_administrators_counters_alone(user, admin_user):
    """The action asks the policy for each account, as a row's own page does: an operator with
    quotas.change_quota recounts a member's counters, not an administrator's (a superuser's to touch)."""
    from tests.conftest import staff_user

    operator = staff_user("counter", permissions=("quotas.change_quota", "quotas.view_quota"))
    client = Client()
    browser_sign_in(client, operator)
    Quota.objects.filter(kind=QuotaKind.REPO_PUBLIC).update(use=7)
    rows = [row(user, QuotaKind.REPO_PUBLIC).pk, row(admin_user, QuotaKind.REPO_PUBLIC).pk]
    page = client.post("/admin/quotas/quota/", {"action": "recount", "_selected_action": rows}, follow=True)
    assert row(user, QuotaKind.REPO_PUBLIC).use == 0
    assert row(admin_user, QuotaKind.REPO_PUBLIC).use == 7
    assert "1 counter(s) repaired." in page.content.decode()


def test_repository_add_pays_quota_and_refusal_changes_nothing(operator, user):
    give_tier(user, TierType.GOLD)
    form = {"owner": user.pk, "name": "made-here", "visibility": "private", "description": "", "url": "", **inline()}
    response = operator.post("/admin/repos/repository/add/", form)
    assert response.status_code == 302 and Repository.objects.filter(name="made-here").exists()
    assert row(user, QuotaKind.REPO_PRIVATE).use == 1
    operator.post("/admin/repos/repository/add/", {**form, "name": "second"})
    before = snapshot()
    response = operator.post("/admin/repos/repository/add/", {**form, "name": "third"}, follow=True)
    assert "Quota exceeded" in response.content.decode()
    before.assert_unchanged()


@pytest.mark.parametrize("url", ["http://exa\u202emple.com", "ftp://example.com"])
def test_repository_add_refuses_what_the_api_refuses_in_a_url(operator, user, url):
    give_tier(user, TierType.GOLD)
    form = {"owner": user.pk, "name": "made-here", "visibility": "public", "description": "", "url": url, **inline()}
    before = snapshot()
    response = operator.post("/admin/repos/repository/add/", form)
    assert response.status_code == 200 and "url" in response.context["adminform"].form.errors
    before.assert_unchanged()


def test_repository_visibility_switch_and_delete_in_admin(operator, user):
    give_tier(user, TierType.GOLD)
    repo = repository_create(owner=user, name="r")
    commit = commit_create(repo=repo, author=user, content="abc")
    page = operator.get(f"/admin/repos/repository/{repo.pk}/change/")
    assert page.status_code == 200 and "abc" in page.content.decode()  # the commits inline
    form = {"name": "r", "visibility": "private", "description": "", "url": "", **inline([commit])}
    assert operator.post(f"/admin/repos/repository/{repo.pk}/change/", form).status_code == 302
    assert (row(user, QuotaKind.REPO_PUBLIC).use, row(user, QuotaKind.REPO_PRIVATE).use) == (0, 1)
    operator.post(f"/admin/repos/repository/{repo.pk}/delete/", {"post": "yes"})
    assert not Repository.objects.exists()
    assert (row(user, QuotaKind.REPO_PRIVATE).use, row(user, QuotaKind.DEPOSIT).use) == (0, 0)


@pytest.mark.parametrize("door", ["page", "action"])
def test_a_repository_deleted_meanwhile_is_an_error_message_not_a_500(operator, user, monkeypatch, door):
    """The API deletes the repository between the back office's confirmation page and its delete."""
    give_tier(user, TierType.GOLD)
    repo = repository_create(owner=user, name="r")
    real = services.repository_delete

    def deleted_meanwhile(*, repo: Repository, **kwargs):
        real(repo=Repository.objects.get(pk=repo.pk))
        return real(repo=repo, **kwargs)

    monkeypatch.setattr(services, "repository_delete", deleted_meanwhile)
    if door == "page":
        reply = operator.post(f"/admin/repos/repository/{repo.pk}/delete/", {"post": "yes"}, follow=True)
    else:
        reply = operator.post("/admin/repos/repository/", {"action": "delete_selected", "_selected_action": [repo.pk],
                                                       "post": "yes"}, follow=True)
    assert reply.status_code == 200
    refusal = "No such repository." if door == "page" else f"{repo}: No such repository."  # one of several: named
    assert refusal in [str(message) for message in reply.context["messages"]]
    assert not Repository.objects.exists() and row(user, QuotaKind.REPO_PUBLIC).use == 0


def test_a_busy_repositorys_pages_show_its_latest_commits_and_count_the_rest(operator, user, other):
    """A repository's page listed every commit it holds, whole, and its delete page every commit and pull: a
    free tier's storage pays for millions of one-byte commits, and at 20,000 the change page took 135 s and
    the delete page 78 s, past the worker's timeout, so the back office could neither show nor delete it.
    The page shows the latest commits, each cut short; the delete page counts what goes with it."""
    from repos.admin import RECENT_COMMITS
    from repos.models import Commit, Pull

    give_tier(user, TierType.GOLD)
    repo = repository_create(owner=user, name="busy")
    now = timezone.now()
    Commit.objects.bulk_create([Commit(repo=repo, author=user, content=f"commit {i} " + "x" * 1000, size=1010,
                                       created_at=now + timedelta(seconds=i)) for i in range(RECENT_COMMITS + 5)])
    Pull.objects.bulk_create([Pull(repo=repo, user=other) for _ in range(7)])

    page = operator.get(f"/admin/repos/repository/{repo.pk}/change/")
    assert page.status_code == 200
    forms = page.context["inline_admin_formsets"][0].formset.forms
    assert [form.instance.content.split()[1] for form in forms] == [
        str(i) for i in reversed(range(5, RECENT_COMMITS + 5))]
    assert "x" * 1000 not in page.content.decode()

    page = operator.get(f"/admin/repos/repository/{repo.pk}/delete/")
    assert page.status_code == 200
    assert page.context["deleted_objects"] == [f"Repository: {repo}"]
    assert dict(page.context["model_count"]) == {"repositories": 1, "commits": RECENT_COMMITS + 5, "pulls": 7}
    operator.post(f"/admin/repos/repository/{repo.pk}/delete/", {"post": "yes"})
    assert not Repository.objects.exists() and not Commit.objects.exists() and not Pull.objects.exists()


def test_quota_list_shows_the_limit_in_force_and_todays_pulls(operator, user, other):
    """The list showed the stored limit and use: a lapsed paid period's limit where its fallback is enforced,
    and yesterday's pulls as today's, so a row the "over the limit" filter lists read as under it (and the
    other way round), unlike the API and the user page."""
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(
        quota=20, fallback_quota=0, quota_until=timezone.now() - timedelta(days=1), use=3)
    Quota.objects.filter(user=other, kind=QuotaKind.PULLS).update(quota=5, use=9,
                                                                  day=timezone.localdate() - timedelta(days=1))
    page = operator.get("/admin/quotas/quota/?usage=over").content.decode()
    assert '<td class="field-limit_display">0</td><td class="field-use_display">3</td>' in page
    assert "field-limit_display\">20<" not in page
    page = operator.get(f"/admin/quotas/quota/?kind__exact=pullnum&user__id__exact={other.pk}").content.decode()
    assert '<td class="field-use_display">0</td>' in page


def test_quota_list_unlimited_filter_reads_the_limit_in_force(operator, user, other):
    """The "unlimited" choice compared the stored limit: a lapsed paid period's -1 listed a row whose limit in
    force (its fallback, 0) the same list shows, and a row unlimited only by its fallback was left out."""
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(
        quota=UNLIMITED, fallback_quota=0, quota_until=timezone.now() - timedelta(days=1))
    Quota.objects.filter(user=other, kind=QuotaKind.REPO_PUBLIC).update(
        quota=3, fallback_quota=UNLIMITED, quota_until=timezone.now() - timedelta(days=1))
    page = operator.get("/admin/quotas/quota/?usage=unlimited&kind__exact=repo_public")
    assert page.status_code == 200
    listed = {quota.user_id for quota in page.context["cl"].result_list}
    assert other.pk in listed and user.pk not in listed
