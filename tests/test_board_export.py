"""`pipelines export --audience board`: one school year's figures as the board's pages publish them (issue 14
item 1, the export part). Read back from the CSV files: no count of 1-9, every cell the one the pages' release
prints, the spec's disproportionality columns with a hidden count and its statistics blank."""

from __future__ import annotations

import csv
from argparse import Namespace
from pathlib import Path

import pytest

from figures.released_export import DISPARITY_COLUMNS, FIGURE_COLUMNS, SUPPRESSED_FILES
from pipelines.export import run
from ui import page_data

YEAR = "2024-25"
STATISTICS = ("risk", "comparison_risk", "risk_ratio", "rr_ci_low", "rr_ci_high", "risk_difference", "p_value")


@pytest.fixture(scope="module")
def demo(demo_warehouse) -> Path:
    return demo_warehouse(students=1500)


def export(db: Path, out: Path, **options) -> int:
    args = {"as_of": None, "audience": "board", "year": YEAR, **options}
    return run(Namespace(db=str(db), out=str(out), **args))


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        return list(reader.fieldnames or []), list(reader)


@pytest.fixture(scope="module")
def exported(demo, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("board_export")
    assert export(demo, out) == 0
    return out


def is_count(row: dict[str, str]) -> bool:
    return not row["measure"].endswith("_rate")


def test_the_board_export_writes_its_files_and_no_count_of_one_to_nine(exported):
    assert sorted(p.name for p in exported.iterdir()) == sorted(SUPPRESSED_FILES)
    header, rows = read(exported / "published_figures.csv")
    assert header == list(FIGURE_COLUMNS)
    counts = [r for r in rows if is_count(r)]
    assert len(counts) > 200 and {r["school_year"] for r in rows} == {YEAR}
    small = [r for r in counts if r["value"] and 1 <= int(r["value"]) <= 9]
    assert not small, f"counts of 1-9 in the board export: {small[:5]}"
    hidden = [r for r in counts if r["shown"] in ("<10", "*")]
    assert hidden, "a demo year of 1,500 students hides some counts"
    assert all(r["value"] == "" and r["withheld"] and r["note"] for r in hidden)
    assert all(r["value"] == r["shown"].replace(",", "") for r in counts if r not in hidden)


def test_the_board_export_is_the_pages_release_cell_for_cell(exported, demo, monkeypatch):
    monkeypatch.setenv("BTAM_WAREHOUSE", str(demo))
    release = page_data.public_release(f"test-export-{demo}", YEAR, None)
    _, rows = read(exported / "published_figures.csv")
    printed = {(r["figure"], r["group_1"], r["group_2"] or "", r["measure"]): (r["shown"], r["value"]) for r in rows}
    expected = {}
    for name, table in release.tables.items():
        dims = list(table.dimensions)
        for i in range(table.display.height):
            groups = [str(table.display[d][i]) for d in dims] + [""] * (2 - len(dims))
            for measure in (c for c in table.display.columns if c not in dims):
                value = table.published[measure][i]
                number = "" if value is None else (str(value) if not measure.endswith("_rate") else repr(value))
                expected[(name, groups[0], groups[1], measure)] = (str(table.display[measure][i]), number)
    assert printed == expected


def test_the_board_disproportionality_file_blanks_hidden_counts_and_their_statistics(exported):
    header, rows = read(exported / "disproportionality.csv")
    assert header == list(DISPARITY_COLUMNS)
    assert rows and {r["scope"] for r in rows} == {"district"}
    for row in rows:
        for column in ("n", "k", "comparison_n", "comparison_k"):
            assert not (row[column] and 1 <= int(row[column]) <= 9), (column, row)
        if not all(row[c] for c in ("n", "k", "comparison_n", "comparison_k")):
            assert all(row[c] == "" for c in STATISTICS), row
            assert row["ratio_method"] == "none" and row["flagged"] == "false", row
    assert any(row["risk_ratio"] for row in rows), "some groups' statistics are published"
    assert any(row["k"] == "" for row in rows), "some groups' counts are hidden"


def test_a_year_the_warehouse_does_not_hold_is_a_clear_error(demo, tmp_path, capsys):
    assert export(demo, tmp_path / "out", year="1999-00") == 2
    assert "--year '1999-00' is not a school year of this warehouse" in capsys.readouterr().err
