"""Numbers as words on screen: never NaN, None or an empty string."""
from __future__ import annotations

import datetime as dt
import math

import polars as pl

MISSING = "–"           # shown for a value that does not exist (no load yet, no date)
SMALL_COUNT = "<10"     # a count of 1-9 shown to a viewer whose aggregates are suppressed


def _is_missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def fmt_int(value: object, *, missing: str = MISSING) -> str:
    """1234 -> '1,234'."""
    if _is_missing(value):
        return missing
    return f"{int(round(float(value))):,}"


def fmt_count(value: object, *, suppress: bool = False, threshold: int = 10, missing: str = MISSING) -> str:
    """A count of students or rows; counts 1..threshold-1 become '<threshold' when suppressed."""
    if _is_missing(value):
        return missing
    n = int(round(float(value)))
    if suppress and 1 <= n < threshold:
        return f"<{threshold}"
    return f"{n:,}"


def fmt_pct(fraction: object, *, decimals: int = 1, missing: str = MISSING) -> str:
    """0.1234 -> '12.3%'."""
    if _is_missing(fraction):
        return missing
    return f"{100.0 * float(fraction):.{decimals}f}%"


def fmt_ratio(value: object, *, decimals: int = 2, missing: str = MISSING) -> str:
    """A ratio such as a risk ratio: 2.4 -> '2.40'."""
    if _is_missing(value) or math.isinf(float(value)):
        return missing
    return f"{float(value):.{decimals}f}"


def fmt_date(value: object, *, missing: str = MISSING) -> str:
    """A date or timestamp as YYYY-MM-DD (timestamps to the minute)."""
    if _is_missing(value) or value == "":
        return missing
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:16]


def fmt_text(value: object, *, missing: str = MISSING) -> str:
    if _is_missing(value) or str(value).strip() == "":
        return missing
    return str(value)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """'1 file', '3 files'."""
    return f"{n:,} {singular if n == 1 else (plural_form or singular + 's')}"


def join_words(items: list[str]) -> str:
    """['a', 'b', 'c'] -> 'a, b and c'."""
    items = [str(i) for i in items if str(i)]
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def python_map(series: pl.Series, fn, dtype=None) -> pl.Series:
    """Apply a Python function to each value, outside polars' engine.

    polars' map_elements calls back into Python from its worker pool; with many
    Streamlit sessions at once that deadlocks the pool (seen under the 25-session
    load test), so pages map labels here instead.
    """
    return pl.Series(series.name, [fn(v) for v in series.to_list()], dtype=dtype or pl.String)
