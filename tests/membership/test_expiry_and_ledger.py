"""Expiry back to tier 1 with a passed clock, the management command, and the append-only ledger."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from accountsite import errors
from membership import selectors, services
from membership.models import LedgerEntry, Membership, TierType
from quotas.models import Quota
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def gold(fund):
    user = UserFactory(username="dave")
    fund(user, "10000.00")
    services.membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user,
                                 now=T0)
    Quota.objects.filter(user=user, kind="repo_public").update(use=15)
    return user


def test_expire_moves_only_expired_paid_members_to_tier_1_and_keeps_use(gold, admin_user):
    still_gold = UserFactory(username="erin")
    services.membership_tier_assign(user=still_gold, user_type=TierType.GOLD, actor=admin_user,
                                    expires_at=T0 + timedelta(days=800))
    expiry = Membership.objects.get(user=gold).expires_at
    assert services.membership_expire_due(now=expiry - timedelta(seconds=1)) == 0
    lapsed = selectors.effective_tier(Membership.objects.get(user=gold), expiry)
    assert lapsed.user_type == TierType.REGISTERED  # reads already lapse
    assert services.membership_expire_due(now=expiry) == 1
    membership = Membership.objects.get(user=gold)
    assert (membership.tier.user_type, membership.expires_at, membership.period_years) == (TierType.REGISTERED,
                                                                                           None, 0)
    repo_public = Quota.objects.get(user=gold, kind="repo_public")
    assert (repo_public.quota, repo_public.use) == (0, 15)
    assert Membership.objects.get(user=still_gold).tier.user_type == TierType.GOLD
    assert Membership.objects.get(user=admin_user).tier.user_type == TierType.ADMIN
    assert services.membership_expire_due(now=expiry) == 0  # idempotent


def test_expire_command_reports_how_many(gold):
    Membership.objects.filter(user=gold).update(expires_at=datetime(2000, 1, 1, tzinfo=UTC))
    out = StringIO()
    call_command("expire_memberships", stdout=out)
    assert out.getvalue().strip() == "1 membership(s) expired to tier 1."
    assert Membership.objects.get(user=gold).tier.user_type == TierType.REGISTERED


def test_after_expiry_the_next_purchase_is_a_new_one_at_full_price(gold):
    later = T0 + timedelta(days=500)
    services.membership_expire_due(now=later)
    assert services.membership_cost(user=gold, user_type=TierType.GOLD, validity=1, now=later) == Decimal("10000.00")


def test_ledger_rows_refuse_update_and_delete(gold):
    entry = LedgerEntry.objects.filter(user=gold).first()
    entry.note = "rewritten"
    with pytest.raises(PermissionError):
        entry.save()
    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(user=gold).update(note="x")
    with pytest.raises(PermissionError):
        LedgerEntry.objects.filter(user=gold).delete()
    assert LedgerEntry.objects.filter(user=gold, note="rewritten").count() == 0


@pytest.mark.postgres
def test_postgresql_refuses_ledger_rewrites_by_trigger(gold):
    for sql in ["UPDATE membership_ledgerentry SET amount = 0", "DELETE FROM membership_ledgerentry"]:
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert LedgerEntry.objects.filter(user=gold).count() == 2


def test_a_purchase_that_waited_for_the_wallet_is_listed_after_what_moved_it_meanwhile(fund, monkeypatch):
    """Newest first, the ledger reads as the balance moved: a top-up committed while a purchase waited for
    the wallet's lock comes before the purchase's charge, whose balance_after is the balance."""
    user = UserFactory(username="erin")
    fund(user, "10000.00")
    locked_wallet = services._locked_wallet

    def after_a_topup(owner):
        monkeypatch.setattr(services, "_locked_wallet", locked_wallet)
        services.wallet_topup(user=owner, amount=Decimal("500.00"), actor=None)  # committed meanwhile
        return locked_wallet(owner)

    monkeypatch.setattr(services, "_locked_wallet", after_a_topup)
    services.membership_purchase(user=user, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"), actor=user)
    newest = selectors.ledger_of(user).first()
    assert newest.kind == "charge" and newest.balance_after == selectors.wallet_balance(user) == Decimal("500.00")


@pytest.mark.parametrize("validity", [0, -1, 11, 50])
def test_the_service_holds_a_purchase_to_one_to_ten_years(validity, fund):
    """The bound lived in the API's serializer and the back office's form: the service sold 50 years
    (an expiry decades out) and 0 years was pricing's ValueError, a 500 for any new caller."""
    buyer = UserFactory(username="decades")
    fund(buyer, "900000.00")
    with pytest.raises(errors.InvalidParametersError, match="validity: 1 to 10 years"):
        services.membership_cost(user=buyer, user_type=TierType.GOLD, validity=validity)
    with pytest.raises(errors.InvalidParametersError, match="validity: 1 to 10 years"):
        services.membership_purchase(user=buyer, user_type=TierType.GOLD, validity=validity, cost=Decimal("0.00"),
                                     actor=buyer)
    assert selectors.membership_of(buyer).tier.user_type == TierType.REGISTERED
