"""One formatter (issue 14 item 5): data_contracts/number_format.py prints every number a reader sees, and
the code that shows numbers does not grow formats of its own beside it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from data_contracts import number_format as nf

REPO = Path(__file__).resolve().parent.parent
MINUS = "\u2212"


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (lambda: nf.fmt_pct(0.1234), "12.3%"),
        (lambda: nf.fmt_pct(0.1234, decimals=0), "12%"),
        (lambda: nf.fmt_pct(-0.0004), "0.0%"),  # rounds to zero: no sign
        (lambda: nf.fmt_pct(1e307), nf.MISSING),  # 100 x 1e307 overflows: never 'inf%'
        (lambda: nf.fmt_points(1e307), nf.MISSING),
        (lambda: nf.fmt_points(-0.042), f"{MINUS}4.2 points"),
        (lambda: nf.fmt_ratio(float("nan")), nf.MISSING),
        (lambda: nf.fmt_ratio(float("inf"), missing="not available"), "not available"),
        (lambda: nf.fmt_ratio(-1.234, decimals=1), f"{MINUS}1.2"),
        (lambda: nf.fmt_int(1234567), "1,234,567"),
        (lambda: nf.fmt_rate(12.345), "12.3 per 1,000"),
        (lambda: nf.fmt_interval(-0.25, 1.5), f"{MINUS}0.2 to 1.5"),
        (lambda: nf.fmt_p(0.0), "p < 0.001"),
        (lambda: nf.fmt_p(0.99999999999850), "p > 0.999"),
        (lambda: nf.fmt_p(0.0424, "q"), "q = 0.042"),
        (lambda: nf.fmt_p(None), "p not available"),
        (lambda: nf.fmt_days(1), "1 day"),
        (lambda: nf.fmt_decimal(3.14159), "3.14"),
        (lambda: nf.fmt_decimal(float("nan"), missing="not run"), "not run"),
    ],
)
def test_the_formatter_prints_no_nan_inf_or_signed_zero(call, expected):
    assert call() == expected


def test_the_board_reports_words_go_through_the_formatter():
    from reports.content import change_words, fmt_rate, pct, times

    assert pct(None) == pct(float("nan")) == fmt_rate(float("nan")) == "not available"
    assert pct(0.125, 1) == "12.5%" and times(-2.0) == f"{MINUS}2.0 times"
    assert change_words(12.0, 10.0, nf.fmt_rate) == "up 20% from 10.0 per 1,000 the year before"
    assert change_words(-0.0, 0.0, nf.fmt_rate) == "from none to 0.0 per 1,000"


# -- the guard ---------------------------------------------------------------------------------------------------

# The folders whose text a reader sees. A number format written by hand in an f-string there (`{x:.1f}`,
# `{n:,}`, `{p:.0%}`) is a second formatter beside number_format: its minus sign, rounding and missing
# values drift from the report's. A setting such as the alpha of 0.05 prints with number_format.fmt_setting.
# LEFT lists the one format that is not a number shown; a file may only go down.
SHOWN = ("pages", "ui", "reports", "figures", "access")
HAND_FORMAT = re.compile(r"(^|[^a-zA-Z])(,|[+]?,?\.\d*[feg%]|g|%)$")
LEFT = {
    "reports/charts.py": 1,  # an SVG coordinate (_px): a position, not a number a reader sees
}


def hand_formats(path: Path) -> list[tuple[int, str]]:
    """(line, format spec) of every f-string number format in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
            spec = "".join(v.value for v in node.format_spec.values if isinstance(v, ast.Constant))
            if HAND_FORMAT.search(spec):
                found.append((node.lineno, spec))
    return found


def test_no_shown_module_grows_number_formats_of_its_own():
    counts = {}
    for folder in SHOWN:
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name != "number_format.py" and (found := hand_formats(path)):
                counts[str(path.relative_to(REPO))] = found
    grown = {f: found for f, found in counts.items() if len(found) > LEFT.get(f, 0)}
    assert not grown, f"format these numbers with data_contracts.number_format: {grown}"
    fewer = {f: (n, len(counts.get(f, []))) for f, n in LEFT.items() if len(counts.get(f, [])) < n}
    assert not fewer, f"fewer hand formats than LEFT says: lower LEFT to the count now {fewer}"


def test_the_guard_sees_a_hand_format(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('x = 1.5\nshown = f"{x:.1f} and {x:,} and {x:.0%} and {x!r} and {x:>8}"\n')
    assert [spec for _, spec in hand_formats(sample)] == [".1f", ",", ".0%"]


def test_a_setting_prints_as_written_and_a_table_column_keeps_its_kinds_decimals():
    import polars as pl

    from ui.text import table_number

    assert [nf.fmt_setting(v) for v in (2.0, 0.05, 1.25, -0.5, -0.0, None)] == [
        "2",
        "0.05",
        "1.25",
        f"{MINUS}0.5",
        "0",
        "–",
    ]
    assert nf.fmt_setting(12.3456, digits=3) == "12.3" and nf.fmt_setting(float("nan"), missing="none") == "none"
    frame = pl.DataFrame({"x": [0.123456, 2.41789]}).select(
        *[table_number("x", kind).alias(kind) for kind in nf.TABLE_DECIMALS]
    )
    assert frame.row(0, named=True) == {"share": 0.123, "risk": 0.1235, "ratio": 0.12, "rate": 0.1, "points": 0.12}
    assert frame["ratio"][1] == 2.42 and frame["rate"][1] == 2.4


def test_no_page_rounds_a_table_column_by_hand():
    """A numeric column's decimals come from TABLE_DECIMALS through ui.text.table_number, so a ratio has two
    decimals and a rate one on every page (a page once kept two for the same rate another kept one for)."""
    by_hand = re.compile(r"\.round\(\d+\)")
    found = [
        f"{path.relative_to(REPO)}:{n}"
        for folder in ("pages", "ui")
        for path in sorted((REPO / folder).rglob("*.py"))
        if path.name != "text.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if by_hand.search(line)
    ]
    assert not found, f"round table columns with ui.text.table_number: {found}"
