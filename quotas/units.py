"""Storage sizes: deposit units K|M|G|T (seed 004) to bytes, and bytes back to a human string; the same
sizes for people in the back office (size_label), and read from what they type (size_parse)."""

import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from accountsite.numbers import BIGINT_MAX

UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
DEFAULT_UNIT = "M"
UNLIMITED = -1  # a limit of -1: no limit


def unit_parse(raw: str | None) -> str:
    """The canonical unit letter for `raw` ("m", "MB" and "M" are all M); ValueError if unknown."""
    value = (raw or "").strip().upper()
    if not value:
        return DEFAULT_UNIT
    if len(value) == 2 and value.endswith("B"):
        value = value[0]
    if value not in UNITS:
        raise ValueError("Unknown unit: use K, M, G or T.")  # never echoed: it may be anything, of any length
    return value


def _in_largest_unit(size: int, rounding: str) -> tuple[Decimal, str] | None:
    """`size` (1 KiB or more) in the largest unit that fits, as size_human and size_label write it: whole when
    a unit divides it, the short decimal that is exact ("1.5"), else two decimals rounded by `rounding`, so no
    rounded size reads as an exact one ("1.00" for 1025K). None below 1 KiB."""
    for letter in ("T", "G", "M", "K"):
        unit = UNITS[letter]
        if size >= unit:
            amount = (Decimal(size) / unit).quantize(Decimal("0.01"), rounding=rounding)
            if amount * unit == size:
                amount = amount.normalize()
            return amount, letter
    return None


def size_human(size: int) -> str | int:
    """"2G" or "1.5M" when exact, else two decimals, rounded half up, in the largest unit that fits ("1.43M",
    and "1.00M" for 1025K); -1 stays -1 (unlimited). The bytes are in the reply too."""
    if size == UNLIMITED:
        return UNLIMITED
    if size == 0:
        return f"0{DEFAULT_UNIT}"
    found = _in_largest_unit(size, ROUND_HALF_UP)
    return f"{found[0]:f}{found[1]}" if found else f"{size}B"


IEC = {"K": "KiB", "M": "MiB", "G": "GiB", "T": "TiB"}
# ASCII digits only (re.ASCII): twelve in fullwidth or Arabic-Indic digits is not a size.
_SIZE = re.compile(r"\s*(-?\d{1,19}(?:\.\d{1,6})?)\s*([A-Za-z]{0,3})\s*", re.ASCII)


def size_label(size: int) -> str:
    """A size for people: "0 B", "512 B", "200 MiB", "1.5 GiB", "unlimited"; a size no short decimal gives
    exactly keeps two decimals, rounded down ("99.99 MiB" for a byte under 100 MiB, "1.00 MiB" for 1025 KiB):
    a use one byte under its limit never reads as the limit itself, and no label says more than the size."""
    if size == UNLIMITED:
        return "unlimited"
    found = _in_largest_unit(size, ROUND_DOWN)
    return f"{found[0]:f} {IEC[found[1]]}" if found else f"{size} B"


def size_exact(size: int) -> str:
    """A size written so that size_parse gives it back exactly: "200M" when a unit divides it, else bytes."""
    if size > 0:
        for letter in ("T", "G", "M", "K"):
            if size % UNITS[letter] == 0:
                return f"{size // UNITS[letter]}{letter}"
    return str(size)


def names_its_unit(raw: str) -> bool:
    """Is `raw` a size written with its unit ("2G", "1.5 MiB"), as size_parse reads it, not a bare number?"""
    match = _SIZE.fullmatch(raw)
    return match is not None and bool(match.group(2))


def size_parse(raw: str) -> int:
    """Bytes from "200M", "1.5G", "200 MiB", "512 kb" or a number of bytes ("-1": unlimited); binary units.
    ValueError, in words, for anything else, a fraction of a byte, or a size past a 64-bit column."""
    match = _SIZE.fullmatch(raw or "")
    if not match:
        raise ValueError("Enter a size such as 200M, 1.5G or 4096 (bytes); -1 is unlimited.")
    amount, unit = Decimal(match.group(1)), match.group(2).upper()
    if unit.endswith("IB"):  # IEC spellings: KiB, MiB...
        unit = unit[0]
    try:
        scale = 1 if unit in ("", "B") else UNITS[unit_parse(unit)]
    except ValueError:
        raise ValueError(f"Unknown unit {match.group(2)!r}: use B, K, M, G or T.") from None
    size = amount * scale
    if size == UNLIMITED:
        return UNLIMITED
    if size < 0:
        raise ValueError("A size is 0 or more (-1 is unlimited).")
    if size != size.to_integral_value():
        raise ValueError("A size is a whole number of bytes.")
    if size > BIGINT_MAX:
        raise ValueError(f"Too large: at most {size_label(BIGINT_MAX)}.")
    return int(size)
