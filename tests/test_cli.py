"""The command line as a district data office uses it: exit codes, summaries, status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.interchange_files import AS_OF, valid_rows, write_district, write_entity

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipelines", *args], cwd=REPO, capture_output=True, text=True)


def test_load_prints_a_summary_per_file_and_exits_0_with_quarantined_rows(tmp_path):
    rows = valid_rows()
    rows["schools"].append({"school_id": "SCH3", "school_name": "Oak", "school_level": "university"})
    db = tmp_path / "w.duckdb"
    done = cli("load", str(write_district(tmp_path / "in", rows)), "--db", str(db), "--as-of", AS_OF)
    assert done.returncode == 0, done.stderr
    assert "schools.csv (schools): read 3, loaded 2, quarantined 1 - top rules: code:school_level 1" in done.stdout
    status = cli("status", "--db", str(db))
    assert status.returncode == 0
    assert "code:school_level" in status.stdout and "district data" in status.stdout


def test_refused_file_exits_3_and_names_column_and_row_not_value(tmp_path):
    rows = valid_rows()["enrollment"]
    rows[2]["race_ethnicity"] = "someone@example.org"
    path = write_entity(tmp_path, "enrollment", rows)
    done = cli("load", str(path), "--db", str(tmp_path / "w.duckdb"), "--as-of", AS_OF)
    assert done.returncode == 3
    assert "'race_ethnicity'" in done.stderr and "row(s) 3" in done.stderr
    assert "someone" not in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w.duckdb").exists()


def test_unknown_profile_and_bad_date_exit_2_with_a_message(tmp_path):
    folder = write_district(tmp_path / "in")
    done = cli("load", str(folder), "--db", str(tmp_path / "w.duckdb"), "--profile", "nope")
    assert done.returncode == 2 and "profile 'nope' not found" in done.stderr
    done = cli("load", str(folder), "--db", str(tmp_path / "w.duckdb"), "--as-of", "06/01/2025")
    assert done.returncode == 2 and "not a date" in done.stderr


def test_file_whose_entity_cannot_be_told_exits_4(tmp_path):
    path = tmp_path / "export_final_v2.csv"
    path.write_text("a,b\n1,2\n")
    done = cli("load", str(path), "--db", str(tmp_path / "w.duckdb"))
    assert done.returncode == 4 and "cannot tell which entity" in done.stderr and "--entity" in done.stderr


def test_status_without_a_warehouse_says_how_to_load(tmp_path):
    done = cli("status", "--db", str(tmp_path / "none.duckdb"))
    assert done.returncode == 4 and "python -m pipelines load" in done.stderr
