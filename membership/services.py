"""Every change to memberships and wallets: opening, operator grants, purchases, top-ups and expiry.

Money paths lock rows in one order, the user's, membership then wallet, inside the transaction, so
two purchases for one user queue instead of both spending the same balance. Every change of tier is
pushed down in the same transaction: the tier in force to the account (accounts), its limits to the
quotas (quotas); neither app below ever reads a tier.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import User
from accounts.services.users import user_tier_record
from accountsite.audit import AuditAction, audit_record
from accountsite.errors import (
    CostMismatchError,
    InsufficientBalanceError,
    InvalidParametersError,
    MembershipChangeError,
)
from accountsite.serializers import instant
from membership import pricing, selectors
from membership.models import LedgerEntry, LedgerKind, Membership, Tier, TierType, Wallet
from quotas.services import quota_limits_apply, quota_limits_follow

PURCHASE_ACTIONS = {pricing.RENEW: AuditAction.MEMBERSHIP_RENEW, pricing.UPGRADE: AuditAction.MEMBERSHIP_UPGRADE,
                    pricing.CHANGE: AuditAction.MEMBERSHIP_CHANGE}
# Decimal(14, 2): a balance must stay below 10^12.
MAX_BALANCE = Decimal("999999999999.99")


@transaction.atomic
def membership_open(*, user: User, now: datetime | None = None) -> Membership:
    """A new account's membership and wallet, the one place either is created (accounts opens every
    account through accounts.plans): the admin tier for staff, else tier 1, with that tier's limits."""
    now = now or timezone.now()
    tier = selectors.tier_by_user_type(TierType.ADMIN if user.is_admin else TierType.REGISTERED)
    tier, base = _tiers_held(tier, selectors.tier_by_user_type(TierType.REGISTERED))
    membership = Membership.objects.create(user=user, tier=tier, started_at=now)
    Wallet.objects.create(user=user)
    _plan_push(membership=membership, base=base, now=now)
    return membership


def _plan_push(*, membership: Membership, base: Tier, now: datetime | None = None, same_tier: bool = False,
               lapsed: bool = False) -> None:
    """The membership's tier to the account and its limits to the quotas. A paid tier holds until it
    expires and tier 1 from that instant, in both (before expire_memberships writes it down); the admin
    tier never expires. `same_tier` (the tier in force stays: a renewal, a new end) keeps the limits an
    operator set for this member, which hold until the tier changes (docs/tiers.md); so does `lapsed` (the
    expiry written down: reads held the member to tier 1 and those limits from that instant already). `base` is
    tier 1 as _tiers_held read it: its limits are the fallback of a paid tier."""
    tier = membership.tier
    until = membership.expires_at if tier.user_type != TierType.ADMIN else None
    user_tier_record(user=membership.user, user_type=tier.user_type, invalid_at=until, user_type_after=base.user_type)
    quota_limits_apply(user=membership.user, limits=tier.quota_limits(), until=until,
                       fallback=base.quota_limits() if until else None, now=now, keep_overrides=same_tier,
                       lapsed=lapsed)


def _tier(user_type: int) -> Tier:
    try:
        return selectors.tier_by_user_type(user_type)
    except Tier.DoesNotExist:
        raise InvalidParametersError(
            f"Invalid parameters: userType: no tier {user_type}.", error={"userType": ["Unknown tier."]}
        ) from None


def _tiers_held(*tiers: Tier) -> tuple[Tier, ...]:
    """`tiers` read again from their rows, which this transaction holds (FOR SHARE) until it ends: the tiers a
    change of membership reads limits from (the one it moves into and tier 1, whose limits are a paid tier's
    fallback) and the one the member leaves, once the membership's row is held. An operator's edit of one of
    them (tier_save, which holds its row FOR NO KEY UPDATE) then either committed first and is read here, or
    waits and then moves this member with the others, or no longer counts the member among its own. Held only
    beside the edit of a tier, the cached table let a purchase or a sign-up made during an edit of tier 1 keep
    tier 1's old limits (as the fallback, or the new account's own), and the edit of the tier a member was leaving
    move the member's new rows where its old limit equalled the new tier's. Shared, so that changes of
    membership do not queue for each other; taken in one statement in the order of the rows' keys, so that two
    of them never wait for each other in opposite orders. FOR SHARE does not wait for the key-share locks of
    foreign-key checks on memberships pointing at a tier."""
    pks = sorted({tier.pk for tier in tiers})
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Tier._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR SHARE", [pks])  # noqa: S608
    fresh = Tier.objects.in_bulk(pks)
    return tuple(fresh[tier.pk] for tier in tiers)


