"""The IDC measures, the multi-year identification status and the trend of flagged ratios, as a viewer may see
them: every measure under the risk ratio's minimum sizes and, for a viewer who sees suppressed figures (the
board), computed only from counts a release publishes exactly, or withheld with the reason (the rule of
figures/derived.py; docs/PRIVACY.md, "Derived statistics"). Each year's figures come from that year's
release. No Streamlit here: the Equity page and the board report call these functions."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import polars as pl

from access.suppression import SuppressedRelease, SuppressedTable
from figures.derived import HIDDEN_COMPARISON, HIDDEN_GROUP, NOT_RELEASED, released_count, released_disparities
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import disproportionality_table
from metrics.idc import idc_measures
from metrics.identification import DISCIPLINE_CATEGORIES, identification

TOTAL = "total"
# Measures of one group computed from its counts and the dimension's totals (metrics/idc.py).
GROUP_MEASURES = (
    "risk",
    "outcome_composition",
    "population_composition",
    "relative_difference_in_composition",
    "e_formula_limit",
    "e_formula_exceeded",
    "e_formula_state_limit",
    "e_formula_state_exceeded",
    "overall_risk",
    "percentage_point_gap",
    "ppg_moe",
    "ppg_flagged",
)
COMPARISON_MEASURES = ("comparison_risk", "risk_difference", "rd_ci_low", "rd_ci_high")
INDEX_MEASURES = ("index_80", "index_80_flagged")
HIDDEN_ANY_GROUP = (
    "withheld: the 80% index compares with the highest rate of every group, and a group's counts are hidden "
    "for this role"
)
HIDDEN_YEAR = "withheld: a year's flag is hidden for this role"


def _key(dimension: str, group: str) -> dict[str, str]:
    """The release's row of one group (race x disability groups are 'race:disability')."""
    if dimension == "race_x_disability":
        race, dis = group.split(":", 1)
        return {"race_ethnicity": race, "disability_status": dis}
    return {dimension: group}


def _total_key(dimension: str) -> dict[str, str]:
    return {} if dimension == "race_x_disability" else {dimension: TOTAL}


def _published(table: SuppressedTable | None, key: Mapping[str, str], measures: tuple[str, str]) -> bool:
    return table is not None and all(released_count(table, key, m) is not None for m in measures)


def size_reason(n: int, k: int, settings: MetricSettings) -> str | None:
    """Why a group's counts are too few for a measure (the risk ratio's n-size and cell size), or None."""
    if n < settings.min_n:
        return f"too few students (n < {settings.min_n})"
    if k < settings.min_cell:
        return f"too few with the outcome (fewer than {settings.min_cell})"
    return None


