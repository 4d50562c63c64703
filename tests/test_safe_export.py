"""Downloads: formula injection neutralised, numbers kept, file names safe."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import polars as pl
import pytest

from access.safe_export import export_path, neutralise, safe_filename, to_csv_bytes, to_xlsx_bytes, write_export

ATTACKS = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\r=1", "  =1"]


@pytest.mark.parametrize("text", ATTACKS)
def test_formula_text_gets_a_leading_apostrophe(text):
    assert neutralise(text) == "'" + text


def test_ordinary_text_and_numbers_are_unchanged():
    assert neutralise("Lincoln Middle") == "Lincoln Middle"
    assert neutralise("<10") == "<10"
    assert neutralise(-3) == -3 and neutralise(2.5) == 2.5 and neutralise(None) is None


def frame():
    return pl.DataFrame({"school": ATTACKS, "count": list(range(-3, len(ATTACKS) - 3)), "rate": [0.5] * len(ATTACKS)})


def test_csv_cells_are_neutralised_and_numbers_stay_numbers():
    text = to_csv_bytes(frame()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["school", "count", "rate"]
    assert all(r[0].startswith("'") for r in rows[1:])
    assert [r[1] for r in rows[1:]] == [str(v) for v in range(-3, len(ATTACKS) - 3)]


def test_csv_header_is_neutralised_too():
    text = to_csv_bytes(pl.DataFrame({"=cmd": [1]})).decode("utf-8-sig")
    assert text.splitlines()[0] == "'=cmd"


def test_xlsx_has_no_formulas_and_keeps_numbers():
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(frame())))
    sheet = book.active
    values = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    assert all(isinstance(v[0], str) and v[0].startswith("'") for v in values)
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    assert [v[1] for v in values] == list(range(-3, len(ATTACKS) - 3))
    assert values[0][2] == 0.5


@pytest.mark.parametrize(
    "stem,expected",
    [
        ("../../etc/passwd", "etc-passwd.csv"),
        ("OSS by Race 2024/25", "oss-by-race-2024-25.csv"),
        ("", "export.csv"),
        ("名前", "export.csv"),
        ("a\x00b", "a-b.csv"),
    ],
)
def test_file_names_are_slugs(stem, expected):
    assert safe_filename(stem, "csv") == expected


def test_file_names_take_a_date_and_only_known_extensions():
    assert safe_filename("oss", "xlsx", day=dt.date(2025, 5, 30)) == "oss_2025-05-30.xlsx"
    with pytest.raises(ValueError):
        safe_filename("oss", "html")


def test_exports_stay_inside_their_folder(tmp_path):
    path = write_export(frame(), tmp_path, "../../outside", "csv")
    assert path.parent == tmp_path.resolve()
    assert path.name == "outside.csv"
    assert export_path(tmp_path, "/etc/passwd", "xlsx").parent == tmp_path.resolve()
