"""Money under real concurrency on PostgreSQL: threads, each with its own database connection."""

import random
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import sessions
from accounts.services.users import user_admin_update, user_create
from accountsite import errors
from membership import plans, services
from membership.models import IdempotencyRecord, LedgerEntry, Membership, Tier, TierType
from quotas.models import Quota, QuotaKind
from quotas.services import quota_limits_apply, quota_limits_set
from repos.models import Repository
from repos.services import repository_create, repository_update
from tests.factories import UserFactory
from tests.membership.conftest import assert_ledger_balances, balance, tier
from tests.parallel import run_parallel, waited_or_done

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]
# serialized_rollback: a transactional test flushes the tables, and the tiers are data seeded by a migration.


def run_together(requests: list) -> list[tuple[int, dict, bytes]]:
    """Sends every (method, path, body, headers) at once, one thread and one connection each."""

    def send(index: int) -> tuple[int, dict, bytes]:
        method, path, body, headers = requests[index]
        response = getattr(APIClient(), method)(path, body, format="json", headers=headers)
        return response.status_code, response.json(), response.content

    return run_parallel(send, len(requests), threads=len(requests))


def bearer(user) -> str:
    _session, pair = sessions.session_start(user=user, terminal="load", ip="127.0.0.1", user_agent="pytest")
    return f"Bearer {pair.access}"


@pytest.fixture
def buyer(fund):
    user = UserFactory(username="frank")
    fund(user, "20000.00")
    return user


def test_fifty_puts_with_one_key_charge_once_and_all_get_the_same_reply(buyer):
    headers = {"Authorization": bearer(buyer), "Idempotency-Key": "checkout-42"}
    replies = run_together([("put", "/vip/frank", {"userType": TierType.GOLD, "cost": "10000.00"}, headers)] * 50)
    assert {status for status, _, _ in replies} == {200}
    assert {content for _, _, content in replies} == {replies[0][2]}  # byte-identical replays
    assert replies[0][1]["code"] == 0 and replies[0][1]["data"]["balance"] == "10000.00"
    assert balance(buyer) == Decimal("10000.00")
    assert_ledger_balances(buyer)
    assert LedgerEntry.objects.filter(user=buyer, kind="charge").count() == 1
    assert IdempotencyRecord.objects.filter(user=buyer, key="checkout-42").count() == 1
    assert tier(buyer) == TierType.GOLD


def test_twenty_puts_with_one_expired_key_charge_once_more(buyer):
    """A key past its window is a new request: its twins must still charge once, though each may find the
    expired record and delete it to make room for its own."""
    old = IdempotencyRecord.objects.create(user=buyer, key="checkout-7", request_hash="0" * 64, response_body="{}",
                                           created_at=timezone.now() - timedelta(days=2))
    headers = {"Authorization": bearer(buyer), "Idempotency-Key": "checkout-7"}
    replies = run_together([("put", "/vip/frank", {"userType": TierType.GOLD, "cost": "10000.00"}, headers)] * 20)
    assert {status for status, _, _ in replies} == {200}
    assert {content for _, _, content in replies} == {replies[0][2]}
    assert balance(buyer) == Decimal("10000.00")
    assert_ledger_balances(buyer)
    assert LedgerEntry.objects.filter(user=buyer, kind="charge").count() == 1
    fresh = IdempotencyRecord.objects.get(user=buyer, key="checkout-7")
    assert fresh.pk != old.pk and fresh.created_at > old.created_at + timedelta(days=1)


def test_twenty_different_upgrades_on_a_wallet_for_one_exactly_one_succeeds(buyer):
    auth = {"Authorization": bearer(buyer)}
    # Every one costs exactly the whole balance now: diamond for 1 year or gold for 2 years.
    bodies = [{"userType": TierType.DIAMOND, "cost": "20000.00"} if i % 2
              else {"userType": TierType.GOLD, "cost": "20000.00", "validity": 2} for i in range(20)]
    replies = run_together([("put", "/vip/frank", body, {**auth, "Idempotency-Key": f"k{i}"})
                            for i, body in enumerate(bodies)])
    codes = sorted(body["code"] for _, body, _ in replies)
    assert codes.count(0) == 1, codes
    refusals = {errors.InsufficientBalanceError, errors.MembershipChangeError, errors.CostMismatchError}
    assert set(codes) - {0} <= {error.code for error in refusals}, codes
    assert balance(buyer) == Decimal("0.00")
    assert_ledger_balances(buyer)
    assert all(after >= 0 for after in LedgerEntry.objects.filter(user=buyer).values_list("balance_after", flat=True))
    assert LedgerEntry.objects.filter(user=buyer, kind="charge").count() == 1


