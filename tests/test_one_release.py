"""One release per school year and scope, shared by every output (issue 14 item 3): the board report prints
the very cells the board's pages publish, and the release a load stores in the warehouse is the one a
viewer's first view reads (figures/release.py, figures/stored.py)."""

from __future__ import annotations

import logging
import shutil
from dataclasses import replace
from datetime import date

import duckdb
import polars as pl
import pytest

from access.suppression import suppress_release
from data_contracts.labels import LEVEL_LABELS, LEVELS
from figures import stored
from figures.release import TOTAL, release_tables
from metrics.config import DEFAULT_SETTINGS
from pipelines import finish_steps
from pipelines.loader import load_files
from reports.content import Table, build_content
from reports.data import AUDIT_TABLE_INDICATORS, load_report_data
from tests.interchange_files import AS_OF, valid_rows, write_district
from ui import page_data


@pytest.fixture(scope="module")
def demo(demo_warehouse):
    return demo_warehouse(students=1500)


@pytest.fixture(scope="module")
def board(demo):
    """The 2024-25 board report's data and content, and the pages' release of each year it prints."""
    with duckdb.connect(str(demo), read_only=True) as con:
        data = load_report_data(con, "2024-25", "Demo Unified")
    stored.forget_built()  # the pages build theirs themselves, not take the report's from this process
    with pytest.MonkeyPatch.context() as patch:  # the pages' own read: their warehouse reader and release call
        patch.setenv("BTAM_WAREHOUSE", str(demo))
        pages = {year: page_data.public_release(f"test-{demo}", year, None) for year in data.trend_years}
    return data, build_content(data), pages


def _tables(content, caption_start: str) -> list[Table]:
    return [
        block
        for section in content.sections
        for block in section.blocks
        if isinstance(block, Table) and block.caption.startswith(caption_start)
    ]


def _page_cell(release, table: str, measure: str, **where: str) -> str:
    frame = release[table].display
    for column, value in where.items():
        frame = frame.filter(pl.col(column) == value)
    assert frame.height == 1, (table, where)
    return frame[measure][0]


def test_the_report_year_release_is_the_pages_release(board):
    data, _, pages = board
    for year in data.trend_years:
        ours = data.releases[year]
        assert set(ours.tables) == set(pages[year].tables)
        for name, table in ours.tables.items():
            assert table.display.equals(pages[year][name].display), f"{year} {name}"


def test_the_case_volume_table_prints_the_pages_cells_year_by_year(board):
    """Enrolled, cases and students with a case as the Case volumes and Equity pages of each year print them."""
    data, content, pages = board
    (table,) = _tables(content, "Case volume by school year")
    assert [row[0] for row in table.rows] == data.trend_years
    for year, enrolled, cases, students, _ in table.rows:
        release = pages[year]
        assert cases == _page_cell(release, f"cases_total_{year}", "cases", breakdown=TOTAL)
        assert enrolled == _page_cell(release, "disp_btam_referral_sex", "enrolled", sex=TOTAL)
        assert students == _page_cell(release, "disp_btam_referral_sex", "btam_referral", sex=TOTAL)


def test_the_levels_of_concern_are_the_concern_levels_pages_cells(board):
    data, content, pages = board
    release = pages[data.school_year]
    (table,) = _tables(content, "Rated cases by level of concern")
    printed = {row[0]: row[1] for row in table.rows}
    level_table = f"levels_all_{data.school_year}"
    for level in LEVELS:
        assert printed[LEVEL_LABELS[level]] == _page_cell(release, level_table, "assessed_cases", concern_level=level)
    assert printed["All rated cases"] == _page_cell(release, level_table, "assessed_cases", concern_level=TOTAL)


def test_the_equity_counts_the_report_prints_are_the_equity_pages_cells(board):
    data, _, pages = board
    release = pages[data.school_year]
    assert data.findings or data.too_small
    for f in data.findings:
        den = page_data.population_measure(f.outcome)
        table = f"disp_{f.outcome}_{f.dimension}"
        where = {f.dimension: f.group}
        for measure in (f.outcome, den):
            shown = _page_cell(release, table, measure, **where)
            assert data.display(table, measure, **where) == shown
            assert shown not in ("*", "<10")  # a ratio is printed beside published counts only


def test_the_process_audit_counts_are_the_process_audit_pages_cells(board):
    data, content, pages = board
    release = pages[data.school_year]
    audit = next(s for s in content.sections if s.key == "audit")
    table = next(b for b in audit.blocks if isinstance(b, Table))
    assert len(table.rows) >= len(AUDIT_TABLE_INDICATORS)  # then the indicators summed over levels
    for indicator, row in zip(AUDIT_TABLE_INDICATORS, table.rows, strict=False):
        assert row[1] == _page_cell(release, f"audit_district_{indicator}", f"{indicator}_den", breakdown=TOTAL)


# -- the stored release ------------------------------------------------------------------------------------------


