"""python -m pipelines status: what is loaded, when, from which files, and what was quarantined."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb

from access.warehouse_status import read_status
from pipelines.sessions import explain, wal_of
from pipelines.warehouse import connect_read_only

EXIT_WAREHOUSE = 5


def _table(rows: list[tuple], headers: list[str]) -> str:
    cells = [headers] + [["" if v is None else (f"{v:,}" if isinstance(v, int) else str(v)) for v in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def run(args) -> int:
    path = Path(args.db)
    if not path.exists():
        print(f"no warehouse at {path}; load files with: python -m pipelines load PATH... --db {path}", file=sys.stderr)
        return 4
    try:
        con = connect_read_only(path)
        try:
            status = read_status(con)
        finally:
            con.close()
    except duckdb.Error as exc:  # a damaged file, an orphan WAL, a read-write session: words, not a traceback
        print(f"error: {explain(path, exc)}", file=sys.stderr)
        return EXIT_WAREHOUSE
    if wal_of(path).exists():
        print(
            f"note: {wal_of(path).name} holds writes of a session that ended without a checkpoint (or is still "
            "open); the next load folds them into the warehouse\n"
        )
    kind = "SYNTHETIC demo data" if status.synthetic else "district data"
    print(
        f"warehouse {path} ({kind}); last load {status.last_load_at or 'never'}, "
        f"as-of {status.info.get('last_load_as_of', '-')}\n"
    )
    print(_table(status.entities.rows(), ["entity", "rows", "first year", "last year", "schools"]))
    print("\nfiles loaded (newest first)")
    loads = status.loads.select(
        "loaded_at", "file_name", "entity", "status", "rows_read", "rows_loaded", "rows_quarantined"
    )
    print(
        _table(
            [(str(r[0])[:19],) + r[1:] for r in loads.rows()],
            ["loaded at", "file", "entity", "status", "read", "loaded", "quarantined"],
        )
    )
    print("\nquarantine by rule")
    if status.quarantine.is_empty():
        print("(nothing quarantined)")
    else:
        print(_table(status.quarantine.rows(), ["file", "entity", "rule", "rows", "first rows"]))
    return 0
