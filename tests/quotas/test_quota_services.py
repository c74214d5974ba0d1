"""quotas.services: the one consume/release rule, the daily pull count, units, and recount_quotas."""

from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import AuditEvent
from accountsite.errors import QuotaExceededError
from membership.models import Tier, TierType
from membership.services import membership_expire_due, membership_tier_assign, tier_save
from quotas.models import Quota, QuotaKind
from quotas.services import quota_consume, quota_limits_apply, quota_limits_set, quota_release
from quotas.units import size_human, unit_parse
from repos.models import Repository
from repos.services import commit_create, repository_create
from tests.quotas.helpers import MIB, give_tier, row
from tests.snapshots import snapshot

pytestmark = pytest.mark.django_db


def test_consume_up_to_the_limit_then_8008_naming_the_quota(user):
    give_tier(user, TierType.GOLD)  # 2 private repositories
    quota_consume(user=user, kind=QuotaKind.REPO_PRIVATE, amount=2)
    before = snapshot()
    with pytest.raises(QuotaExceededError) as caught:
        quota_consume(user=user, kind=QuotaKind.REPO_PRIVATE)
    assert caught.value.code == QuotaExceededError.code
    assert caught.value.error == {"quota": "repo_private", "limit": 2, "use": 2, "requested": 1,
                                  "userType": TierType.GOLD, "upgrade": TierType.DIAMOND}
    before.assert_unchanged()


def test_unlimited_never_refuses(user):
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).update(quota=-1)
    quota_consume(user=user, kind=QuotaKind.DEPOSIT, amount=10**15)
    assert row(user, QuotaKind.DEPOSIT).use == 10**15


def test_over_limit_use_blocks_but_deletes_nothing(user):
    give_tier(user, TierType.GOLD)
    quota_consume(user=user, kind=QuotaKind.REPO_PUBLIC, amount=15)
    certified = Tier.objects.get(user_type=TierType.CERTIFIED)
    quota_limits_apply(user=user, limits=certified.quota_limits())  # down to 10 public
    assert (row(user, QuotaKind.REPO_PUBLIC).quota, row(user, QuotaKind.REPO_PUBLIC).use) == (10, 15)
    with pytest.raises(QuotaExceededError):
        quota_consume(user=user, kind=QuotaKind.REPO_PUBLIC)


def test_release_never_goes_below_zero(user):
    give_tier(user, TierType.GOLD)
    quota_consume(user=user, kind=QuotaKind.DEPOSIT, amount=5)
    quota_release(user=user, kind=QuotaKind.DEPOSIT, amount=50)
    assert row(user, QuotaKind.DEPOSIT).use == 0


def test_a_missing_record_spends_nothing(user):
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).delete()
    with pytest.raises(QuotaExceededError) as caught:
        quota_consume(user=user, kind=QuotaKind.PULLS)
    assert caught.value.error["limit"] == 0


@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_pulls_restart_at_local_midnight(user, settings, tz):
    settings.TIME_ZONE = tz
    zone = ZoneInfo(tz)
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).update(quota=3)
    evening = datetime(2026, 3, 1, 23, 59, tzinfo=zone)
    for _ in range(3):
        quota_consume(user=user, kind=QuotaKind.PULLS, now=evening)
    with pytest.raises(QuotaExceededError):
        quota_consume(user=user, kind=QuotaKind.PULLS, now=evening)
    after_midnight = evening + timedelta(minutes=2)
    quota_consume(user=user, kind=QuotaKind.PULLS, now=after_midnight)
    pulls = row(user, QuotaKind.PULLS)
    assert (pulls.use, pulls.day.isoformat()) == (1, "2026-03-02")


def test_a_refused_pull_after_midnight_keeps_yesterdays_row(user):
    """The reset and the increment are one unit: a refusal rolls the reset back too."""
    Quota.objects.filter(user=user, kind=QuotaKind.PULLS).update(quota=0, use=0, day="2026-03-01")
    with pytest.raises(QuotaExceededError):
        quota_consume(user=user, kind=QuotaKind.PULLS, now=datetime(2026, 3, 2, 1, tzinfo=ZoneInfo("UTC")))
    assert row(user, QuotaKind.PULLS).day.isoformat() == "2026-03-01"


@pytest.mark.parametrize(("raw", "unit"), [(None, "M"), ("", "M"), ("k", "K"), ("GB", "G"), (" t ", "T")])
def test_unit_parse(raw, unit):
    assert unit_parse(raw) == unit


@pytest.mark.parametrize("raw", ["X", "P", "KK", "B"])
def test_unit_parse_refuses_unknown_units(raw):
    with pytest.raises(ValueError, match="Unknown unit"):
        unit_parse(raw)


@pytest.mark.parametrize(("size", "human"), [
    (-1, -1), (0, "0M"), (5, "5B"), (1024, "1K"), (50 * MIB, "50M"), (2 * 1024 * MIB, "2G"),
    (1024**4, "1T"), (1536 * 1024, "1.5M"), (1_500_000, "1.43M"), (1025 * 1024, "1.00M"), (1_049_000, "1.00M"),
    (MIB + 512 * 1024 + 1, "1.50M"),
])
def test_size_human(size, human):
    assert size_human(size) == human


