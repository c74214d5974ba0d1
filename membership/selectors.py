"""Shared reads of membership data."""

from datetime import datetime

from django.utils import timezone

from membership.models import Membership, Tier

REGISTERED, ADMIN = 1, 2


def tier_by_user_type(user_type: int) -> Tier:
    return Tier.objects.get(user_type=user_type)


def effective_tier(membership: Membership, now: datetime | None = None) -> Tier:
    """The tier in force: a membership past its expiry reads as tier 1 even before the nightly job runs."""
    now = now or timezone.now()
    if membership.expires_at is not None and membership.expires_at <= now and membership.tier.user_type != ADMIN:
        return tier_by_user_type(REGISTERED)
    return membership.tier
