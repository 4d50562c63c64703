"""Issue 16's page faults: delta arrows and colours, footnote symbols, the audit's 'too few cases' mark, and the
wording of numbers on the pages (AppTest on the small demo warehouse, and the formatters on their own)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from streamlit.proto.Metric_pb2 import Metric as MetricProto
from streamlit.testing.v1 import AppTest

from access import metric_tables as mt
from access.suppression import FOOTNOTES, GROUP, HIDDEN_RATE, SMALL, SuppressionSettings
from metrics.audit import INDICATORS_BY_KEY, indicator_label
from metrics.config import MetricSettings
from ui.charts import footnote_line, footnote_mark
from ui.text import first_lower, first_upper, fmt_p, metric_delta, of_count, within_days

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DOWN, UP, NONE = (MetricProto.MetricDirection.DOWN, MetricProto.MetricDirection.UP, MetricProto.MetricDirection.NONE)
GREEN, RED, GRAY = MetricProto.MetricColor.GREEN, MetricProto.MetricColor.RED, MetricProto.MetricColor.GRAY


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def shown_text(at: AppTest) -> str:
    """The page's own words, without the methodology quoted in its expanders (that names settings on purpose)."""
    quoted = {id(e.proto) for x in at.expander for e in x.markdown} | {
        id(e.proto) for x in at.expander for e in x.caption
    }
    return "\n".join(
        str(e.value)
        for kind in ("markdown", "caption", "info", "success")
        for e in getattr(at, kind)
        if id(e.proto) not in quoted
    )


# -- metric deltas ---------------------------------------------------------------------------------------------


def _metric_app(now: float, prev: float, lower_is_better: bool | None) -> MetricProto:
    def script(now, prev, lower_is_better):
        import streamlit as st

        from ui.text import fmt_int, metric_delta

        st.metric("x", fmt_int(now), **metric_delta(now, prev, fmt_int, "2023-24", lower_is_better=lower_is_better))

    at = AppTest.from_function(script, args=(now, prev, lower_is_better)).run()
    assert not at.exception
    return at.metric[0].proto


@pytest.mark.parametrize(
    "now, prev, better, direction, colour, text",
    [
        (330, 332, None, DOWN, GRAY, "-2 from 2023-24"),  # a fall draws a down arrow (the Unicode minus drew up)
        (12, 20, True, DOWN, GREEN, "-8 from 2023-24"),  # a shorter wait is a green fall, not a red rise
        (20, 12, True, UP, RED, "+8 from 2023-24"),
        (20, 12, False, UP, GREEN, "+8 from 2023-24"),
        (7, 7, True, NONE, GRAY, "no change from 2023-24"),  # no change: no arrow, no colour
    ],
)
def test_a_metric_delta_points_the_way_the_number_moved(now, prev, better, direction, colour, text):
    proto = _metric_app(now, prev, better)
    assert (proto.direction, proto.color, proto.delta) == (direction, colour, text)


def test_metric_delta_without_a_prior_value_shows_none():
    assert metric_delta(None, 3, str, "2023-24") == {"delta": None}
    assert metric_delta(0.25, 0.20, lambda v: f"{100 * v:.1f} points", "x")["delta"] == "+5.0 points from x"


def test_overview_decreases_point_down_and_use_no_unicode_minus(start):
    at = start("overview", demo_role="district")
    assert not at.exception
    with_delta = [m for m in at.metric if m.proto.delta]
    assert with_delta, "the demo has a prior year: the Overview should show changes"
    for m in at.metric:
        delta = m.proto.delta
        assert "−" not in delta, m.label
        if delta.startswith("-"):
            assert m.proto.direction == DOWN, m.label
        elif delta.startswith("+"):
            assert m.proto.direction == UP, m.label
        elif delta:
            assert delta.startswith("no change") and m.proto.direction == NONE, m.label
    median = next(m for m in at.metric if m.label.startswith(("Median days", "Days until half")))
    if median.proto.delta.startswith("-"):
        assert median.proto.color == GREEN  # a shorter wait reads as an improvement
    elif median.proto.delta.startswith("+"):
        assert median.proto.color == RED


# -- footnotes -------------------------------------------------------------------------------------------------


