"""Charts that carry their numbers: one colour-blind-safe palette, the table
behind every chart with a safe CSV download, footnotes for suppressed cells,
and a "how this is computed" expander quoting the methodology."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access import audit_log
from access.roles import may_download_rows
from access.safe_export import safe_filename, to_csv_bytes
from access.suppression import BOTTOM_CODED, FOOTNOTES, NO_STUDENTS, SMALL, TOP_CODED, SuppressedTable
from figures.chart_style import OKABE_ITO, ORDERED, PALETTE, SYMBOLS, style  # noqa: F401  (pages import them from here)
from ui.context import PageContext
from ui.text import MISSING

DOCS = Path(__file__).resolve().parent.parent / "docs"


def display_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """A frame fit for the screen: nulls and NaN shown as a dash, never 'None' or 'nan'."""
    cols = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype.is_float():
            col = pl.when(col.is_nan()).then(None).otherwise(col)
        cols.append(col.alias(name))
    frame = frame.select(cols)
    return frame.with_columns(
        [pl.col(n).cast(pl.String).fill_null(MISSING) for n in frame.columns if frame[n].null_count()]
    )


def from_suppressed(table: SuppressedTable) -> tuple[pl.DataFrame, list[str]]:
    """A suppressed table's printed values and the footnotes for the reasons it uses."""
    used = {
        r
        for col in table.reason.columns
        if col not in table.dimensions
        for r in table.reason[col].drop_nulls().unique().to_list()
    }
    notes = [text for reason, text in table.footnotes.items() if reason in used]
    return table.display, notes


def _footnote_pattern(template: str) -> re.Pattern:
    return re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>\\d+)", re.escape(template)) + "$")


_FOOTNOTE_PATTERNS = {reason: _footnote_pattern(text) for reason, text in FOOTNOTES.items()}


def footnote_mark(note: str) -> str | None:
    """The symbol a suppression footnote explains, as the table's cells print it ('*', '<10', 'n/a'), or None
    for a note that explains no symbol."""
    for reason, pattern in _FOOTNOTE_PATTERNS.items():
        match = pattern.match(note)
        if not match:
            continue
        if reason == SMALL:
            return f"<{match['count_threshold']}"
        return {NO_STUDENTS: "n/a", BOTTOM_CODED: "<=", TOP_CODED: ">="}.get(reason, "*")
    return None


def footnote_line(note: str) -> str:
    """A footnote as Markdown with its symbol beside it as literal text: a bare '* note' would render as a
    bullet and the symbol would vanish."""
    mark = footnote_mark(note)
    return f"`{mark}` {note}" if mark else note


def _log_download(ctx: PageContext, stem: str, row_count: int) -> None:
    audit_log.append(
        "download",
        user=ctx.user,
        role=ctx.viewer.role,
        scope=ctx.viewer.cache_key(),
        detail={"file": stem, "row_count": row_count, "filters": ctx.filters.describe()[:200]},
    )


def download_csv(
    ctx: PageContext, frame: pl.DataFrame, stem: str, *, key: str, row_level: bool = False, label: str = "Download CSV"
) -> None:
    """A CSV download of exactly what is shown, neutralised against formula injection and audited.

    Row-level frames are offered only to viewers who may download rows.
    """
    if row_level and not may_download_rows(ctx.viewer):
        st.caption("Row-level downloads are not available to this role.")
        return
    st.download_button(
        label,
        data=to_csv_bytes(frame),
        file_name=safe_filename(stem, "csv"),
        mime="text/csv",
        key=key,
        icon=":material/download:",
        on_click=_log_download,
        args=(ctx, stem, frame.height),
    )


@lru_cache(maxsize=32)
def _doc_section(doc: str, heading: str) -> str | None:
    path = DOCS / doc
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^(#+) +{re.escape(heading)}.*$", text, flags=re.MULTILINE)
    if not match:
        return None
    level = len(match.group(1))
    rest = text[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.MULTILINE)
    return rest[: end.start() if end else len(rest)].strip()


def how_computed(summary: str, *, section: str | None = None, doc: str = "METHODOLOGY.md") -> None:
    """The 'how this is computed' expander: a plain summary, then the methodology section it comes from."""
    with st.expander("How this is computed", icon=":material/functions:"):
        st.markdown(summary)
        body = _doc_section(doc, section) if section else None
        if section and body:
            st.caption(f"From `docs/{doc}`, section “{section}”:")
            st.markdown(body)
        else:
            st.caption(f"The full method is written down in `docs/{doc}`.")


def chart_with_table(
    ctx: PageContext,
    fig: go.Figure,
    table: pl.DataFrame,
    *,
    stem: str,
    how: str,
    section: str | None = None,
    doc: str = "METHODOLOGY.md",
    footnotes: Iterable[str] = (),
    key: str | None = None,
) -> None:
    """A chart, then its numbers as a table with a CSV download, footnotes and the method.

    `table` holds the printed values (suppressed cells as '<10' or '*'), the same the download carries.
    """
    key = key or stem
    st.plotly_chart(fig, key=f"chart_{key}", config={"displaylogo": False})
    notes = list(dict.fromkeys(footnotes))
    for note in notes:
        st.caption(footnote_line(note))
    with st.expander("The numbers behind this chart", icon=":material/table:"):
        st.dataframe(display_frame(table), hide_index=True, width="stretch")
        download_csv(ctx, table, stem, key=f"download_{key}")
    how_computed(how, section=section, doc=doc)


def table_with_download(
    ctx: PageContext,
    table: pl.DataFrame,
    *,
    stem: str,
    row_level: bool = False,
    key: str | None = None,
    column_config: dict | None = None,
) -> None:
    """A table on its own, with the same safe download."""
    st.dataframe(display_frame(table), hide_index=True, width="stretch", column_config=column_config)
    download_csv(ctx, table, stem, key=f"download_{key or stem}", row_level=row_level)