def test_concurrent_topups_and_purchases_never_lose_money(buyer, admin_user):
    admin = {"Authorization": bearer(admin_user)}
    member = {"Authorization": bearer(buyer)}
    requests = [("post", "/vip/frank/topup", {"amount": "1000.00"}, admin) for _ in range(10)]
    requests += [("put", "/vip/frank", {"userType": TierType.GOLD, "cost": "10000.00"}, member) for _ in range(5)]
    replies = run_together(requests)
    charges = sum(1 for status, body, _ in replies if status == 200 and body["code"] == 0)
    assert sum(1 for status, _, _ in replies if status == 201) == 10
    # Every purchase either charged or met a short balance (or a price moved by a charge before it): a
    # purchase that failed otherwise (a 503) would keep the sums below true with fewer charges.
    refusals = {errors.InsufficientBalanceError.code, errors.CostMismatchError.code,
                errors.MembershipChangeError.code}
    assert all(body["code"] == 0 or body["code"] in refusals for _, body, _ in replies), replies
    assert charges >= 2  # 20,000.00 was in the wallet before any request: two purchases at least
    assert balance(buyer) == Decimal("20000.00") + Decimal("10000.00") - Decimal("10000.00") * charges
    assert balance(buyer) >= 0
    assert_ledger_balances(buyer)


def test_tier_pushes_and_the_other_quota_writers_queue_and_never_deadlock(admin_user):
    """Every writer locks a user's quota rows in one order (quotas.services): a tier's push (an operator's
    change, a purchase) beside an operator's limits and a visibility switch waited on each other's rows in
    opposite orders, and PostgreSQL broke the cycle by failing one of them (a 503)."""
    member = UserFactory(username="dora")
    until = timezone.now() + timedelta(days=365)
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user, expires_at=until)
    repo = repository_create(owner=member, name="switching")

    def work(index: int) -> list[str]:
        deadlocks = []
        for n in range(40):
            try:
                if index % 3 == 0:
                    services.membership_tier_assign(user=member, user_type=(TierType.GOLD, TierType.DIAMOND)[n % 2],
                                                    actor=admin_user, expires_at=until)
                elif index % 3 == 1:
                    quota_limits_set(user=member, limits={QuotaKind.REPO_PUBLIC: 30 + n, QuotaKind.REPO_PRIVATE: 5},
                                     actor=admin_user)
                else:
                    current = Repository.objects.get(pk=repo.pk)
                    switched = "private" if current.visibility == "public" else "public"
                    repository_update(repo=current, visibility=switched)
            except OperationalError as error:
                deadlocks.append(str(error).splitlines()[0])
        return deadlocks

    assert [failure for failures in run_parallel(work, 6, threads=6) for failure in failures] == []


def test_an_operators_tier_edit_never_undoes_a_purchase_made_meanwhile(buyer, admin_user, monkeypatch):
    """An operator's edit of the tier alone kept the end date it had read before taking the membership's lock:
    a renewal the member paid for in between was overwritten, and the paid year lost."""
    services.membership_purchase(user=buyer, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"),
                                 actor=buyer)
    first_end = services.selectors.membership_of(buyer).expires_at
    edit_started, renewal_done, assign = threading.Event(), threading.Event(), services.membership_tier_assign

    def slow_assign(**kwargs):
        edit_started.set()
        waited_or_done(renewal_done)  # the renewal arrives now: it must wait for the edit, then count
        return assign(**kwargs)

    monkeypatch.setattr(plans.services, "membership_tier_assign", slow_assign)

    def work(index: int) -> None:
        if index == 0:
            user_admin_update(user=type(buyer).objects.get(pk=buyer.pk), actor=admin_user, user_type=TierType.GOLD)
        else:
            assert edit_started.wait(5)
            try:
                services.membership_purchase(user=type(buyer).objects.get(pk=buyer.pk), user_type=TierType.GOLD,
                                             validity=1, cost=Decimal("10000.00"), actor=buyer)
            finally:
                renewal_done.set()

    assert run_parallel(work, 2, threads=2) == [None, None]
    assert services.selectors.membership_of(buyer).expires_at > first_end + timedelta(days=360)
    assert_ledger_balances(buyer)


