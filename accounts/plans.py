"""The plan an account holds (its tier, wallet and quotas) belongs to the apps above accounts.

accounts opens accounts and lets operators change roles and tiers, but what a tier means is the
business of membership, which sits above accounts and registers itself here at startup
(`MembershipConfig.ready`). accounts calls the registered plans at the one point where an account is
opened and where an operator's change touches its plan, so the flow stays readable as calls, and no
module of accounts imports the apps above it.
"""

from datetime import datetime
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

KEEP: Any = object()  # "leave this value as it is", where None is a value (no expiry)


class AccountPlans(Protocol):
    def tier_choices(self) -> list[tuple[int, str]]:
        """The tiers there are, as (userType, name), for operators' filters."""

    def account_open(self, *, user: Any, now: datetime) -> None:
        """Give a new account its plan: the base tier (an administrator's tier for staff), a wallet and
        the tier's quota limits. In the transaction that creates the account."""

    def account_plan_assign(self, *, user: Any, actor: Any, user_type: int | None, expires_at: Any,
                            role_changed: bool) -> None:
        """An operator's change: the tier `user_type` (None: the one the user's role calls for if the
        role just changed, else the current one) until `expires_at` (KEEP: the current expiry)."""


_plans: AccountPlans | None = None


def plans_register(plans: AccountPlans) -> None:
    global _plans
    _plans = plans


def plans() -> AccountPlans:
    if _plans is None:
        raise ImproperlyConfigured("No account plans registered: is the membership app installed?")
    return _plans
