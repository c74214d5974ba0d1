"""Shared reads of membership data: the tier in force, the quote a purchase would pay, wallets and ledgers."""

from datetime import datetime
from decimal import Decimal

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from accounts.models import User
from membership import pricing
from membership.models import LedgerEntry, Membership, Tier, TierType, Wallet
from membership.tiers import tier_cache


def tiers() -> tuple[Tier, ...]:
    """Every tier in user_type order, from the process's copy of the tier table (membership.tiers)."""
    return tier_cache.table().tiers


def tier_by_user_type(user_type: int) -> Tier:
    """One tier from the process's copy of the tier table; Tier.DoesNotExist for an unknown user_type."""
    try:
        return tier_cache.table().by_user_type[user_type]
    except KeyError:
        raise Tier.DoesNotExist(f"no tier {user_type}") from None


def membership_joined(membership: Membership, user: User) -> Membership:
    """`membership` with its user (the caller's instance) and its tier from the tier table, as a join would
    give them, without one. A tier committed a moment ago by another worker and not yet in the table
    (membership.tiers) is left to load on access."""
    membership.user = user
    tier = tier_cache.table().by_pk.get(membership.tier_id)
    if tier is not None:
        membership.tier = tier
    return membership


def membership_of(user: User) -> Membership:
    """The user's membership in one query, its tier from the tier table."""
    return membership_joined(Membership.objects.get(user=user), user)


def membership_with_balance(user: User) -> tuple[Membership, Decimal]:
    """The user's membership and their wallet's balance in one query, the tier from the tier table."""
    balance = Subquery(Wallet.objects.filter(user=OuterRef("user")).values("balance")[:1])
    membership = Membership.objects.annotate(wallet_balance=balance).get(user=user)
    return membership_joined(membership, user), _balance_or_zero(membership.wallet_balance)


def is_expired(membership: Membership, now: datetime) -> bool:
    return (membership.expires_at is not None and membership.expires_at <= now
            and membership.tier.user_type != TierType.ADMIN)


def effective_tier(membership: Membership, now: datetime | None = None) -> Tier:
    """The tier in force: a membership past its expiry reads as tier 1 even before the nightly job runs."""
    now = now or timezone.now()
    if is_expired(membership, now):
        return tier_by_user_type(TierType.REGISTERED)
    return membership.tier


def effective_user_type(membership: Membership, now: datetime | None = None) -> int:
    """`userType` in force, without a query for the lapsed case (lists of users stay constant in queries)."""
    return TierType.REGISTERED if is_expired(membership, now or timezone.now()) else membership.tier.user_type


def effective_expiry(membership: Membership, now: datetime | None = None) -> datetime | None:
    """`invalidTime`: the expiry of the tier in force (none once it has lapsed to tier 1)."""
    return None if is_expired(membership, now or timezone.now()) else membership.expires_at


def membership_quote(*, membership: Membership, tier: Tier, validity: int, now: datetime) -> pricing.Quote:
    """The one quote both GET /vip/{name}/cost and PUT /vip/{name} use. Raises pricing.DowngradeRefused."""
    in_force = effective_tier(membership, now)
    if in_force.user_type == membership.tier.user_type:
        current = pricing.Current(user_type=in_force.user_type, fee=in_force.fee, expires_at=membership.expires_at,
                                  period_started_at=membership.period_started_at,
                                  period_years=membership.period_years, period_value=membership.period_value)
    else:  # lapsed: the paid period is over, the next purchase starts from nothing
        current = pricing.Current(user_type=in_force.user_type, fee=in_force.fee, expires_at=None,
                                  period_started_at=None, period_years=0)
    return pricing.quote(current=current, user_type=tier.user_type, fee=tier.fee, validity=validity, now=now,
                         base_user_type=TierType.REGISTERED)


def _balance_or_zero(balance: Decimal | None) -> Decimal:
    """A user without a wallet has nothing in it."""
    return pricing.ZERO if balance is None else balance


def wallet_balance(user: User) -> Decimal:
    return _balance_or_zero(Wallet.objects.filter(user=user).values_list("balance", flat=True).first())


def ledger_of(user: User) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(user=user).select_related("actor").order_by("-created_at", "-id")
