"""Charts that carry their numbers: one colour-blind-safe palette, the table
behind every chart with a safe CSV download, footnotes for suppressed cells,
and a "how this is computed" expander quoting the methodology."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access import audit_log
from access.roles import may_download_rows
from access.safe_export import safe_filename, to_csv_bytes
from access.suppression import BOTTOM_CODED, FOOTNOTES, NO_STUDENTS, SMALL, TOP_CODED, SuppressedTable
from data_contracts import number_format as nf
from figures.chart_style import OKABE_ITO, ORDERED, PALETTE, SYMBOLS, style  # noqa: F401  (pages import them from here)
from ui.context import PageContext
from ui.text import MISSING

DOCS = Path(__file__).resolve().parent.parent / "docs"
# Tick labels at the body text's size and colour (Streamlit's chart theme draws them small and light grey):
# #31333F on white is a contrast of 12.6:1, well above WCAG's 4.5:1 for text.
TICK_FONT = {"size": 13, "color": "#31333F"}
HIDDEN_LABEL = "hidden"
HIDDEN_NAME = "hidden for this role (see the note)"


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
    summary: str | None = None,
) -> None:
    """A chart, then its numbers as a table with a CSV download, footnotes and the method.

    `table` holds the printed values (suppressed cells as '<10' or '*'), the same the download carries. The
    chart's accessible name is its title; its text alternative is `summary` (by default a sentence built from
    the values the chart draws, which are the released ones) beside it, and the table.
    """
    key = key or stem
    fit_title(legible(fig))
    title = chart_title(fig)
    words = summary or describe_figure(fig)
    st.plotly_chart(fig, key=f"chart_{key}", config={"displaylogo": False}, alt=f"{title}. {words}"[:400])
    st.caption(f"In words: {words}")
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


def legible(fig: go.Figure) -> go.Figure:
    """Tick labels and axis titles at a readable size and contrast on every axis of the figure."""
    fig.update_xaxes(tickfont=TICK_FONT, title_font={"size": 14, "color": TICK_FONT["color"]})
    fig.update_yaxes(tickfont=TICK_FONT, title_font={"size": 14, "color": TICK_FONT["color"]})
    return fig


def chart_title(fig: go.Figure) -> str:
    """The figure's title as plain text (line breaks and tags removed): the chart's accessible name."""
    text = fig.layout.title.text or "Chart"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", text)).strip()


def _shown(trace, i: int, value: object) -> str:
    texts = trace.text if isinstance(trace.text, (list, tuple)) else None
    if texts is not None and i < len(texts) and texts[i] not in (None, ""):
        return str(texts[i])
    if isinstance(value, float):
        return nf.fmt_setting(value, digits=3)
    return str(value)


def describe_figure(fig: go.Figure, *, most: int = 4) -> str:
    """One or two sentences a screen reader can read instead of the chart: for each series, how many values it
    draws and where it is highest and lowest, as the chart prints them; hidden values counted, never guessed."""
    parts = []
    for trace in fig.data:
        if trace.type not in ("bar", "scatter") or trace.name == HIDDEN_NAME:
            continue
        horizontal = getattr(trace, "orientation", None) == "h"
        values = list((trace.x if horizontal else trace.y) or ())
        labels = [re.sub(r"<[^>]+>", " ", str(lab)) for lab in ((trace.y if horizontal else trace.x) or ())]
        if not values or len(labels) != len(values):
            continue
        drawn = [(v, lab, i) for i, (v, lab) in enumerate(zip(values, labels)) if isinstance(v, (int, float))]
        drawn = [d for d in drawn if not (isinstance(d[0], float) and math.isnan(d[0]))]
        hidden = len(values) - len(drawn)
        name = f"{trace.name}: " if trace.name else ""
        if not drawn:
            parts.append(f"{name}no value can be shown ({len(values)} hidden)")
            continue
        high, low = max(drawn, key=lambda d: d[0]), min(drawn, key=lambda d: d[0])
        text = f"{name}{len(drawn)} values, highest {high[1]} ({_shown(trace, high[2], high[0])})"
        if len(drawn) > 1:
            text += f", lowest {low[1]} ({_shown(trace, low[2], low[0])})"
        if hidden:
            text += f", {hidden} hidden"
        parts.append(text)
    if not parts:
        return "The numbers are in the table below."
    more = f"; and {len(parts) - most} more series" if len(parts) > most else ""
    return "; ".join(parts[:most]) + more + ". Every value is in the table below."


def mark_hidden(
    fig: go.Figure,
    categories: Sequence[object],
    values: Sequence[float | None],
    *,
    horizontal: bool = False,
    offsetgroup: str | None = None,
) -> int:
    """Mark each hidden bar (value None) with the word 'hidden' at the axis, so a hidden value reads as hidden,
    never as a bar of height 0. Returns how many were marked; the bars themselves are drawn from the same values,
    None left as a gap."""
    gaps = [c for c, v in zip(categories, values) if v is None]
    if not gaps:
        return 0
    zeros = [0] * len(gaps)
    fig.add_scatter(
        x=zeros if horizontal else list(gaps),
        y=list(gaps) if horizontal else zeros,
        mode="markers+text",
        text=[HIDDEN_LABEL] * len(gaps),
        textposition="middle right" if horizontal else "top center",
        textfont={"color": "#31333F", "size": 12},
        marker={"symbol": "line-ns-open" if horizontal else "line-ew-open", "size": 14, "color": "#31333F"},
        name=HIDDEN_NAME,
        legendgroup=HIDDEN_NAME,
        showlegend=not any(t.name == HIDDEN_NAME for t in fig.data),
        offsetgroup=offsetgroup,
        hoverinfo="skip",
        cliponaxis=False,
    )
    if offsetgroup is not None:
        fig.update_layout(scattermode="group")
    return len(gaps)


_NICE = (1, 2, 3, 5)


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values for a log axis from `low` to `high`: 1, 2, 3, 5 times powers of ten (0.5, 1, 2, 3, 5, 10 ...),
    so every tick is labelled with its whole value, never plotly's minor '2 3 4 ... 9' digits."""
    ticks = []
    for power in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
        for step in _NICE:
            value = round(step * 10.0**power, 10)
            if low <= value <= high:
                ticks.append(value)
    return ticks


