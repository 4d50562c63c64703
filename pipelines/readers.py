"""Reading one export file into a DuckDB table of text columns, row numbers kept.

Every reader produces the same thing: a table whose columns are the file's
header names, all VARCHAR, plus `_row_id`, the 1-based data row (header = 0).
Nothing is interpreted here; mapping and the contracts come after.

Rows that cannot be split into the header's columns (ragged rows, rows over
MAX_ROW_BYTES, Excel rows with values right of the header) are not a reason
to refuse the file: they keep their row number in the table as a placeholder
(the fields as found, the overflow joined into the last column) and are listed
in the temp table `<table>_malformed` ("_row_id", "malformed row" = one field
of the row, "detail"), so the loader quarantines them under `malformed_row`
and the identifier guard sees every field. Quoting errors (a quote never
closed, a quote in the middle of a field) do refuse the file, with the line:
after them the rows cannot be told apart.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = "comma (,), semicolon (;) or tab"
OTHER_DELIMITERS = ("|", ":", "^", "~", "#", " ")
CHUNK = 1 << 20
MAX_ROW_BYTES = 2_000_000  # DuckDB's line limit; longer rows are quarantined as malformed_row
MALFORMED_FIELD_SHOWN = 2_000  # characters of a malformed row's field kept in the placeholder
MALFORMED_COLUMN = "malformed row"


class ReadError(Exception):
    """A file that cannot be read as a table; the message says what to do."""


@dataclass(frozen=True)
class ReadResult:
    table: str
    columns: list[str]  # header names as in the file
    rows_read: int
    encoding: str
    delimiter: str | None
    malformed_rows: int = 0  # rows listed in `<table>_malformed`
    sheet: str | None = None  # the Excel sheet read

    @property
    def malformed_table(self) -> str:
        return f"{self.table}_malformed"


def read_into(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    work_dir: Path,
    entity: str | None = None,
    sheet: str | None = None,
) -> ReadResult:
    """Read `path` into table `table` (replacing it); dispatch on the file's real content.

    For a workbook, `sheet` names the sheet to read (from `--sheet` or the profile); without it the sheet
    named after `entity` is read, else the only sheet holding data: several such sheets is an error that
    names them, never a silent pick of the first."""
    kind = file_kind(path)
    con.execute(f"drop table if exists {table}_malformed")
    if kind == "xlsx":
        return _read_xlsx(con, path, table, entity, sheet)
    if kind == "parquet":
        return _read_parquet(con, path, table)
    return _read_csv(con, path, table, work_dir)


def file_kind(path: Path) -> str:
    """csv, xlsx or parquet, from the content, checked against the name; else a ReadError saying what to do."""
    if not path.exists():
        raise ReadError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise ReadError(f"{path.name}: the file is empty (no header row). Export it again with a header row.")
    kind = _sniff_kind(path)
    suffix = path.suffix.lower()
    expected = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".parquet": "parquet"}.get(suffix)
    if expected is None:
        raise ReadError(f"{path.name}: unsupported file type {suffix!r}; use .csv, .xlsx or .parquet")
    if kind != expected:
        raise ReadError(
            f"{path.name}: the name says {expected.upper()} but the content is "
            f"{KIND_NAMES.get(kind, kind.upper())}; rename the file or export it again "
            "(accepted: .csv as UTF-8 or Windows-1252 text, .xlsx, .parquet)"
        )
    return kind


KIND_NAMES = {
    "csv": "text",
    "xlsx": "XLSX",
    "parquet": "PARQUET",
    "binary": "BINARY (not text)",
    "xls": "an old Excel .xls workbook (BINARY; save it as .xlsx or 'CSV UTF-8')",
    "utf16": "UTF-16 text (save it as 'CSV UTF-8')",
    "gzip": "a GZIP archive (BINARY; unpack it first)",
    "pdf": "a PDF document (BINARY)",
}
MAGIC = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls"),
    (b"\xff\xfe", "utf16"),
    (b"\xfe\xff", "utf16"),
    (b"\x1f\x8b", "gzip"),
    (b"%PDF", "pdf"),
)


def _sniff_kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8192)
        fh.seek(max(0, path.stat().st_size - 4))
        tail = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    for magic, kind in MAGIC:
        if head.startswith(magic):
            return kind
    if head.startswith(b"PAR1"):
        if tail != b"PAR1":
            raise ReadError(f"{path.name}: the Parquet file is truncated (no footer); copy or export it again")
        return "parquet"
    if b"\x00" in head[:8192]:
        return "binary"
    return "csv"


def _detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM) when the whole file decodes, else cp1252 -- unless the file mixes
    the two (some lines UTF-8, some not), which no single reading can turn into the right text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            pass
    utf8_line = other_line = None
    with path.open("rb") as fh:
        for number, line in enumerate(fh, 1):
            if line.isascii():
                continue
            try:
                line.decode("utf-8")
                utf8_line = utf8_line or number
            except UnicodeDecodeError:
                other_line = other_line or number
            if utf8_line and other_line:
                raise ReadError(
                    f"{path.name}: the file mixes text encodings: line {utf8_line} is UTF-8 but line "
                    f"{other_line} is not (probably Windows-1252), so accented letters would be read wrongly. "
                    "Save the whole file in one encoding (Excel: 'CSV UTF-8') and load it again"
                )
    return "cp1252"


def _transcode(path: Path, work_dir: Path) -> Path:
    out = work_dir / (path.stem + ".utf8.csv")
    try:
        with path.open("r", encoding="cp1252", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        raise ReadError(
            f"{path.name}: the file is neither UTF-8 nor Windows-1252 text (byte {exc.start} "
            "cannot be read); save it as UTF-8 CSV and load it again"
        ) from exc
    return out


def _header(path: Path, source: Path, encoding: str = "utf-8-sig") -> tuple[list[str], str]:
    """Header names and delimiter from the first line of `source` (UTF-8 unless `encoding` says otherwise);
    messages name `path`."""
    with source.open("r", encoding=encoding, newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise ReadError(f"{path.name}: the first line is blank; the first line must be the header row")
    delimiter = max(DELIMITERS, key=first.count)
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    names = [n.strip() for n in names]
    if len(names) == 1:
        used = max(OTHER_DELIMITERS, key=first.strip().count)
        seems = f" (it seems to use {used!r})" if first.strip().count(used) else ""
        raise ReadError(
            f"{path.name}: the header row is one single column{seems}. The accepted delimiters "
            f"are {DELIMITER_NAMES}; export the file again with one of them and load it again"
        )
    _check_header(path, names)
    return names, delimiter


def _check_header(path: Path, names: list[str]) -> None:
    if any(not n for n in names):
        blank = [i + 1 for i, n in enumerate(names) if not n]
        raise ReadError(
            f"{path.name}: header column(s) {blank} have no name; name every column "
            "(the first line must be the header row)"
        )
    seen: dict[str, int] = {}
    for position, n in enumerate(names, start=1):
        if n.lower() in seen:  # positions, not the name: in a file without a header row the "name" is data
            raise ReadError(
                f"{path.name}: header columns {seen[n.lower()]} and {position} have the same name; "
                "keep one and load again (the first line must be the header row)"
            )
        seen[n.lower()] = position


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, work_dir: Path) -> ReadResult:
    encoding = _detect_encoding(path)
    source = path if encoding == "utf-8" else _transcode(path, work_dir)
    names, delimiter = _header(path, source)
    malformed = 0
    try:
        _strict_csv(con, source, table, names, delimiter)
    except duckdb.Error:
        # Rows that do not fit the header: find them with Python's csv module, keep their row numbers.
        malformed = _read_csv_tolerant(con, path, source, table, names, delimiter, work_dir)
    return ReadResult(table, names, _count(con, table), encoding, delimiter, malformed)


def _strict_csv(
    con: duckdb.DuckDBPyConnection,
    source: Path,
    table: str,
    names: list[str],
    delimiter: str,
    max_line_size: int = MAX_ROW_BYTES,
) -> None:
    con.execute(f"drop table if exists {table}")
    con.execute(
        f"create temp table {table} as select * from {_csv_source(names, max_line_size)}",
        {"path": str(source), "delim": delimiter},
    )


def _csv_source(names: list[str], max_line_size: int = MAX_ROW_BYTES, options: str = "") -> str:
    """The read_csv call of the loader's strict CSV dialect (every column text, as the header names it),
    with `$path` and `$delim` bound by the caller; `options` adds to it."""
    return (
        f"read_csv($path, delim=$delim, header=true, quote='\"', escape='\"', auto_detect=false, "
        f"columns={_columns_literal(names)}, null_padding=false, strict_mode=true, max_line_size={max_line_size}"
        f"{options})"
    )


def _read_csv_tolerant(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    source: Path,
    table: str,
    names: list[str],
    delimiter: str,
    work_dir: Path,
) -> int:
    """Every record in file order: good ones as they are, malformed ones as placeholders (see module doc).

    Streams to two files in `work_dir`, so memory stays bounded whatever the file's size."""
    csv.field_size_limit(sys.maxsize)
    width = len(names)
    rows_file = work_dir / f"{path.stem}.rows.csv"
    malformed_file = work_dir / f"{path.stem}.malformed.csv"
    malformed = row = 0
    with (
        source.open("r", encoding="utf-8-sig", newline="") as fh,
        rows_file.open("w", encoding="utf-8", newline="") as rows_out,
        malformed_file.open("w", encoding="utf-8", newline="") as bad_out,
    ):
        reader = csv.reader(fh, delimiter=delimiter, quotechar='"', doublequote=True, strict=True)
        rows, bad = csv.writer(rows_out, lineterminator="\n"), csv.writer(bad_out, lineterminator="\n")
        rows.writerow(names)
        start = 1
        try:
            next(reader)
            start = reader.line_num + 1
            for record in reader:
                if not record:  # a blank line is not a row (DuckDB skips it too)
                    start = reader.line_num + 1
                    continue
                row += 1
                size = sum(len(f.encode("utf-8")) for f in record) + len(record)
                if len(record) == width and size <= MAX_ROW_BYTES:
                    rows.writerow(record)
                else:
                    if len(record) != width and reader.line_num > start:
                        raise ReadError(
                            f"{path.name}: the row starting at line {start} of the file runs to line "
                            f"{reader.line_num} and has {len(record)} fields instead of {width}: a quote is "
                            "probably not closed. Fix the quotes or re-export the file and load it again"
                        )
                    detail = (
                        f"the row has {len(record)} fields but the header has {width}"
                        if len(record) != width
                        else f"the row is {size:,} bytes long, over the limit of {MAX_ROW_BYTES:,}"
                    )
                    detail += f" (line {start} of the file)"
                    kept = [f[:MALFORMED_FIELD_SHOWN] for f in record]
                    placeholder = (
                        kept + [""] * (width - len(kept))
                        if len(kept) < width
                        else kept[: width - 1] + [delimiter.join(kept[width - 1 :])]
                    )
                    rows.writerow(placeholder)
                    bad.writerows([row, field, detail] for field in kept)
                    malformed += 1
                start = reader.line_num + 1
        except csv.Error as exc:
            raise ReadError(
                f"{path.name}: the CSV cannot be parsed in the row starting at line {start} of the "
                f"file ({exc}): every quote must be closed, and a quoted field must end at a "
                f"{delimiter!r}. Fix or re-export the file and load it again"
            ) from exc
    try:
        _strict_csv(con, rows_file, table, names, ",", max_line_size=4 * MAX_ROW_BYTES)
        con.execute(
            f"""create temp table {table}_malformed as select * from read_csv($path, header=false,
            auto_detect=false, quote='"', escape='"', delim=',', max_line_size={4 * MAX_ROW_BYTES},
            columns={{'_row_id': 'BIGINT', '{MALFORMED_COLUMN}': 'VARCHAR', 'detail': 'VARCHAR'}})""",
            {"path": str(malformed_file)},
        )
    except duckdb.Error as exc:
        raise ReadError(
            f"{path.name}: the CSV cannot be parsed ({_first_line(exc)}). Fix or re-export the file and load it again"
        ) from exc
    finally:
        rows_file.unlink(missing_ok=True)
        malformed_file.unlink(missing_ok=True)
    return malformed


