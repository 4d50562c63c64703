"""Peer benchmarks from CRDC: districts like ours, chosen by a rule anyone can check, and their pooled risks.

The Equity page and the board report show these beside the district's own rates, labelled with the
CRDC year (CRDC lags the district's data). Rule and caveats: docs/METHODOLOGY.md, "Peer benchmarks".
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import polars as pl

from access.queries import run_query
from pipelines.reference.crdc import load_crdc_profile

BENCHMARK_OUTCOMES = ("iss", "oss_or_expulsion", "law_enforcement")


@dataclass(frozen=True)
class PeerRule:
    """Which districts count as peers of a district in one CRDC year.

    enrollment_ratio: peers' students within +-this share of the district's (0.5: 50% to 150%).
    school_count_ratio: peers' number of schools within +-this share (None: any number).
    min_peers: fewer peers than this and no benchmark is shown (too few to pool meaningfully).
    Always: the same state, the same CRDC year, the district itself left out.
    """
    enrollment_ratio: float = 0.5
    school_count_ratio: float | None = 0.5
    min_peers: int = 3

    def describe(self) -> str:
        text = (f"districts of the same state in the same CRDC year with {1 - self.enrollment_ratio:.0%} to "
                f"{1 + self.enrollment_ratio:.0%} of the district's enrolled students")
        if self.school_count_ratio is not None:
            text += (f" and {1 - self.school_count_ratio:.0%} to {1 + self.school_count_ratio:.0%} of its "
                     "number of schools")
        return text


class NoCrdcDistrict(LookupError):
    """The district is not in the CRDC counts of that year."""


def district_state(con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str) -> str:
    rows = con.execute("select distinct state from crdc_school_counts where lea_id = $l and school_year = $y",
                       {"l": lea_id, "y": crdc_school_year}).fetchall()
    if not rows:
        raise NoCrdcDistrict(f"district {lea_id} has no CRDC counts for {crdc_school_year}; import that year's "
                             "CRDC files of its state (python -m pipelines reference crdc ...)")
    return rows[0][0]


def peer_districts(con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str,
                   rule: PeerRule = PeerRule()) -> pl.DataFrame:
    """Every district of the state with its size, whether it is the district itself, and whether it is a peer."""
    state = district_state(con, lea_id, crdc_school_year)
    sizes = run_query(con, "reference/peer_district_sizes", school_year=crdc_school_year, state=state)
    own = sizes.filter(pl.col("lea_id") == lea_id).row(0, named=True)
    in_band = pl.col("students").is_between(own["students"] * (1 - rule.enrollment_ratio),
                                            own["students"] * (1 + rule.enrollment_ratio))
    if rule.school_count_ratio is not None:
        in_band &= pl.col("schools").is_between(own["schools"] * (1 - rule.school_count_ratio),
                                                own["schools"] * (1 + rule.school_count_ratio))
    return sizes.with_columns(
        (pl.col("lea_id") == lea_id).alias("is_district"),
        ((pl.col("lea_id") != lea_id) & in_band & (pl.col("students") > 0)).alias("is_peer"),
        pl.lit(crdc_school_year).alias("crdc_school_year"), pl.lit(state).alias("state"))


def peer_benchmarks(con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str,
                    rule: PeerRule = PeerRule(), outcomes: tuple[str, ...] = BENCHMARK_OUTCOMES) -> pl.DataFrame:
    """Peers' pooled risk per outcome x race, labelled with the CRDC year, the rule and how many peers.

    Empty (with the columns) when fewer than rule.min_peers districts qualify.
    """
    peers = peer_districts(con, lea_id, crdc_school_year, rule).filter(pl.col("is_peer"))
    state = district_state(con, lea_id, crdc_school_year)
    profile = load_crdc_profile()
    frames = []
    if peers.height >= rule.min_peers:
        for outcome in outcomes:
            spec = profile.outcomes[outcome]
            frames.append(run_query(con, "reference/peer_pooled_risks", school_year=crdc_school_year, state=state,
                                    lea_ids=peers["lea_id"].to_list(), outcome=outcome, measures=spec["measures"])
                          .with_columns(pl.lit(bool(spec["exact"])).alias("exact")))
    columns = {"crdc_school_year": pl.Utf8, "state": pl.Utf8, "outcome": pl.Utf8, "race_ethnicity": pl.Utf8,
               "n": pl.Int64, "k": pl.Int64, "risk": pl.Float64, "districts_used": pl.Int64,
               "schools_used": pl.Int64, "schools_excluded": pl.Int64, "exact": pl.Boolean}
    if not frames:
        return pl.DataFrame(schema={**columns, "peer_districts": pl.Int64, "peer_rule": pl.Utf8})
    out = pl.concat([f.select([pl.col(c).cast(t) for c, t in columns.items()]) for f in frames])
    return out.with_columns(pl.lit(peers.height).cast(pl.Int64).alias("peer_districts"),
                            pl.lit(rule.describe()).alias("peer_rule"))
