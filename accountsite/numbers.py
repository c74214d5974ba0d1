"""Numbers read from clients, as the README promises them: a JSON integer or a string of ASCII digits.

Python's own `int()` and `Decimal()` are too lenient for an API: they take any Unicode digits (Arabic-Indic,
fullwidth), surrounding spaces, exponents ("1e3") and, through DRF, floats (1.5, 2.0). One parser per kind: whole
numbers (counts, page numbers, the amount of a size in a unit) and money.
"""

import argparse
import re
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

BIGINT_MAX = 2**63 - 1
_WHOLE = re.compile(r"[+-]?[0-9]{1,19}")
_DIGITS = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,40}(?:\.(?P<places>[0-9]+))?")
CENT = Decimal("0.01")
MONEY_LIMIT = 10**12  # every amount column holds less: at most 999999999999.99


class NumberBeyondRange(ValueError):
    """A whole number of more digits than any count holds; `negative` says which end it is past, so that a
    field with narrower bounds names its own."""

    def __init__(self, *, negative: bool) -> None:
        self.negative = negative
        super().__init__(f"Must be at least {-BIGINT_MAX - 1}." if negative else f"Must be at most {BIGINT_MAX}.")


def whole_number_parse(raw: Any) -> int:
    """A JSON integer or a string of ASCII digits with an optional sign; ValueError for anything else
    (booleans, floats, exponents, spaces, other digits, more than 19 digits), whose message says which."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str):
        if _WHOLE.fullmatch(raw):
            return int(raw)
        if _DIGITS.fullmatch(raw):  # a whole number, beyond what any count holds
            raise NumberBeyondRange(negative=raw.startswith("-"))
    raise ValueError("A whole number is required.")


def decimal_parse(raw: Any, *, places: int) -> Decimal:
    """A JSON integer or a string of ASCII digits with an optional sign and at most `places` decimal places;
    ValueError for floats (1.5 is not exact in JSON), exponents, other digits and anything else."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return Decimal(raw)
    match = _DECIMAL.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or len(match["places"] or "") > places:
        raise ValueError(f"A number with at most {places} decimal place(s) is required.")
    return Decimal(raw)


def money_parse(raw: Any) -> Decimal:
    """An amount of money in cents ("10" is 10.00): decimal_parse with at most two decimal places."""
    try:
        value = decimal_parse(raw, places=2)
    except ValueError:
        raise ValueError('An amount such as "10.50" is required: digits with at most two decimal places.') from None
    if abs(value) >= MONEY_LIMIT:
        raise ValueError(f"An amount is at most {MONEY_LIMIT - CENT}.")
    return value.quantize(CENT)


Number = TypeVar("Number", int, Decimal)


def _command_option(parse: Callable[[str], Number], minimum: Number, maximum: Number,
                    unit: str) -> Callable[[str], Number]:
    def option(raw: str) -> Number:
        try:
            value = parse(raw)
        except ValueError:
            value = None
        if value is None or not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(f"{raw!r}: give {minimum:,} to {maximum:,} {unit}, in ASCII digits")
        return value
    return option


def whole_number_option(*, minimum: int, maximum: int, unit: str) -> Callable[[str], int]:
    """argparse `type=` for a management command's whole-number option, read as the API reads one
    (whole_number_parse: argparse's `int` takes other scripts' digits, "٣" as 3, spaces and "1_0")."""
    return _command_option(whole_number_parse, minimum, maximum, unit)


def decimal_option(*, minimum: Decimal, maximum: Decimal, places: int, unit: str) -> Callable[[str], Decimal]:
    """argparse `type=` for a management command's option with decimal places (decimal_parse: `float` takes
    other scripts' digits too, and "nan", "inf" and exponents)."""
    return _command_option(partial(decimal_parse, places=places), minimum, maximum, unit)


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[+-]?[0-9]{1,19}$"}]})
class WholeNumberField(serializers.Field):
    """A whole number (whole_number_parse) between `min_value` and `max_value`."""

    default_error_messages = {
        "min_value": "Must be at least {min_value}.",
        "max_value": "Must be at most {max_value}.",
    }

    def __init__(self, *, min_value: int = 0, max_value: int = BIGINT_MAX, **kwargs: Any) -> None:
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> int:
        try:
            value = whole_number_parse(data)
        except NumberBeyondRange as exc:
            # Past every field's bounds, which lie within 64 bits: the range check refuses it, naming them.
            self.check_range(-BIGINT_MAX - 2 if exc.negative else BIGINT_MAX + 1)
            raise serializers.ValidationError(str(exc), code="invalid") from None
        except ValueError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from None
        self.check_range(value)
        return value

    def check_range(self, value: int) -> None:
        if value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        if value > self.max_value:
            self.fail("max_value", max_value=self.max_value)

    def to_representation(self, value: int) -> int:
        return value


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"}]})
class MoneyField(serializers.Field):
    """An amount of money (money_parse), at least `min_value`."""

    default_error_messages = {
        "min_value": "Must be at least {min_value}.",
    }

    def __init__(self, *, min_value: Decimal, **kwargs: Any) -> None:
        self.min_value = min_value
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        try:
            value = money_parse(data)
        except ValueError as exc:
            raise serializers.ValidationError(str(exc)) from None
        if value < self.min_value:
            self.fail("min_value", min_value=self.min_value)
        return value

    def to_representation(self, value: Decimal) -> str:
        return f"{value:.2f}"


class WholeNumberFormField(forms.IntegerField):
    """A Django form field (a query filter's) that reads whole numbers as whole_number_parse does: Django's
    IntegerField takes "2.0", other scripts' digits and "1_0"."""

    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        try:
            return whole_number_parse(value)
        except ValueError as exc:
            raise forms.ValidationError(str(exc), code="invalid") from None
