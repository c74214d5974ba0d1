"""Storage sizes: deposit units K|M|G|T (seed 004) to bytes, and bytes back to a human string."""

from decimal import ROUND_HALF_UP, Decimal

from quotas.models import UNLIMITED

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
DEFAULT_UNIT = "M"
BIGINT_MAX = 2**63 - 1


def unit_parse(raw: str | None) -> str:
    """The canonical unit letter for `raw` ("m", "MB" and "M" are all M); ValueError if unknown."""
    value = (raw or "").strip().upper()
    if not value:
        return DEFAULT_UNIT
    if len(value) == 2 and value.endswith("B"):
        value = value[0]
    if value not in UNITS:
        raise ValueError(f"Unknown unit {raw!r}: use K, M, G or T.")
    return value


def size_human(size: int) -> str | int:
    """"2G" when exact, else two decimals in the largest unit that fits ("1.43M"); -1 stays -1 (unlimited)."""
    if size == UNLIMITED:
        return UNLIMITED
    if size == 0:
        return f"0{DEFAULT_UNIT}"
    for letter in ("T", "G", "M", "K"):
        unit = UNITS[letter]
        if size >= unit:
            if size % unit == 0:
                return f"{size // unit}{letter}"
            amount = (Decimal(size) / unit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP).normalize()
            return f"{amount:f}{letter}"
    return f"{size}B"