def read_column_values(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    table: str,
    header: str,
    entity: str | None = None,
    sheet: str | None = None,
) -> str | None:
    """The distinct values of one column of `path` into table `table`, under the header as the file writes
    it, which is returned; None when the file has no column `header` (compared trimmed, case-insensitively,
    as the mapping compares headers). The values are text as `read_into` reads them, from one pass over
    the one column; rows that do not fit the header are left out, as the load quarantines them."""
    kind = file_kind(path)
    wanted = header.strip().lower()
    con.execute(f"drop table if exists {table}")
    if kind == "xlsx":
        return _xlsx_column(con, path, table, wanted, entity, sheet)
    if kind == "parquet":
        return _parquet_column(con, path, table, wanted)
    encoding = _detect_encoding(path)
    names, delimiter = _header(path, path, "utf-8-sig" if encoding == "utf-8" else encoding)
    column = next((n for n in names if n.lower() == wanted), None)
    if column is None:
        return None
    quoted = '"' + column.replace('"', '""') + '"'
    try:
        # Windows-1252 read as Latin-1, without a transcoded copy: the two differ in no character of a date
        con.execute(
            f"create temp table {table} as select distinct {quoted} "
            f"from {_csv_source(names, options=', encoding=$encoding, ignore_errors=true')}",
            {"path": str(path), "delim": delimiter, "encoding": "utf-8" if encoding == "utf-8" else "latin-1"},
        )
    except duckdb.Error as exc:  # not the error's text: it quotes the line
        raise ReadError(
            f"{path.name}: the CSV cannot be parsed ({type(exc).__name__}). Fix or re-export the file and load it again"
        ) from exc
    return column