def _tick_text(value: float) -> str:
    return f"{nf.fmt_setting(value)}"


def forest_figure(
    groups: Sequence[str],
    ratios: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    flagged: Sequence[bool],
    *,
    threshold: float,
    title: str,
    x_title: str,
    y_title: str,
) -> go.Figure:
    """Risk ratios with their 95% intervals on a log axis fitted to the data (with 1 and the threshold always in
    view), ticks labelled 0.5, 1, 2, 3, 5 ..., the threshold named at the top of its line, and room for every
    label: nothing is clipped."""
    data_low = min([*lows, *ratios, 1.0, threshold])
    data_high = max([*highs, *ratios, 1.0, threshold])
    # A quarter of the span's decades (at least 0.15 of a decade) of padding on each side; more on the right,
    # where the 'flagged' labels of the largest ratios are written.
    span = math.log10(data_high) - math.log10(data_low)
    pad = max(0.15, 0.12 * span)
    lo, hi = math.log10(data_low) - pad, math.log10(data_high) + 1.6 * pad
    flag = list(flagged)
    fig = go.Figure()
    fig.add_scatter(
        x=list(ratios),
        y=list(groups),
        mode="markers+text",
        marker_symbol=["diamond" if f else "circle" for f in flag],
        marker_size=[14 if f else 9 for f in flag],
        marker_color=[OKABE_ITO["vermillion"] if f else OKABE_ITO["blue"] for f in flag],
        text=[nf.fmt_ratio(v) + (" ▲ flagged" if f else "") for v, f in zip(ratios, flag)],
        textposition="top center",
        cliponaxis=False,
        error_x={
            "type": "data",
            "symmetric": False,
            "array": [h - r for h, r in zip(highs, ratios)],
            "arrayminus": [r - low for r, low in zip(ratios, lows)],
        },
        name="Risk ratio (95% CI)",
        showlegend=False,
        hovertemplate="%{y}: %{x:.2f}<extra></extra>",
    )
    fig.add_vline(x=1, line_color=OKABE_ITO["black"], line_width=1)
    fig.add_vline(x=threshold, line_dash="dash", line_color=OKABE_ITO["vermillion"])
    fig.add_annotation(
        x=math.log10(threshold),
        y=1,
        xref="x",
        yref="paper",
        yanchor="bottom",
        xanchor="left",
        text=f"threshold {nf.fmt_setting(threshold)}",
        showarrow=False,
        font={"color": OKABE_ITO["vermillion"], "size": 13},
    )
    ticks = log_ticks(10**lo, 10**hi)
    fig.update_xaxes(type="log", range=[lo, hi], tickvals=ticks, ticktext=[_tick_text(t) for t in ticks])
    style(fig, title=title, x_title=x_title, y_title=y_title, height=max(340, 120 + 38 * len(groups)))
    fig.update_layout(margin={"r": 30})
    fig.update_yaxes(automargin=True)
    return fit_title(fig)


def fit_title(fig: go.Figure, width: int = 70) -> go.Figure:
    """Break a long title into lines and make the top margin tall enough for them and the legend above the
    plot, so neither the title nor the threshold's label is cut off."""
    text = fig.layout.title.text
    if not text:
        return fig
    wrapped = text if "<br>" in text else wrap_title(text, width)
    lines = wrapped.count("<br>") + 1
    legend = sum(1 for t in fig.data if t.showlegend is not False) > 1
    fig.update_layout(
        title={"text": wrapped, "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 12}},
        margin={"t": 28 + 22 * lines + (30 if legend else 12)},
    )
    return fig


def wrap_title(title: str, width: int = 70) -> str:
    """A long title broken into lines of at most about `width` characters: plotly neither wraps nor shrinks a
    title, so an unbroken one is cut off at the chart's edge."""
    lines, line = [], ""
    for word in title.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)