def _tier_edit(user_type: int, *, done: threading.Event) -> None:
    """An operator raises the tier's public repositories by 5 (tier_save, as the back office saves it); `done`
    is set once it has finished, or failed."""
    tier = Tier.objects.get(user_type=user_type)
    tier.repo_public += 5
    try:
        services.tier_save(tier=tier)
    finally:
        done.set()


def test_a_purchase_made_during_a_tier_edit_gets_the_new_limits(buyer, monkeypatch):
    """The purchase read the tier from the cached table; the edit moved the members committed then, and the
    buyer, committing after it, kept the old limit for good (treated as an operator's own limit since)."""
    purchase_read, edit_done, locked_wallet = threading.Event(), threading.Event(), services._locked_wallet

    def slow_wallet(user):
        purchase_read.set()
        waited_or_done(edit_done)  # the edit comes now: it must wait for the purchase, or the purchase for it
        return locked_wallet(user)

    monkeypatch.setattr(services, "_locked_wallet", slow_wallet)

    def work(index: int) -> None:
        if index == 0:
            services.membership_purchase(user=type(buyer).objects.get(pk=buyer.pk), user_type=TierType.GOLD,
                                         validity=1, cost=Decimal("10000.00"), actor=buyer)
        else:
            assert purchase_read.wait(5)
            _tier_edit(TierType.GOLD, done=edit_done)

    assert run_parallel(work, 2, threads=2) == [None, None]
    gold = Tier.objects.get(user_type=TierType.GOLD)
    assert Quota.objects.get(user=buyer, kind=QuotaKind.REPO_PUBLIC).quota == gold.repo_public


def test_a_role_change_during_a_purchase_waits_instead_of_deadlocking(buyer, admin_user, monkeypatch):
    """The role change held the user's row and then asked for the membership's; the purchase held the
    membership's and then wrote the tier down to the user's row: deadlock detected, one of them a 503."""
    in_purchase, role_done, membership_set = threading.Event(), threading.Event(), services._membership_set

    def slow_set(**kwargs):
        if threading.current_thread().name == "purchase":
            in_purchase.set()
            waited_or_done(role_done)  # the role change comes now
        return membership_set(**kwargs)

    monkeypatch.setattr(services, "_membership_set", slow_set)

    def work(index: int) -> str:
        if index == 0:
            threading.current_thread().name = "purchase"
            services.membership_purchase(user=type(buyer).objects.get(pk=buyer.pk), user_type=TierType.GOLD,
                                         validity=1, cost=Decimal("10000.00"), actor=buyer)
            return "bought"
        assert in_purchase.wait(5)
        try:
            user_admin_update(user=type(buyer).objects.get(pk=buyer.pk), actor=admin_user, role="admin")
        finally:
            role_done.set()
        return "promoted"

    assert run_parallel(work, 2, threads=2) == ["bought", "promoted"]
    assert tier(buyer) == TierType.ADMIN


