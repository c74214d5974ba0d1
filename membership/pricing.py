"""Membership money maths (docs/tiers.md): pure functions on Decimal and datetimes, no ORM.

Definitions the contract leaves open, decided here:

- A *year* is a calendar year of the service's TIME_ZONE: the same local month, day and time of day `n`
  years later; Feb 29 becomes Feb 28 in a year that has no Feb 29.
- The *paid period* is the span of the last purchase: from `period_started_at` to `expires_at`, bought for
  `period_years` years at the tier's fee. A renewal before expiry extends the period (same start,
  `period_years + validity`); any other purchase starts a new one at `now`. An operator's free grant has
  `period_years = 0`: nothing was paid, so nothing is credited.
- Time is counted to the second, as card processors prorate: `remaining = floor(expires_at - now)` and
  `period = floor(expires_at - period_started_at)`, both in whole seconds (the second in progress counts as
  used). Buying gold and upgrading to diamond a minute later credits all of gold but that minute.
- The credit for the unused part is `period_value * remaining / period`, where the period's value is what
  its years were bought at: `old_fee * period_years` at the fees of the purchase and of each renewal that
  extended it (an operator changing a tier's fee later changes no member's credit). With the usual
  one-year period this is the contract's `old_fee * remaining_days / days_in_period`, in seconds instead
  of days.
  A quote therefore moves by a cent every few seconds: a PUT whose `cost` was quoted a moment earlier may
  meet the next cent and get 8010 with the current cost in `error.cost`, which the client pays instead.
- A credit larger than the new price (years of a tier moved to fewer years of a dearer one) pays the price
  in full, and the rest is the quote's `refund`, returned to the wallet: the charge is never below 0 and no
  paid money is lost.
- The one rounding point: the credit is rounded half-up to 0.01 (`ROUND_HALF_UP`). Fees are exact
  cents and everything else is multiplication by whole numbers or subtraction, so no other step rounds.
- Kinds of purchase, by the fee of the tier in force (an expired tier is tier 1, fee 0.00):
  same tier -> renew; higher fee -> upgrade; same fee, other tier (e.g. 1 -> 3, both 0.00) -> a change
  priced like an upgrade (so 0.00 between free tiers); lower fee -> downgrade, refused while the paid
  tier has not expired (`expires_at` None on a paid tier means it never expires, so it is refused too).
- The base tier (1) never expires: buying it clears the expiry.
- A membership is paid at most YEARS_AHEAD_MAX years ahead: renewals add up (a free tier renewed again and
  again would otherwise run past the calendar's last year).
"""

from dataclasses import dataclass
from datetime import MAXYEAR, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
ONE_SECOND = timedelta(seconds=1)

RENEW, UPGRADE, CHANGE = "renew", "upgrade", "change"


YEARS_AHEAD_MAX = 100
VALIDITY_MAX = 10  # years one purchase may buy


class DowngradeRefused(Exception):  # a rule's verdict: the service turns it into 8009
    """A lower-fee tier was asked for while the current paid tier is still running."""


class TooFarAhead(Exception):  # a rule's verdict: the service turns it into 8009
    """The purchase would end more than YEARS_AHEAD_MAX years from now."""


class NothingToRenew(Exception):  # a rule's verdict: the service turns it into 8009
    """The tier asked for is the one in force, held without an end date (an operator's grant)."""


def cents(value: Decimal) -> Decimal:
    """`value` as an exact amount of cents (exponent -2); refuses anything finer instead of rounding it."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be a Decimal, not {type(value).__name__}")
    exact = value.quantize(CENT)
    if exact != value:
        raise ValueError(f"{value} is not a whole number of cents")
    return exact


def add_years(moment: datetime, years: int) -> datetime:
    """`moment` plus calendar years of the service's TIME_ZONE, keeping the local time of day (counted in UTC, a
    purchase on a local Feb 29 or just after a local midnight ended on the wrong local day); Feb 29 becomes
    Feb 28 in a common year. TooFarAhead past the calendar's last year."""
    local = timezone.localtime(moment) if timezone.is_aware(moment) else moment
    year = local.year + years
    if year >= MAXYEAR:  # the last year stays free: its local end may lie past the calendar's in UTC
        raise TooFarAhead(f"year {year} is past the calendar's end")
    try:
        return local.replace(year=year)
    except ValueError:
        return local.replace(year=year, day=28)


def whole_seconds(delta: timedelta) -> int:
    return delta // ONE_SECOND


def renewal_cost(*, fee: Decimal, validity: int) -> Decimal:
    return cents(fee) * validity


def renewal_start(*, now: datetime, expires_at: datetime | None) -> datetime:
    """Where renewed years begin: the later of now and the current expiry (no paid day is lost)."""
    return now if expires_at is None or expires_at < now else expires_at


