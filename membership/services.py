"""Every change to memberships."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from membership import selectors
from membership.models import Membership
from quotas.services import quota_limits_set_from_tier


@transaction.atomic
def membership_open(*, user, now: datetime | None = None) -> Membership:
    """A new user's membership: tier 2 for admins, else tier 1, with that tier's quota limits."""
    user_type = selectors.ADMIN if user.is_admin else selectors.REGISTERED
    tier = selectors.tier_by_user_type(user_type)
    membership, _created = Membership.objects.get_or_create(
        user=user, defaults={"tier": tier, "started_at": now or timezone.now()}
    )
    quota_limits_set_from_tier(user=user, tier=membership.tier)
    return membership