def test_an_expiry_during_an_edit_of_tier_1_gets_the_new_limits(admin_user, monkeypatch):
    """The expiry moved the member into tier 1 as the cached table had it: an edit of tier 1 committed
    meanwhile did not count the member yet, and the expiry wrote tier 1's old limits, for good."""
    user = UserFactory(username="lapsing")
    services.membership_tier_assign(user=user, user_type=TierType.GOLD, actor=admin_user,
                                    expires_at=timezone.now() - timedelta(days=1))
    in_expiry, edit_done, membership_set = threading.Event(), threading.Event(), services._membership_set

    def slow_set(**kwargs):
        if threading.current_thread().name == "expiry":
            in_expiry.set()
            waited_or_done(edit_done)  # the edit of tier 1 comes now
        return membership_set(**kwargs)

    monkeypatch.setattr(services, "_membership_set", slow_set)
    membership_id = services.selectors.membership_of(user).pk

    def work(index: int) -> str:
        if index == 0:
            threading.current_thread().name = "expiry"
            return str(services._membership_expire(membership_id=membership_id, now=timezone.now()))
        assert in_expiry.wait(5)
        _tier_edit(TierType.REGISTERED, done=edit_done)
        return "edited"

    assert run_parallel(work, 2, threads=2) == ["True", "edited"]
    base = Tier.objects.get(user_type=TierType.REGISTERED)
    assert Quota.objects.get(user=user, kind=QuotaKind.REPO_PUBLIC).quota == base.repo_public


def test_a_purchase_during_an_edit_of_tier_1_falls_back_to_its_new_limits(buyer, monkeypatch):
    """The purchase read tier 1 (the fallback of the tier bought) from the cached table before the edit committed,
    and wrote its old limits as the fallback after it: the member would fall back to them at the expiry."""
    pushing, edit_done, record = threading.Event(), threading.Event(), services.user_tier_record

    def slow_record(**kwargs):
        pushing.set()
        waited_or_done(edit_done)  # the edit of tier 1 comes now
        return record(**kwargs)

    monkeypatch.setattr(services, "user_tier_record", slow_record)

    def work(index: int) -> None:
        if index == 0:
            services.membership_purchase(user=type(buyer).objects.get(pk=buyer.pk), user_type=TierType.GOLD,
                                         validity=1, cost=Decimal("10000.00"), actor=buyer)
        else:
            assert pushing.wait(5)
            _tier_edit(TierType.REGISTERED, done=edit_done)

    assert run_parallel(work, 2, threads=2) == [None, None]
    base = Tier.objects.get(user_type=TierType.REGISTERED)
    assert Quota.objects.get(user=buyer, kind=QuotaKind.REPO_PUBLIC).fallback_quota == base.repo_public


def test_a_sign_up_during_an_edit_of_tier_1_gets_the_new_limits(monkeypatch):
    """The new account's membership read tier 1 from the cached table; the edit did not count the account yet,
    and it kept tier 1's old limits for good (read as an operator's own limits since)."""
    opening, edit_done, push = threading.Event(), threading.Event(), services._plan_push

    def slow_push(**kwargs):
        if threading.current_thread().name == "sign-up":
            opening.set()
            waited_or_done(edit_done)  # the edit of tier 1 comes now
        return push(**kwargs)

    monkeypatch.setattr(services, "_plan_push", slow_push)

    def work(index: int) -> str:
        if index == 0:
            threading.current_thread().name = "sign-up"
            return user_create(actor=None, username="newcomer", password="Correct-Horse-Battery-9").username
        assert opening.wait(5)
        _tier_edit(TierType.REGISTERED, done=edit_done)
        return "edited"

    assert run_parallel(work, 2, threads=2) == ["newcomer", "edited"]
    base = Tier.objects.get(user_type=TierType.REGISTERED)
    assert Quota.objects.get(user__username="newcomer", kind=QuotaKind.REPO_PUBLIC).quota == base.repo_public


def test_a_member_leaving_a_tier_during_its_edit_keeps_the_new_tiers_limits(monkeypatch):
    """tier 1 -> certified (both 0 private repositories) while an operator gives tier 1 one: the edit counted the
    member, still in tier 1 when it began, and moved the rows the purchase had just written (0, certified's)."""
    member = UserFactory(username="leaver")
    in_purchase, edit_done, audit = threading.Event(), threading.Event(), services.audit_record

    def slow_audit(**kwargs):
        if threading.current_thread().name == "purchase":
            in_purchase.set()
            waited_or_done(edit_done)  # the edit of tier 1 comes now, the new limits written
        return audit(**kwargs)

    monkeypatch.setattr(services, "audit_record", slow_audit)

    def work(index: int) -> str:
        if index == 0:
            threading.current_thread().name = "purchase"
            services.membership_purchase(user=type(member).objects.get(pk=member.pk), user_type=TierType.CERTIFIED,
                                         validity=1, cost=Decimal("0.00"), actor=member)
            return "bought"
        assert in_purchase.wait(5)
        base = Tier.objects.get(user_type=TierType.REGISTERED)
        base.repo_private += 1
        try:
            services.tier_save(tier=base)
        finally:
            edit_done.set()
        return "edited"

    assert run_parallel(work, 2, threads=2) == ["bought", "edited"]
    certified = Tier.objects.get(user_type=TierType.CERTIFIED)
    assert Quota.objects.get(user=member, kind=QuotaKind.REPO_PRIVATE).quota == certified.repo_private


