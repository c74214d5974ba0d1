"""Quota enforcement under real concurrency on PostgreSQL: limits hold and no increment is lost."""

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accountsite.errors import QuotaExceededError, RepositoryExistsError
from quotas.models import Quota, QuotaKind
from quotas.services import quota_use_add
from repos.models import Pull, Repository
from repos.services import repository_create, repository_pull
from tests.conftest import client_for, status_and_code
from tests.parallel import run_parallel
from tests.quotas.helpers import row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


def _api_post(token: str, path: str, body: dict) -> tuple[int, int]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = client.post(path, body, format="json")
    return response.status_code, response.json()["code"]


def test_200_parallel_creations_against_a_private_quota_of_10(user):
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PRIVATE).update(quota=10)
    token = client_for(user).tokens.access
    results = run_parallel(
        lambda i: _api_post(token, "/repos/", {"name": f"repo{i}", "visibility": "private"}), 200
    )
    assert Counter(results) == {(201, 0): 10, status_and_code(QuotaExceededError): 190}, Counter(map(repr, results))
    assert Repository.objects.filter(owner=user).count() == 10
    assert row(user, QuotaKind.REPO_PRIVATE).use == 10


def test_parallel_creations_of_one_name_make_one_repository(user):
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(quota=-1)
    token = client_for(user).tokens.access
    results = run_parallel(lambda i: _api_post(token, "/repos/", {"name": "same"}), 40)
    assert Counter(results) == {(201, 0): 1, status_and_code(RepositoryExistsError): 39}, Counter(map(repr, results))
    assert Repository.objects.count() == 1 and row(user, QuotaKind.REPO_PUBLIC).use == 1


def test_2000_parallel_pulls_against_1500_a_day_across_midnight(user, other):
    """The row starts spent on the previous day, so the threads also race to roll the day over."""
    repo = Repository.objects.create(owner=user, name="popular")
    now = timezone.now()
    Quota.objects.filter(user=other, kind=QuotaKind.PULLS).update(
        quota=1500, use=1500, day=timezone.localdate(now - timedelta(days=1))
    )
    results = run_parallel(lambda i: repository_pull(repo=repo, user=other, now=now), 2000)
    outcomes = Counter(type(result).__name__ for result in results)
    assert outcomes == {"Pull": 1500, "QuotaExceededError": 500}, outcomes
    assert all(r.code == QuotaExceededError.code for r in results if isinstance(r, QuotaExceededError))
    assert Pull.objects.count() == 1500
    pulls = row(other, QuotaKind.PULLS)
    assert (pulls.use, pulls.day) == (1500, timezone.localdate(now))


def test_1000_parallel_pullnum_increments_lose_nothing(user, admin_user):
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).update(quota=-1)
    results = run_parallel(
        lambda i: quota_use_add(user=user, kind=QuotaKind.PULLS, amount=1, actor=admin_user), 1000
    )
    assert [r for r in results if r is not None] == []
    assert row(user, QuotaKind.PULLS).use == 1000


def test_parallel_commits_never_pass_the_storage_limit(user):
    from repos.services import commit_create

    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(quota=-1)
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).update(quota=1000)
    repos = [repository_create(owner=user, name=f"r{i}") for i in range(4)]
    results = run_parallel(lambda i: commit_create(repo=repos[i % 4], author=user, content="x" * 7), 200)
    stored = sum(1 for r in results if not isinstance(r, Exception))
    assert stored == 1000 // 7 and row(user, QuotaKind.DEPOSIT).use == stored * 7
    assert all(isinstance(r, QuotaExceededError) for r in results if isinstance(r, Exception))
