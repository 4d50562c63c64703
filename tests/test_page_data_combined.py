"""The pages' combined data calls (ui.page_data.overview, intervention_times) give the same figures as the
separate calls they replace, read without the school rows, p values and repeated reads the pages never print."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import access.marts
from access import metric_tables as mt
from data_contracts.marts import marts_current
from ui import page_data

DISTRICT = pl.col("scope") == "district"


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


@pytest.fixture
def con(demo_db, monkeypatch):
    """The demo warehouse as the pages' reader."""
    connection = duckdb.connect(str(demo_db), read_only=True)
    monkeypatch.setattr(page_data, "_con", lambda: connection)
    assert marts_current(connection)  # the calls below read the load-time marts
    yield connection
    connection.close()


def _scopes(con) -> dict[str, tuple[str, ...] | None]:
    year = mt.school_years(con)[-1]
    ids = [
        r[0]
        for r in con.sql(
            "select school_id from btam_cases where school_year = $y group by 1 order by count(*) desc, 1 limit 3",
            params={"y": year},
        ).fetchall()
    ]
    return {"district": None, "three schools": tuple(ids)}


def _same(new: pl.DataFrame, old: pl.DataFrame, what: str) -> None:
    try:
        assert_frame_equal(new, old, check_exact=True)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


@pytest.mark.parametrize("scope_name", ["district", "three schools"])
def test_the_overview_call_gives_the_figures_of_the_separate_calls(con, scope_name):
    ids = _scopes(con)[scope_name]
    years = mt.school_years(con)
    for year in years[-2:]:
        prior = page_data.prior_year(year)
        view = page_data.overview.__wrapped__("test", year, ids)
        # what pages/overview.py read before: the page-wide calls, then their district rows
        volumes = page_data.case_volumes.__wrapped__("test", year, ids)
        _same(view.volumes, volumes.filter(DISTRICT & (pl.col("breakdown") == "total")), f"{year} volumes")
        levels = page_data.concern_levels.__wrapped__("test", year, ids)
        _same(view.levels, levels.filter(DISTRICT & (pl.col("dimension") == "all")), f"{year} levels")
        tti = mt.time_to_intervention(con, None, [prior, year], ids, include_district=True, include_schools=False)
        _same(view.time_to_intervention, tti.filter(DISTRICT & (pl.col("concern_level") == "all")), f"{year} tti")
        served = mt.time_to_intervention_ci(con, None, [prior, year], ids, include_district=True, include_schools=False)
        _same(view.served, served.filter(DISTRICT & (pl.col("concern_level") == "all")), f"{year} served")
        disp = page_data.disproportionality.__wrapped__("test", (year,), ids)
        flags = disp.filter(pl.col("flagged") & (pl.col("school_year") == year))
        _same(
            view.flags.drop("p_value", "q_value", "ratio_p_value"),
            flags.drop("p_value", "q_value", "ratio_p_value"),
            f"{year} flags",
        )
        prior_disp = page_data.disproportionality.__wrapped__("test", (prior,), ids)
        assert view.prior_flags == (prior_disp.filter(pl.col("flagged")).height if prior_disp.height else None)
        audit = page_data.process_audit.__wrapped__("test", year, ids)
        _same(view.audit, audit.filter(DISTRICT), f"{year} audit")
        timely = mt.timeliness(con, None, [year], ids, include_district=True)
        _same(view.timeliness, timely.filter(DISTRICT), f"{year} timeliness")
        # a comparison of empty frames would prove nothing
        assert view.volumes.height and view.levels.height and view.audit.height and view.timeliness.height
    assert view.prior_flags is not None


