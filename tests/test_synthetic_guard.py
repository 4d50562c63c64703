"""`load --synthetic` only for files the demo generator made: the mark turns login off (issue 16)."""

from __future__ import annotations

import shutil

from pipelines.__main__ import main
from pipelines.synthetic import MANIFEST, not_generated


def test_the_generators_files_pass_and_changed_or_foreign_ones_do_not(demo_warehouse, tmp_path):
    demo = demo_warehouse(students=1000).parent / "demo"
    assert (demo / MANIFEST).is_file()
    assert not_generated([demo]) == []
    copy = tmp_path / "demo"
    shutil.copytree(demo, copy)
    assert not_generated([copy, copy / "schools.csv"]) == []  # a copy with its manifest is still the demo
    with (copy / "schools.csv").open("a") as handle:
        handle.write("SCH99999,Real Elementary,elementary\n")  # a real row slipped in
    assert not_generated([copy]) == [copy / "schools.csv"]
    (copy / "real_cases.csv").write_text("case_id\n1\n")
    assert set(not_generated([copy])) == {copy / "schools.csv", copy / "real_cases.csv"}


def test_cli_refuses_synthetic_for_real_exports_before_touching_the_warehouse(demo_warehouse, tmp_path, capsys):
    exports = tmp_path / "district"
    exports.mkdir()
    shutil.copy(demo_warehouse(students=1000).parent / "demo" / "schools.csv", exports / "schools.csv")  # no manifest
    db = tmp_path / "warehouse.duckdb"
    assert main(["load", str(exports), "--db", str(db), "--synthetic", "--quiet"]) == 2
    assert "--synthetic is only for files made by `python -m pipelines demo`" in capsys.readouterr().err
    assert not db.exists()
