"""The one way a number is printed, for the pages, the board report, the exports' notes and the released
cells of access/suppression.py: counts with thousands separators, shares as percents, ratios, rates per
1,000, p values, days and signed changes with a real minus sign (U+2212).

Nothing here prints None, NaN, 'inf' or '-0': a value that does not exist prints `missing` (the caller
says what its reader should see), and a value that rounds to zero has no sign. Rounding is Python's
(to the nearest printed digit of the binary value), the same on every output, so a page and the report
print the same string for the same number.
"""

from __future__ import annotations

import math

MISSING = "–"  # shown for a value that does not exist (no load yet, no date, an undefined ratio)
MINUS = "\u2212"  # a real minus sign: a hyphen reads as a dash and wraps off its number
# Decimals kept by a numeric table column (sortable, so not a string), matching the text's precision: a share
# 0.123 (12.3%), a risk 0.0123 (1.23%), a ratio 2.41, a rate per 1,000 12.3, a difference in points 1.25.
TABLE_DECIMALS = {"share": 3, "risk": 4, "ratio": 2, "rate": 1, "points": 2}


def is_missing(value: object) -> bool:
    """None, NaN or an infinity: a value no reader should see as a number."""
    if value is None:
        return True
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
    return math.isnan(number) or math.isinf(number)


def _scaled(value: object, factor: float) -> float | None:
    """`value` x `factor`, or None when either is missing or the product overflows to an infinity (a share of
    1e307 would otherwise print 'inf%')."""
    if is_missing(value):
        return None
    scaled = factor * float(value)  # type: ignore[arg-type]
    return None if is_missing(scaled) else scaled


def _fixed(value: float, decimals: int, *, plus: bool = False) -> str:
    """`value` to `decimals` places with thousands separators, U+2212 for a negative, and no sign on a value
    that rounds to zero ('-0.0' never prints)."""
    shown = f"{abs(value):,.{decimals}f}"
    if float(shown.replace(",", "")) == 0:
        return shown
    if value < 0:
        return MINUS + shown
    return "+" + shown if plus else shown


def fmt_int(value: object, *, missing: str = MISSING) -> str:
    """A whole number: 1234 -> '1,234', 2.6 -> '3'."""
    if is_missing(value):
        return missing
    return _fixed(float(value), 0)  # type: ignore[arg-type]


def fmt_count(value: object, *, suppress: bool = False, threshold: int = 10, missing: str = MISSING) -> str:
    """A count of students or rows; counts 1..threshold-1 become '<threshold' when suppressed."""
    if is_missing(value):
        return missing
    n = int(round(float(value)))  # type: ignore[arg-type]
    if suppress and 1 <= n < threshold:
        return f"<{threshold}"
    return _fixed(n, 0)


def fmt_setting(value: object, *, digits: int = 6, missing: str = MISSING) -> str:
    """A setting or threshold as it is written, without trailing zeros: 2.0 -> '2', 0.05 -> '0.05', 1.25 ->
    '1.25'; at most `digits` significant digits (a chart's description uses 3)."""
    if is_missing(value):
        return missing
    number = float(value)  # type: ignore[arg-type]
    shown = f"{abs(number):.{digits}g}"
    return MINUS + shown if number < 0 and float(shown) != 0 else shown


def fmt_pct(fraction: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """A share as a percent: 0.1234 -> '12.3%' (decimals=1), '12%' (decimals=0)."""
    percent = _scaled(fraction, 100.0)
    return missing if percent is None else _fixed(percent, decimals) + "%"


def fmt_points(difference: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """A difference of shares in percentage points, signed: 0.042 -> '+4.2 points', -0.042 -> '−4.2 points'."""
    points = _scaled(difference, 100.0)
    return missing if points is None else _fixed(points, decimals, plus=True) + " points"


def fmt_signed(value: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """A change or difference with its sign: 3.25 -> '+3.2', -3.25 -> '−3.2', a value that rounds to 0 -> '0.0'."""
    if is_missing(value):
        return missing
    return _fixed(float(value), decimals, plus=True)  # type: ignore[arg-type]


def fmt_ratio(value: object, *, decimals: int = 2, missing: str = MISSING) -> str:
    """A ratio such as a risk ratio: 2.4 -> '2.40' (decimals=2), '2.4' (decimals=1)."""
    if is_missing(value):
        return missing
    return _fixed(float(value), decimals)  # type: ignore[arg-type]


def fmt_decimal(value: object, *, decimals: int = 2, missing: str = MISSING) -> str:
    """A statistic or a measurement that is not a ratio (a chi-square, seconds): 3.14159 -> '3.14'."""
    if is_missing(value):
        return missing
    return _fixed(float(value), decimals)  # type: ignore[arg-type]


def fmt_rate(per_1000: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """A rate per 1,000 students: 12.34 -> '12.3 per 1,000'."""
    if is_missing(per_1000):
        return missing
    return f"{_fixed(float(per_1000), decimals)} per 1,000"  # type: ignore[arg-type]


def fmt_p(p: object, name: str = "p") -> str:
    """A p (or q) value for reading: 'p < 0.001' below a thousandth (never 'p = 0.000'), else three decimals
    ('p = 0.042'); a value that rounds to 1 prints 'p > 0.999'. Exports keep the exact value."""
    if is_missing(p):
        return f"{name} not available"
    value = float(p)  # type: ignore[arg-type]
    if value < 0.001:
        return f"{name} < 0.001"
    if value > 0.999:
        return f"{name} > 0.999"
    return f"{name} = {value:.3f}"


def fmt_days(days: object, *, same_day: str = "the same day", missing: str = MISSING) -> str:
    """A number of days in words: 0 -> 'the same day', 1 -> '1 day', 12 -> '12 days', 1200 -> '1,200 days'."""
    if is_missing(days):
        return missing
    n = int(round(float(days)))  # type: ignore[arg-type]
    if n == 0:
        return same_day
    return f"{_fixed(n, 0)} day" if n == 1 else f"{_fixed(n, 0)} days"


def fmt_interval(low: object, high: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """A confidence interval: '1.2 to 3.4' ('to', not a dash, so a negative bound stays readable)."""
    if is_missing(low) or is_missing(high):
        return missing
    return f"{_fixed(float(low), decimals)} to {_fixed(float(high), decimals)}"  # type: ignore[arg-type]
