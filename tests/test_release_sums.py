"""Declared sums: a count that equals another table's count, or the sum of several, is protected with them.

The Process audit's denominators are level counts of the Concern levels page ("cases assessed moderate, high
or imminent" is three of them). Printed as separate cells, a denominator of 19 beside a hidden High recovered it
(19 - 14 - 0 = 5, issue 14 item 4); declared as the sum, the suppression hides what that subtraction needs."""

from __future__ import annotations

import polars as pl
import pytest

from access.release_cells import DeclaredSum, ReleaseError, cell_id
from access.suppression import CountTable, suppress_release

YEAR = {"school_year": "2024-25"}


def levels(low: int, moderate: int, high: int, imminent: int) -> CountTable:
    rows = [("low", low), ("moderate", moderate), ("high", high), ("imminent", imminent)]
    rows.append(("total", low + moderate + high + imminent))
    frame = pl.DataFrame(rows, schema=["concern_level", "assessed_cases"], orient="row")
    return CountTable("levels", frame, ("concern_level",), ("assessed_cases",), filters=YEAR)


def audit(key: str, den: int, num: int, parts: tuple[str, ...] | None) -> CountTable:
    frame = pl.DataFrame({"breakdown": ["total"], f"{key}_den": [den], f"{key}_num": [num]})
    sums = ()
    if parts is not None:
        cells = tuple(cell_id({**YEAR, "concern_level": lv}, "assessed_cases") for lv in parts)
        sums = (DeclaredSum(cell_id(YEAR, f"{key}_den"), cells),)
    return CountTable(f"audit_{key}", frame, ("breakdown",), (f"{key}_num",), f"{key}_den", filters=YEAR, sums=sums)


def shown(release, table: str, column: str) -> str:
    return release[table].display[column][0]


def test_an_audit_denominator_equal_to_a_hidden_level_is_hidden_with_it():
    release = suppress_release([levels(40, 14, 5, 12), audit("excl_high", 5, 0, ("high",))])
    assert release["levels"].display["assessed_cases"][2] == "<10"
    assert shown(release, "audit_excl_high", "excl_high_den") in ("<10", "*")


def test_a_denominator_summing_levels_leaves_a_hidden_level_unrecoverable():
    """Low 30, Moderate 40, High 5, Imminent 0: the levels table alone hides High and, as its complement, Low.
    Without the declared sum the audit's 45 cases "moderate and above" give High back (45 - 40 - 0); with it
    one more of those cells is hidden."""
    counts = (30, 40, 5, 0)
    without = suppress_release([levels(*counts), audit("plan", 45, 30, None)])
    published = without["levels"].published["assessed_cases"].to_list()
    assert published[:4] == [None, 40, None, 0] and without["audit_plan"].published["plan_den"][0] == 45
    release = suppress_release([levels(*counts), audit("plan", 45, 30, ("moderate", "high", "imminent"))])
    moderate, high, imminent = (release["levels"].published["assessed_cases"][i] for i in (1, 2, 3))
    den = release["audit_plan"].published["plan_den"][0]
    assert high is None
    assert None in (moderate, imminent, den), "a published denominator and both other levels give High back"


def test_a_declared_sum_that_does_not_hold_is_an_error():
    with pytest.raises(ReleaseError, match="declared the sum"):
        suppress_release([levels(40, 14, 5, 12), audit("plan", 30, 25, ("moderate", "high", "imminent"))])


def test_a_declared_sum_over_a_cell_no_table_prints_is_an_error():
    with pytest.raises(ReleaseError, match="no table of the release prints"):
        suppress_release([audit("plan", 30, 25, ("moderate",))])


def test_outputs_read_a_release_through_release_for_only():
    """Pages, the report and the exports take the stored (or this process's) release from figures.stored;
    building one (`build_release`, or suppressing the release's tables directly) is figures.stored's job."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    builders = ("build_release(", "suppress_release(release_tables(")
    callers = [
        str(path.relative_to(root))
        for folder in ("ui", "pages", "reports", "pipelines", "access", "figures")
        for path in (root / folder).rglob("*.py")
        if path.name not in ("release.py", "stored.py") and any(b in path.read_text() for b in builders)
    ]
    callers += [f for f in ("app.py",) if any(b in (root / f).read_text() for b in builders)]
    assert callers == []