def membership_locked(user: User) -> Membership:
    """The user's membership, its row locked to the end of the transaction: what a change keeps of it is read
    here, so a purchase committed meanwhile is neither undone nor overwritten."""
    # No select_related under FOR UPDATE: when a waiting lock is granted, PostgreSQL re-checks the join against
    # the joined rows it read *before* waiting, so a concurrent tier change would make the row vanish.
    # Its user is the caller's instance, so what the change pushes down shows on it too; its tier comes from
    # the tier table. The user's row is held first, as every change of the account's row holds it: the tier is
    # pushed down to it, and a role change (the row, then the membership) deadlocked with a purchase.
    User.objects.hold(user.pk)
    return selectors.membership_joined(Membership.objects.select_for_update().get(user=user), user)


def _locked_wallet(user: User) -> Wallet:
    return Wallet.objects.select_for_update().get(user=user)


def _ledger_append(*, wallet: Wallet, kind: str, amount: Decimal, actor: User | None, **fields) -> LedgerEntry:
    """Moves the locked wallet by `amount` and writes the matching ledger row: the two never diverge."""
    balance = wallet.balance + amount
    if balance < 0:
        raise InsufficientBalanceError(
            f"The wallet balance {wallet.balance} is too low for {-amount}.",
            error={"balance": str(wallet.balance), "cost": str(-amount)},
        )
    if balance > MAX_BALANCE:
        raise InvalidParametersError(
            f"Invalid parameters: amount: the balance may not exceed {MAX_BALANCE}.",
            error={"amount": [f"The balance may not exceed {MAX_BALANCE}."]},
        )
    wallet.balance = balance
    wallet.save(update_fields=["balance", "updated_at"])
    return LedgerEntry.objects.create(user_id=wallet.user_id, kind=kind, amount=amount,
                                      balance_after=balance, actor=actor, **fields)


def _membership_set(*, membership: Membership, tier: Tier, expires_at: datetime | None,
                    period_started_at: datetime | None, period_years: int, now: datetime,
                    base: Tier, period_value: Decimal = pricing.ZERO, lapsed: bool = False) -> None:
    same_tier = membership.tier_id == tier.pk and not selectors.is_expired(membership, now)
    if membership.tier_id != tier.pk:
        membership.started_at = now
    membership.tier, membership.expires_at = tier, expires_at
    membership.period_started_at, membership.period_years = period_started_at, period_years
    membership.period_value = period_value
    membership.save()
    _plan_push(membership=membership, base=base, now=now, same_tier=same_tier, lapsed=lapsed)


@transaction.atomic
def tier_save(*, tier: Tier) -> int:
    """An operator edits a tier (the back office, whose history records who): its members still at the
    tier's old limits get the new ones, and the base tier's limits are also the fallback of every paid
    member. Answers how many quota rows changed. Limits an operator set for one member stay."""
    old = Tier.objects.select_for_update(no_key=True).get(pk=tier.pk).quota_limits() if tier.pk else None
    tier.save()
    if old is None:
        return 0
    changes = {kind: (old[kind], limit) for kind, limit in tier.quota_limits().items() if old[kind] != limit}
    if not changes:
        return 0
    return quota_limits_follow(holders=User.objects.filter(membership__tier=tier), changes=changes,
                               fallback=tier.user_type == TierType.REGISTERED)