def renewal_expiry(*, now: datetime, expires_at: datetime | None, validity: int) -> datetime:
    """Renewing adds the years to renewal_start."""
    return add_years(renewal_start(now=now, expires_at=expires_at), validity)


def unused_credit(*, value: Decimal, period_started_at: datetime | None, expires_at: datetime | None,
                  now: datetime) -> Decimal:
    """The share of the period's `value` its unused whole seconds are worth, rounded half-up to 0.01."""
    if value <= 0 or period_started_at is None or expires_at is None or expires_at <= now:
        return ZERO
    period = whole_seconds(expires_at - period_started_at)
    if period <= 0:
        return ZERO
    remaining = min(max(whole_seconds(expires_at - now), 0), period)
    return (cents(value) * remaining / period).quantize(CENT, rounding=ROUND_HALF_UP)


def upgrade_cost(*, new_fee: Decimal, validity: int, credit: Decimal) -> Decimal:
    """`new_fee * validity - credit`, never below 0."""
    return max(cents(new_fee) * validity - cents(credit), ZERO)


@dataclass(frozen=True)
class Current:
    """The membership as the pricing sees it: the tier in force and its paid period. `period_value` is what
    the period's years were bought at (None: at the tier's `fee` of now, as before it was kept)."""

    user_type: int
    fee: Decimal
    expires_at: datetime | None
    period_started_at: datetime | None
    period_years: int
    period_value: Decimal | None = None

    @property
    def value(self) -> Decimal:
        return cents(self.period_value) if self.period_value is not None else cents(self.fee) * self.period_years


@dataclass(frozen=True)
class Quote:
    """What a purchase would do now: its kind, its charge and the membership it leaves behind."""

    kind: str
    cost: Decimal
    credit: Decimal
    expires_at: datetime | None
    period_started_at: datetime | None
    period_years: int
    period_value: Decimal
    refund: Decimal = ZERO


def quote(*, current: Current, user_type: int, fee: Decimal, validity: int, now: datetime,
          base_user_type: int = 1) -> Quote:
    """The price and outcome of buying tier `user_type` (yearly `fee`) for `validity` years at `now`.

    `current` must already be the tier in force (an expired paid tier passed as the base tier, fee 0).
    Raises DowngradeRefused for a lower fee while the current paid tier runs, TooFarAhead for a period
    ending more than YEARS_AHEAD_MAX years from now, NothingToRenew for the tier in force when it has no end
    (renewing would charge the fee to give it one).
    """
    if validity < 1:
        raise ValueError("validity must be at least one year")
    running = current.expires_at is None or current.expires_at > now
    refund = ZERO
    if user_type == current.user_type:
        if current.expires_at is None and user_type != base_user_type:
            raise NothingToRenew(f"tier {user_type} is held without an end date")
        kind, credit = RENEW, ZERO
        cost = renewal_cost(fee=fee, validity=validity)
        expires_at: datetime | None = renewal_expiry(now=now, expires_at=current.expires_at, validity=validity)
        extends = running and current.expires_at is not None and current.period_years > 0
        # Renewing a tier held unpaid until a date (an operator's grant) starts the paid period where the grant
        # ends: an upgrade credits the unused share of the years paid, not of those spread over the grant too.
        period_started_at = current.period_started_at if extends else renewal_start(now=now,
                                                                                    expires_at=current.expires_at)
        period_years = current.period_years + validity if extends else validity
        period_value = (current.value if extends else ZERO) + cost
    else:
        if cents(fee) < cents(current.fee) and running:
            raise DowngradeRefused(f"tier {user_type} costs less than tier {current.user_type}, which has not expired")
        kind = UPGRADE if cents(fee) > cents(current.fee) else CHANGE
        credit = (unused_credit(value=current.value, period_started_at=current.period_started_at,
                                expires_at=current.expires_at, now=now) if current.period_years > 0 else ZERO)
        cost = upgrade_cost(new_fee=fee, validity=validity, credit=credit)
        refund = max(credit - renewal_cost(fee=fee, validity=validity), ZERO)
        expires_at, period_started_at, period_years = add_years(now, validity), now, validity
        period_value = renewal_cost(fee=fee, validity=validity)  # paid partly with the credit, worth all of it
    if expires_at is not None and expires_at > add_years(now, YEARS_AHEAD_MAX):
        raise TooFarAhead(f"the membership would end after {expires_at:%Y-%m-%d}")
    if user_type == base_user_type:
        expires_at, period_started_at, period_years, period_value = None, None, 0, ZERO
    return Quote(kind=kind, cost=cost, credit=credit, expires_at=expires_at, period_started_at=period_started_at,
                 period_years=period_years, period_value=period_value, refund=refund)
