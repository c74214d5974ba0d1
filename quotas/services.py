"""Every change to quotas: limits from tiers and per-user overrides, and use consumed or released."""

from django.db import transaction
from django.utils import timezone

from membership.models import Tier
from quotas.models import Quota, QuotaKind


def tier_limits(tier: Tier) -> dict[str, int]:
    return {
        QuotaKind.REPO_PUBLIC: tier.repo_public,
        QuotaKind.REPO_PRIVATE: tier.repo_private,
        QuotaKind.DEPOSIT: tier.deposit_bytes,
        QuotaKind.PULLS: tier.pulls_per_day,
    }


@transaction.atomic
def quota_limits_set_from_tier(*, user, tier: Tier) -> None:
    """Sets the user's limits to the tier's; use is kept (over-limit use blocks new use, deletes nothing)."""
    now = timezone.now()
    for kind, limit in tier_limits(tier).items():
        Quota.objects.update_or_create(user=user, kind=kind, defaults={"quota": limit, "updated_at": now})
