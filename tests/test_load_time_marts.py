"""The load-time marts (pipelines/marts.py, sql/marts/build/): built by every load, read while current, and
every metric table the same from them as from the fallback reads, which compute the marts inline from the raw
rows (access/queries.py)."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import access.marts
import pipelines.loader
from access import metric_tables as mt
from data_contracts.interchange import EXCLUSIONARY_ACTIONS
from data_contracts.marts import marts_current
from pipelines.__main__ import main as pipelines_main
from pipelines.loader import load_files
from pipelines.marts import MARTS, STAGE, STAGE_DONE, build_marts, mart_sources
from pipelines.reference.store import write_atomically


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> tuple[Path, list[str]]:
    """A small synthetic demo loaded through the loader; the progress stages it reported."""
    folder = tmp_path_factory.mktemp("marts_demo")
    assert pipelines_main(["demo", "--out", str(folder / "files"), "--students", "3000", "--seed", "5"]) == 0
    as_of = json.loads((folder / "files" / "ground_truth.json").read_text())["as_of"]
    stages: list[str] = []
    db = folder / "warehouse.duckdb"
    result = load_files(
        db,
        [folder / "files"],
        "interchange",
        as_of=date.fromisoformat(as_of),
        synthetic=True,
        progress=lambda stage, fraction: stages.append(stage),
    )
    assert result.exit_code == 0, result.error
    return db, stages


def _con(db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(db), read_only=True)


def test_a_load_builds_current_marts_as_its_own_stage(demo):
    db, stages = demo
    assert stages[-2:] == [STAGE, STAGE_DONE]  # once per load, after every file
    con = _con(db)
    try:
        assert marts_current(con)
        tables = {r[0] for r in con.sql("select table_name from duckdb_tables() where schema_name = 'mart'").fetchall()}
        assert tables == {*MARTS, "build_info"}
        # the marts are additive over schools: their district is the enrollment itself
        assert (
            con.sql("select sum(enrolled) from mart.enrollment_counts").fetchall()
            == con.sql("select count(*) from enrollment").fetchall()
        )
        assert (
            con.sql("select sum(n_enrolled) from mart.outcome_group_cells where dimension = 'sex'").fetchall()
            == con.sql("select count(*) from enrollment").fetchall()
        )
    finally:
        con.close()


def _scopes(con) -> dict[str, dict]:
    year = mt.school_years(con)[-1]
    ids = [
        r[0]
        for r in con.sql(
            "select school_id from enrollment where school_year = $y group by 1 order by count(*) desc, 1 limit 3",
            params={"y": year},
        ).fetchall()
    ]
    return {
        "district": {},
        "one school": {"school_ids": ids[:1]},
        "three schools": {"school_ids": ids, "include_district": True},
    }


def _calls(con, scope: dict) -> dict:
    years = mt.school_years(con)
    latest, two = years[-1:], years[-2:]
    earlier = mt.resolve_as_of(con) - timedelta(days=120)  # an as-of date inside the latest year
    ids = scope.get("school_ids")
    with_district = {k: v for k, v in scope.items() if k != "school_ids"}
    return {
        "school_years": lambda: pl.DataFrame({"school_year": mt.school_years(con)}),
        "outcome_group_counts": lambda: mt.outcome_group_counts(con, None, ids, **with_district),
        "disproportionality": lambda: mt.disproportionality(con, latest, ids, **with_district),
        "case_volumes": lambda: mt.case_volumes(con, None, ids, **with_district),
        "case_volumes district only": lambda: mt.case_volumes(
            con, two, ids, include_district=True, include_schools=False
        ),
        "case_volumes as of": lambda: mt.case_volumes(con, None, ids, **with_district, as_of=earlier),
        "process_audit as of": lambda: mt.process_audit(con, earlier, two, ids, **with_district),
        "concern_level_tests as of": lambda: mt.concern_level_tests(con, two, ids, **with_district, as_of=earlier),
        "concern_level_counts": lambda: mt.concern_level_counts(con, None, ids, **with_district),
        "concern_levels": lambda: mt.concern_levels(con, two, ids, **with_district),
        "concern_level_tests": lambda: mt.concern_level_tests(con, latest, ids, **with_district),
        "case_timeline": lambda: mt.case_timeline(con, None, None, ids),
        "case_timeline assessment": lambda: mt.case_timeline(con, None, two, ids, event="assessment"),
        "time_to_intervention": lambda: mt.time_to_intervention(con, None, two, ids, **with_district),
        "time_to_assessment": lambda: mt.time_to_assessment(con, None, latest, ids, **with_district),
        "survival_by_group": lambda: mt.survival_by_group(
            con, "race_ethnicity", "first_action", None, latest, ids, **with_district
        ),
        "survival_curve": lambda: mt.survival_curve(con, latest[0], "district" if ids is None else ids[0]),
        "logrank_tests": lambda: mt.logrank_tests(con, "first_action", None, latest, ids, **with_district),
        "timeliness": lambda: mt.timeliness(con, None, latest, ids, **with_district),
        "conditional_disparity_strata": lambda: mt.conditional_disparity_strata(con, None, ids, **with_district),
        "conditional_disparities": lambda: mt.conditional_disparities(con, None, ids, **with_district),
        "process_audit": lambda: mt.process_audit(con, None, two, ids, **with_district),
    }


@pytest.mark.parametrize("scope_name", ["district", "one school", "three schools"])
def test_every_metric_table_is_the_same_from_the_marts_as_from_the_raw_rows(demo, monkeypatch, scope_name):
    db, _ = demo
    con = _con(db)
    ran: list[str] = []
    real_run = mt.run_query

    def spy(con_, name, **params):
        ran.append(name)
        return real_run(con_, name, **params)

    monkeypatch.setattr(mt, "run_query", spy)
    heights: dict[str, int] = {}
    try:
        scope = _scopes(con)[scope_name]
        for name, call in _calls(con, scope).items():
            ran.clear()
            from_marts = call()
            assert any(n.startswith("marts/from_marts/") for n in ran), (name, ran)
            with monkeypatch.context() as m:
                m.setattr(access.marts, "marts_current", lambda _con: False)
                ran.clear()
                from_raw = call()
                assert any(n.startswith("marts/fallback/") for n in ran), (name, ran)
                assert not any(n.startswith("marts/from_marts/") for n in ran), (name, ran)
            heights[name] = from_raw.height
            try:
                assert_frame_equal(from_marts, from_raw, check_exact=True)
            except AssertionError as exc:
                raise AssertionError(f"{scope_name}, {name}: {exc}") from None
        assert min(heights.values()) > 0, heights  # no comparison of empty frames
    finally:
        con.close()


def test_an_older_warehouse_reads_the_raw_tables_until_a_publish_builds_its_marts(demo, tmp_path, caplog, monkeypatch):
    db = tmp_path / "old.duckdb"
    shutil.copyfile(demo[0], db)
    con = duckdb.connect(str(db))
    expected = mt.disproportionality(con, mt.school_years(con)[-1:])
    con.execute("drop schema mart cascade")
    con.execute("checkpoint")
    con.close()

    con = _con(db)
    try:
        assert not marts_current(con)
        monkeypatch.setattr(access.marts, "_warned", False)
        with caplog.at_level(logging.WARNING, logger="access.marts"):
            got = mt.disproportionality(con, mt.school_years(con)[-1:])
        assert_frame_equal(got, expected, check_exact=True)
        assert "missing or stale" in caplog.text
    finally:
        con.close()

    # a reference import publishes too: it builds the missing marts
    write_atomically(db, "test-reference", lambda con_: None)
    con = _con(db)
    try:
        assert marts_current(con)
    finally:
        con.close()


def test_rows_changed_outside_the_loader_make_the_marts_stale_and_the_cli_rebuilds_them(demo, tmp_path):
    db = tmp_path / "edited.duckdb"
    shutil.copyfile(demo[0], db)
    con = duckdb.connect(str(db))
    year = mt.school_years(con)[-1]
    con.execute("delete from btam_cases where school_year = ?", [year])
    con.execute("checkpoint")
    con.close()

    con = _con(db)
    try:
        assert not marts_current(con)
        stale_read = mt.outcome_group_counts(con)  # falls back to the raw rows: the deletion shows
        referred = stale_read.filter((pl.col("school_year") == year) & (pl.col("outcome") == "btam_referral"))
        assert referred["k"].sum() == 0
    finally:
        con.close()

    assert pipelines_main(["marts", "--db", str(db)]) == 0
    con = _con(db)
    try:
        assert marts_current(con)
        assert_frame_equal(mt.outcome_group_counts(con), stale_read, check_exact=True)
    finally:
        con.close()


@pytest.mark.parametrize("read", access.marts.MART_READS)
def test_a_fallback_read_reads_no_mart(read):
    """The fallback twin of each read computes every mart inline: no `mart.` table is left in its code."""
    from access.queries import FALLBACK, query_text

    text = query_text(FALLBACK + read)
    assert "mart." in query_text("marts/from_marts/" + read)
    code = "\n".join(line.partition("--")[0] for line in text.splitlines())
    assert "mart." not in code.lower()
    assert "create or replace" not in code.lower()


def test_each_mart_is_rebuilt_by_a_change_of_the_tables_it_reads(demo, tmp_path):
    assert {name: set(mart_sources(name)) for name in MARTS} == {
        "enrollment_counts": {"enrollment"},
        "outcome_group_cells": {"enrollment", "btam_cases", "case_actions", "discipline_actions"},
        "case_volume_counts": {"btam_cases", "schools"},
        "case_subjects": {"enrollment", "btam_cases"},
        "case_student_removals": {"btam_cases", "discipline_actions"},
    }
    db = tmp_path / "copy.duckdb"
    shutil.copyfile(demo[0], db)
    con = duckdb.connect(str(db))
    try:
        assert build_marts(con, changed={"case_reviews"}) == ()
        assert build_marts(con, changed={"case_actions"}) == ("outcome_group_cells",)
        assert build_marts(con, changed={"schools", "enrollment"}) == (
            "enrollment_counts",
            "outcome_group_cells",
            "case_volume_counts",
            "case_subjects",
        )
        assert build_marts(con) == MARTS
        assert marts_current(con)
    finally:
        con.close()


def test_a_later_load_rebuilds_the_marts_its_files_feed_and_they_still_match_the_raw_rows(demo, tmp_path, monkeypatch):
    """Actions turned into exclusions and reviews moved, each loaded on its own after the demo: the marts
    each load rebuilt (and those it kept) give every metric table the rows the inline reads give."""
    db = tmp_path / "later.duckdb"
    shutil.copyfile(demo[0], db)
    files = demo[0].parent / "files"
    actions = pl.read_csv(files / "case_actions.csv", infer_schema=False)
    actions = actions.with_columns(
        pl.when(pl.int_range(pl.len()) % 4 == 0)
        .then(pl.lit(EXCLUSIONARY_ACTIONS[1]))
        .otherwise(pl.col("action_type"))
        .alias("action_type")
    )
    reviews = pl.read_csv(files / "case_reviews.csv", infer_schema=False).head(50)
    (tmp_path / "later").mkdir()
    actions.write_csv(tmp_path / "later" / "case_actions.csv")
    reviews.write_csv(tmp_path / "later" / "case_reviews.csv")
    as_of = date.fromisoformat(json.loads((files / "ground_truth.json").read_text())["as_of"])

    built: list[tuple[str, ...]] = []
    real_build = pipelines.loader.build_marts
    monkeypatch.setattr(pipelines.loader, "build_marts", lambda *a, **k: built.append(real_build(*a, **k)))
    for name in ("case_actions.csv", "case_reviews.csv"):
        result = load_files(db, [tmp_path / "later" / name], "interchange", as_of=as_of, synthetic=True)
        assert result.exit_code == 0 and result.files[0].rows_loaded > 0, result.error
    assert built == [("outcome_group_cells",), ()]

    con = _con(db)
    try:
        assert marts_current(con)
        for name, call in _calls(con, _scopes(con)["district"]).items():
            from_marts = call()
            with monkeypatch.context() as m:
                m.setattr(access.marts, "marts_current", lambda _con: False)
                from_raw = call()
            try:
                assert_frame_equal(from_marts, from_raw, check_exact=True)
            except AssertionError as exc:
                raise AssertionError(f"{name}: {exc}") from None
        exclusions = mt.outcome_group_counts(con).filter(
            (pl.col("outcome") == "case_exclusionary") & (pl.col("scope") == "district")
        )
        assert exclusions["k"].sum() > 0
    finally:
        con.close()
