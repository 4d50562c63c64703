"""The analytic pages, run with Streamlit's AppTest on a small demo warehouse built once for the module."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from access import metric_tables as mt

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = (
    "overview",
    "case_volumes",
    "concern_levels",
    "time_to_intervention",
    "equity",
    "discipline_outcomes",
    "process_audit",
)
COUNT_COLUMNS = re.compile(r"cases|students|with the outcome|numerator|denominator|^met$|^missed$", re.I)
CASE_ID = re.compile(r"\bBT\d{2}-\d+")


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def frames(at: AppTest) -> list[pl.DataFrame]:
    return [pl.from_pandas(d.value.astype(str)) for d in at.dataframe]


def years(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return mt.school_years(con)


@pytest.mark.parametrize("role", ["district", "board", "coordinator"])
def test_every_analytic_page_runs_for_each_role(start, role):
    for page in PAGES:
        at = start(page, demo_role=role)
        assert not at.exception, f"{page} ({role}): {at.exception}"
        shown = texts(at)
        assert "None" not in shown and "nan" not in shown.split(), page
        if not at.get("plotly_chart"):  # a small scope may have nothing to draw: then it must say why
            why = " ".join(str(e.value) for e in at.info)
            assert "large enough" in why or "too few" in why, f"{page} ({role}) shows no chart and no reason"
        for chart in at.get("plotly_chart"):
            spec = json.loads(chart.proto.spec)
            assert spec["layout"]["title"]["text"], page
            assert spec["data"], f"{page}: an empty chart"


def test_overview_figures_equal_the_metrics_engine(start, demo_db):
    at = start("overview", demo_role="district")
    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = years(demo_db)[-1]
        total = mt.case_volumes(con, [year]).filter((pl.col("scope") == "district") & (pl.col("breakdown") == "total"))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["BTAM cases"] == f"{total['cases'][0]:,}"
    assert metrics["Cases per 1,000 students"] == f"{total['cases_per_1000'][0]:.1f}"


def test_equity_forest_plot_shows_the_engines_risk_ratios(start, demo_db):
    at = start("equity", demo_role="district")
    year = years(demo_db)[-1]
    with duckdb.connect(str(demo_db), read_only=True) as con:
        rows = mt.disproportionality(con, [year], include_schools=False).filter(
            (pl.col("outcome") == "btam_referral")
            & (pl.col("dimension") == "race_ethnicity")
            & (pl.col("ratio_method") != "none")
        )
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    plotted = sorted(round(x, 6) for x in spec["data"][0]["x"])
    assert plotted == sorted(round(x, 6) for x in rows["risk_ratio"].to_list())
    assert "threshold 2" in json.dumps(spec["layout"])


def test_changing_the_year_changes_the_overview(start, demo_db):
    first, last = years(demo_db)[0], years(demo_db)[-1]
    now = {m.label: m.value for m in start("overview", demo_role="district").metric}
    before = start("overview", demo_role="district", params={"year": first})
    assert first in texts(before) and last not in before.caption[0].value
    assert {m.label: m.value for m in before.metric} != now


def test_an_over_narrow_filter_explains_itself(start, demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        schools = con.sql("select school_id, school_level from schools order by school_id").fetchall()
    school, level = schools[0]
    other = next(lv for _, lv in schools if lv != level)
    for page in PAGES:
        at = start(page, demo_role="district", params={"schools": school, "level": other})
        assert not at.exception, page
        assert "No school matches the filters" in texts(at), page


def test_the_board_sees_no_small_count_and_no_case_id(start):
    for page in PAGES:
        at = start(page, demo_role="board")
        assert not CASE_ID.search(texts(at)), page
        for frame in frames(at):
            for column in frame.columns:
                if COUNT_COLUMNS.search(column):
                    small = [v for v in frame[column].to_list() if re.fullmatch(r"[1-9]", v.strip())]
                    assert not small, f"{page}: column {column!r} shows {small}"
            assert not any(CASE_ID.search(v) for col in frame.columns for v in frame[col].to_list()), page


def test_a_coordinator_sees_no_row_of_another_school(start, demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        schools = dict(con.sql("select school_id, school_name from schools order by school_id").fetchall())
    own = next(iter(schools))
    others = [name for sid, name in schools.items() if sid != own]
    for page in PAGES:
        at = start(page, demo_role="coordinator", demo_school=own, params={"schools": ",".join(schools)})
        assert not at.exception, page
        shown = texts(at) + "\n".join(v for f in frames(at) for c in f.columns for v in f[c].to_list())
        leaked = [name for name in others if name in shown]
        assert not leaked, f"{page}: {leaked[:3]}"


@pytest.mark.slow
def test_board_report_page_offers_pdf_and_html_of_the_suppressed_report(start):
    at = start("board_report", demo_role="district")
    assert not at.exception, at.exception
    labels = [b.label for b in at.get("download_button")]
    assert any("PDF" in label for label in labels) and any("HTML" in label for label in labels), labels
    assert "small numbers always protected" in texts(at)


def test_pages_use_no_polars_python_callbacks():
    """polars' map_elements/map_batches deadlock its worker pool when many sessions run at once
    (found by tests/test_app_load.py); pages map values with ui.text.python_map instead."""
    root = Path(__file__).resolve().parent.parent
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for folder in ("pages", "ui", "access")
        for path in (root / folder).glob("*.py")
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\.map_(elements|batches|groups)\(", line)
    ]
    assert offenders == []
