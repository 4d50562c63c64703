"""The --messy vendor export loads through its profile: every row loaded or quarantined under the
expected rule, nothing else quarantined, and the identifier files refused whole."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.__main__ import main as cli
from pipelines.loader import EXIT_REFUSED, load_files


@pytest.fixture(scope="module")
def messy_demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("messy")
    assert cli(["demo", "--out", str(out), "--students", "3000", "--years", "2", "--seed", "7", "--messy"]) == 0
    return out


def test_vendor_export_reconciles_file_by_file(messy_demo, tmp_path):
    truth = json.loads((messy_demo / "ground_truth.json").read_text())
    db = tmp_path / "vendor.duckdb"
    result = load_files(db, [messy_demo / "vendor"], "vendor_messy", as_of=date.fromisoformat(truth["as_of"]))
    assert result.exit_code == 0, result.error
    con = duckdb.connect(str(db), read_only=True)
    try:
        ledger = con.sql("select file_name, rows_read, rows_loaded, rows_quarantined from load_ledger").fetchall()
        quarantined = set(con.sql("select file_name, row_number, rule from load_quarantine").fetchall())
    finally:
        con.close()
    assert len(ledger) == 6
    for file_name, read, loaded, held in ledger:
        assert read == loaded + held and read > 0, file_name
    expected = {
        (e["file"], e["row_number"], e["rule"])
        for e in json.loads((messy_demo / "vendor" / "expected_quarantine.json").read_text())
    }
    assert quarantined == expected


def test_vendor_rows_equal_the_clean_interchange_rows(messy_demo, tmp_path):
    """Mapping is exact: what loads from the vendor export equals the demo's own rows for those keys."""
    truth = json.loads((messy_demo / "ground_truth.json").read_text())
    as_of = date.fromisoformat(truth["as_of"])
    clean, vendor = tmp_path / "clean.duckdb", tmp_path / "vendor.duckdb"
    assert load_files(clean, [messy_demo], as_of=as_of).exit_code == 0
    assert load_files(vendor, [messy_demo / "vendor"], "vendor_messy", as_of=as_of).exit_code == 0
    con = duckdb.connect(str(vendor), read_only=True)
    con.execute(f"attach '{clean}' as clean (read_only)")
    try:
        for table, _key in (
            ("enrollment", "school_year, student_key"),
            ("btam_cases", "case_id"),
            ("case_actions", "action_id"),
            ("case_reviews", "review_id"),
            ("discipline_actions", "action_id"),
            ("schools", "school_id"),
        ):
            columns = [
                r[0]
                for r in con.sql(
                    f"select column_name from information_schema.columns where "
                    f"table_name = '{table}' and table_catalog = 'clean' "
                    f"and column_name <> 'load_id'"
                ).fetchall()
            ]
            cols = ", ".join(columns)
            differing = con.sql(
                f"select count(*) from (select {cols} from main.{table} except select {cols} from clean.{table})"
            ).fetchall()[0][0]
            assert differing == 0, f"{table}: {differing} vendor rows differ from the clean rows"
    finally:
        con.close()


@pytest.mark.parametrize("name", ["enrollment_with_names.csv", "btam_cases_with_contacts.csv"])
def test_identifier_files_are_refused_whole(messy_demo, tmp_path, name):
    db = tmp_path / "w.duckdb"
    truth = json.loads((messy_demo / "ground_truth.json").read_text())
    assert load_files(db, [messy_demo], as_of=date.fromisoformat(truth["as_of"])).exit_code == 0
    before = db.read_bytes()
    result = load_files(db, [messy_demo / "identifiers" / name], as_of=date.fromisoformat(truth["as_of"]))
    assert result.exit_code == EXIT_REFUSED
    assert db.read_bytes() == before
    assert "@" not in result.error and "555" not in result.error and "Example" not in result.error
