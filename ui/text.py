"""Numbers as words on screen: never NaN, None or an empty string."""

from __future__ import annotations

import datetime as dt
import math

import polars as pl

MISSING = "–"  # shown for a value that does not exist (no load yet, no date)
SMALL_COUNT = "<10"  # a count of 1-9 shown to a viewer whose aggregates are suppressed


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


def first_upper(text: str) -> str:
    """'hispanic or Latino students' -> 'Hispanic or Latino students' (str.capitalize would lower the rest)."""
    return text[:1].upper() + text[1:]


def first_lower(text: str) -> str:
    """A label set inside a sentence: 'Students suspended ...' -> 'students suspended ...'.

    Only the first letter changes, and not when the first word is an acronym ('BTAM', 'IDEA'), so names
    such as BTAM and Latino keep their capitals (str.lower would print 'btam').
    """
    first = text.split(" ", 1)[0]
    if len(first) > 1 and first.isupper():
        return text
    return text[:1].lower() + text[1:]


def within_days(days: int) -> str:
    """A time limit in words: 0 -> 'the same day', 1 -> 'within 1 day', 7 -> 'within 7 days'."""
    return "the same day" if days == 0 else f"within {plural(days, 'day')}"


def fmt_p(p: float) -> str:
    """A p-value as printed: 'p < 0.001' below a thousandth (never 'p = 0.000'), else 'p = 0.042'."""
    return "p < 0.001" if p < 0.0005 else f"p = {p:.3f}"


def of_count(numerator: int, denominator: int, noun: str, plural_form: str | None = None) -> str:
    """'1 of 1 case', '3 of 12 cases': the noun agrees with the denominator."""
    return f"{fmt_int(numerator)} of {plural(int(denominator), noun, plural_form)}"


def metric_delta(
    now_value: float | None, prev_value: float | None, fmt, since: str, *, lower_is_better: bool | None = None
) -> dict:
    """Keyword arguments for st.metric's delta: the change from `since` with an ASCII sign and its colour.

    Streamlit draws a down arrow only for a delta text that starts with an ASCII '-', so a Unicode minus
    showed every decrease as a rise. `lower_is_better` True: a fall is green (a shorter wait); False: a rise is
    green; None: no colour (a change that is neither good nor bad). No change: no arrow and no colour.
    """
    if now_value is None or prev_value is None:
        return {"delta": None}
    diff = now_value - prev_value
    shown = fmt(abs(diff))
    if shown == fmt(0):
        return {"delta": f"no change from {since}", "delta_color": "off", "delta_arrow": "off"}
    colour = "off" if lower_is_better is None else ("inverse" if lower_is_better else "normal")
    return {
        "delta": f"{'+' if diff > 0 else '-'}{shown} from {since}",
        "delta_color": colour,
        "delta_arrow": "up" if diff > 0 else "down",
    }
