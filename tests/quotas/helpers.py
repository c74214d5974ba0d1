"""Helpers for quota and repository tests: snapshots of quota rows, and giving users a tier."""

from membership.services import membership_tier_assign
from quotas.models import Quota

REGISTERED, CERTIFIED, GOLD, DIAMOND = 1, 3, 4, 5
MIB, GIB = 1024**2, 1024**3


def quota_snapshot() -> list[tuple]:
    """Every quota row as a tuple, to assert that a refused request changed nothing."""
    return list(Quota.objects.order_by("user_id", "kind").values_list("user_id", "kind", "quota", "use", "day"))


def give_tier(user, user_type: int):
    membership_tier_assign(user=user, user_type=user_type, actor=None)
    return user


def row(user, kind: str) -> Quota:
    return Quota.objects.get(user=user, kind=kind)