def _parquet_column(con: duckdb.DuckDBPyConnection, path: Path, table: str, wanted: str) -> str | None:
    """read_column_values of a Parquet file, the column as text as `_read_parquet` makes it."""
    try:
        schema = con.sql(
            "select column_name, column_type from (describe select * from read_parquet($p))", params={"p": str(path)}
        ).fetchall()
        found = next(((n, t) for n, t in schema if n.strip().lower() == wanted), None)
        if found is None:
            return None
        con.execute(
            f"create temp table {table} as select distinct {_parquet_text(*found)} from read_parquet($p)",
            {"p": str(path)},
        )
    except duckdb.Error as exc:
        raise ReadError(f"{path.name}: the Parquet file cannot be read: {_first_line(exc)}") from exc
    return found[0]


def _xlsx_column(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, wanted: str, entity: str | None, sheet_title: str | None
) -> str | None:
    """read_column_values of a workbook: the cells of the one column of the sheet `read_into` reads."""
    book = _open_book(path)
    try:
        sheet = _choose_sheet(path, book.worksheets, entity, sheet_title)
        header = next(sheet.iter_rows(values_only=True), None) or ()
        names = ["" if h is None else str(h).strip() for h in header]
        keys = [n.lower() for n in names]
        if wanted not in keys:
            return None
        index = keys.index(wanted)
        cells = sheet.iter_rows(min_col=index + 1, max_col=index + 1, values_only=True)
        next(cells, None)
        values = {_cell_text(row[0]) if row else None for row in cells}
    finally:
        book.close()
    con.register("_xlsx_column", pa.table({names[index]: pa.array(list(values), type=pa.string())}))
    con.execute(f"create temp table {table} as select * from _xlsx_column")
    con.unregister("_xlsx_column")
    return names[index]