@transaction.atomic
def membership_tier_assign(*, user: User, user_type: int, actor: User | None, expires_at: datetime | None = None,
                           now: datetime | None = None) -> Membership:
    """An operator sets a user's tier without any charge (admin API and back office); the quota limits
    follow the tier and existing use is kept. Nothing was paid, so a later upgrade credits nothing; but an
    operator moving only the end of a running tier (invalid_at) keeps the period the member paid for, which
    a later upgrade still credits. The admin tier (unlimited) goes with the admin role only (8009): the role
    change gives it. It and tier 1 never end: an end carried over with either is not kept (one an operator asks
    for is refused: plans.account_plan_assign)."""
    now = now or timezone.now()
    tier = _tier(user_type)
    if tier.user_type == TierType.ADMIN and not user.is_admin:
        raise MembershipChangeError("The admin tier goes with the admin role: make the user an administrator.",
                                    error={"userType": ["Only administrators hold the admin tier."]})
    if tier.user_type in (TierType.ADMIN, TierType.REGISTERED):
        expires_at = None  # neither ever ends (_plan_push, is_expired): /vip must not show an end either
    membership = membership_locked(user)
    membership.tier, tier, base = _tiers_held(membership.tier, tier, selectors.tier_by_user_type(TierType.REGISTERED))
    previous = membership.tier.user_type
    paid = membership.tier_id == tier.pk and not selectors.is_expired(membership, now)
    _membership_set(membership=membership, tier=tier, expires_at=expires_at,
                    period_started_at=membership.period_started_at if paid else None,
                    period_years=membership.period_years if paid else 0,
                    period_value=membership.period_value if paid else pricing.ZERO, base=base, now=now)
    audit_record(action=AuditAction.MEMBERSHIP_ASSIGN, user=user, actor=actor, previous=previous, user_type=user_type)
    return membership


def _quote(*, user: User, membership: Membership, tier: Tier, validity: int, now: datetime) -> pricing.Quote:
    if not 1 <= validity <= pricing.VALIDITY_MAX:
        raise InvalidParametersError(f"Invalid parameters: validity: 1 to {pricing.VALIDITY_MAX} years.",
                                     error={"validity": [f"1 to {pricing.VALIDITY_MAX} years."]})
    if tier.user_type == TierType.ADMIN:
        raise MembershipChangeError("The admin tier cannot be bought; operators grant it.",
                                    error={"userType": ["The admin tier cannot be bought."]})
    if user.is_admin:
        # The admin tier (unlimited) goes with the role: a tier bought instead would replace it, lapse to
        # tier 1 and leave the administrator unable to buy or set their own back.
        raise MembershipChangeError("An administrator holds the admin tier, which goes with the role: nothing is "
                                    "bought for an administrator.",
                                    error={"userType": ["An administrator's tier is the admin tier."]})
    try:
        return selectors.membership_quote(membership=membership, tier=tier, validity=validity, now=now)
    except pricing.DowngradeRefused:
        raise MembershipChangeError(
            "A lower tier can be bought only after the current paid tier has expired.",
            error={"userType": ["Downgrade refused before expiry."],
                   "invalidTime": instant(membership.expires_at)},
        ) from None
    except pricing.NothingToRenew:
        raise MembershipChangeError(
            "This tier is held without an end date: there is nothing to renew.",
            error={"userType": ["The tier in force, without an end date."], "invalidTime": None},
        ) from None
    except pricing.TooFarAhead:
        raise MembershipChangeError(
            f"A membership is paid at most {pricing.YEARS_AHEAD_MAX} years ahead.",
            error={"validity": [f"The membership would end more than {pricing.YEARS_AHEAD_MAX} years from now."],
                   "invalidTime": instant(membership.expires_at)},
        ) from None


def membership_cost(*, user: User, user_type: int, validity: int, now: datetime | None = None) -> Decimal:
    """What membership_purchase would charge now (GET /vip/{name}/cost): the same quote, without locks."""
    now = now or timezone.now()
    tier = _tier(user_type)
    membership = selectors.membership_of(user)
    return _quote(user=user, membership=membership, tier=tier, validity=validity, now=now).cost


@dataclass(frozen=True)
class Purchase:
    membership: Membership
    quote: pricing.Quote
    balance: Decimal
    entry: LedgerEntry | None


