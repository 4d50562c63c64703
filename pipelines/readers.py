"""Reading one export file into a DuckDB table of text columns, row numbers kept.

Every reader produces the same thing: a table whose columns are the file's
header names, all VARCHAR, plus `_row_id`, the 1-based data row (header = 0).
Nothing is interpreted here; mapping and the contracts come after.
"""
from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

DELIMITERS = (",", ";", "\t")
CHUNK = 1 << 20


class ReadError(Exception):
    """A file that cannot be read as a table; the message says what to do."""


@dataclass(frozen=True)
class ReadResult:
    table: str
    columns: list[str]      # header names as in the file
    rows_read: int
    encoding: str
    delimiter: str | None


def read_into(con: duckdb.DuckDBPyConnection, path: Path, table: str, work_dir: Path) -> ReadResult:
    """Read `path` into table `table` (replacing it); dispatch on the file's real content."""
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
        raise ReadError(f"{path.name}: the name says {expected.upper()} but the content is "
                        f"{kind.upper() if kind != 'csv' else 'text'}; rename the file or export it again")
    if kind == "xlsx":
        return _read_xlsx(con, path, table)
    if kind == "parquet":
        return _read_parquet(con, path, table)
    return _read_csv(con, path, table, work_dir)


def _sniff_kind(path: Path) -> str:
    with path.open("rb") as fh:
        head = fh.read(8)
        fh.seek(max(0, path.stat().st_size - 4))
        tail = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"PAR1"):
        if tail != b"PAR1":
            raise ReadError(f"{path.name}: the Parquet file is truncated (no footer); copy or export it again")
        return "parquet"
    if b"\x00" in head:
        return "binary"
    return "csv"


def _detect_encoding(path: Path) -> str:
    """utf-8 (with or without BOM) when the whole file decodes, else cp1252."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as fh:
        try:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"


def _transcode(path: Path, work_dir: Path) -> Path:
    out = work_dir / (path.stem + ".utf8.csv")
    try:
        with path.open("r", encoding="cp1252", newline="") as src, out.open("w", encoding="utf-8", newline="") as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
    except UnicodeDecodeError as exc:
        raise ReadError(f"{path.name}: the file is neither UTF-8 nor Windows-1252 text (byte {exc.start} "
                        "cannot be read); save it as UTF-8 CSV and load it again") from exc
    return out


def _header(path: Path, encoding: str) -> tuple[list[str], str]:
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise ReadError(f"{path.name}: the first line is blank; the first line must be the header row")
    delimiter = max(DELIMITERS, key=first.count)
    names = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    names = [n.strip() for n in names]
    _check_header(path, names)
    return names, delimiter


def _check_header(path: Path, names: list[str]) -> None:
    if any(not n for n in names):
        position = [i + 1 for i, n in enumerate(names) if not n]
        raise ReadError(f"{path.name}: header column(s) {position} have no name; name every column")
    seen: set[str] = set()
    for n in names:
        if n.lower() in seen:
            raise ReadError(f"{path.name}: the header has column {n!r} twice; keep one and load again")
        seen.add(n.lower())


def _read_csv(con: duckdb.DuckDBPyConnection, path: Path, table: str, work_dir: Path) -> ReadResult:
    encoding = _detect_encoding(path)
    source = path if encoding == "utf-8" else _transcode(path, work_dir)
    names, delimiter = _header(source, "utf-8")
    try:
        con.execute(f"drop table if exists {table}")
        con.execute(
            f"create temp table {table} as select * from read_csv($path, delim=$delim, header=true, quote='\"', "
            f"escape='\"', auto_detect=false, "
            f"columns={_columns_literal(names)}, null_padding=false, strict_mode=true)",
            {"path": str(source), "delim": delimiter},
        )
    except duckdb.Error as exc:
        line = re.search(r"CSV Error on Line: (\d+)", str(exc))
        where = f"at line {line.group(1)} of the file" if line else f"({_first_line(exc)})"
        raise ReadError(f"{path.name}: the CSV cannot be parsed {where}: every row must have the header's "
                        f"{len(names)} fields ({delimiter!r}-separated) and every quote must be closed. "
                        "Fix or re-export the file and load it again") from exc
    return ReadResult(table, names, _count(con, table), encoding, delimiter)


def _columns_literal(names: list[str]) -> str:
    """A read_csv columns struct literal; names are quoted, never interpreted."""
    return "{" + ", ".join("'" + n.replace("'", "''") + "': 'VARCHAR'" for n in names) + "}"


def _read_parquet(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> ReadResult:
    try:
        schema = con.sql("select name, type from parquet_schema($p) where num_children is null or num_children = 0",
                         params={"p": str(path)}).fetchall()
        names = [n for n, _ in schema]
        _check_header(path, names)
        select = ", ".join(_parquet_text(n, t) for n, t in schema)
        con.execute(f"drop table if exists {table}")
        con.execute(f"create temp table {table} as select {select} from read_parquet($p)", {"p": str(path)})
    except duckdb.Error as exc:
        raise ReadError(f"{path.name}: the Parquet file cannot be read: {_first_line(exc)}") from exc
    return ReadResult(table, names, _count(con, table), "parquet", None)


def _parquet_text(name: str, physical_type: str) -> str:
    quoted = '"' + name.replace('"', '""') + '"'
    if physical_type == "BOOLEAN":
        return f"case when {quoted} then 'Y' when not {quoted} then 'N' end as {quoted}"
    return f"cast({quoted} as varchar) as {quoted}"


def _read_xlsx(con: duckdb.DuckDBPyConnection, path: Path, table: str) -> ReadResult:
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raise ReadError(f"{path.name}: the Excel file cannot be opened ({type(exc).__name__}); "
                        "save it again from Excel as .xlsx") from exc
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise ReadError(f"{path.name}: the first sheet {sheet.title!r} is empty")
    while header and header[-1] is None:
        header = header[:-1]
    names = ["" if h is None else str(h).strip() for h in header]
    _check_header(path, names)
    columns: list[list[str | None]] = [[] for _ in names]
    for row in rows:
        if row is None or all(v is None for v in row):
            continue
        for i in range(len(names)):
            columns[i].append(_cell_text(row[i]) if i < len(row) else None)
    book.close()
    arrow = pa.table({n: pa.array(col, type=pa.string()) for n, col in zip(names, columns)})
    con.execute(f"drop table if exists {table}")
    con.register("_xlsx_rows", arrow)
    con.execute(f"create temp table {table} as select * from _xlsx_rows")
    con.unregister("_xlsx_rows")
    return ReadResult(table, names, _count(con, table), "xlsx", None)


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