def test_a_release_survives_storage_cell_for_cell(demo):
    with duckdb.connect(str(demo), read_only=True) as con:
        release = suppress_release(release_tables(con, "2023-24", None))
    back = stored.loads(stored.dumps(release))
    assert back.settings == release.settings and back.cell_reasons == release.cell_reasons
    assert back.relations == release.relations
    for name, table in release.tables.items():
        other = back[name]
        assert other.dimensions == table.dimensions and other.footnotes == table.footnotes
        for frame in ("display", "published", "hidden", "reason"):
            assert getattr(other, frame).equals(getattr(table, frame)), (name, frame)


@pytest.fixture
def loaded(tmp_path):
    """A small district loaded with the published-figures step registered, as `python -m pipelines load` does."""
    db = tmp_path / "warehouse.duckdb"
    finish_steps.register(stored.store_releases)
    try:
        result = load_files(db, [write_district(tmp_path / "in", valid_rows())], as_of=date.fromisoformat(AS_OF))
    finally:
        finish_steps.unregister(stored.store_releases)
    assert result.exit_code == 0
    return db


def test_a_load_stores_each_years_release_and_a_viewer_reads_it(loaded, caplog):
    with duckdb.connect(str(loaded), read_only=True) as con:
        rows = con.execute(f"select school_year, scope, load_id from {stored.TABLE}").fetchall()
        load_id = stored.current_load(con)
        years = con.execute("select distinct school_year from enrollment order by 1").fetchall()
        assert rows and {r[0] for r in rows} == {y for (y,) in years}
        assert all(r[1] == stored.ALL_SCHOOLS and r[2] == load_id for r in rows)
        year = rows[0][0]
        with caplog.at_level(logging.INFO, logger="figures.stored"):
            first = stored.release_for(con, year)
        assert not [r for r in caplog.records if "building" in r.getMessage()]  # read, not built
        built = suppress_release(release_tables(con, year, None))
    for name, table in built.tables.items():
        assert first[name].display.equals(table.display)


def test_a_stored_release_of_another_load_or_rules_is_not_used(loaded, tmp_path, caplog):
    other = tmp_path / "other.duckdb"
    shutil.copy(loaded, other)
    with duckdb.connect(str(other)) as con:
        con.execute("update warehouse_info set value = 'a-later-load' where key = 'last_load_id'")
    with duckdb.connect(str(other), read_only=True) as con:
        year = con.execute(f"select min(school_year) from {stored.TABLE}").fetchone()[0]
        assert stored.stored_release(con, year)[1] == "the stored release is of another load"
        with caplog.at_level(logging.INFO, logger="figures.stored"):
            stored.release_for(con, year)
        assert any("another load" in r.getMessage() for r in caplog.records)
    with duckdb.connect(str(loaded), read_only=True) as con:
        stricter = replace(DEFAULT_SETTINGS, min_cell=DEFAULT_SETTINGS.min_cell + 1)
        release, why = stored.stored_release(con, year, settings=stricter)
        assert release is None and "other rules" in why
        assert stored.stored_release(con, year, ("SCH1",))[1] == "no stored release of this year and scope"


def test_the_fingerprint_covers_every_module_and_query_that_decides_a_release():
    """A change to the metric tables, a statistic or a mart's SQL makes a stored release stale, not only a change
    to the suppression modules: the sources are figures.release's whole import closure within the project."""
    root = stored._ROOT
    names = {p.relative_to(root).as_posix() for p in stored.release_sources()}
    for module in ("figures/release.py", "access/metric_tables.py", "access/suppression.py", "metrics/survival.py"):
        assert module in names, module
    assert any(n.startswith("sql/marts/") for n in names) and not any(n.startswith(("pages/", "ui/")) for n in names)


def test_a_stored_release_is_not_used_after_rows_changed_outside_the_loader(loaded, tmp_path):
    """A warehouse edited by hand (a copy with a year's cases deleted) keeps its load id: its stored releases
    describe rows it no longer has, and a viewer gets a release built from the rows it does have."""
    other = tmp_path / "edited.duckdb"
    shutil.copy(loaded, other)
    with duckdb.connect(str(other)) as con:
        year = con.execute(f"select min(school_year) from {stored.TABLE}").fetchone()[0]
        assert stored.stored_release(con, year)[0] is not None
        con.execute(
            "delete from case_actions where case_id in (select case_id from btam_cases where school_year = ?)", [year]
        )
        con.execute("delete from btam_cases where school_year = ?", [year])
    with duckdb.connect(str(other), read_only=True) as con:
        assert stored.stored_release(con, year) == (None, "the warehouse's rows changed since the release was stored")
        stored.forget_built()
        release = stored.release_for(con, year)
        rebuilt = suppress_release(release_tables(con, year, None))
    for name, table in rebuilt.tables.items():
        assert release[name].display.equals(table.display), name


def test_a_release_built_once_is_not_built_again_for_the_same_file_version(loaded, caplog):
    stored.forget_built()
    with duckdb.connect(str(loaded), read_only=True) as con:
        year = con.execute(f"select min(school_year) from {stored.TABLE}").fetchone()[0]
        school = con.execute("select min(school_id) from schools").fetchone()[0]
        with caplog.at_level(logging.INFO, logger="figures.stored"):
            first = stored.release_for(con, year, (school,))
            second = stored.release_for(con, year, (school,))
    assert sum("building" in r.getMessage() for r in caplog.records) == 1
    assert second is first
