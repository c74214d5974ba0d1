"""Every change to memberships."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.audit import audit_record
from accountsite.errors import InvalidParametersError
from membership import selectors
from membership.models import Membership, Tier
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


@transaction.atomic
def membership_tier_assign(*, user, user_type: int, actor, expires_at: datetime | None = None,
                           now: datetime | None = None) -> Membership:
    """An operator sets a user's tier without any charge (admin API and back office); the quota limits
    follow the tier and existing use is kept."""
    try:
        tier = selectors.tier_by_user_type(user_type)
    except Tier.DoesNotExist:
        raise InvalidParametersError(
            f"Invalid parameters: userType: no tier {user_type}.", error={"userType": ["Unknown tier."]}
        ) from None
    membership = Membership.objects.select_for_update().get(user=user)
    previous = membership.tier.user_type
    membership.tier, membership.expires_at = tier, expires_at
    membership.started_at = now or timezone.now()
    membership.save(update_fields=["tier", "expires_at", "started_at", "updated_at"])
    quota_limits_set_from_tier(user=user, tier=tier)
    audit_record(action="membership.assign", user=user, actor=actor, previous=previous, user_type=user_type)
    return membership
