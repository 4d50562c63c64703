"""Issue 16's chart faults: the Equity forest plot's log axis, hidden bars, n on every share, per-school rates with
intervals, readable ticks, and every chart's accessible name and text alternative (unit tests on the figure
JSON, and AppTest on the small demo warehouse)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import plotly.graph_objects as go
import pytest

from ui.charts import (
    HIDDEN_LABEL,
    HIDDEN_NAME,
    TICK_FONT,
    chart_title,
    describe_figure,
    fit_title,
    forest_figure,
    log_ticks,
    mark_hidden,
)

DARK = re.compile(r"#[0-3][0-9a-fA-F][0-3][0-9a-fA-F][0-4][0-9a-fA-F]")


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def specs(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# -- the forest plot -------------------------------------------------------------------------------------------


def _forest(ratios, lows, highs, flagged, title="Risk ratio: out-of-school suspension, enrolled students"):
    return forest_figure(
        [f"Group {i}" for i in range(len(ratios))],
        ratios,
        lows,
        highs,
        flagged,
        threshold=3.0,
        title=title,
        x_title="Risk ratio (log scale, 95% CI)",
        y_title="Group",
    )


def test_the_forest_axis_is_fitted_to_the_intervals_not_to_100():
    fig = _forest([0.8, 1.4, 3.6], [0.5, 1.1, 2.4], [1.3, 1.9, 5.2], [False, False, True])
    lo, hi = fig.layout.xaxis.range
    assert fig.layout.xaxis.type == "log"
    assert 10**lo < 0.5 and 10**hi > 5.2  # every interval in view
    assert 10**hi < 20  # not the decades to 100 plotly's autorange gave
    assert 10**lo > 0.1


def test_the_forest_ticks_are_whole_values_not_minor_digits():
    fig = _forest([0.8, 1.4, 3.6], [0.5, 1.1, 2.4], [1.3, 1.9, 5.2], [False, False, True])
    ticks = list(fig.layout.xaxis.tickvals)
    assert ticks == [0.5, 1, 2, 3, 5]
    assert list(fig.layout.xaxis.ticktext) == ["0.5", "1", "2", "3", "5"]
    assert log_ticks(0.04, 120) == [0.05, 0.1, 0.2, 0.3, 0.5, 1, 2, 3, 5, 10, 20, 30, 50, 100]


def test_the_threshold_is_in_view_and_named_at_the_top_of_its_line():
    fig = _forest([1.1, 1.2], [0.9, 1.0], [1.4, 1.5], [False, False])  # every ratio far below the threshold
    lo, hi = fig.layout.xaxis.range
    assert 10**lo < 1 < 3 < 10**hi
    (label,) = [a for a in fig.layout.annotations if a.text.startswith("threshold")]
    assert label.text == "threshold 3"
    assert math.isclose(label.x, math.log10(3)) and label.xref == "x"  # at its line, not at the far right
    assert label.yref == "paper" and label.y == 1 and label.yanchor == "bottom"


def test_flagged_labels_and_long_titles_are_not_clipped():
    title = (
        "Risk ratio: students with an out-of-school suspension, enrolled students by race and ethnicity, "
        "against all other students, all schools · 2024-25"
    )
    fig = _forest([0.9, 6.2], [0.6, 4.1], [1.3, 9.4], [False, True], title=title)
    scatter = fig.data[0]
    assert scatter.cliponaxis is False and "6.20 ▲ flagged" in scatter.text
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) >= 2 and max(len(line) for line in lines) <= 75
    assert fig.layout.margin.t >= 22 * len(lines) + 28
    assert chart_title(fig) == title  # the accessible name is the whole title, without the breaks


# -- hidden bars, words for a chart, ticks ---------------------------------------------------------------------


def test_a_hidden_bar_is_a_gap_marked_hidden_never_a_bar_of_zero():
    fig = go.Figure(go.Bar(x=["A", "B", "C"], y=[4, None, 7], text=["4", "*", "7"]))
    assert mark_hidden(fig, ["A", "B", "C"], [4, None, 7]) == 1
    bar, mark = fig.data
    assert bar.y[1] is None  # nothing drawn for B
    assert list(mark.x) == ["B"] and list(mark.text) == [HIDDEN_LABEL] and mark.name == HIDDEN_NAME
    assert mark_hidden(fig, ["A"], [4]) == 0 and len(fig.data) == 2
    words = describe_figure(fig)
    assert "2 values, highest C (7), lowest A (4), 1 hidden" in words and HIDDEN_NAME not in words


def test_describe_figure_uses_the_printed_values_and_names_each_series():
    fig = go.Figure()
    fig.add_bar(name="2023-24", x=["Low", "High"], y=[12, 30], text=["12", "30"])
    fig.add_bar(name="2024-25", x=["Low", "High"], y=[None, None], text=["<10", "*"])
    words = describe_figure(fig)
    assert words.startswith("2023-24: 2 values, highest High (30), lowest Low (12)")
    assert "2024-25: no value can be shown (2 hidden)" in words
    assert "<10" not in words  # a hidden value is counted, never described


def test_fit_title_leaves_room_for_the_legend():
    fig = go.Figure()
    fig.add_bar(name="a", x=[1], y=[1])
    fig.add_bar(name="b", x=[1], y=[2])
    fig.update_layout(title={"text": "Short title"})
    fit_title(fig)
    assert fig.layout.margin.t == 28 + 22 + 30


PAGES = {
    "overview": {},
    "case_volumes": {},
    "concern_levels": {},
    "equity": {},
    "discipline_outcomes": {},
    "time_to_intervention": {},
    "process_audit": {},
}


@pytest.mark.parametrize("page", list(PAGES))
def test_every_chart_has_a_name_a_text_alternative_and_legible_ticks(start, page):
    at = start(page, demo_role="district")
    assert not at.exception, page
    charts = at.get("plotly_chart")
    assert charts, page
    words = [str(c.value) for c in at.caption if str(c.value).startswith("In words: ")]
    assert len(words) == len(charts), f"{page}: each chart has its sentence beside it"
    for chart, said in zip(charts, words):
        spec = json.loads(chart.proto.spec)
        title = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", spec["layout"]["title"]["text"])).strip()
        assert chart.proto.alt.startswith(title[:300]), page  # the accessible name: the chart's title
        assert said[len("In words: ") :] in chart.proto.alt or len(chart.proto.alt) == 400
        for axis in ("xaxis", "yaxis"):
            font = spec["layout"][axis]["tickfont"]
            assert font["size"] >= 12 and DARK.fullmatch(font["color"]), (page, axis, font)
        assert TICK_FONT["size"] >= 12


def test_the_equity_forest_plot_on_the_page_has_a_fitted_log_axis(start):
    at = start("equity", demo_role="district")
    spec = next(s for s in specs(at) if s["layout"]["xaxis"].get("type") == "log")
    xs = spec["data"][0]["x"]
    err = spec["data"][0]["error_x"]
    highs = [x + e for x, e in zip(xs, err["array"])]
    lo, hi = spec["layout"]["xaxis"]["range"]
    assert 10**hi >= max(highs) and 10**hi <= 4 * max(max(highs), 3.0)
    for tick in spec["layout"]["xaxis"]["tickvals"]:
        assert round(tick / 10 ** math.floor(math.log10(tick)), 6) in (1, 2, 3, 5), tick
    assert 10**lo <= 1 <= 3 <= 10**hi


# -- the pages: hidden bars, n on shares, intervals ------------------------------------------------------------


def _bars(spec: dict):
    for trace in spec["data"]:
        if trace.get("type") == "bar":
            horizontal = trace.get("orientation") == "h"
            yield trace, trace.get("y" if horizontal else "x", []), trace.get("x" if horizontal else "y", [])


@pytest.mark.parametrize("page", ["overview", "case_volumes", "concern_levels", "time_to_intervention"])
def test_a_hidden_bar_is_never_drawn_at_zero_for_the_board(start, page):
    at = start(page, demo_role="board")
    assert not at.exception, page
    for spec in specs(at):
        marked = {
            str(c)
            for t in spec["data"]
            if t.get("name") == HIDDEN_NAME
            for c in (t["y"] if t["textposition"] == "middle right" else t["x"])
        }
        for trace, categories, values in _bars(spec):
            for category, value, text in zip(categories, values, trace.get("text") or [None] * len(values)):
                if text is not None and (text == "*" or str(text).startswith("<")):
                    assert value is None, (page, category, text)  # a hidden value is no bar, never a 0
            stacked = spec["layout"].get("barmode") == "stack"
            if not stacked:
                for category, value in zip(categories, values):
                    if value is None:
                        assert str(category) in marked, (page, category)  # ... and marked hidden at the axis


@pytest.mark.parametrize("role", ["district", "board"])
def test_every_100_percent_bar_says_its_n(start, role):
    at = start("concern_levels", demo_role=role)
    assert not at.exception
    stacked = [s for s in specs(at) if s["layout"].get("barmode") == "stack"]
    assert stacked
    for spec in stacked:
        for _trace, categories, _ in _bars(spec):
            for category in categories:
                assert re.search(r"\(n = ([\d,]+|<\d+|\*)[;)]", category), category
    if role == "district":  # the n is the group's assessed cases: the levels' counts add up to it
        spec = stacked[0]
        counts = [int(t["customdata"][0]) for t, _, _ in _bars(spec)]
        n = int(re.search(r"n = ([\d,]+)", next(_bars(spec))[1][0]).group(1).replace(",", ""))
        assert n == sum(counts)


def test_per_school_rates_carry_their_95_percent_interval(start):
    from metrics.rates import poisson_rate_ci

    at = start("case_volumes", demo_role="district")
    assert not at.exception
    spec = next(s for s in specs(at) if "by school" in s["layout"]["title"]["text"])
    bar = spec["data"][0]
    assert bar["error_x"]["array"] and len(bar["error_x"]["array"]) == len(bar["x"])
    table = next(d.value for d in at.dataframe if "95% interval, low" in d.value.columns)
    for row in table.to_dict("records"):
        expected = poisson_rate_ci(int(row["Cases"]), int(row["Students enrolled"]))
        assert row["95% interval, low"] == pytest.approx(expected[0], abs=0.051)
        assert row["95% interval, high"] == pytest.approx(expected[1], abs=0.051)
        assert row["95% interval, low"] <= row["Cases per 1,000"] <= row["95% interval, high"]


def test_the_board_never_sees_an_empty_discipline_chart(start):
    for outcome in ("case_exclusionary", "case_law_enforcement", "case_placement_change"):
        at = start("discipline_outcomes", demo_role="board", discipline_outcome=outcome)
        assert not at.exception
        shares = [s for s in specs(at) if "Share of assessed BTAM cases" in s["layout"]["title"]["text"]]
        if shares:
            assert any(y is not None for t in shares[0]["data"] for y in t.get("y", [])), outcome
        else:
            assert any("No share can be drawn here" in str(i.value) for i in at.info), outcome


def test_every_share_of_the_timeliness_chart_says_its_n(start):
    at = start("time_to_intervention", demo_role="district")
    assert not at.exception
    spec = next(s for s in specs(at) if "within the target" in s["layout"]["title"]["text"])
    table = next(d.value for d in at.dataframe if "Cases (n)" in d.value.columns)
    bar = next(t for t in spec["data"] if t["type"] == "bar")
    for label, row in zip(bar["x"], table.to_dict("records")):
        n = int(row["Met"]) + int(row["Missed"])
        assert label.endswith(f"<br>n = {n:,}") and row["Cases (n)"] == f"{n:,}"


def test_chart_with_table_keeps_every_footnote():
    from streamlit.testing.v1 import AppTest

    def script():
        import plotly.graph_objects as go
        import polars as pl

        from access.suppression import FOOTNOTES, SuppressionSettings
        from ui.charts import chart_with_table

        notes = [SuppressionSettings().footnote(r) for r in FOOTNOTES] + ["A note of the page's own."]
        fig = go.Figure(go.Bar(x=["a"], y=[1]))
        fig.update_layout(title={"text": "A chart"})
        chart_with_table(None, fig, pl.DataFrame({"a": [1]}), stem="x", how="h", footnotes=notes + notes[:2])

    at = AppTest.from_function(script, default_timeout=120).run()
    assert not at.exception
    shown = [str(c.value) for c in at.caption]
    from access.suppression import FOOTNOTES, SuppressionSettings

    for reason in FOOTNOTES:  # all eight, the fifth included, each once
        assert sum(SuppressionSettings().footnote(reason) in line for line in shown) == 1, reason
    assert "A note of the page's own." in shown


@pytest.mark.parametrize("role", ["district", "board"])
def test_the_discipline_share_axis_never_runs_past_100_percent(start, role):
    at = start("discipline_outcomes", demo_role=role)
    assert not at.exception
    for spec in specs(at):
        if "Share of assessed BTAM cases" in spec["layout"]["title"]["text"]:
            low, high = spec["layout"]["yaxis"]["range"]
            drawn = [y for t in spec["data"] for y in t.get("y", []) if y is not None]
            assert low == 0 and max(drawn) <= high <= 1.05
