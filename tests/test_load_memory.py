"""Bounded memory of a large load (issue 18 item 7): great-expectations judges a large column in batches,
and the rejected values come back as Arrow, joined to their rows in DuckDB. The 5M-row peak itself is
measured by bench/load_memory.py (docs/PERFORMANCE.md); these tests check the batching loses nothing."""

from __future__ import annotations

import re
from datetime import date

import duckdb
import pyarrow as pa

from bench.load_discipline import AS_OF, write_inputs
from bench.load_memory import write_quarantined
from data_contracts.values import PATTERNS
from pipelines import contracts, crosschecks
from pipelines.loader import load_files


def test_a_large_column_judged_in_batches_gives_every_failing_value_once(monkeypatch):
    """12,000 keys, every fifth malformed, in batches of 2,500: the failures of each batch, none twice."""
    monkeypatch.setattr(contracts, "BATCH_VALUES", 2_500)
    keys = [f"stu{i:06d}" if i % 5 else f"bad.{i}" for i in range(12_000)]
    pattern = re.compile(PATTERNS["student_key"])
    expected = sorted(k for k in keys if not pattern.fullmatch(k))
    assert len(expected) == 2_400
    found = contracts.rejected_values("discipline_actions", {"student_key": pa.chunked_array([keys], pa.string())})
    assert list(found) == [("student_key", "format:student_key")]
    assert sorted(found[("student_key", "format:student_key")].to_pylist()) == expected


def test_an_all_quarantined_file_past_one_batch_quarantines_every_row_under_its_first_rule(tmp_path, monkeypatch):
    """The bench's all-quarantined file at 6,000 rows (keys unique to the row, so the key column is judged
    in three batches): every row quarantined, each under the key's format rule, none loaded."""
    monkeypatch.setattr(contracts, "BATCH_VALUES", 2_500)
    base, _valid = write_inputs(tmp_path / "in", 6_000)
    bad = write_quarantined(tmp_path / "in", 6_000, 1_200)
    db = tmp_path / "w.duckdb"
    as_of = date.fromisoformat(AS_OF)
    assert load_files(db, [base], as_of=as_of).exit_code == 0
    result = load_files(db, [bad], as_of=as_of)
    assert result.exit_code == 0, result.error
    (file_result,) = result.files
    assert (file_result.rows_read, file_result.rows_loaded, file_result.rows_quarantined) == (6_000, 0, 6_000)
    con = duckdb.connect(str(db), read_only=True)
    try:
        rules = con.sql(
            "select rule, count(*), count(distinct row_number) from load_quarantine where file_name = $f group by 1",
            params={"f": bad.name},
        ).fetchall()
        stored = con.sql("select count(*) from discipline_actions").fetchall()[0][0]
    finally:
        con.close()
    assert rules == [("format:student_key", 6_000, 6_000)]
    assert stored == 0


def test_the_details_of_a_rows_violations_are_joined_in_order_within_a_small_memory_limit(tmp_path):
    """3M violations of 1M rows under a 150 MB DuckDB limit: the join of each row's details spills and
    keeps the rule order. An ordered string_agg (the loader's aggregate before 2026-12-04) does not spill
    and runs out of memory here (docs/PERFORMANCE.md, "Memory of one large file")."""
    con = duckdb.connect(config={"memory_limit": "150MB", "temp_directory": str(tmp_path / "spill")})
    con.execute("""create table violations as
        select i + 1 as _row_id, r.priority, 'student_key is "stu.' || lpad(i::varchar, 9, '0') || '": ' || r.name as detail
        from range(1000000) t(i), (values (3, 'third'), (1, 'first'), (2, 'second')) r(priority, name)""")
    con.execute(
        f"create table joined as select _row_id, {crosschecks.details_in_order('priority')} as detail "
        "from violations group by _row_id"
    )
    joined = con.table("joined")
    assert joined.count("*").fetchall()[0][0] == 1_000_000
    sample = dict(joined.filter("_row_id in (1, 1000000)").fetchall())
    assert sample[1] == "; ".join(f'student_key is "stu.000000000": {n}' for n in ("first", "second", "third"))
    assert sample[1_000_000].endswith('"stu.000999999": third')
