"""The Equity page's IDC sections (every measure beside the ratio, the 300.647 identification status, the
flagged ratios over the years beside the state's) and the board report's trend table, on the small demo
district with the CRDC fixture of tests/crdc_files.py (state NV, 2021-22) imported as state reference data.

In that demo, out-of-school suspension or expulsion of Black students is flagged in 2022-23 and 2023-24;
the fixture's state ratio for them is 16/570 against 19/6,950 (tests/test_idc_figures.py checks the formula)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from access import metric_tables as mt
from pipelines.__main__ import main as pipelines_main
from reports.content import build_content
from reports.data import load_report_data
from tests.crdc_files import write_level_file

YEAR, OUTCOME = "2023-24", "oss_or_expulsion"
STATE_YEAR = "2021-22"
VIEW = {"equity_outcome": OUTCOME, "equity_dimension": "race_ethnicity"}
pytestmark = pytest.mark.slow  # a demo warehouse, a CRDC import and AppTest runs (the board's: every year's release)


@pytest.fixture(scope="module")
def demo_db(demo_warehouse, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("idc_crdc")
    db = folder / "warehouse.duckdb"
    shutil.copyfile(demo_warehouse(students=1500), db)
    crdc = write_level_file(folder / f"CRDC_{STATE_YEAR}.csv")
    argv = ["reference", "crdc", str(crdc), "--db", str(db), "--state", "NV", "--district-lea", "3200001"]
    assert pipelines_main(argv) == 0
    return db


def table_under(at: AppTest, column: str) -> pl.DataFrame:
    found = [pl.from_pandas(d.value.astype(str)) for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a column {column!r}"
    return found[0]


def chart(at: AppTest, title_part: str) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    found = [s for s in specs if title_part in s["layout"]["title"]["text"]]
    assert found, f"no chart titled with {title_part!r}"
    return found[0]


@pytest.fixture(scope="module")
def exact(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        idc = mt.idc_measures(con, [YEAR], include_district=True, include_schools=False)
        disp = mt.disproportionality(con, None, include_district=True, include_schools=False, tests=False)
        ident = mt.identification(con).filter((pl.col("scope") == "district") & (pl.col("school_year") == YEAR))
    return idc, disp, ident


def test_district_sees_every_idc_measure_of_the_flagged_group_equal_to_the_engines(start, exact):
    idc, disp, _ = exact
    at = start("equity", demo_role="district", params={"year": YEAR}, **VIEW)
    assert not at.exception
    assert at.selectbox(key="equity_idc_group").value == "bl"  # the flagged group comes first
    row = idc.filter(
        (pl.col("outcome") == OUTCOME) & (pl.col("dimension") == "race_ethnicity") & (pl.col("group") == "bl")
    )
    row = row.row(0, named=True)
    ratio = disp.filter(
        (pl.col("school_year") == YEAR)
        & (pl.col("outcome") == OUTCOME)
        & (pl.col("dimension") == "race_ethnicity")
        & (pl.col("group") == "bl")
    ).row(0, named=True)
    shown = {r["Measure"]: r for r in table_under(at, "Interval or limit").iter_rows(named=True)}

    def signed(value: float) -> str:  # as printed: a real minus sign (U+2212), never a hyphen
        return f"{value:+.1f}".replace("-", "\u2212")

    assert shown["Risk ratio"]["Value"] == f"{ratio['risk_ratio']:.2f}"
    assert shown["Risk ratio"]["Reading"] == "above the threshold of 2"
    assert shown["Risk"]["Value"] == f"{100 * row['risk']:.1f}%"
    assert shown["Risk difference"]["Value"] == f"{signed(100 * row['risk_difference'])} points"
    assert shown["Risk difference"]["Interval or limit"] == (
        f"95% CI {signed(100 * row['rd_ci_low'])} to {signed(100 * row['rd_ci_high'])} points"
    )
    assert shown["Composition: share of the students with the outcome"]["Value"] == (
        f"{100 * row['outcome_composition']:.1f}%"
    )
    assert shown["Relative difference in composition"]["Value"] == (
        f"{signed(100 * row['relative_difference_in_composition'])}%"
    )
    assert shown["E-formula, district enrollment"]["Interval or limit"] == f"E = {100 * row['e_formula_limit']:.1f}%"
    # The state E-formula compares with the latest state reference year before 2023-24: CRDC 2021-22, where
    # Black students are 570 of the 7,520 students of the oss_or_expulsion slice (tests/crdc_files.py).
    a = 570 / 7520
    limit = a + (a * (1 - a) / row["total_k"]) ** 0.5
    state_row = shown["E-formula, state enrollment"]
    assert state_row["Interval or limit"] == f"E = {100 * limit:.1f}%"
    assert state_row["Compared with"] == f"the state's enrollment, reference data {STATE_YEAR}"
    assert shown["80% index"]["Value"] == f"{row['index_80']:.2f}"
    assert shown["Percentage point gap"]["Value"] == f"{signed(100 * row['percentage_point_gap'])} points"
    assert shown["Percentage point gap"]["Reading"] == (
        "gap at least its margin of error" if row["ppg_flagged"] else "gap within its margin of error"
    )


def test_district_sees_the_identification_status_of_every_category_with_the_years_behind_it(start, exact):
    _, _, ident = exact
    at = start("equity", demo_role="district", params={"year": YEAR}, **VIEW)
    table = table_under(at, "Flagged years in a row")
    assert table.height == ident.height  # one row per IDEA discipline category x race group
    for r in ident.iter_rows(named=True):
        assert str(r["consecutive_years_flagged"]) in table["Flagged years in a row"].to_list()
    identified = ident.filter(pl.col("would_be_identified"))
    assert table.filter(pl.col("Status") == "would be identified").height == identified.height
    text = " ".join(str(m.value) for m in at.markdown)
    assert ("Would be identified:" in text) == (identified.height > 0)
    assert "placements in educational environments" in " ".join(str(c.value) for c in at.caption)


def test_district_sees_the_flagged_ratio_over_every_loaded_year_beside_the_states(start, exact):
    _, disp, _ = exact
    at = start("equity", demo_role="district", params={"year": YEAR}, **VIEW)
    spec = chart(at, "Risk ratio over the years")
    assert STATE_YEAR in spec["layout"]["title"]["text"]
    names = [d["name"] for d in spec["data"]]
    assert "Black or African American, district" in names
    assert f"Black or African American, State, reference data {STATE_YEAR}" in names
    district = next(d for d in spec["data"] if d["name"] == "Black or African American, district")
    own = disp.filter(
        (pl.col("outcome") == OUTCOME)
        & (pl.col("dimension") == "race_ethnicity")
        & (pl.col("group") == "bl")
        & (pl.col("ratio_method") != "none")
    ).sort("school_year")
    assert district["x"] == own["school_year"].to_list() and len(district["x"]) >= 2
    assert district["y"] == pytest.approx(own["risk_ratio"].to_list())
    assert district["error_y"]["array"] == pytest.approx((own["rr_ci_high"] - own["risk_ratio"]).to_list())
    state = next(d for d in spec["data"] if "State" in d["name"])
    assert state["x"] == [STATE_YEAR] and state["y"][0] == pytest.approx((16 / 570) / (19 / 6950))


def test_the_board_sees_idc_measures_and_trends_only_from_each_years_release(start, exact):
    idc, disp, _ = exact
    at = start("equity", demo_role="board", params={"year": YEAR}, **VIEW)
    assert not at.exception
    group = at.selectbox(key="equity_idc_group").value
    measures = table_under(at, "Interval or limit")
    counts = table_under(at, "With the outcome")  # the forest plot's table: counts as the release prints them
    published = counts.filter(pl.col("Group") == "Black or African American").row(0, named=True)
    hidden = "<" in published["With the outcome"] or "*" in published["With the outcome"]
    for r in measures.iter_rows(named=True):
        if r["Value"] == "–":
            assert r["Why not shown"], r
        if hidden and group == "bl":
            assert r["Value"] == "–" and r["Why not shown"].startswith("withheld"), r
    # The 80% index compares with every group: small groups are hidden in the demo's release, so it is withheld.
    index = measures.filter(pl.col("Measure") == "80% index").row(0, named=True)
    assert index["Value"] == "–" and index["Why not shown"].startswith("withheld")
    exact_row = idc.filter(
        (pl.col("outcome") == OUTCOME) & (pl.col("dimension") == "race_ethnicity") & (pl.col("group") == group)
    ).row(0, named=True)
    risk = measures.filter(pl.col("Measure") == "Risk").row(0, named=True)
    if risk["Value"] != "–":  # shown from published counts: equal to the exact figure
        assert risk["Value"] == f"{100 * exact_row['risk']:.1f}%"
    status = table_under(at, "Flagged years in a row")
    assert status.height and all(s for s in status["Status"].to_list())


def test_the_board_report_shows_each_flagged_ratio_over_the_years_from_each_years_report(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        data = load_report_data(con, YEAR, "Demo district")
        earlier = {y: load_report_data(con, y, "Demo district", data.as_of, trends=False) for y in data.trend_years}
    trend = next(t for t in data.trends if (t.outcome, t.group) == (OUTCOME, "bl"))
    for year, finding in trend.years:  # each year's ratio is the one that year's own report publishes
        own = [
            f for f in earlier[year].findings if (f.outcome, f.dimension, f.group) == (OUTCOME, "race_ethnicity", "bl")
        ]
        assert (finding is None) == (not own)
        if own:
            assert finding.risk_ratio == own[0].risk_ratio and finding.ci_low == own[0].ci_low
    assert [y for y, *_ in trend.state] == [STATE_YEAR]
    text = build_content(data).text()
    assert "Flagged ratios over the years" in text
    header = next(line for line in text.splitlines() if line.startswith("Flagged group and outcome"))
    assert header.split(" | ") == ["Flagged group and outcome", *data.trend_years, f"State {STATE_YEAR} (reference)"]
    row = next(line for line in text.splitlines() if line.startswith("Black or African American: out-of-school"))
    cells = row.split(" | ")
    now = dict(trend.years)[YEAR]
    assert (
        cells[1 + data.trend_years.index(YEAR)]
        == f"{now.risk_ratio:.1f} ({now.ci_low:.1f} to {now.ci_high:.1f}), flagged"
    )
    ratio, low, high = trend.state[0][1:]
    assert cells[-1] == f"{ratio:.1f} ({low:.1f} to {high:.1f})"
