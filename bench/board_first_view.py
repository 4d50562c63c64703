"""The board's first Overview after a load, without and with the releases stored at load time.

    python -m bench.board_first_view --db WAREHOUSE [--year 2024-25] [--out FILE.json]

The board's Overview prints the released cells of the year and of the year before (figures.stored.release_for)
beside the exact figures it derives statistics from (ui.page_data.overview). "before": the warehouse holds no
stored release, so the first view builds both releases (the disclosure audit). "after": a copy of the warehouse
with the releases stored as `python -m pipelines load` stores them (figures.stored.store_releases, timed too:
the cost moves into the load). Wall seconds of one cold call each, in a fresh connection.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import duckdb

logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from access import metric_tables as mt  # noqa: E402
from figures import stored  # noqa: E402
from figures.release import prior_year  # noqa: E402


def first_view(db: Path, year: str) -> dict[str, float | bool]:
    """Seconds of the board's first Overview data on `db`: both releases, and the exact figures beside them."""
    with duckdb.connect(str(db), read_only=True) as con:
        was_stored = stored.stored_release(con, year)[0] is not None
        start = time.perf_counter()
        stored.release_for(con, year)
        stored.release_for(con, prior_year(year))
        releases = time.perf_counter() - start
        mark = time.perf_counter()
        years = [prior_year(year), year]
        mt.case_volumes(con, years, None, include_district=True, include_schools=False)
        mt.concern_levels(con, years, None, include_district=True, include_schools=False, dimensions=("all",))
        mt.disproportionality(con, years, None, include_district=True, include_schools=False, tests=False)
        mt.process_audit(con, None, years, None, include_district=True, include_schools=False)
        exact = time.perf_counter() - mark
    return {"stored": was_stored, "releases_s": releases, "exact_figures_s": exact, "total_s": releases + exact}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.board_first_view", description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="a warehouse file (left unchanged: the bench works on copies)")
    parser.add_argument("--year", default=None, help="school year (default: the latest)")
    parser.add_argument("--out", default=None, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as work:
        before_db, after_db = Path(work) / "before.duckdb", Path(work) / "after.duckdb"
        shutil.copy(args.db, before_db)
        with duckdb.connect(str(before_db)) as con:
            con.execute(f"drop table if exists {stored.TABLE}")
        shutil.copy(before_db, after_db)
        with duckdb.connect(str(before_db), read_only=True) as con:
            year = args.year or max(mt.school_years(con))
            students = con.execute("select count(*) from enrollment where school_year = ?", [year]).fetchone()
        before = first_view(before_db, year)
        start = time.perf_counter()
        with duckdb.connect(str(after_db)) as con:
            years = stored.store_releases(con)
        store_s = time.perf_counter() - start
        after = first_view(after_db, year)
    result = {
        "school_year": year,
        "students_enrolled": students[0] if students else 0,
        "cpus": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
        "before": before,
        "after": after,
        "store_releases_s": store_s,
        "years_stored": years,
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
