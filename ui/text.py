"""Numbers and words on screen, never NaN, None or an empty string. Numbers are printed by
data_contracts.number_format and labels come from data_contracts.labels, as in the board report; what is
here is the app's own (dates, plurals, st.metric's deltas)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from data_contracts import number_format as nf
from data_contracts.labels import first_lower, first_upper  # noqa: F401  (pages read them from here)
from data_contracts.number_format import (  # noqa: F401  (the one formatter; pages read it from here)
    MISSING,
    fmt_count,
    fmt_int,
    fmt_p,
    fmt_pct,
    fmt_ratio,
    is_missing,
)

SMALL_COUNT = "<10"  # a count of 1-9 shown to a viewer whose aggregates are suppressed


def table_number(column: str | pl.Expr, kind: str) -> pl.Expr:
    """A numeric table column rounded as number_format.TABLE_DECIMALS says for its kind (share, risk, ratio,
    rate, points): one precision for a kind of number on every page."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.round(nf.TABLE_DECIMALS[kind])


def fmt_date(value: object, *, missing: str = MISSING) -> str:
    """A date or timestamp as YYYY-MM-DD (timestamps to the minute)."""
    if is_missing(value) or value == "":
        return missing
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)[:16]


def fmt_text(value: object, *, missing: str = MISSING) -> str:
    if is_missing(value) or str(value).strip() == "":
        return missing
    return str(value)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """'1 file', '3 files'."""
    return f"{fmt_int(n)} {singular if n == 1 else (plural_form or singular + 's')}"


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


def within_days(days: int) -> str:
    """A time limit in words: 0 -> 'the same day', 1 -> 'within 1 day', 7 -> 'within 7 days'."""
    return "the same day" if days == 0 else f"within {plural(days, 'day')}"


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
