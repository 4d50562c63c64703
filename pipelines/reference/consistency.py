"""Consistency reports of reference imports: parts that do not add to their totals are written to
reference_consistency and counted in the import's summary, never corrected or dropped silently."""

from __future__ import annotations

import duckdb
import polars as pl

from access.queries import query_text


def run_named(con: duckdb.DuckDBPyConnection, name: str, **params) -> pl.DataFrame:
    """A named query of sql/ on this very connection: the import's temp tables are visible only here."""
    text = query_text(name)
    bound = {k: v for k, v in params.items() if f"${k}" in text}
    return con.sql(text, params=bound or None).pl()


def crdc_consistency(con: duckdb.DuckDBPyConnection, load_id: str, school_year: str) -> int:
    """Findings of sql/reference/crdc_consistency_findings.sql over the import's cells; how many."""
    findings = run_named(con, "reference/crdc_consistency_findings")
    return _insert(con, findings, load_id, "crdc", school_year)


def aggregate_consistency(
    con: duckdb.DuckDBPyConnection, load_id: str, source: str, school_year: str, profile: dict
) -> int:
    """Findings of sql/reference/aggregate_consistency_findings.sql over the import's counts; how many."""
    parts = [f"{p['measure']}|{p['dimension']}" for p in profile.get("parts", [])]
    risk = profile.get("risk", {"n": "", "k": ""})
    findings = run_named(
        con,
        "reference/aggregate_consistency_findings",
        load_id=load_id,
        parts=parts,
        n_measure=risk["n"],
        k_measure=risk["k"],
    )
    return _insert(con, findings, load_id, source, school_year)


def _insert(con: duckdb.DuckDBPyConnection, findings: pl.DataFrame, load_id: str, source: str, school_year: str) -> int:
    if findings.height == 0:
        return 0
    rows = findings.select(
        pl.lit(load_id).alias("load_id"),
        pl.lit(source).alias("source"),
        pl.lit(school_year).alias("school_year"),
        "scope",
        "check_name",
        "subject",
        pl.col("expected").cast(pl.Int64),
        pl.col("observed").cast(pl.Int64),
        "detail",
    )
    con.register("_findings", rows.to_arrow())
    con.execute("insert into reference_consistency select * from _findings")
    con.unregister("_findings")
    return rows.height
