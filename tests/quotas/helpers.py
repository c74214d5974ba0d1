"""Helpers for quota and repository tests: giving users a tier, and reading one quota row."""

from membership.models import TierType
from membership.services import membership_tier_assign
from quotas.models import Quota

MIB, GIB = 1024**2, 1024**3


def give_tier(user, user_type: TierType):
    membership_tier_assign(user=user, user_type=user_type, actor=None)
    return user


def row(user, kind: str) -> Quota:
    return Quota.objects.get(user=user, kind=kind)