def test_recount_reports_then_fixes_broken_counters(user, other):
    give_tier(user, TierType.GOLD)
    repository_create(owner=user, name="one")
    repo = repository_create(owner=user, name="two", visibility="private")
    commit_create(repo=repo, author=user, content="x" * 100)
    Quota.objects.filter(user=user, kind=QuotaKind.REPO_PUBLIC).update(use=7)
    Quota.objects.filter(user=user, kind=QuotaKind.DEPOSIT).update(use=0)
    Quota.objects.filter(user=other, kind=QuotaKind.REPO_PRIVATE).update(use=3)
    before = snapshot()

    out = StringIO()
    with pytest.raises(CommandError, match="3 quota use") as refused:
        call_command("recount_quotas", stdout=out)
    assert refused.value.returncode == 3  # the exit status: drift found, for the job's monitor
    report = out.getvalue()
    assert "alice repo_public: recorded 7, actual 1" in report
    assert "alice deposit: recorded 0, actual 100" in report
    assert "bob repo_private: recorded 3, actual 0" in report
    assert "3 difference(s) found." in report
    before.assert_unchanged()

    call_command("recount_quotas", "--fix", stdout=StringIO())
    assert row(user, QuotaKind.REPO_PUBLIC).use == 1
    assert row(user, QuotaKind.REPO_PRIVATE).use == 1
    assert row(user, QuotaKind.DEPOSIT).use == 100
    assert row(other, QuotaKind.REPO_PRIVATE).use == 0
    corrected = {(event.user.username, event.data["kind"], event.data["previous"], event.data["use"], event.actor)
                 for event in AuditEvent.objects.filter(action="quota.recount")}  # every other change of use has one
    assert corrected == {("alice", "repo_public", 7, 1, None), ("alice", "deposit", 0, 100, None),
                         ("bob", "repo_private", 3, 0, None)}
    out = StringIO()
    call_command("recount_quotas", stdout=out)
    assert out.getvalue().strip() == "0 difference(s) found."
    assert Repository.objects.count() == 2


@pytest.mark.parametrize("lapsed", [True, False])
def test_an_operators_limit_holds_over_a_paid_tier_and_its_expiry(user, lapsed):
    """The override replaces the paid tier's limit and the fallback at its expiry: on a lapsed member it
    read as the fallback at once (the reply showed the old limit), on a paying one it vanished at expiry.
    The nightly job writing the expiry down keeps it too (it set tier 1's limit there), and moves the rest."""
    now = timezone.now()
    expiry = now - timedelta(days=1) if lapsed else now + timedelta(days=30)
    membership_tier_assign(user=user, user_type=TierType.DIAMOND, actor=None, expires_at=expiry)
    quota_limits_set(user=user, limits={QuotaKind.REPO_PUBLIC: 100}, actor=None, now=now)
    assert row(user, QuotaKind.REPO_PUBLIC).limit_at(now) == 100
    later = now + timedelta(days=60)
    assert row(user, QuotaKind.REPO_PUBLIC).limit_at(later) == 100
    assert membership_expire_due(now=later) == 1
    assert row(user, QuotaKind.REPO_PUBLIC).limit_at(later) == 100
    base = Tier.objects.get(user_type=TierType.REGISTERED).quota_limits()
    assert row(user, QuotaKind.REPO_PRIVATE).limit_at(later) == base[QuotaKind.REPO_PRIVATE]
    assert row(user, QuotaKind.REPO_PRIVATE).quota_until is None


def test_the_database_refuses_a_quota_of_an_unknown_kind(user):
    with pytest.raises(IntegrityError), transaction.atomic():
        Quota.objects.create(user=user, kind="storage")
    assert set(Quota.objects.filter(user=user).values_list("kind", flat=True)) == set(QuotaKind.values)


def test_an_edit_of_tier_1_locks_its_rows_without_the_members_under_an_or(user, other):
    """The rows an edit of tier 1 moves (its members' at the old limit, and every paid member's fallback) are
    locked in one statement: with `user_id IN (members)` under the OR, PostgreSQL could not join and scanned
    the list of members for each row (hours at a million members, tier 1 held all along)."""
    membership_tier_assign(user=other, user_type=TierType.GOLD, actor=None,
                           expires_at=timezone.now() + timedelta(days=30))  # tier 1's limits are its fallback
    base = Tier.objects.get(user_type=TierType.REGISTERED)
    base.pulls_per_day += 1
    with CaptureQueriesContext(connection) as captured:
        tier_save(tier=base)
    locks = [q["sql"] for q in captured.captured_queries
             if q["sql"].startswith("SELECT COUNT(*) FROM (SELECT") and "fallback_quota" in q["sql"]]
    assert locks and not [sql for sql in locks if " IN (SELECT " in sql], locks
    assert row(user, QuotaKind.PULLS).quota == base.pulls_per_day
    assert row(other, QuotaKind.PULLS).fallback_quota == base.pulls_per_day
