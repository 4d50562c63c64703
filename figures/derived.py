"""Statistics derived from a suppressed release: for a viewer who sees suppressed figures (the board), a rate,
share, ratio, interval, difference, status mark or change is shown only when every count it is computed from
is published exactly in the release; otherwise it is withheld with the reason. A statistic computed from
published counts equals the one computed from the exact counts, so the exact frames may supply the number
once its counts are known to be published. The rule per statistic is in docs/PRIVACY.md ("Derived
statistics"). No Streamlit here: the pages, the report and the exports call these functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from access.suppression import SuppressedRelease, SuppressedTable
from data_contracts.number_format import fmt_int

TOTAL = "total"
HIGH_LEVELS = ("high", "imminent")
# Every column of a disproportionality row computed from its counts (metrics/disproportionality.py).
DISPARITY_STATISTICS = (
    "risk",
    "comparison_risk",
    "risk_ratio",
    "rr_ci_low",
    "rr_ci_high",
    "risk_difference",
    "p_value",
    "q_value",
    "outcome_share",
    "population_share",
    "weighted_risk_ratio",
    "ratio_comparison_n",
    "ratio_comparison_k",
    "ratio_comparison_risk",
    "ratio_risk_difference",
    "ratio_p_value",
)
HIDDEN_GROUP = "withheld: the group's counts are hidden for this role"
HIDDEN_COMPARISON = "withheld: the comparison group's counts are hidden for this role"
NOT_RELEASED = "withheld: not in the published figures for this role"


def released_count(table: SuppressedTable | None, key: Mapping[str, str], measure: str) -> int | None:
    """The published value of one count (the row of `table` whose dimensions equal `key`), or None when the
    table, the row or the measure is missing, or the count is hidden or coded."""
    if table is None or measure not in table.published.columns:
        return None
    rows = table.published
    for dim in table.dimensions:
        rows = rows.filter(pl.col(dim).cast(pl.String) == str(key.get(dim, TOTAL)))
    if rows.height != 1:
        return None
    value = rows[measure][0]
    return None if value is None else int(value)


def _group_key(dimension: str, group: str) -> dict[str, str]:
    if dimension == "race_x_disability":
        race, dis = group.split(":", 1)
        return {"race_ethnicity": race, "disability_status": dis}
    return {dimension: group}


def released_disparities(
    rows: pl.DataFrame,
    table: SuppressedTable | None,
    outcome: str,
    denominator: str,
    dimension: str,
    reference: str | None = None,
) -> pl.DataFrame:
    """`rows` (disproportionality rows of one outcome and dimension, one year) as a suppressed viewer may
    see them: every statistic, the flag and the persistence mark null where the group's size or count, or
    the comparison's, is not published; `withheld` says why (null where nothing is withheld).

    The comparison is all other students (the table's total minus the group: published when the total and
    the group are) or, with `reference`, that group."""
    withheld: list[str | None] = []
    if reference is None:
        compare = {dimension: TOTAL} if dimension != "race_x_disability" else {}
        comparison_ok = all(released_count(table, compare, m) is not None for m in (denominator, outcome))
    else:
        compare = _group_key(dimension, reference)
        comparison_ok = all(released_count(table, compare, m) is not None for m in (denominator, outcome))
    for group in rows["group"].to_list() if rows.height else []:
        key = _group_key(dimension, str(group))
        if table is None:
            withheld.append(NOT_RELEASED)
        elif any(released_count(table, key, m) is None for m in (denominator, outcome)):
            withheld.append(HIDDEN_GROUP)
        elif not comparison_ok:
            withheld.append(HIDDEN_COMPARISON)
        else:
            withheld.append(None)
    out = rows.with_columns(pl.Series("withheld", withheld, dtype=pl.String))
    ok = pl.col("withheld").is_null()
    stats = [
        pl.when(ok).then(pl.col(c)).alias(c)
        for c in (*DISPARITY_STATISTICS, "flagged", "persistent")
        if c in out.columns
    ]
    if "ratio_method" in out.columns:
        stats.append(pl.when(ok).then(pl.col("ratio_method")).otherwise(pl.lit("none")).alias("ratio_method"))
    return out.with_columns(stats)


def released_flags(disp: pl.DataFrame, release: SuppressedRelease, denominator_of) -> pl.DataFrame:
    """The flagged rows of one year's disproportionality (every outcome and dimension, against all other
    students) whose counts are all published: a flag on a hidden count is itself withheld."""
    parts = []
    for (outcome, dimension), part in disp.partition_by(
        ["outcome", "dimension"], as_dict=True, maintain_order=True
    ).items():
        table = release.tables.get(f"disp_{outcome}_{dimension}")
        shown = released_disparities(part, table, str(outcome), denominator_of(str(outcome)), str(dimension))
        parts.append(shown.filter(pl.col("flagged").fill_null(False)).drop("withheld"))
    return pl.concat(parts, how="vertical_relaxed") if parts else disp.clear()


@dataclass(frozen=True)
class Headline:
    """The Overview's case count of a year as a suppressed viewer sees it: `cases` and `rate` (per 1,000
    enrolled) are None when withheld, `reason` then says why."""

    cases: int | None
    shown: str
    rate: float | None
    reason: str | None


def released_headline(release: SuppressedRelease | None, year: str, enrolled: int | None) -> Headline:
    """The year's total cases from the release; its rate only when the enrolled total is published too."""
    if release is None:
        return Headline(None, "–", None, NOT_RELEASED)
    table = release.tables.get(f"cases_total_{year}")
    cases = released_count(table, {"breakdown": TOTAL}, "cases")
    if cases is None:
        shown = "–" if table is None else str(table.display["cases"][0])
        return Headline(
            None,
            shown,
            None,
            "withheld: the year's case total is hidden for this role" if table is not None else NOT_RELEASED,
        )
    published_enrolled = {
        released_count(t, {}, "enrolled") for t in release.tables.values() if "enrolled" in t.published.columns
    }
    rate = 1000 * cases / enrolled if enrolled and enrolled in published_enrolled else None
    return Headline(
        cases,
        fmt_int(cases),
        rate,
        None if rate is not None else "withheld: the enrolled total is not published for this role",
    )