def _columns_literal(names: list[str]) -> str:
    """A read_csv columns struct literal; names are quoted, never interpreted."""
    return "{" + ", ".join("'" + n.replace("'", "''") + "': 'VARCHAR'" for n in names) + "}"


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> ReadResult:
    """Every column as text, as a CSV would arrive: dates and timestamps written by pandas or Arrow
    become ISO dates when they carry no time of day (the interchange has no time columns)."""
    try:
        schema = con.sql(
            "select column_name, column_type from (describe select * from read_parquet($p))", params={"p": str(path)}
        ).fetchall()
        names = [n for n, _ in schema]
        _check_header(path, names)
        nested = [n for n, t in schema if t.endswith("]") or t.startswith(("STRUCT", "MAP", "UNION"))]
        if nested:
            raise ReadError(
                f"{path.name}: column(s) {', '.join(map(repr, nested[:5]))} hold lists or records, not single "
                "values; write the file with one plain value per column"
            )
        select = ", ".join(_parquet_text(n, t) for n, t in schema)
        con.execute(f"drop table if exists {table}")
        con.execute(f"create temp table {table} as select {select} from read_parquet($p)", {"p": str(path)})
    except duckdb.Error as exc:
        raise ReadError(f"{path.name}: the Parquet file cannot be read: {_first_line(exc)}") from exc
    return ReadResult(table, names, _count(con, table), "parquet", None)