@pytest.mark.parametrize("dimension", ["concern_level", "race_ethnicity", "disability_status"])
def test_the_time_to_intervention_call_gives_the_tables_of_the_separate_calls(con, dimension):
    year = mt.school_years(con)[-1]
    for scope_name, ids in _scopes(con).items():
        times = page_data.intervention_times.__wrapped__("test", year, ids, dimension)
        summary = mt.time_to_intervention(con, None, [year], ids, include_district=True, include_schools=False)
        _same(times.summary, summary, f"{scope_name} summary")
        if dimension == "concern_level":
            groups = summary.filter(pl.col("concern_level") != "all").rename({"concern_level": "group"})
        else:
            groups = mt.survival_by_group(
                con, dimension, "first_action", None, [year], ids, include_district=True, include_schools=False
            )
        _same(times.groups, groups, f"{scope_name} groups")
        logrank = mt.logrank_tests(
            con,
            "first_action",
            None,
            [year],
            ids,
            include_district=True,
            include_schools=False,
            dimensions=(dimension,),
        )
        _same(times.logrank, logrank, f"{scope_name} logrank")
        served = mt.time_to_intervention_ci(con, None, [year], ids, include_district=True, include_schools=False)
        _same(times.served, served, f"{scope_name} cumulative incidence")
        assert times.served_groups["n_cases"].sum() > 0
        assert set(times.served_curves["group"].unique()) == set(times.served_groups["group"].unique())
        timely = mt.timeliness(con, None, [year], ids, include_district=True).filter(DISTRICT)
        _same(times.timeliness, timely, f"{scope_name} timeliness")
        if ids is None:  # metric_tables' own curve (one school or the district)
            curves = mt.survival_curve(con, year, "district", dimension)
            _same(times.curves, curves, f"{scope_name} curves")
        # open cases: every open, assessed case without an action within two days of its target or past it
        cases = mt.case_timeline(con, None, [year], ids)
        waiting = cases.filter(
            ~pl.col("event") & pl.col("closed_date").is_null() & pl.col("concern_level").is_not_null()
        )
        due = {lvl: days for lvl, days in page_data.DEFAULT_SETTINGS.timeliness_days.items()}
        expected = {
            r["case_id"] for r in waiting.iter_rows(named=True) if due[r["concern_level"]] - r["duration_days"] <= 2
        }
        assert set(times.open_cases["case_id"].to_list()) == expected
        assert times.summary.height and times.groups.height and times.curves.height


def test_flags_without_the_tests_are_the_flags_with_them(con):
    years = mt.school_years(con)
    with_tests = mt.disproportionality(con, years, None, include_district=True, include_schools=False)
    without = mt.disproportionality(con, years, None, include_district=True, include_schools=False, tests=False)
    _same(
        without.drop("p_value", "q_value", "ratio_p_value"),
        with_tests.drop("p_value", "q_value", "ratio_p_value"),
        "disproportionality",
    )
    assert without["p_value"].null_count() == without.height and with_tests["p_value"].null_count() < with_tests.height
    assert with_tests["flagged"].any()


@pytest.mark.parametrize("scope_name", ["district", "three schools"])
def test_district_only_reads_are_the_district_rows_from_the_marts_and_from_the_raw_rows(con, monkeypatch, scope_name):
    ids = _scopes(con)[scope_name]
    years = mt.school_years(con)
    calls = {
        "outcome_group_counts": lambda **kw: mt.outcome_group_counts(con, years, ids, include_district=True, **kw),
        "concern_level_counts": lambda **kw: mt.concern_level_counts(con, years, ids, include_district=True, **kw),
        "process_audit": lambda **kw: mt.process_audit(con, None, years, ids, include_district=True, **kw),
    }
    for name, call in calls.items():
        district_only = call(include_schools=False)
        _same(district_only, call(include_schools=True).filter(DISTRICT), f"{name}, with the schools")
        with monkeypatch.context() as m:
            m.setattr(access.marts, "marts_current", lambda _con: False)
            _same(district_only, call(include_schools=False), f"{name}, from the raw rows")
        assert district_only.height and (district_only["scope"] == "district").all()


def test_a_combined_call_checks_the_marts_once(con, monkeypatch):
    year = mt.school_years(con)[-1]
    checks = []
    real = access.marts.marts_current
    monkeypatch.setattr(access.marts, "marts_current", lambda c: checks.append(1) or real(c))
    page_data.overview.__wrapped__("test", year, None)
    assert len(checks) == 1
    page_data.intervention_times.__wrapped__("test", year, None, "sex")
    assert len(checks) == 2
    mt.concern_level_counts(con, [year])
    mt.outcome_group_counts(con, [year])
    assert len(checks) == 4  # outside a combined call, every read still checks


def test_the_time_to_intervention_page_follows_the_chosen_dimension(demo_db, monkeypatch, tmp_path):
    """The page makes its one call before the select box is drawn: a new choice must still be what it shows."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("BTAM_WAREHOUSE", str(demo_db))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=300)
    at.session_state["demo_role"] = "district"
    at.run()
    at.switch_page("pages/time_to_intervention.py").run()
    assert not at.exception

    def groups() -> set[str]:
        return {str(g) for d in at.dataframe if "Group" in d.value.columns for g in d.value["Group"]}

    assert groups() and groups() <= {"Low", "Moderate", "High", "Imminent"}
    at.selectbox(key="tti_dimension").set_value("sex").run()
    assert not at.exception
    assert groups() and groups() <= {"Female", "Male", "Nonbinary"}