def test_edits_of_tier_1_and_of_a_paid_tier_never_deadlock(admin_user):
    """An edit of gold moves its members' rows, an edit of tier 1 their fallbacks: each UPDATE locked the same
    rows in the order its plan met them (gold's through the memberships, tier 1's in the table's), and
    PostgreSQL broke the cycle by failing one edit (a 503)."""
    until = timezone.now() + timedelta(days=365)
    gold, base = Tier.objects.get(user_type=TierType.GOLD), Tier.objects.get(user_type=TierType.REGISTERED)
    members = [UserFactory(username=f"member{n:03d}") for n in range(300)]
    random.Random(1).shuffle(members)  # rows in the table's order are not in the memberships'
    for member in members:
        Membership.objects.filter(user=member).update(tier=gold, expires_at=until)
        quota_limits_apply(user=member, limits=gold.quota_limits(), until=until, fallback=base.quota_limits())

    def work(index: int) -> list[str]:
        deadlocks = []
        for n in range(15):
            edited = Tier.objects.get(user_type=(TierType.REGISTERED, TierType.GOLD)[index % 2])
            edited.deposit_bytes += 1 if n % 2 == 0 else -1
            edited.pulls_per_day += 1 if n % 2 == 0 else -1
            try:
                services.tier_save(tier=edited)
            except OperationalError as error:
                deadlocks.append(str(error).splitlines()[0])
        return deadlocks

    assert [failure for failures in run_parallel(work, 4, threads=4) for failure in failures] == []
    gold, base = Tier.objects.get(user_type=TierType.GOLD), Tier.objects.get(user_type=TierType.REGISTERED)
    rows = Quota.objects.filter(user__in=members, kind=QuotaKind.DEPOSIT)
    assert not rows.exclude(quota=gold.deposit_bytes).exists()
    assert not rows.exclude(fallback_quota=base.deposit_bytes).exists()


def test_an_operators_limit_set_during_a_renewal_stays(admin_user, monkeypatch):
    """A renewal keeps the limits an operator set for the member: it read them without a lock, and one set
    between that read and its writes was taken for the tier's and overwritten."""
    member = UserFactory(username="kept")
    until = timezone.now() + timedelta(days=30)
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user, expires_at=until)
    renewing, set_done, write = threading.Event(), threading.Event(), Quota.objects.update_or_create

    def slow_write(**kwargs):
        if threading.current_thread().name == "renewal":
            renewing.set()
            waited_or_done(set_done)  # the renewal has read the limits; the operator's comes now
        return write(**kwargs)

    monkeypatch.setattr(Quota.objects, "update_or_create", slow_write)

    def work(index: int) -> str:
        if index == 0:
            threading.current_thread().name = "renewal"
            services.membership_tier_assign(user=type(member).objects.get(pk=member.pk), user_type=TierType.GOLD,
                                            actor=admin_user, expires_at=until + timedelta(days=365))
            return "renewed"
        assert renewing.wait(5)
        try:
            quota_limits_set(user=type(member).objects.get(pk=member.pk), limits={QuotaKind.REPO_PUBLIC: 99},
                             actor=admin_user)
        finally:
            set_done.set()
        return "set"

    assert run_parallel(work, 2, threads=2) == ["renewed", "set"]
    assert Quota.objects.get(user=member, kind=QuotaKind.REPO_PUBLIC).quota == 99