@transaction.atomic
def membership_purchase(*, user: User, user_type: int, validity: int, cost: Decimal, actor: User | None,
                        idempotency_key: str = "", ip: str | None = None, now: datetime | None = None) -> Purchase:
    """Renew, upgrade or change tier, paying `cost` from the wallet; a credit larger than the new price
    returns the rest to the wallet (a refund row).

    `cost` is the price the client was shown; it must equal the quote recomputed here under the locks
    (8010 otherwise). Refuses an early downgrade (8009) and a short balance (8007); each refusal changes nothing.
    """
    membership = membership_locked(user)
    membership.tier, tier, base = _tiers_held(membership.tier, _tier(user_type),
                                              selectors.tier_by_user_type(TierType.REGISTERED))
    wallet = _locked_wallet(user)
    # Read once the locks are held: the ledger row's time then orders it after whatever moved this wallet
    # while the purchase waited (a top-up committed meanwhile), as its balance_after does.
    now = now or timezone.now()
    quote = _quote(user=user, membership=membership, tier=tier, validity=validity, now=now)
    if cost != quote.cost:
        raise CostMismatchError(
            f"The quoted cost {cost} does not match the current price {quote.cost}.", error={"cost": str(quote.cost)}
        )
    previous = selectors.effective_tier(membership, now).user_type
    entry = None
    if quote.cost > 0:
        entry = _ledger_append(
            wallet=wallet, kind=LedgerKind.CHARGE, amount=-quote.cost, actor=actor, from_user_type=previous,
            to_user_type=tier.user_type, validity=validity, idempotency_key=idempotency_key,
            note=f"{quote.kind} {tier.name} for {validity} year(s)", created_at=now,
        )
    if quote.refund > 0:  # the credit left over once the new price is paid (membership.pricing)
        entry = _ledger_append(
            wallet=wallet, kind=LedgerKind.REFUND, amount=quote.refund, actor=actor, from_user_type=previous,
            to_user_type=tier.user_type, validity=validity, idempotency_key=idempotency_key,
            note=f"unused credit returned on {quote.kind} to {tier.name}", created_at=now,
        )
    _membership_set(membership=membership, tier=tier, expires_at=quote.expires_at,
                    period_started_at=quote.period_started_at, period_years=quote.period_years,
                    period_value=quote.period_value, base=base, now=now)
    audit_record(action=PURCHASE_ACTIONS[quote.kind], user=user, actor=actor, ip=ip, previous=previous,
                 user_type=tier.user_type, validity=validity, cost=str(quote.cost), credit=str(quote.credit),
                 refund=str(quote.refund),
                 expires_at=quote.expires_at.isoformat() if quote.expires_at else None)
    return Purchase(membership=membership, quote=quote, balance=wallet.balance, entry=entry)


@transaction.atomic
def wallet_topup(*, user: User, amount: Decimal, actor: User | None, note: str = "", idempotency_key: str = "",
                 ip: str | None = None, now: datetime | None = None) -> LedgerEntry:
    """An operator credits a user's wallet (money received outside this service)."""
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(pricing.CENT):
        raise InvalidParametersError(
            "Invalid parameters: amount: a positive amount with at most 2 decimal places is required.",
            error={"amount": ["A positive amount with at most 2 decimal places."]},
        )
    wallet = _locked_wallet(user)
    entry = _ledger_append(wallet=wallet, kind=LedgerKind.TOPUP, amount=pricing.cents(amount), actor=actor,
                           note=note, idempotency_key=idempotency_key, created_at=now or timezone.now())
    audit_record(action=AuditAction.WALLET_TOPUP, user=user, actor=actor, ip=ip, amount=str(entry.amount),
                 balance=str(entry.balance_after))
    return entry


@transaction.atomic
def _membership_expire(*, membership_id: int, now: datetime) -> bool:
    user_id = Membership.objects.filter(pk=membership_id).values_list("user_id", flat=True).first()
    User.objects.hold(user_id)  # first, as membership_locked does
    membership = Membership.objects.select_for_update().filter(pk=membership_id).first()
    # Re-checked under the lock: a renewal may have landed since the candidates were listed.
    if membership is None or not selectors.is_expired(membership, now) or \
            membership.tier.user_type == TierType.REGISTERED:
        return False
    previous = membership.tier.user_type
    membership.tier, base = _tiers_held(membership.tier, selectors.tier_by_user_type(TierType.REGISTERED))
    _membership_set(membership=membership, tier=base, expires_at=None, period_started_at=None, period_years=0,
                    base=base, now=now, lapsed=True)
    audit_record(action=AuditAction.MEMBERSHIP_EXPIRE, user=membership.user, previous=previous,
                 expired_at=now.isoformat())
    return True


def membership_expire_due(*, now: datetime | None = None) -> int:
    """Moves every expired paid membership back to tier 1 (limits lowered, use kept, nothing deleted).
    One short transaction per member, so a long run never holds many locks. Returns how many moved."""
    now = now or timezone.now()
    due = (Membership.objects.filter(expires_at__lte=now)
           .exclude(tier__user_type__in=[TierType.REGISTERED, TierType.ADMIN])
           .values_list("pk", flat=True))
    return sum(_membership_expire(membership_id=pk, now=now) for pk in list(due))
