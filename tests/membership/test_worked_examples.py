"""Worked examples from the tier table (docs/tiers.md), through the purchase service with passed clocks."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from accountsite.errors import MembershipChangeError
from membership import selectors, services
from membership.models import LedgerEntry, Membership, Tier, TierType
from quotas.models import Quota, QuotaKind
from quotas.services import quota_limits_set
from tests.factories import UserFactory
from tests.membership.conftest import assert_ledger_balances, balance
from tests.snapshots import snapshot

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
pytestmark = pytest.mark.django_db


def buy(user, user_type, now, validity=1, actor=None):
    cost = services.membership_cost(user=user, user_type=user_type, validity=validity, now=now)
    return services.membership_purchase(user=user, user_type=user_type, validity=validity, cost=cost,
                                        actor=actor or user, now=now)


@pytest.fixture
def member(fund):
    user = UserFactory(username="carol")
    fund(user, "100000.00")
    return user


def test_registered_to_gold_costs_the_full_fee(member):
    assert services.membership_cost(user=member, user_type=TierType.GOLD, validity=1, now=T0) == Decimal("10000.00")
    purchase = buy(member, TierType.GOLD, T0)
    assert purchase.quote.kind == "upgrade" and purchase.balance == Decimal("90000.00")
    membership = Membership.objects.get(user=member)
    assert (membership.tier.user_type, membership.expires_at) == (TierType.GOLD,
                                                                  datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    assert Quota.objects.get(user=member, kind="repo_private").quota == 2
    entry = LedgerEntry.objects.get(user=member, kind="charge")
    assert (entry.amount, entry.balance_after, entry.from_user_type, entry.to_user_type) == (
        Decimal("-10000.00"), Decimal("90000.00"), TierType.REGISTERED, TierType.GOLD)


def test_gold_to_diamond_half_way_credits_the_unused_half(member):
    buy(member, TierType.GOLD, T0)
    half_way = T0 + timedelta(days=182, hours=12)  # Aug 31 00:00: exactly half of the 365 days left
    cost = services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1, now=half_way)
    assert cost == Decimal("20000.00") - Decimal("5000.00") == Decimal("15000.00")
    purchase = buy(member, TierType.DIAMOND, half_way)
    assert purchase.quote.credit == Decimal("5000.00")
    assert Membership.objects.get(user=member).expires_at == datetime(2026, 8, 31, 0, 0, tzinfo=UTC)
    assert balance(member) == Decimal("100000.00") - Decimal("10000.00") - Decimal("15000.00")


def test_gold_to_diamond_a_minute_later_costs_the_difference_and_that_minute(member):
    """Proration to the second: only the minute of gold used is not credited."""
    buy(member, TierType.GOLD, T0)
    minute_later = T0 + timedelta(minutes=1)
    cost = services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1, now=minute_later)
    assert cost == Decimal("20000.00") - Decimal("9999.98") == Decimal("10000.02")


@pytest.mark.parametrize(("renew_at", "expected_expiry"), [
    (T0 + timedelta(days=100), datetime(2027, 3, 1, 12, 0, tzinfo=UTC)),  # early: added to the expiry
    (T0 + timedelta(days=400), datetime(2027, 4, 5, 12, 0, tzinfo=UTC)),  # late: added to now
])
def test_renew_gold_early_and_late(member, renew_at, expected_expiry):
    buy(member, TierType.GOLD, T0)
    cost = services.membership_cost(user=member, user_type=TierType.GOLD, validity=1, now=renew_at)
    assert cost == Decimal("10000.00")
    buy(member, TierType.GOLD, renew_at)
    assert Membership.objects.get(user=member).expires_at == expected_expiry
    assert balance(member) == Decimal("80000.00")


def test_renewing_for_two_years_then_upgrading_credits_both_years(member):
    buy(member, TierType.GOLD, T0, validity=2)
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1, now=T0) == Decimal("0.00")
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=2, now=T0) == Decimal("20000.00")


def test_diamond_to_gold_refused_before_expiry_and_full_price_after(member):
    buy(member, TierType.DIAMOND, T0)
    before = snapshot()
    with pytest.raises(MembershipChangeError) as refused:
        services.membership_cost(user=member, user_type=TierType.GOLD, validity=1, now=T0 + timedelta(days=364))
    assert refused.value.code == MembershipChangeError.code
    with pytest.raises(MembershipChangeError):
        services.membership_purchase(user=member, user_type=TierType.GOLD, validity=1, cost=Decimal("10000.00"),
                                     actor=member, now=T0 + timedelta(days=364))
    before.assert_unchanged()
    after = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert services.membership_cost(user=member, user_type=TierType.GOLD, validity=1, now=after) == Decimal("10000.00")
    assert buy(member, TierType.GOLD, after).quote.expires_at == datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


def test_free_tiers_change_for_nothing_and_the_admin_tier_is_not_for_sale(member):
    purchase = buy(member, TierType.CERTIFIED, T0)
    assert (purchase.quote.kind, purchase.quote.cost, purchase.entry) == ("change", Decimal("0.00"), None)
    assert Quota.objects.get(user=member, kind="repo_public").quota == 10
    with pytest.raises(MembershipChangeError):
        services.membership_cost(user=member, user_type=TierType.ADMIN, validity=1, now=T0)


def test_admin_role_users_are_never_charged_as_they_buy_nothing(admin_user):
    """An administrator holds the admin tier, which goes with the role: a tier bought instead would replace it
    and lapse to tier 1, and they could neither buy nor set their own back."""
    with pytest.raises(MembershipChangeError, match="An administrator holds the admin tier"):
        services.membership_cost(user=admin_user, user_type=TierType.DIAMOND, validity=3, now=T0)
    with pytest.raises(MembershipChangeError):
        buy(admin_user, TierType.DIAMOND, T0, validity=3)
    assert selectors.effective_tier(Membership.objects.get(user=admin_user), T0).user_type == TierType.ADMIN


def test_an_operator_grant_is_not_credited_on_upgrade(member, admin_user):
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user,
                                    expires_at=T0 + timedelta(days=300), now=T0)
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1, now=T0) == Decimal("20000.00")


def test_a_renewed_operator_grant_credits_the_years_paid_in_full(member, admin_user):
    """Gold granted for a year, then renewed by the member for a year (10000.00, from the grant's end): upgrading
    when the grant ends, the paid year is wholly unused and credited whole (it was spread over both years,
    half of it credited)."""
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user,
                                    expires_at=T0 + timedelta(days=365), now=T0)
    assert buy(member, TierType.GOLD, T0).quote.cost == Decimal("10000.00")
    upgrade = buy(member, TierType.DIAMOND, T0 + timedelta(days=365))
    assert (upgrade.quote.credit, upgrade.quote.cost) == (Decimal("10000.00"), Decimal("10000.00"))
    assert_ledger_balances(member)


def fee_set(user_type: int, fee: str) -> None:
    """As the back office edits a tier (a save: the tier cache follows)."""
    tier = Tier.objects.get(user_type=user_type)
    tier.fee = Decimal(fee)
    tier.save()


def test_a_fee_changed_after_the_purchase_changes_no_credit(member):
    """The credit is the unused share of what the period was bought at: gold bought at 10000.00, then its
    fee raised to 15000.00, is credited 5000.00 half way (it read 7500.00 at the new fee), and a fee lowered
    takes nothing from the member."""
    buy(member, TierType.GOLD, T0)
    half_way = T0 + timedelta(days=182, hours=12)
    for fee in ("15000.00", "5000.00"):
        fee_set(TierType.GOLD, fee)
        assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1,
                                        now=half_way) == Decimal("15000.00")


def test_a_renewal_at_another_fee_adds_what_it_paid_to_the_period(member):
    buy(member, TierType.GOLD, T0)  # a year at 10000.00
    fee_set(TierType.GOLD, "12000.00")
    assert buy(member, TierType.GOLD, T0).quote.cost == Decimal("12000.00")  # the second year at 12000.00
    assert Membership.objects.get(user=member).period_value == Decimal("22000.00")
    # At once, nothing of the two years is used: all 22000.00 is credited against two years of diamond.
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=2,
                                    now=T0) == Decimal("40000.00") - Decimal("22000.00")


def test_a_tier_granted_without_an_end_has_nothing_to_renew(member, admin_user):
    """An operator's grant of gold without an end date, renewed by the member, would have cost the fee and
    given the tier an end: refused (8009), nothing charged."""
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user)
    with pytest.raises(MembershipChangeError, match="nothing to renew"):
        services.membership_cost(user=member, user_type=TierType.GOLD, validity=1, now=T0)
    with pytest.raises(MembershipChangeError):
        buy(member, TierType.GOLD, T0)
    assert Membership.objects.get(user=member).expires_at is None
    assert selectors.wallet_balance(member) == Decimal("100000.00")


def test_an_operator_moving_the_end_of_a_paid_tier_keeps_what_was_paid(member, admin_user):
    """An operator extending a paying member's gold by a month (PATCH /users/{name} invalid_at) changes no
    tier: the years paid stay credited on upgrade (they read as a grant, credit 0, before)."""
    buy(member, TierType.GOLD, T0)
    half_way = T0 + timedelta(days=182, hours=12)
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1,
                                    now=half_way) == Decimal("15000.00")
    extended = Membership.objects.get(user=member).expires_at + timedelta(days=30)
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user, expires_at=extended,
                                    now=half_way)
    cost = services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1, now=half_way)
    assert Decimal("14000.00") < cost < Decimal("15000.00")  # the unused share of the 10000.00, now over 13 months


def test_an_operator_reviving_a_lapsed_paid_tier_credits_nothing(member, admin_user):
    """The paid period is over: giving the same tier an end again is a grant, with nothing to credit."""
    buy(member, TierType.GOLD, T0)
    later = T0 + timedelta(days=400)
    services.membership_tier_assign(user=member, user_type=TierType.GOLD, actor=admin_user,
                                    expires_at=later + timedelta(days=300), now=later)
    assert services.membership_cost(user=member, user_type=TierType.DIAMOND, validity=1,
                                    now=later) == Decimal("20000.00")


def test_a_renewal_keeps_an_operators_own_limit(member, admin_user):
    """docs/tiers.md: an operator's limit for one user holds until the user's next tier change; renewing the
    same tier is none (it set the tier's limits again), while an upgrade is one."""
    buy(member, TierType.GOLD, T0)
    quota_limits_set(user=member, limits={QuotaKind.REPO_PUBLIC: 100}, actor=admin_user, now=T0)
    buy(member, TierType.GOLD, T0 + timedelta(days=10))
    rows = {row.kind: row for row in Quota.objects.filter(user=member)}
    assert rows[QuotaKind.REPO_PUBLIC].quota == 100
    # The tier's own limits follow the renewed expiry.
    assert rows[QuotaKind.PULLS].quota_until == Membership.objects.get(user=member).expires_at
    buy(member, TierType.DIAMOND, T0 + timedelta(days=20))
    assert Quota.objects.get(user=member, kind=QuotaKind.REPO_PUBLIC).quota == 50


def test_a_credit_larger_than_the_new_price_returns_the_rest_to_the_wallet(member):
    """Three years of gold (30000.00) moved at once to one year of diamond (20000.00): the charge is 0.00 (never
    below 0) and the unused 10000.00 comes back to the wallet as a refund row; it was kept by no one before."""
    buy(member, TierType.GOLD, T0, validity=3)
    assert balance(member) == Decimal("70000.00")
    purchase = buy(member, TierType.DIAMOND, T0)
    assert (purchase.quote.cost, purchase.quote.credit, purchase.quote.refund) == (
        Decimal("0.00"), Decimal("30000.00"), Decimal("10000.00"))
    assert purchase.balance == balance(member) == Decimal("80000.00")
    refund = LedgerEntry.objects.get(user=member, kind="refund")
    assert (refund.amount, refund.balance_after, refund.from_user_type, refund.to_user_type) == (
        Decimal("10000.00"), Decimal("80000.00"), TierType.GOLD, TierType.DIAMOND)
    assert_ledger_balances(member)
