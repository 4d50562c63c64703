"""CSV and XLSX for downloads and exports: no formula injection, no user-chosen paths.

A cell that starts with = + - @ tab or carriage return is run as a formula by
spreadsheet programs (OWASP, "CSV Injection"); such text gets a leading
apostrophe. Numbers stay numbers. File names are a slug of [a-z0-9_-] and a
fixed extension, so no request can name a path.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import polars as pl
import xlsxwriter

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
EXTENSIONS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
_SLUG_DROP = re.compile(r"[^a-z0-9_-]+")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; anything else is unchanged."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_filename(stem: str, ext: str, *, day: dt.date | None = None) -> str:
    """`<slug>[_YYYY-MM-DD].<ext>`; the slug keeps only a-z 0-9 _ -."""
    if ext not in EXTENSIONS:
        raise ValueError(f"downloads are {', '.join(EXTENSIONS)}, not {ext!r}")
    slug = _SLUG_DROP.sub("-", str(stem).lower()).strip("-_")[:80].strip("-_") or "export"
    if day is not None:
        slug = f"{slug}_{day.isoformat()}"
    return f"{slug}.{ext}"


def export_path(directory: str | Path, stem: str, ext: str, *, day: dt.date | None = None) -> Path:
    """A path inside `directory` for a named export; the name can never leave it."""
    directory = Path(directory).resolve()
    path = (directory / safe_filename(stem, ext, day=day)).resolve()
    if path.parent != directory:
        raise ValueError(f"export name {stem!r} does not stay inside {directory}")
    return path


def _cells(frame: pl.DataFrame) -> tuple[list[str], list[tuple]]:
    return [str(neutralise(c)) for c in frame.columns], frame.rows()


def to_csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 CSV (with a byte order mark so Excel reads accents) of a frame, neutralised."""
    header, rows = _cells(frame)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else neutralise(v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx_bytes(frame: pl.DataFrame, sheet: str = "data") -> bytes:
    """One-sheet workbook: numbers as numbers, every string as a string cell, never a formula or link."""
    header, rows = _cells(frame)
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(
        buffer, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}
    )
    page = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "_", sheet)[:31] or "data")
    date_format = book.add_format({"num_format": "yyyy-mm-dd"})
    for col, name in enumerate(header):
        page.write_string(0, col, name)
    for r, row in enumerate(rows, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, bool):
                page.write_boolean(r, col, value)
            elif isinstance(value, (int, float)):
                page.write_number(r, col, value)
            elif isinstance(value, (dt.date, dt.datetime)):
                page.write_datetime(r, col, value, date_format)
            else:
                page.write_string(r, col, str(neutralise(str(value))))
    book.close()
    return buffer.getvalue()


def write_export(
    frame: pl.DataFrame, directory: str | Path, stem: str, ext: str = "csv", *, day: dt.date | None = None
) -> Path:
    """Write a neutralised CSV or XLSX under `directory` with a safe name; returns the path."""
    path = export_path(directory, stem, ext, day=day)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = to_csv_bytes(frame) if ext == "csv" else to_xlsx_bytes(frame)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return path
