"""accounts.plans as membership provides them: opening an account's plan, and operators' tier changes
made through the user record (PUT /users/{loginname}, the back office). Registered in
MembershipConfig.ready; quotas' default limits are registered there too."""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils import timezone

from accounts.plans import KEEP
from membership import selectors, services
from membership.models import Membership, Tier, TierType


class MembershipPlans:
    def tier_choices(self) -> list[tuple[int, str]]:
        return list(Tier.objects.order_by("user_type").values_list("user_type", "name"))

    def account_open(self, *, user: Any, now: datetime) -> None:
        services.membership_open(user=user, now=now)

    def account_plan_assign(self, *, user: Any, actor: Any, user_type: int | None, expires_at: Any,
                            role_changed: bool) -> None:
        # An administrator holds the unlimited admin tier; one demoted goes back to tier 1.
        membership = Membership.objects.select_related("tier").get(user=user)
        if user_type is None:
            role_tier = TierType.ADMIN if user.is_admin else TierType.REGISTERED
            user_type = role_tier if role_changed else membership.tier.user_type
        services.membership_tier_assign(user=user, actor=actor, user_type=user_type,
                                        expires_at=membership.expires_at if expires_at is KEEP else expires_at)


def quota_limits_default(user: Any) -> Mapping[str, int]:
    """The limits of the tier in force: what a new quota record holds unless an operator says otherwise."""
    membership = Membership.objects.select_related("tier").get(user=user)
    return selectors.effective_tier(membership, timezone.now()).quota_limits()
