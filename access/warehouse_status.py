"""What the warehouse holds: entities, years, loads, quarantine. Shared by the CLI and the first page."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from access.queries import run_query


@dataclass(frozen=True)
class WarehouseStatus:
    info: dict[str, str]
    entities: pl.DataFrame
    enrollment_by_year: pl.DataFrame
    loads: pl.DataFrame
    quarantine: pl.DataFrame

    @property
    def synthetic(self) -> bool:
        return self.info.get("synthetic") == "true"

    @property
    def is_empty(self) -> bool:
        return self.entities["row_count"].sum() == 0

    @property
    def last_load_at(self) -> str | None:
        if self.loads.is_empty():
            return None
        return str(self.loads["loaded_at"].max())[:19]


def read_status(con: duckdb.DuckDBPyConnection) -> WarehouseStatus:
    info = dict(con.cursor().sql("select key, value from warehouse_info").fetchall())
    return WarehouseStatus(
        info=info,
        entities=run_query(con, "status/entity_counts"),
        enrollment_by_year=run_query(con, "status/enrollment_by_year"),
        loads=run_query(con, "status/load_history"),
        quarantine=run_query(con, "status/quarantine_by_rule"),
    )
