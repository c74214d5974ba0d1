"""The data migrations of membership: every older account's plan and tier in force, the running periods' value,
and the ends tier 1 and the admin tier never have."""

from datetime import timedelta

import pytest
from django.utils import timezone

from membership.models import TierType
from tests.migrations import MigrationSteps

BEFORE = [("membership", "0006_quota_limits_until_expiry"), ("accounts", "0006_user_tier_in_force")]
AFTER = [("membership", "0007_every_account_has_its_plan")]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_older_accounts_get_their_plan_and_their_tier_in_force():
    steps = MigrationSteps()
    apps = steps.apps_at(BEFORE)
    User, Membership = apps.get_model("accounts", "User"), apps.get_model("membership", "Membership")
    Tier, Quota = apps.get_model("membership", "Tier"), apps.get_model("quotas", "Quota")
    Wallet = apps.get_model("membership", "Wallet")
    expiry = timezone.now() + timedelta(days=30)
    paid = User.objects.create(username="paid", password="!")
    Membership.objects.create(user=paid, tier=Tier.objects.get(user_type=TierType.GOLD), expires_at=expiry)
    Wallet.objects.create(user=paid)
    bare = User.objects.create(username="bare", password="!")  # made outside the services: no plan at all
    staff = User.objects.create(username="staffer", password="!", is_staff=True)

    apps = steps.apps_at(AFTER)
    User, Membership = apps.get_model("accounts", "User"), apps.get_model("membership", "Membership")
    Quota, Wallet = apps.get_model("quotas", "Quota"), apps.get_model("membership", "Wallet")
    tiers = {user.username: (user.user_type, user.invalid_at, user.user_type_after) for user in User.objects.all()}
    assert tiers == {"paid": (TierType.GOLD, expiry, TierType.REGISTERED),
                     "bare": (TierType.REGISTERED, None, TierType.REGISTERED),
                     "staffer": (TierType.ADMIN, None, TierType.REGISTERED)}
    for user in (paid, bare, staff):
        assert Membership.objects.filter(user_id=user.pk).count() == Wallet.objects.filter(user_id=user.pk).count() == 1
        assert Quota.objects.filter(user_id=user.pk).count() == 4
    assert Quota.objects.get(user_id=bare.pk, kind="pullnum").quota == 500
    assert Quota.objects.get(user_id=staff.pk, kind="deposit").quota == -1
    steps.to_latest()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_running_periods_are_valued_at_their_tiers_fee_as_the_credit_read_them():
    before, after = [("membership", "0008_back_office_indexes")], [("membership", "0009_membership_period_value")]
    steps = MigrationSteps()
    apps = steps.apps_at(before)
    User, Membership = apps.get_model("accounts", "User"), apps.get_model("membership", "Membership")
    Tier = apps.get_model("membership", "Tier")
    two_years = User.objects.create(username="two-years", password="!")
    Membership.objects.create(user=two_years, tier=Tier.objects.get(user_type=TierType.GOLD), period_years=2,
                              period_started_at=timezone.now(), expires_at=timezone.now() + timedelta(days=700))
    granted = User.objects.create(username="granted", password="!")
    Membership.objects.create(user=granted, tier=Tier.objects.get(user_type=TierType.DIAMOND), period_years=0)

    Membership = steps.apps_at(after).get_model("membership", "Membership")
    assert Membership.objects.get(user_id=two_years.pk).period_value == 20000
    assert Membership.objects.get(user_id=granted.pk).period_value == 0
    steps.to_latest()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_tier_1_and_the_admin_tier_lose_the_ends_a_role_change_carried_over():
    before = [("membership", "0011_idempotency_created_index"), ("accounts", "0020_email_names_a_domain")]
    after = [("membership", "0012_never_ending_tiers_without_end")]
    steps = MigrationSteps()
    apps = steps.apps_at(before)
    User, Membership = apps.get_model("accounts", "User"), apps.get_model("membership", "Membership")
    Tier = apps.get_model("membership", "Tier")
    end = timezone.now() + timedelta(days=30)
    for name, user_type in (("promoted", TierType.ADMIN), ("demoted", TierType.REGISTERED), ("paid", TierType.GOLD)):
        user = User.objects.create(username=name, password="!", user_type=user_type, invalid_at=end)
        Membership.objects.create(user=user, tier=Tier.objects.get(user_type=user_type), expires_at=end)

    apps = steps.apps_at(after)
    User, Membership = apps.get_model("accounts", "User"), apps.get_model("membership", "Membership")
    ends = {member.user.username: (member.expires_at, member.user.invalid_at)
            for member in Membership.objects.select_related("user")}
    assert ends == {"promoted": (None, None), "demoted": (None, None), "paid": (end, end)}
    steps.to_latest()