def test_every_suppression_footnote_names_its_symbol_as_literal_text():
    settings = SuppressionSettings(count_threshold=11, min_n=12)
    for reason in FOOTNOTES:
        line = footnote_line(settings.footnote(reason))
        assert line.startswith("`"), reason  # never '* text', which Markdown makes a bullet
        assert not line.startswith(("* ", "- ", "+ ")), reason
    assert footnote_line(settings.footnote(GROUP)).startswith("`*` Group of fewer than 12 students")
    assert footnote_mark(settings.footnote(SMALL)) == "<11"  # as the cells print it, '<11'
    assert footnote_mark(settings.footnote(HIDDEN_RATE)) == "*"
    assert footnote_line("Flagged groups are drawn as large diamonds.") == "Flagged groups are drawn as large diamonds."


def test_the_board_sees_each_footnote_beside_its_symbol(start):
    marks = []
    for page in ("case_volumes", "concern_levels", "discipline_outcomes"):
        at = start(page, demo_role="board")
        assert not at.exception, page
        for caption in at.caption:
            text = str(caption.value)
            assert not text.startswith(("* ", "- ")), f"{page}: {text[:60]!r} renders as a bullet"
            if footnote_mark(text.split("` ", 1)[-1]):
                marks.append(text.split("` ", 1)[0] + "`")
    assert "`*`" in marks, "the board's pages hide cells: the '*' footnote must be shown with its symbol"


# -- process audit ---------------------------------------------------------------------------------------------


def _sparse_school(db: Path) -> tuple[str, str]:
    """A school and year whose audit has an indicator with too few cases."""
    with duckdb.connect(str(db), read_only=True) as con:
        year = mt.school_years(con)[-1]
        schools = [r[0] for r in con.sql("select school_id from schools order by school_id").fetchall()]
        for school in schools:
            audit = mt.process_audit(con, None, [year], [school], include_district=True)
            district = audit.filter(audit["scope"] == "district")
            if "too_few" in district["status"].to_list():
                return school, year
    pytest.skip("no school of the demo has an indicator with too few cases")


def test_process_audit_gives_too_few_cases_its_own_mark(start, demo_db):
    school, year = _sparse_school(demo_db)
    at = start("process_audit", demo_role="district", params={"schools": school, "year": year})
    assert not at.exception
    text = shown_text(at)
    assert "0 of 0" not in text and "review_within_days" not in text
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    traces = {t["name"]: t for t in spec["data"]}
    few = traces["○ too few cases (< 10)"]
    assert few["marker"]["symbol"] == "circle-open"
    symbols = {name: t["marker"]["symbol"] for name, t in traces.items() if name != "target"}
    assert len(set(symbols.values())) == len(symbols), f"two statuses share a mark: {symbols}"
    if "✓ on target" in traces:
        assert traces["✓ on target"]["marker"]["symbol"] == "circle"
    if "✗ off target" in traces:
        assert traces["✗ off target"]["marker"]["symbol"] == "x"
    if not {"✓ on target", "✗ off target"} & set(traces):
        assert "No indicator has enough cases" in text


def test_audit_labels_carry_the_configured_window_in_words():
    ind = INDICATORS_BY_KEY["review_within_window_moderate_plus"]
    assert indicator_label(ind, MetricSettings(review_within_days=14)).startswith("Monitoring review within 14 days of")
    assert "the same day as assessment" in indicator_label(ind, MetricSettings(review_within_days=0))
    for key, other in INDICATORS_BY_KEY.items():
        assert "{" not in indicator_label(other) and "_days" not in indicator_label(other), key


# -- wording ---------------------------------------------------------------------------------------------------


def test_wording_of_numbers():
    assert within_days(0) == "the same day"
    assert within_days(1) == "within 1 day"
    assert within_days(7) == "within 7 days"
    assert fmt_p(0.0) == "p < 0.001" and fmt_p(0.0004) == "p < 0.001"
    assert fmt_p(0.0421) == "p = 0.042" and fmt_p(0.001) == "p = 0.001"
    assert of_count(1, 1, "case") == "1 of 1 case"
    assert of_count(3, 1200, "case") == "3 of 1,200 cases"
    assert first_upper("hispanic or Latino students") == "Hispanic or Latino students"
    assert (
        first_lower("Students suspended while their BTAM case was open")
        == "students suspended while their BTAM case was open"
    )
    assert first_lower("BTAM cases") == "BTAM cases"


def test_overview_keeps_acronyms_in_its_sentences(start):
    at = start("overview", demo_role="district")
    text = shown_text(at)
    assert "btam" not in text and "Hispanic or latino" not in text and "within 0 days" not in text
