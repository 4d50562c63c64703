"""Peer benchmarks from CRDC: districts like ours, chosen by a rule anyone can check, and their pooled risks.

The Equity page and the board report show these beside the district's own rates, labelled with the
CRDC year (CRDC lags the district's data). Rule and caveats: docs/METHODOLOGY.md, "Peer benchmarks".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import duckdb
import polars as pl

from access.queries import run_query
from data_contracts import number_format as nf
from data_contracts.crdc_profile import load_crdc_profile

BENCHMARK_OUTCOMES = ("iss", "oss_or_expulsion", "law_enforcement")


@dataclass(frozen=True)
class PeerRule:
    """Which districts count as peers of a district in one CRDC year.

    enrollment_ratio: peers' students within +-this share of the district's (0.5: 50% to 150%).
    school_count_ratio: peers' number of schools within +-this share (None: any number).
    high_school_share_band: peers' share of students in high-school grades (9-12) within +-this many
        points (0.15: 15 percentage points) of the district's, from the CRDC grades offered (None: any mix).
    min_peers: fewer peers than this and no benchmark is shown (too few to pool meaningfully).
    Always: the same state, the same CRDC year, the district itself left out.
    """

    enrollment_ratio: float = 0.5
    school_count_ratio: float | None = 0.5
    high_school_share_band: float | None = 0.15
    min_peers: int = 3

    def describe(self, level_not_compared: str | None = None) -> str:
        """The rule in words; `level_not_compared` says why the school-level mix could not be applied."""
        text = (
            f"districts of the same state in the same CRDC year with {nf.fmt_pct(1 - self.enrollment_ratio, decimals=0)} to "
            f"{nf.fmt_pct(1 + self.enrollment_ratio, decimals=0)} of the district's enrolled students"
        )
        if self.school_count_ratio is not None:
            text += f", {nf.fmt_pct(1 - self.school_count_ratio, decimals=0)} to {nf.fmt_pct(1 + self.school_count_ratio, decimals=0)} of its number of schools"
        if self.high_school_share_band is not None and level_not_compared is None:
            text += (
                f" and a share of students in high-school grades (ninth to twelfth) within "
                f"{nf.fmt_setting(100 * self.high_school_share_band)} percentage points of the district's"
            )
        elif self.high_school_share_band is not None:
            text += f" (school level NOT compared: {level_not_compared})"
        return text


class PeerLevelNotCompared(UserWarning):
    """The rule asks for a similar school-level mix, but the CRDC year has no grades to compare."""


class NoCrdcDistrict(LookupError):
    """The district is not in the CRDC counts of that year."""


def district_state(con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str) -> str:
    rows = con.execute(
        "select distinct state from crdc_school_counts where lea_id = $l and school_year = $y",
        {"l": lea_id, "y": crdc_school_year},
    ).fetchall()
    if not rows:
        raise NoCrdcDistrict(
            f"district {lea_id} has no CRDC counts for {crdc_school_year}; import that year's "
            "CRDC files of its state (python -m pipelines reference crdc ...)"
        )
    return rows[0][0]


def has_table(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(con.execute("select count(*) from duckdb_tables() where table_name = $t", {"t": name}).fetchall()[0][0])


def _levels(
    con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str, state: str
) -> tuple[pl.DataFrame, str | None]:
    """Each district's high-school share, and why the level cannot be compared (None when it can)."""
    empty = pl.DataFrame(
        schema={
            "lea_id": pl.String,
            "high_school_share": pl.Float64,
            "schools_with_grades": pl.Int64,
            "schools_without_grades": pl.Int64,
        }
    )
    if not has_table(con, "crdc_school_grades"):
        return empty, "the warehouse holds no CRDC grade columns (SCH_GRADE_*)"
    levels = run_query(con, "reference/peer_district_levels", school_year=crdc_school_year, state=state)
    if levels.filter(pl.col("schools_with_grades") > 0).is_empty():
        return levels, f"the CRDC {crdc_school_year} files imported have no grade columns (SCH_GRADE_*)"
    own = levels.filter(pl.col("lea_id") == lea_id)
    if own.is_empty() or own["high_school_share"][0] is None:
        return levels, f"the district's own schools have no grades offered in CRDC {crdc_school_year}"
    return levels, None


