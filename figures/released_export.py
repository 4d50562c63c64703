"""The metric exports for a suppressed audience (`pipelines export --audience board --year Y`): one school
year of the whole district exactly as the board's pages and the board report show it, because every number
is read from that year's one release (figures/stored.py `release_for`), never from an exact frame.

Two files (docs/INTERCHANGE.md, "Exports for a suppressed audience"):
- `published_figures.csv`: every cell of the release, a row per table x group x measure, with the text a page
  prints (`1,234`, `<10`, `*`, `11.7%`), the number (blank when hidden or coded) and why it is withheld.
- `disproportionality.csv`: the spec's columns and order; a count the release hides is blank, and so is every
  statistic computed from it (the spec's "blank = undefined"), with `ratio_method` `none` and `flagged` false.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from access import metric_tables as mt
from access.suppression import FOOTNOTES, SuppressedRelease, SuppressedTable
from figures.derived import TOTAL, _group_key, released_count, released_disparities
from figures.release import population_measure
from figures.stored import release_for
from metrics.config import DEFAULT_SETTINGS, MetricSettings
from metrics.disproportionality import EXPORT_COLUMNS

AUDIENCES = ("board",)
FIGURES_FILE = "published_figures.csv"
DISPARITY_FILE = "disproportionality.csv"
SUPPRESSED_FILES = (FIGURES_FILE, DISPARITY_FILE)
FIGURE_COLUMNS = (
    "school_year",
    "figure",
    "dimension_1",
    "group_1",
    "dimension_2",
    "group_2",
    "measure",
    "shown",
    "value",
    "withheld",
    "note",
)
DISPARITY_COLUMNS = EXPORT_COLUMNS[: EXPORT_COLUMNS.index("flagged") + 1]
COUNT_COLUMNS = ("n", "k", "comparison_n", "comparison_k")


def _number(value: int | float | None, is_count: bool) -> str:
    """A count as digits, a share unrounded (shortest round-trip form), blank when withheld."""
    if value is None:
        return ""
    return str(int(value)) if is_count else repr(float(value))


def _note(reason: str | None, release: SuppressedRelease) -> str:
    return release.settings.footnote(reason) if reason in FOOTNOTES else ""


def table_cells(name: str, table: SuppressedTable, year: str, release: SuppressedRelease) -> list[dict[str, str]]:
    """One row per group x measure of a published table (rates too), as FIGURE_COLUMNS."""
    dims = list(table.dimensions)
    measures = [c for c in table.display.columns if c not in dims]
    rows = []
    for i in range(table.display.height):
        groups = [(d, str(table.display[d][i])) for d in dims] + [("", "")] * (2 - len(dims))
        for measure in measures:
            reason = table.reason[measure][i]
            rows.append(
                {
                    "school_year": year,
                    "figure": name,
                    "dimension_1": groups[0][0],
                    "group_1": groups[0][1],
                    "dimension_2": groups[1][0],
                    "group_2": groups[1][1],
                    "measure": measure,
                    "shown": str(table.display[measure][i]),
                    "value": _number(table.published[measure][i], not measure.endswith("_rate")),
                    "withheld": reason or "",
                    "note": _note(reason, release),
                }
            )
    return rows


def published_figures(release: SuppressedRelease, year: str) -> pl.DataFrame:
    """Every cell of the release of `year`, in the release's table order."""
    rows = [row for name, t in release.tables.items() for row in table_cells(name, t, year, release)]
    frame = pl.DataFrame(rows, schema={c: pl.String for c in FIGURE_COLUMNS}, orient="row")
    return frame.with_columns(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in FIGURE_COLUMNS)


def released_disproportionality(disp: pl.DataFrame, release: SuppressedRelease) -> pl.DataFrame:
    """The district's disproportionality rows of one year with the release's counts (blank when hidden) and
    their statistics only where every count they are computed from is published (figures.derived)."""
    parts = []
    for (outcome, dimension), part in disp.partition_by(
        ["outcome", "dimension"], as_dict=True, maintain_order=True
    ).items():
        outcome, dimension = str(outcome), str(dimension)
        table = release.tables.get(f"disp_{outcome}_{dimension}")
        den = population_measure(outcome)
        shown = released_disparities(part, table, outcome, den, dimension)
        total = {dimension: TOTAL} if dimension != "race_x_disability" else {}
        all_n, all_k = (released_count(table, total, m) for m in (den, outcome))
        counts: dict[str, list[int | None]] = {c: [] for c in COUNT_COLUMNS}
        for group in shown["group"].to_list():
            key = _group_key(dimension, str(group))
            n, k = (released_count(table, key, m) for m in (den, outcome))
            counts["n"].append(n)
            counts["k"].append(k)
            counts["comparison_n"].append(None if n is None or all_n is None else all_n - n)
            counts["comparison_k"].append(None if k is None or all_k is None else all_k - k)
        shown = shown.with_columns(pl.Series(c, v, dtype=pl.Int64) for c, v in counts.items())
        parts.append(shown.with_columns(pl.col("flagged").fill_null(False)).select(DISPARITY_COLUMNS))
    return pl.concat(parts, how="vertical_relaxed") if parts else disp.select(DISPARITY_COLUMNS).clear()


def suppressed_exports(
    con: duckdb.DuckDBPyConnection,
    year: str,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> dict[str, pl.DataFrame]:
    """file name -> frame of every export for a suppressed audience, for the whole district in `year`."""
    release = release_for(con, year, None, as_of, settings)
    disp = mt.disproportionality(con, [year], None, include_district=True, include_schools=False, settings=settings)
    return {
        FIGURES_FILE: published_figures(release, year),
        DISPARITY_FILE: released_disproportionality(disp.filter(pl.col("scope") == "district"), release),
    }


def write_suppressed_exports(
    con: duckdb.DuckDBPyConnection,
    out: Path,
    year: str,
    as_of: date | None = None,
    settings: MetricSettings = DEFAULT_SETTINGS,
) -> dict[str, int]:
    """Write the suppressed audience's files into `out` (each atomically); returns rows written per file."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, frame in suppressed_exports(con, year, as_of, settings).items():
        tmp = out / f".{name}.tmp"
        frame.write_csv(tmp, null_value="", include_header=True)
        tmp.replace(out / name)
        written[name] = frame.height
    return written