def released_idc(
    rows: pl.DataFrame,
    table: SuppressedTable | None,
    outcome: str,
    denominator: str,
    dimension: str,
    suppressed: bool,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> pl.DataFrame:
    """`rows` (idc_measures rows of one year, scope, outcome and dimension) as the viewer may see them.

    `withheld` (the group's measures), `comparison_withheld` (comparison risk, risk difference and its
    interval) and `index_withheld` (the 80% index) say why a measure is blank, null where it is shown.
    A measure needs the group's n and k at the risk ratio's sizes; the comparison measures also need the
    comparison group's. For a suppressed viewer (`suppressed`, `table` the year's release table of the
    outcome and dimension) the release's reason comes first, so no size rule narrows a hidden count: the
    group's measures need the group's and the total's counts published, the 80% index every group's."""
    if rows.height == 0:
        return rows.with_columns(
            pl.lit(None, pl.String).alias(c) for c in ("withheld", "comparison_withheld", "index_withheld")
        )
    total_ok = not suppressed or _published(table, _total_key(dimension), (denominator, outcome))
    every_ok = True
    group_reason: list[str | None] = []
    comparison_reason: list[str | None] = []
    for r in rows.iter_rows(named=True):
        if suppressed and table is None:
            reason: str | None = NOT_RELEASED
        elif suppressed and not _published(table, _key(dimension, str(r["group"])), (denominator, outcome)):
            reason = HIDDEN_GROUP
        elif not total_ok:
            reason = HIDDEN_COMPARISON
        else:
            reason = size_reason(int(r["n"]), int(r["k"]), settings)
        every_ok &= reason is None or not reason.startswith("withheld")
        versus = size_reason(int(r["total_n"] - r["n"]), int(r["total_k"] - r["k"]), settings)
        group_reason.append(reason)
        comparison_reason.append(reason or (None if versus is None else f"comparison group too small: {versus}"))
    out = rows.with_columns(
        pl.Series("withheld", group_reason, dtype=pl.String),
        pl.Series("comparison_withheld", comparison_reason, dtype=pl.String),
    ).with_columns(
        pl.when(pl.col("withheld").is_null() & pl.lit(not suppressed or every_ok))
        .then(None)
        .otherwise(pl.coalesce(pl.col("withheld"), pl.lit(HIDDEN_ANY_GROUP)))
        .alias("index_withheld")
    )
    shown = [pl.when(pl.col("withheld").is_null()).then(pl.col(c)).alias(c) for c in GROUP_MEASURES if c in out.columns]
    shown += [pl.when(pl.col("comparison_withheld").is_null()).then(pl.col(c)).alias(c) for c in COMPARISON_MEASURES]
    shown += [pl.when(pl.col("index_withheld").is_null()).then(pl.col(c)).alias(c) for c in INDEX_MEASURES]
    return out.with_columns(shown)


def reference_year_for(year: str, reference_years: list[str]) -> str | None:
    """The reference year a district year is compared with: the latest at or before it, else the latest
    loaded (as the CRDC benchmarks choose: reference data describe earlier years than the district's)."""
    if not reference_years:
        return None
    earlier = [y for y in reference_years if y <= year]
    return max(earlier or reference_years)


def idc_with_state(
    counts: pl.DataFrame, state_counts: pl.DataFrame | None, year: str, settings: MetricSettings = DEFAULT_SETTINGS
) -> pl.DataFrame:
    """metrics.idc.idc_measures of one year with the state E-formula against the state's enrollment of the
    reference year `reference_year_for` chooses (named in `state_reference_year`), not only a same-year one:
    the export keeps the same-year rule; the page says which year it compared with."""
    counts = counts.filter(pl.col("school_year") == year)
    years = [] if state_counts is None else sorted(state_counts["school_year"].unique().to_list())
    reference = reference_year_for(year, years)
    state = (
        None
        if state_counts is None or reference is None
        else state_counts.filter(pl.col("school_year") == reference).with_columns(pl.lit(year).alias("school_year"))
    )
    return idc_measures(counts, state, settings).with_columns(
        pl.lit(reference, pl.String).alias("state_reference_year")
    )


def measures_beside_ratio(idc_row: Mapping[str, object], ratio_row: Mapping[str, object] | None) -> pl.DataFrame:
    """One group's measures as rows (measure, value, low, high, compared_with, flagged, withheld), the risk
    ratio first: what the Equity page prints beside the ratio for a chosen group. `idc_row` is a row of
    released_idc, `ratio_row` the group's released disproportionality row (None when it has none)."""

    def row(measure, value, low=None, high=None, versus=None, flagged=None, withheld=None) -> dict:
        return {
            "measure": measure,
            "value": value,
            "low": low,
            "high": high,
            "compared_with": versus,
            "flagged": flagged,
            "withheld": None if value is not None else withheld,
        }

    g, rd, idx = idc_row.get("withheld"), idc_row.get("comparison_withheld"), idc_row.get("index_withheld")
    ratio = ratio_row or {}
    has_ratio = ratio.get("risk_ratio") is not None and ratio.get("ratio_method") not in (None, "none")
    rows = [
        row(
            "risk_ratio",
            ratio.get("risk_ratio") if has_ratio else None,
            ratio.get("rr_ci_low") if has_ratio else None,
            ratio.get("rr_ci_high") if has_ratio else None,
            "all other students" if ratio.get("ratio_method") != "alternate" else "the state's other students",
            ratio.get("flagged") if has_ratio else None,
            ratio.get("withheld") or rd or "no ratio (too few students or with the outcome)",
        ),
        row("risk", idc_row.get("risk"), withheld=g),
        row("comparison_risk", idc_row.get("comparison_risk"), versus="all other students", withheld=rd),
        row(
            "risk_difference",
            idc_row.get("risk_difference"),
            idc_row.get("rd_ci_low"),
            idc_row.get("rd_ci_high"),
            "all other students",
            withheld=rd,
        ),
        row("outcome_composition", idc_row.get("outcome_composition"), withheld=g),
        row("population_composition", idc_row.get("population_composition"), withheld=g),
        row("relative_difference_in_composition", idc_row.get("relative_difference_in_composition"), withheld=g),
        row(
            "e_formula",
            idc_row.get("outcome_composition") if idc_row.get("e_formula_limit") is not None else None,
            None,
            idc_row.get("e_formula_limit"),
            "the district's enrollment",
            idc_row.get("e_formula_exceeded"),
            g,
        ),
    ]
    reference = idc_row.get("state_reference_year")
    state_withheld = g or (
        "no state reference data loaded" if reference is None else f"no state figure for this group in {reference}"
    )
    rows.append(
        row(
            "e_formula_state",
            idc_row.get("outcome_composition") if idc_row.get("e_formula_state_limit") is not None else None,
            None,
            idc_row.get("e_formula_state_limit"),
            "the state's enrollment" + ("" if reference is None else f", reference data {reference}"),
            idc_row.get("e_formula_state_exceeded"),
            state_withheld,
        )
    )
    rows.append(
        row(
            "index_80",
            idc_row.get("index_80"),
            versus="the group least often",
            flagged=idc_row.get("index_80_flagged"),
            withheld=idx,
        )
    )
    gap = idc_row.get("percentage_point_gap")
    moe = idc_row.get("ppg_moe")
    rows.append(
        row(
            "percentage_point_gap",
            gap,
            None if gap is None or moe is None else float(gap) - float(moe),  # type: ignore[arg-type]
            None if gap is None or moe is None else float(gap) + float(moe),  # type: ignore[arg-type]
            "all students",
            idc_row.get("ppg_flagged"),
            g,
        )
    )
    schema = {
        "measure": pl.String,
        "value": pl.Float64,
        "low": pl.Float64,
        "high": pl.Float64,
        "compared_with": pl.String,
        "flagged": pl.Boolean,
        "withheld": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


# -- every loaded year, each from its own release ------------------------------------------------------------------


def released_years(
    disp: pl.DataFrame,
    releases: Mapping[str, SuppressedRelease] | None,
    denominator_of: Callable[[str], str],
) -> pl.DataFrame:
    """Disproportionality rows of many years (district scope, against all other students) as the viewer
    sees them: unchanged with `releases` None (an exact viewer), else each year's statistics and flags from
    that year's release (figures.derived.released_disparities), `withheld` saying why."""
    if releases is None:
        return disp.with_columns(pl.lit(None, pl.String).alias("withheld"))
    parts = []
    for (year, outcome, dimension), part in disp.partition_by(
        ["school_year", "outcome", "dimension"], as_dict=True, maintain_order=True
    ).items():
        release = releases.get(str(year))
        table = None if release is None else release.tables.get(f"disp_{outcome}_{dimension}")
        parts.append(released_disparities(part, table, str(outcome), denominator_of(str(outcome)), str(dimension)))
    if not parts:
        return disp.with_columns(pl.lit(None, pl.String).alias("withheld"))
    return pl.concat(parts, how="vertical_relaxed")


def identification_status(
    shown: pl.DataFrame,
    year: str,
    settings: MetricSettings = DEFAULT_SETTINGS,
    categories: tuple[str, ...] = DISCIPLINE_CATEGORIES,
) -> pl.DataFrame:
    """The year's rows of metrics.identification over `shown` (released_years of every loaded year), with
    `withheld`: a status resting on a year whose flag the viewer may not see is withheld, not guessed.

    The years a status rests on are the `identification_years` ending with `year` (three when reasonable
    progress is tested, which compares three years' ratios)."""
    rows = shown.filter(pl.col("outcome").is_in(list(categories)) & (pl.col("dimension") == "race_ethnicity"))
    hidden = rows.filter(pl.col("withheld").is_not_null()).select("school_year", "outcome", "group")
    status = identification(rows.with_columns(pl.col("flagged").fill_null(False)), settings, categories)
    status = status.filter(pl.col("school_year") == year)
    span = max(settings.identification_years, 3 if settings.reasonable_progress is not None else 1)
    start = int(year[:4])
    window = [f"{y}-{(y + 1) % 100:02d}" for y in range(start - span + 1, start + 1)]
    blocked = (
        hidden.filter(pl.col("school_year").is_in(window))
        .group_by("outcome", "group")
        .agg(pl.col("school_year").sort().str.join(", ").alias("_hidden_years"))
    )
    status = status.join(blocked, on=["outcome", "group"], how="left")
    out = status.with_columns(
        pl.when(pl.col("_hidden_years").is_not_null())
        .then(pl.lit(HIDDEN_YEAR) + pl.lit(" (") + pl.col("_hidden_years") + pl.lit(")"))
        .alias("withheld")
    )
    blank = pl.col("withheld").is_not_null()
    return (
        out.drop("_hidden_years")
        .with_columns(
            pl.when(~blank).then(pl.col(c)).alias(c)
            for c in ("risk_ratio", "flagged", "consecutive_years_flagged", "years_behind", "reasonable_progress")
        )
        .with_columns(pl.when(~blank).then(pl.col("would_be_identified")).alias("would_be_identified"))
    )


def state_ratios(state_counts: pl.DataFrame | None, settings: MetricSettings = DEFAULT_SETTINGS) -> pl.DataFrame:
    """The state's own risk ratio per reference year x outcome x dimension x group (each group against the
    state's other students, Katz interval, the same sizes): public state counts, never suppressed."""
    columns = {
        "school_year": pl.String,
        "outcome": pl.String,
        "dimension": pl.String,
        "group": pl.String,
        "risk_ratio": pl.Float64,
        "rr_ci_low": pl.Float64,
        "rr_ci_high": pl.Float64,
        "flagged": pl.Boolean,
    }
    if state_counts is None or state_counts.height == 0:
        return pl.DataFrame(schema=columns)
    table = disproportionality_table(state_counts.with_columns(pl.lit("state").alias("scope")), None, settings, False)
    table = table.filter(pl.col("ratio_method") == "risk_ratio")
    return table.select([pl.col(c).cast(t) for c, t in columns.items()])


def ratio_trend(
    shown: pl.DataFrame,
    state: pl.DataFrame,
    outcome: str,
    dimension: str,
    groups: list[str],
) -> pl.DataFrame:
    """Each group's ratio over every loaded year (from `shown`, released_years) beside the state's over its
    reference years (`state`, state_ratios): series 'district' or 'state', school_year, group, risk_ratio,
    rr_ci_low, rr_ci_high, flagged, withheld. A district year without a ratio stays in with its reason."""
    own = shown.filter(
        (pl.col("outcome") == outcome) & (pl.col("dimension") == dimension) & pl.col("group").is_in(groups)
    )
    has = pl.col("risk_ratio").is_not_null() & (pl.col("ratio_method") != "none")
    district = own.select(
        pl.lit("district").alias("series"),
        pl.col("school_year").cast(pl.String),
        pl.col("group").cast(pl.String),
        pl.when(has).then(pl.col("risk_ratio")).alias("risk_ratio"),
        pl.when(has).then(pl.col("rr_ci_low")).alias("rr_ci_low"),
        pl.when(has).then(pl.col("rr_ci_high")).alias("rr_ci_high"),
        pl.when(has).then(pl.col("flagged")).alias("flagged"),
        pl.when(pl.col("withheld").is_not_null())
        .then(pl.col("withheld"))
        .when(~has)
        .then(pl.lit("no ratio (too few students or with the outcome)"))
        .alias("withheld"),
    )
    reference = state.filter(
        (pl.col("outcome") == outcome) & (pl.col("dimension") == dimension) & pl.col("group").is_in(groups)
    ).select(
        pl.lit("state").alias("series"),
        "school_year",
        "group",
        "risk_ratio",
        "rr_ci_low",
        "rr_ci_high",
        "flagged",
        pl.lit(None, pl.String).alias("withheld"),
    )
    out = pl.concat([district, reference], how="vertical_relaxed")
    return out.sort("group", "series", "school_year")