def peer_districts(
    con: duckdb.DuckDBPyConnection, lea_id: str, crdc_school_year: str, rule: PeerRule = PeerRule()
) -> pl.DataFrame:
    """Every district of the state with its size and high-school share, whether it is the district
    itself, and whether it is a peer. `peer_rule` is the rule in words, saying so when the school-level
    mix could not be compared (then a PeerLevelNotCompared warning is also issued)."""
    state = district_state(con, lea_id, crdc_school_year)
    sizes = run_query(con, "reference/peer_district_sizes", school_year=crdc_school_year, state=state)
    levels, not_compared = _levels(con, lea_id, crdc_school_year, state)
    sizes = sizes.join(levels.select("lea_id", "high_school_share", "schools_with_grades"), on="lea_id", how="left")
    own = sizes.filter(pl.col("lea_id") == lea_id).row(0, named=True)
    in_band = pl.col("students").is_between(
        own["students"] * (1 - rule.enrollment_ratio), own["students"] * (1 + rule.enrollment_ratio)
    )
    if rule.school_count_ratio is not None:
        in_band &= pl.col("schools").is_between(
            own["schools"] * (1 - rule.school_count_ratio), own["schools"] * (1 + rule.school_count_ratio)
        )
    level_compared = rule.high_school_share_band is not None and not_compared is None
    if level_compared:  # a district whose level is unknown cannot be shown to be similar: not a peer
        in_band &= (pl.col("high_school_share") - own["high_school_share"]).abs().fill_null(
            2.0
        ) <= rule.high_school_share_band + 1e-9
    elif rule.high_school_share_band is not None:
        warnings.warn(
            f"peer rule for {lea_id}, CRDC {crdc_school_year}: school level not compared: {not_compared}",
            PeerLevelNotCompared,
            stacklevel=2,
        )
    return sizes.with_columns(
        (pl.col("lea_id") == lea_id).alias("is_district"),
        ((pl.col("lea_id") != lea_id) & in_band & (pl.col("students") > 0)).alias("is_peer"),
        pl.lit(crdc_school_year).alias("crdc_school_year"),
        pl.lit(state).alias("state"),
        pl.lit(level_compared).alias("level_compared"),
        pl.lit(rule.describe(not_compared)).alias("peer_rule"),
    )


def peer_benchmarks(
    con: duckdb.DuckDBPyConnection,
    lea_id: str,
    crdc_school_year: str,
    rule: PeerRule = PeerRule(),
    outcomes: tuple[str, ...] = BENCHMARK_OUTCOMES,
) -> pl.DataFrame:
    """Peers' pooled risk per outcome x race, labelled with the CRDC year, the rule and how many peers.

    Empty (with the columns) when fewer than rule.min_peers districts qualify.
    """
    districts = peer_districts(con, lea_id, crdc_school_year, rule)
    peers = districts.filter(pl.col("is_peer"))
    state = district_state(con, lea_id, crdc_school_year)
    profile = load_crdc_profile()
    frames = []
    if peers.height >= rule.min_peers:
        for outcome in outcomes:
            spec = profile.outcomes[outcome]
            frames.append(
                run_query(
                    con,
                    "reference/peer_pooled_risks",
                    school_year=crdc_school_year,
                    state=state,
                    lea_ids=peers["lea_id"].to_list(),
                    outcome=outcome,
                    measures=spec["measures"],
                ).with_columns(pl.lit(bool(spec["exact"])).alias("exact"))
            )
    columns = {
        "crdc_school_year": pl.Utf8,
        "state": pl.Utf8,
        "outcome": pl.Utf8,
        "race_ethnicity": pl.Utf8,
        "n": pl.Int64,
        "k": pl.Int64,
        "risk": pl.Float64,
        "districts_used": pl.Int64,
        "schools_used": pl.Int64,
        "schools_excluded": pl.Int64,
        "exact": pl.Boolean,
    }
    if not frames:
        return pl.DataFrame(schema={**columns, "peer_districts": pl.Int64, "peer_rule": pl.Utf8})
    out = pl.concat([f.select([pl.col(c).cast(t) for c, t in columns.items()]) for f in frames])
    return out.with_columns(
        pl.lit(peers.height).cast(pl.Int64).alias("peer_districts"),
        pl.lit(districts["peer_rule"][0]).alias("peer_rule"),
    )


# -- what the Equity page and the board report show -------------------------------------------------------------

CRDC_COMMAND = "python -m pipelines reference crdc CRDC_FILES/ --db WAREHOUSE --state XX --district-lea LEAID"
DISTRICT_COMMAND = "python -m pipelines reference district --lea-id LEAID --db WAREHOUSE"


