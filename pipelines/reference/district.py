"""Which CRDC district this warehouse's district is: its NCES LEA id (LEAID), kept in reference_district.

The peer benchmarks (access/benchmarks.py) compare "us" with districts like us; CRDC names districts by
LEAID, which the district's own exports do not carry. Recorded with
`python -m pipelines reference district --lea-id ID` or `reference crdc ... --district-lea ID`, through
the same build-a-copy-and-swap write as every reference import (pipelines/reference/store.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.reference import store

LEA_ID = re.compile(r"\d{7}")
# NCES state FIPS codes that prefix a LEAID (50 states, DC, Puerto Rico, Bureau of Indian Education 59,
# DoD schools 58 and 61, outlying areas 60 66 69 72 78).
STATE_FIPS = {
    1,
    2,
    4,
    5,
    6,
    8,
    9,
    10,
    11,
    12,
    13,
    15,
    16,
    17,
    18,
    19,
    20,
    21,
    22,
    23,
    24,
    25,
    26,
    27,
    28,
    29,
    30,
    31,
    32,
    33,
    34,
    35,
    36,
    37,
    38,
    39,
    40,
    41,
    42,
    44,
    45,
    46,
    47,
    48,
    49,
    50,
    51,
    53,
    54,
    55,
    56,
    58,
    59,
    60,
    61,
    66,
    69,
    72,
    78,
}


class DistrictLeaError(ValueError):
    """An LEA id that cannot be an NCES district id; the message says what one looks like."""


@dataclass
class DistrictLea:
    """What was recorded, and where the CRDC counts already loaded know the district."""

    lea_id: str
    unchanged: bool = False
    found: list[tuple[str, str, str | None, int]] = field(default_factory=list)  # year, state, name, schools

    def summary(self) -> str:
        head = f"district LEA id {self.lea_id} " + ("already recorded, unchanged" if self.unchanged else "recorded")
        if self.found:
            return (
                head
                + "; in CRDC "
                + "; ".join(
                    f"{year} ({state}, {name or 'no name'}, {schools:,} schools)"
                    for year, state, name, schools in self.found
                )
            )
        return (
            head + "; no CRDC year loaded so far has this district: peer benchmarks appear once its state's "
            "CRDC files are imported (python -m pipelines reference crdc FILES --state XX)"
        )


def check_lea_id(lea_id: str) -> str:
    """The id trimmed, or DistrictLeaError: NCES LEA ids are 7 digits, the first two a state FIPS code."""
    text = str(lea_id).strip()
    if not LEA_ID.fullmatch(text):
        raise DistrictLeaError(
            f"{lea_id!r} is not an NCES LEA id: it has 7 digits, the state's 2-digit FIPS code "
            "then 5 digits (e.g. 5300300; CRDC column LEAID, NCES Common Core of Data 'NCES "
            "District ID'). Keep leading zeros (0100005, not 100005)"
        )
    if int(text[:2]) not in STATE_FIPS:
        raise DistrictLeaError(
            f"{lea_id!r} is not an NCES LEA id: {text[:2]} is not a state FIPS code "
            "(e.g. 53 for Washington, 06 for California)"
        )
    return text


def record_district_lea(con: duckdb.DuckDBPyConnection, lea_id: str, load_id: str) -> DistrictLea:
    """Inside a build (store.write_atomically): replace the one row of reference_district."""
    lea_id = check_lea_id(lea_id)
    before = con.sql("select lea_id from reference_district").fetchall()
    con.execute("delete from reference_district")
    con.execute("insert into reference_district values ($l, now()::timestamp, $load)", {"l": lea_id, "load": load_id})
    found = con.execute(
        """select school_year, any_value(state), any_value(lea_name), count(distinct school_id)
                           from crdc_school_counts where lea_id = $l group by school_year order by school_year""",
        {"l": lea_id},
    ).fetchall()
    return DistrictLea(lea_id, before == [(lea_id,)], [(y, s, n, int(c)) for y, s, n, c in found])


def set_district_lea(db_path: str | Path, lea_id: str) -> DistrictLea:
    """Record the district's LEA id in the warehouse at `db_path`: a new version swapped in atomically."""
    lea_id = check_lea_id(lea_id)
    result: list[DistrictLea] = []
    load_id = store.new_load_id()
    store.write_atomically(db_path, load_id, lambda con: result.append(record_district_lea(con, lea_id, load_id)))
    return result[0]
