"""Property tests of membership.pricing: bounds of every quote, renewal dates, and Decimal-only money."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from membership import pricing
from membership.models import TierType

moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 12, 31), timezones=st.just(UTC))
fees = st.integers(min_value=0, max_value=10**8).map(lambda n: Decimal(n).scaleb(-2))
paid_fees = st.integers(min_value=1, max_value=10**8).map(lambda n: Decimal(n).scaleb(-2))
validities = st.integers(min_value=1, max_value=10)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=11 * 366))


def is_cents(value) -> bool:
    return isinstance(value, Decimal) and value.as_tuple().exponent == -2


def bought(*, user_type: int, fee: Decimal, at: datetime, years: int) -> pricing.Current:
    """The membership right after buying `years` of a tier at `at`."""
    return pricing.Current(user_type=user_type, fee=fee, expires_at=pricing.add_years(at, years),
                           period_started_at=at, period_years=years)


@settings(max_examples=2000, deadline=None)
@given(old_fee=fees, extra=paid_fees, validity=validities, years=validities, start=moments, elapsed=offsets)
def test_upgrade_quote_is_between_zero_and_the_full_price(old_fee, extra, validity, years, start, elapsed):
    new_fee = old_fee + extra
    current = bought(user_type=TierType.GOLD, fee=old_fee, at=start, years=years)
    quote = pricing.quote(current=current, user_type=TierType.DIAMOND, fee=new_fee, validity=validity,
                          now=start + elapsed)
    assert quote.kind == pricing.UPGRADE
    assert Decimal("0.00") <= quote.cost <= new_fee * validity
    assert Decimal("0.00") <= quote.credit <= old_fee * years
    assert is_cents(quote.cost) and is_cents(quote.credit) and is_cents(quote.refund)
    # The credit pays the new price and what it leaves over goes back to the wallet: none of it is lost.
    assert quote.refund == max(quote.credit - new_fee * validity, Decimal("0.00"))
    assert quote.cost + quote.credit - quote.refund == new_fee * validity
    assert quote.expires_at == pricing.add_years(start + elapsed, validity)


@settings(max_examples=1000, deadline=None)
@given(new_fee=paid_fees, old_fee=paid_fees, validity=validities, years=validities, start=moments,
       past=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=3000)))
def test_upgrade_from_a_free_or_expired_membership_costs_the_full_price(new_fee, old_fee, validity, years, start,
                                                                        past):
    full = new_fee * validity
    free = bought(user_type=TierType.CERTIFIED, fee=Decimal("0.00"), at=start, years=years)
    quote = pricing.quote(current=free, user_type=TierType.DIAMOND, fee=new_fee, validity=validity, now=start)
    assert quote.cost == full
    assume(old_fee < new_fee)
    paid = bought(user_type=TierType.GOLD, fee=old_fee, at=start, years=years)
    after_expiry = paid.expires_at + past
    quote = pricing.quote(current=paid, user_type=TierType.DIAMOND, fee=new_fee, validity=validity, now=after_expiry)
    assert quote.cost == full and is_cents(quote.cost)


@settings(max_examples=2000, deadline=None)
@given(old_fee=fees, extra=paid_fees, validity=validities, years=validities, start=moments,
       first=offsets, second=offsets)
def test_upgrade_quote_is_smallest_right_after_a_purchase_and_never_falls(old_fee, extra, validity, years, start,
                                                                          first, second):
    new_fee = old_fee + extra
    current = bought(user_type=TierType.GOLD, fee=old_fee, at=start, years=years)

    def cost(now):
        return pricing.quote(current=current, user_type=TierType.DIAMOND, fee=new_fee, validity=validity, now=now).cost

    earlier, later = sorted([start + first, start + second])
    assert cost(start) <= cost(earlier) <= cost(later)
    # Right after the purchase the whole paid period is credited.
    assert cost(start) == max(new_fee * validity - old_fee * years, Decimal("0.00"))


@settings(max_examples=2000, deadline=None)
@given(fee=fees, validity=validities, years=validities, start=moments,
       now_offset=st.timedeltas(min_value=timedelta(days=-4000), max_value=timedelta(days=4000)))
def test_renewal_adds_exactly_validity_years_to_the_later_of_now_and_expiry(fee, validity, years, start, now_offset):
    current = bought(user_type=TierType.GOLD, fee=fee, at=start, years=years)
    now = start + now_offset
    assume(now < current.expires_at)  # once expired, the caller passes the base tier (tested below)
    quote = pricing.quote(current=current, user_type=TierType.GOLD, fee=fee, validity=validity, now=now)
    base = max(now, current.expires_at)
    assert quote.kind == pricing.RENEW
    assert quote.cost == fee * validity and is_cents(quote.cost)
    assert quote.expires_at.year == base.year + validity
    assert (quote.expires_at.month, quote.expires_at.time()) == (base.month, base.time())
    assert quote.expires_at.day == base.day or (base.month, base.day, quote.expires_at.day) == (2, 29, 28)


@settings(max_examples=500, deadline=None)
@given(fee=fees, validity=validities, expiry=moments, now=moments)
def test_renewal_expiry_never_loses_a_paid_day(fee, validity, expiry, now):
    expires_at = pricing.renewal_expiry(now=now, expires_at=expiry, validity=validity)
    assert expires_at >= pricing.add_years(now, validity)
    assert expires_at >= pricing.add_years(expiry, validity)


@settings(max_examples=1000, deadline=None)
@given(old_fee=paid_fees, cut=paid_fees, validity=validities, years=validities, start=moments, elapsed=offsets)
def test_a_lower_fee_is_refused_until_the_paid_tier_expires(old_fee, cut, validity, years, start, elapsed):
    assume(cut <= old_fee)
    lower = old_fee - cut
    current = bought(user_type=TierType.DIAMOND, fee=old_fee, at=start, years=years)
    now = start + elapsed
    if now < current.expires_at:
        with pytest.raises(pricing.DowngradeRefused):
            pricing.quote(current=current, user_type=TierType.GOLD, fee=lower, validity=validity, now=now)
    else:
        quote = pricing.quote(current=current, user_type=TierType.GOLD, fee=lower, validity=validity, now=now)
        assert quote.cost == lower * validity


@settings(max_examples=300, deadline=None)
@given(fee=paid_fees, validity=validities, now=moments)
def test_a_tier_held_without_an_end_has_nothing_to_renew(fee, validity, now):
    current = pricing.Current(user_type=TierType.GOLD, fee=fee, expires_at=None, period_started_at=None,
                              period_years=0)
    with pytest.raises(pricing.NothingToRenew):
        pricing.quote(current=current, user_type=TierType.GOLD, fee=fee, validity=validity, now=now)


def test_add_years_turns_feb_29_into_feb_28():
    leap = datetime(2024, 2, 29, 10, 30, tzinfo=UTC)
    assert pricing.add_years(leap, 1) == datetime(2025, 2, 28, 10, 30, tzinfo=UTC)
    assert pricing.add_years(leap, 4) == datetime(2028, 2, 29, 10, 30, tzinfo=UTC)


@pytest.mark.parametrize(("bought", "ends"), [
    ("2028-02-29 06:00", "2029-02-28 06:00"),  # 2028-02-28 22:00 in UTC: a year on was 2029-03-01 locally
    ("2027-03-01 05:00", "2028-03-01 05:00"),  # 2027-02-28 21:00 in UTC: a year on was 2028-02-29 locally
])
def test_years_are_counted_in_the_services_time_zone(settings, bought, ends):
    """Counted in UTC, a purchase on a local Feb 29, or in the hours after a local midnight, ended a day
    off the same local date a year later."""
    from django.utils import timezone

    settings.TIME_ZONE = "Asia/Shanghai"
    zone = timezone.get_current_timezone()
    start = datetime.fromisoformat(bought).replace(tzinfo=zone).astimezone(UTC)
    end = pricing.add_years(start, 1)
    assert timezone.localtime(end).strftime("%Y-%m-%d %H:%M") == ends


def test_money_that_is_not_whole_cents_or_not_decimal_is_refused():
    with pytest.raises(ValueError):
        pricing.cents(Decimal("1.005"))
    with pytest.raises(TypeError):
        pricing.cents(10.0)
    assert pricing.cents(Decimal("10")).as_tuple().exponent == -2


def test_credit_counts_whole_seconds_and_rounds_half_up_once():
    start = datetime(2025, 1, 1, tzinfo=UTC)
    year_later = pricing.add_years(start, 1)  # a 365-day period: 31,536,000 seconds

    def credit(fee, expires_at, now):
        return pricing.unused_credit(value=Decimal(fee), period_started_at=start,
                                     expires_at=expires_at, now=now)

    # A minute into a year of gold: all of it but that minute, 10000 * 31535940 / 31536000 = 9999.98...
    assert credit("10000.00", year_later, start + timedelta(minutes=1)) == Decimal("9999.98")
    # The second in progress counts as used: 1.5 s left of a 4 s period count as 1 s.
    assert credit("0.04", start + timedelta(seconds=4), start + timedelta(seconds=2.5)) == Decimal("0.01")
    # 0.02 * 1 / 4 = 0.005 exactly: half-up gives 0.01 (half-even would give 0.00)
    assert credit("0.02", start + timedelta(seconds=4), start + timedelta(seconds=3)) == Decimal("0.01")
    # nothing is credited for an expired period or one with no whole second left
    assert credit("10000.00", year_later, year_later) == Decimal("0.00")
    assert credit("10000.00", year_later, year_later - timedelta(milliseconds=999)) == Decimal("0.00")