def _parquet_text(name: str, column_type: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if column_type == "BOOLEAN":
        return f"case when {quoted} then 'Y' when not {quoted} then 'N' end as {quoted}"
    if column_type.startswith("TIMESTAMP") and "TIME ZONE" not in column_type:
        # midnight -> the date alone; a real time of day stays visible and fails the date rule in quarantine
        as_ts = f"cast({quoted} as timestamp)"
        return (
            f"case when {as_ts} = date_trunc('day', {as_ts}) then strftime({as_ts}, '%Y-%m-%d') "
            f"else cast({quoted} as varchar) end as {quoted}"
        )
    return f"cast({quoted} as varchar) as {quoted}"


def _sheet_key(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.strip().lower()).strip("_")


def _read_xlsx(
    con: duckdb.DuckDBPyConnection, path: Path, table: str, entity: str | None, wanted: str | None
) -> ReadResult:
    """The chosen sheet (see `read_into`). Merged cells and formulas without a saved result refuse the
    file (they would become blanks that nobody typed); a formula with a saved result is read as that
    result, as Excel shows it."""
    book = _open_book(path)
    try:
        sheet = _choose_sheet(path, book.worksheets, entity, wanted)
        _check_sheet_cells(path, book, sheet)
        names, columns, malformed = _sheet_rows(path, sheet)
    finally:
        book.close()
    arrow = pa.table({n: pa.array(col, type=pa.string()) for n, col in zip(names, columns)})
    con.execute(f"drop table if exists {table}")
    con.register("_xlsx_rows", arrow)
    con.execute(f"create temp table {table} as select * from _xlsx_rows")
    con.unregister("_xlsx_rows")
    if malformed:
        bad = pa.table(
            {
                "_row_id": pa.array([m[0] for m in malformed], type=pa.int64()),
                MALFORMED_COLUMN: pa.array([m[1] for m in malformed], type=pa.string()),
                "detail": pa.array([m[2] for m in malformed], type=pa.string()),
            }
        )
        con.register("_xlsx_bad", bad)
        con.execute(f"create temp table {table}_malformed as select * from _xlsx_bad")
        con.unregister("_xlsx_bad")
    return ReadResult(table, names, _count(con, table), "xlsx", None, len({m[0] for m in malformed}), sheet.title)


def _open_book(path: Path):
    import openpyxl

    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ReadError(
            f"{path.name}: the Excel file cannot be opened ({type(exc).__name__}); save it again from Excel as .xlsx"
        ) from exc


def workbook_sheet(path: Path, entity: str | None, wanted: str | None = None) -> str:
    """The title of the sheet `read_into` would read (the rule is there); opened read-only, cells unread."""
    book = _open_book(path)
    try:
        return _choose_sheet(path, book.worksheets, entity, wanted).title
    finally:
        book.close()


def _choose_sheet(path: Path, sheets: list, entity: str | None, wanted: str | None):
    if not sheets:
        raise ReadError(f"{path.name}: the workbook has no worksheet; export the data again")
    titles = ", ".join(repr(ws.title) for ws in sheets)
    if wanted is not None:
        for key in (lambda t: t, lambda t: t.strip().casefold(), _sheet_key):
            found = [ws for ws in sheets if key(ws.title) == key(wanted)]
            if len(found) == 1:
                return found[0]
        raise ReadError(
            f"{path.name}: no sheet named {wanted!r}; the workbook's sheets are {titles}. "
            "Give one of them with --sheet (or the profile's entities.<entity>.sheet)"
        )
    named = [ws for ws in sheets if entity and _sheet_key(ws.title) == entity]
    if len(named) == 1:
        return named[0]
    with_data = [ws for ws in sheets if _has_values(ws)]
    if len(with_data) == 1:
        return with_data[0]
    if not with_data:
        raise ReadError(f"{path.name}: every sheet is empty ({titles}); export the data again")
    raise ReadError(
        f"{path.name}: {len(with_data)} sheets hold data ({', '.join(repr(ws.title) for ws in with_data)}) "
        "and none is named after the entity; say which to load with --sheet NAME "
        "(or the profile's entities.<entity>.sheet)"
    )


def _has_values(sheet) -> bool:
    """Any non-blank cell; stops at the first one, so a large sheet costs one row."""
    return any(v not in (None, "") for row in sheet.iter_rows(values_only=True) for v in row)


def _sheet_rows(path: Path, sheet) -> tuple[list[str], list[list[str | None]], list[tuple[int, str, str]]]:
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise ReadError(f"{path.name}: the sheet {sheet.title!r} is empty; it must start with a header row")
    while header and header[-1] is None:
        header = header[:-1]
    names = ["" if h is None else str(h).strip() for h in header]
    if not names:
        raise ReadError(f"{path.name}: the first row of sheet {sheet.title!r} is blank; it must be the header row")
    _check_header(path, names)
    width = len(names)
    columns: list[list[str | None]] = [[] for _ in names]
    malformed: list[tuple[int, str, str]] = []
    number, excel_row = 0, (sheet.min_row or 1)
    for row in rows:
        excel_row += 1
        if row is None or all(v is None for v in row):
            continue
        number += 1
        texts = [_cell_text(v) for v in row]
        for i in range(width):
            columns[i].append(texts[i] if i < len(texts) else None)
        beyond = [t for t in texts[width:] if t is not None]
        if beyond:
            detail = (
                f"the row has {len(beyond)} value(s) right of the header's last column "
                f"(sheet {sheet.title!r}, Excel row {excel_row})"
            )
            malformed.extend((number, t[:MALFORMED_FIELD_SHOWN], detail) for t in texts if t is not None)
    return names, columns, malformed


def _check_sheet_cells(path: Path, book, sheet) -> None:
    """Merged ranges and formulas without a saved value, from the sheet's XML (read-only sheets hide both)."""
    ns = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
    merged, formulas = [], []
    try:
        with book._archive.open(sheet._worksheet_path) as xml:
            for _, element in ET.iterparse(xml, events=("end",)):
                if element.tag == ns + "c":
                    formula, value = element.find(ns + "f"), element.find(ns + "v")
                    if (
                        formula is not None
                        and (value is None or value.text in (None, ""))
                        and element.get("t") != "inlineStr"
                    ):
                        formulas.append(element.get("r") or "?")
                    element.clear()
                elif element.tag == ns + "mergeCell":
                    merged.append(element.get("ref") or "?")
                elif element.tag == ns + "row":
                    element.clear()
    except (KeyError, ET.ParseError) as exc:
        raise ReadError(
            f"{path.name}: sheet {sheet.title!r} cannot be read ({type(exc).__name__}); "
            "save the file again from Excel as .xlsx"
        ) from exc
    if merged:
        shown = ", ".join(merged[:5]) + (f" and {len(merged) - 5} more" if len(merged) > 5 else "")
        raise ReadError(
            f"{path.name}: sheet {sheet.title!r} has merged cells ({shown}), which would be read "
            "as blanks. Unmerge them and put the value in every cell, then load again"
        )
    if formulas:
        shown = ", ".join(formulas[:5]) + (f" and {len(formulas) - 5} more" if len(formulas) > 5 else "")
        raise ReadError(
            f"{path.name}: sheet {sheet.title!r} has formulas with no saved result ({shown}), which "
            "would be read as blanks. Open the file in Excel and save it (or paste the values "
            "over the formulas), then load again"
        )


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.sql(f"select count(*) from {table}").fetchall()[0][0]


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