@dataclass(frozen=True)
class BenchmarkView:
    """State and peer benchmarks for one district school year, or why there are none.

    status: ready (state and peers), no_peers (state only: too few peers), no_district (state only: no
    LEA id recorded), district_not_in_crdc (state only), no_crdc (nothing). `message` says what to do.
    """

    status: str
    message: str
    crdc_year: str | None = None
    state: str | None = None
    lea_id: str | None = None
    state_rates: pl.DataFrame | None = None  # outcome, race_ethnicity, n, k, risk, exact, source
    peers: pl.DataFrame | None = None  # peer_benchmarks (empty below rule.min_peers)
    peer_count: int = 0
    peer_rule: str = ""

    @property
    def has_state(self) -> bool:
        return self.state_rates is not None and self.state_rates.height > 0

    @property
    def has_peers(self) -> bool:
        return self.peers is not None and self.peers.height > 0

    def label(self) -> str:
        """'CRDC 2020-21, 4 peer districts: <rule>' (or the state alone)."""
        head = f"CRDC {self.crdc_year}"
        if self.has_peers:
            return f"{head}, {self.peer_count} peer districts: {self.peer_rule}"
        return f"{head}, state of {self.state}" if self.state else head

    def lag_years(self, district_year: str) -> int:
        return int(district_year[:4]) - int(self.crdc_year[:4]) if self.crdc_year else 0


def district_lea(con: duckdb.DuckDBPyConnection) -> str | None:
    """The district's NCES LEA id recorded in reference_district, or None."""
    if not has_table(con, "reference_district"):
        return None
    rows = run_query(con, "reference/reference_district")
    return rows["lea_id"][0] if rows.height else None


def benchmark_view(
    con: duckdb.DuckDBPyConnection,
    district_year: str,
    rule: PeerRule = PeerRule(),
    outcomes: tuple[str, ...] = BENCHMARK_OUTCOMES,
) -> BenchmarkView:
    """The CRDC year closest before (or at) `district_year` that knows the district (else the latest
    CRDC year), its state risks by race and, with a recorded LEA id, the peers' pooled risks."""
    if not has_table(con, "crdc_school_counts"):
        return BenchmarkView("no_crdc", _no_crdc_message())
    lea = district_lea(con)
    years = run_query(con, "reference/crdc_years", lea_id=lea)
    if years.is_empty():
        return BenchmarkView("no_crdc", _no_crdc_message())
    candidates = years.filter(pl.col("has_district")) if lea is not None else years
    if candidates.is_empty():
        candidates = years
    earlier = candidates.filter(pl.col("school_year") <= district_year)
    chosen = (earlier if earlier.height else candidates).sort("school_year").row(-1, named=True)
    crdc_year = chosen["school_year"]
    rates = run_query(con, "reference/crdc_state_rates", school_year=crdc_year).filter(
        (pl.col("dimension") == "race_ethnicity") & pl.col("outcome").is_in(list(outcomes))
    )
    state_rates = rates.select("outcome", pl.col("group").alias("race_ethnicity"), "n", "k", "risk", "exact", "source")
    common = {"crdc_year": crdc_year, "state": chosen["state"], "lea_id": lea, "state_rates": state_rates}
    if lea is None:
        return BenchmarkView(
            "no_district",
            "Peer districts need the district's NCES LEA id: record it with "
            f"`{DISTRICT_COMMAND}` (the 7-digit LEAID of the CRDC files).",
            **common,
        )
    if not chosen["has_district"]:
        return BenchmarkView(
            "district_not_in_crdc",
            f"The recorded district LEA id {lea} is not among the CRDC "
            f"{crdc_year} schools of {chosen['state']}: check the id (`{DISTRICT_COMMAND}`) or "
            "import the CRDC files of the district's state.",
            **common,
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PeerLevelNotCompared)  # the rule text says so instead
        peers = peer_benchmarks(con, lea, crdc_year, rule, outcomes)
        districts = peer_districts(con, lea, crdc_year, rule)
    count = int(districts["is_peer"].sum())
    rule_text = districts["peer_rule"][0]
    if peers.is_empty():
        return BenchmarkView(
            "no_peers",
            f"Only {count} district(s) of {chosen['state']} match the peer rule "
            f"({rule_text}); at least {rule.min_peers} are needed for a peer benchmark.",
            **common,
            peers=peers,
            peer_count=count,
            peer_rule=rule_text,
        )
    return BenchmarkView("ready", "", **common, peers=peers, peer_count=count, peer_rule=rule_text)


def _no_crdc_message() -> str:
    return (
        "No CRDC reference data is loaded, so there is no state or peer benchmark. Import your state's CRDC "
        f"school-level files and record the district's NCES LEA id: `{CRDC_COMMAND}` "
        "(docs/REFERENCE_DATA.md)."
    )
