"""What membership tells the apps below it, registered in MembershipConfig.ready: accounts.plans (opening
an account's plan, operators' tier changes through the user record) and quotas' QuotaPlans (default
limits, and the cheapest tier that allows a refused request)."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.plans import KEEP
from accountsite.errors import InvalidParametersError
from membership import selectors, services
from membership.models import UNLIMITED, TierType


class MembershipPlans:
    def tier_choices(self) -> list[tuple[int, str]]:
        return [(tier.user_type, tier.name) for tier in selectors.tiers()]

    def account_open(self, *, user: Any, now: datetime) -> None:
        services.membership_open(user=user, now=now)

    def account_plan_assign(self, *, user: Any, actor: Any, user_type: int | None, expires_at: Any,
                            role_changed: bool) -> None:
        # An administrator holds the unlimited admin tier; one demoted goes back to tier 1 (neither keeps an end
        # date: membership_tier_assign). What the change keeps (the tier, the end) is read under the row lock: a
        # purchase the member made meanwhile is read, not overwritten with what stood before it. The caller's
        # transaction (users.user_admin_update) holds the lock to the end.
        membership = services.membership_locked(user)
        if user_type is None:
            role_tier = TierType.ADMIN if user.is_admin else TierType.REGISTERED
            user_type = role_tier if role_changed else membership.tier.user_type
        if expires_at is not KEEP and expires_at is not None and user_type in (TierType.ADMIN, TierType.REGISTERED):
            # An end asked for a tier that never ends: answered 200 with `invalid_at: null`, it read as done.
            raise InvalidParametersError(f"Invalid parameters: invalid_at: tier {user_type} never ends.",
                                         error={"invalid_at": [f"Tier {user_type} never ends: leave it out."]})
        services.membership_tier_assign(user=user, actor=actor, user_type=user_type,
                                        expires_at=membership.expires_at if expires_at is KEEP else expires_at)


class MembershipQuotaPlans:
    """quotas.services.QuotaPlans as membership provides them."""

    def default_limits(self, user: Any) -> Mapping[str, int]:
        """The limits of the tier in force."""
        return selectors.effective_tier(selectors.membership_of(user), timezone.now()).quota_limits()

    def tier_allowing(self, *, user: Any, kind: str, limit: int) -> int | None:
        """Among the upgrades the member could buy now (another tier, not cheaper than the one in force, which
        would be a downgrade, and at least as generous in every quota, so that following the hint loses
        nothing; never the admin tier), the cheapest whose limit allows `limit`."""
        in_force = selectors.effective_tier(selectors.membership_of(user), timezone.now())
        excluded = (TierType.ADMIN, in_force.user_type)
        current = in_force.quota_limits()
        candidates = sorted((tier for tier in selectors.tiers() if tier.user_type not in excluded
                             and tier.fee >= in_force.fee and _covers(tier.quota_limits(), current)),
                            key=lambda tier: (tier.fee, tier.user_type))
        for tier in candidates:
            allowed = tier.quota_limits()[kind]
            if allowed == UNLIMITED or allowed >= limit:
                return tier.user_type
        return None


def _covers(limits: Mapping[str, int], other: Mapping[str, int]) -> bool:
    """Every one of `limits` is at least the same quota's in `other` (UNLIMITED is more than any number)."""
    return all(mine == UNLIMITED or (other[kind] != UNLIMITED and mine >= other[kind]) for kind, mine in limits.items())