def change(now: float | None, before: float | None) -> float | None:
    """A year-over-year change: only between two released figures."""
    return None if now is None or before is None else now - before


def released_high_share(release: SuppressedRelease | None, year: str) -> float | None:
    """Share of assessed cases rated high or imminent: needs both levels' counts and the total published."""
    table = None if release is None else release.tables.get(f"levels_all_{year}")
    high, imminent, total = (
        released_count(table, {"concern_level": lvl}, "assessed_cases") for lvl in (*HIGH_LEVELS, TOTAL)
    )
    if high is None or imminent is None or not total:
        return None
    return (high + imminent) / total


def audit_key(row: Mapping[str, object]) -> str:
    """The release's name of one process-audit indicator (ui.page_data._release_tables)."""
    return str(row["indicator"]) + (f"_{row['concern_level']}" if row.get("concern_level") else "")


def released_audit(audit: pl.DataFrame, release: SuppressedRelease | None) -> pl.DataFrame:
    """District process-audit rows of one year with `value` and `status` null (status 'withheld') where the
    indicator's numerator or denominator is hidden: an 'off target' on a hidden count narrows it."""
    status, value = [], []
    for row in audit.iter_rows(named=True):
        key = audit_key(row)
        table = None if release is None else release.tables.get(f"audit_district_{key}")
        ok = all(released_count(table, {}, m) is not None for m in (f"{key}_num", f"{key}_den"))
        status.append(row["status"] if ok else "withheld")
        value.append(row["value"] if ok else None)
    return audit.with_columns(pl.Series("status", status, dtype=pl.String), pl.Series("value", value, dtype=pl.Float64))


def released_timeliness(timely: pl.DataFrame, release: SuppressedRelease | None) -> pl.DataFrame:
    """Timeliness rows of one year with `share_met` null where the level's met or missed count is hidden."""
    table = None if release is None else release.tables.get("timeliness")
    shares = []
    for row in timely.iter_rows(named=True):
        key = {"concern_level": str(row["concern_level"])}
        ok = all(released_count(table, key, m) is not None for m in ("timely_met", "timely_missed"))
        shares.append(row["share_met"] if ok else None)
    return timely.with_columns(pl.Series("share_met", shares, dtype=pl.Float64))
