"""The metrics find what the synthetic demo planted (ground_truth.json), and nothing it did not plant.

The demo (pipelines/demo, docs/DEMO.md) draws every student attribute independently, plants effects
for some groups and schools, and records the realised counts. These tests load it through the real
loader and run the same access.metric_tables functions the export and the pages use.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from functools import cache
from pathlib import Path

import duckdb
import polars as pl
import pytest
from scipy import stats

from access import metric_tables as mt
from metrics.disproportionality import disproportionality

pytestmark = pytest.mark.slow

STUDENTS = 20_000
MAIN_SEED = 11
NULL_SEEDS = (21, 22, 23)
ALPHA = 0.05

# Families (school_year x district x outcome) in which the demo plants nothing for any group of any
# dimension (docs/DEMO.md, "Groups without effect"): every row of them is a true null hypothesis.
NULL_OUTCOMES = (
    "iss",
    "law_enforcement",
    "case_high_or_imminent",
    "case_law_enforcement",
    "case_placement_change",
    "idea_iss_le10",
    "idea_iss_gt10",
)
# Dimensions whose groups carry no planted effect on any outcome.
NULL_DIMENSIONS = ("sex", "english_learner", "econ_disadvantaged")


@cache
def demo(seed: int, root: str) -> tuple[Path, dict]:
    """The demo district of `seed`: its files written by `python -m pipelines demo`, then loaded by the loader
    in this process, as the demo command would, but without the published figures (these tests read the
    metric tables, never a release)."""
    from pipelines.loader import load_files

    out, db = Path(root) / f"demo{seed}", Path(root) / f"demo{seed}.duckdb"
    args = ["demo", "--out", str(out), "--students", str(STUDENTS), "--years", "3", "--seed", str(seed)]
    done = subprocess.run(
        [sys.executable, "-m", "pipelines", *args],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    truth = json.loads((out / "ground_truth.json").read_text())
    result = load_files(db, [out], "interchange", as_of=date.fromisoformat(truth["as_of"]), synthetic=True)
    assert result.exit_code == 0, result.error
    return db, truth


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("ground_truth"))


@pytest.fixture(scope="module")
def main(root):
    db, truth = demo(MAIN_SEED, root)
    con = duckdb.connect(str(db), read_only=True)
    yield con, truth
    con.close()


@pytest.fixture(scope="module")
def district_disp(main):
    con, _ = main
    return mt.disproportionality(con, include_schools=False)


def _row(table: pl.DataFrame, year: str, outcome: str, dimension: str, group: str) -> dict:
    return table.filter(school_year=year, scope="district", outcome=outcome, dimension=dimension, group=group).row(
        0, named=True
    )


def _pooled(table: pl.DataFrame, outcome: str, dimension: str, group: str) -> dict:
    """Group vs all others over the three years at once (student-years), for effects a single year is too
    small to show at the default sizes."""
    counts = (
        table.filter(scope="district", outcome=outcome, dimension=dimension)
        .group_by("group")
        .agg(pl.col("n").sum(), pl.col("k").sum())
    )
    return disproportionality(counts).filter(group=group).row(0, named=True)


def test_counts_equal_the_realised_counts(main, district_disp):
    _, truth = main
    for year, real in truth["realized"].items():
        for race, expect in real["referral_by_race"].items():
            got = _row(district_disp, year, "btam_referral", "race_ethnicity", race)
            assert (got["n"], got["k"], got["comparison_n"], got["comparison_k"]) == (
                expect["n"],
                expect["k"],
                expect["comparison_n"],
                expect["comparison_k"],
            ), (year, race)
        for outcome, dimension, group, key in (
            ("btam_referral", "disability_status", "idea", "referral_idea"),
            ("oss_or_expulsion", "race_ethnicity", "bl", "oss_or_expulsion_bl"),
            ("oss_or_expulsion", "disability_status", "idea", "oss_or_expulsion_idea"),
            ("iss", "race_ethnicity", "bl", "iss_bl"),
            ("law_enforcement", "race_ethnicity", "bl", "law_enforcement_bl"),
        ):
            got = _row(district_disp, year, outcome, dimension, group)
            assert (got["n"], got["k"]) == (real[key]["n"], real[key]["k"]), (year, key)


def test_planted_referral_disparities_are_found(main, district_disp):
    """Flagged exactly when the ratio the demo realised exceeds the threshold (the planted 2.3 and 2.2
    come out anywhere from ~1.7 to ~3 in a year of 20,000 students), higher risk every year, and a
    clearly raised ratio over the three years together."""
    _, truth = main
    for dimension, group, key in (("race_ethnicity", "bl", None), ("disability_status", "idea", "referral_idea")):
        for year, real in truth["realized"].items():
            expect = real["referral_by_race"][group] if key is None else real[key]
            row = _row(district_disp, year, "btam_referral", dimension, group)
            assert row["risk"] > row["comparison_risk"], (group, year)
            assert row["risk_ratio"] == pytest.approx(expect["risk_ratio"], abs=1e-4)
            assert row["flagged"] == (expect["risk_ratio"] > 2.0), (group, year)
        pooled = _pooled(district_disp, "btam_referral", dimension, group)
        assert pooled["risk_ratio"] > 1.6 and pooled["rr_ci_low"] > 1.2, (group, pooled)
    assert district_disp.filter(outcome="btam_referral", group="bl", flagged=True).height >= 1
    # am (planted 1.8) is ~1% of students: its direction is right over the three years together
    am = _pooled(district_disp, "btam_referral", "race_ethnicity", "am")
    assert am["risk"] > am["comparison_risk"]


def test_planted_oss_disparities_are_found(main, district_disp):
    for dimension, group in (("race_ethnicity", "bl"), ("disability_status", "idea")):
        pooled = _pooled(district_disp, "oss_or_expulsion", dimension, group)
        assert pooled["rr_ci_low"] > 1.3 and pooled["risk_ratio"] > 1.5, (group, pooled)
        iss = _pooled(district_disp, "iss", dimension, group)
        assert iss["rr_ci_low"] < 1.5  # no planted iss effect


def test_planted_conditional_disparity_is_found(main):
    con, _ = main
    table = mt.conditional_disparities(con, include_schools=False)
    bl = table.filter(
        school_year=mt.POOLED_YEARS, outcome="case_exclusionary", dimension="race_ethnicity", group="bl"
    ).row(0, named=True)
    assert bl["odds_ratio"] > 1.5 and bl["ci_low"] > 1, bl
    # the harsher outcome is not explained by higher ratings: no race effect on the level itself
    disp = mt.disproportionality(con, include_schools=False)
    level = _pooled(disp, "case_high_or_imminent", "race_ethnicity", "bl")
    assert level["rr_ci_low"] < 1 < level["rr_ci_high"]


def test_planted_school_problems_are_off_target(main):
    con, truth = main
    ridgeview = truth["named_schools"]["law_enforcement_in_low_concern_cases"]["school_id"]
    lakeside = truth["named_schools"]["missing_plans_and_slow_first_interventions"]["school_id"]
    audit = mt.process_audit(con)
    judged = audit.filter(pl.col("status").is_in(["on_target", "off_target"]))
    le = judged.filter(scope=ridgeview, indicator="law_enforcement_low_moderate")
    plans = judged.filter(scope=lakeside, indicator="written_plan_moderate_plus")
    assert le.height and set(le["status"]) == {"off_target"}
    assert plans.height and set(plans["status"]) == {"off_target"}
    # pooled over years the rates stand out against the district
    pooled = (
        audit.filter(indicator="law_enforcement_low_moderate")
        .group_by("scope")
        .agg(pl.col("numerator").sum() / pl.col("denominator").sum())
    )
    share = dict(pooled.iter_rows())
    assert share[ridgeview] > 3 * share["district"]
    # slow first interventions: Lakeside's Kaplan-Meier median is longer than the district's every year
    tti = mt.time_to_intervention(con)
    for year in truth["realized"]:
        school = tti.filter(school_year=year, scope=lakeside, concern_level="all").row(0, named=True)
        district = tti.filter(school_year=year, scope="district", concern_level="all").row(0, named=True)
        assert school["median_days"] is None or school["median_days"] >= district["median_days"] + 7, year
    timely = (
        mt.timeliness(con)
        .filter(concern_level="low")
        .group_by("scope")
        .agg(pl.col("n_met").sum() / (pl.col("n_met").sum() + pl.col("n_missed").sum()))
    )
    assert dict(timely.iter_rows())[lakeside] < dict(timely.iter_rows())["district"]


def test_open_cases_are_censored_not_dropped(main):
    con, truth = main
    last = list(truth["realized"])[-1]
    cases = mt.case_timeline(con, school_years=[last])
    still_open = cases.filter(pl.col("closed_date").is_null())
    assert still_open.height == truth["realized"][last]["open_cases_at_as_of"] > 0
    row = mt.time_to_intervention(con, school_years=[last]).filter(scope="district", concern_level="all")
    assert row["n_events"][0] < row["n_cases"][0] == cases.height


def test_groups_without_effect_are_not_discovered_beyond_the_false_discovery_rate(root):
    """Over several seeds, the district rows of families with no planted effect at all: a "discovery" is
    q < alpha or flagged. Within one such family BH keeps P(any discovery) <= alpha (every hypothesis is
    null), so over F families the number with a discovery is at most Binomial(F, alpha); we allow its
    99.9% quantile, a bound that fails by chance once in a thousand runs of a correct metric (and the seeds
    are fixed, so a pass is reproducible). Rows of the never-planted dimensions (sex, English learner,
    economic disadvantage) are null in every family: a flag on them that also survives BH (q < alpha) is a
    false discovery, held to the same bound over all families. (A flag alone is not a test: a null group
    of ~10 IDEA students with the outcome exceeds a ratio of 2 by chance now and then.)"""
    families_with_discovery = families = all_families = flagged_null = 0
    for seed in NULL_SEEDS:
        db, _ = demo(seed, root)
        con = duckdb.connect(str(db), read_only=True)
        disp = mt.disproportionality(con, include_schools=False)
        con.close()
        discovered = (pl.col("q_value") < ALPHA) | pl.col("flagged")
        null_families = (
            disp.filter(pl.col("outcome").is_in(NULL_OUTCOMES))
            .group_by("school_year", "outcome")
            .agg(discovered.any().alias("any"))
        )
        families += null_families.height
        families_with_discovery += null_families["any"].sum()
        all_families += disp.select("school_year", "outcome").unique().height
        flagged_null += disp.filter(
            pl.col("dimension").is_in(NULL_DIMENSIONS), pl.col("flagged"), pl.col("q_value") < ALPHA
        ).height
    assert families == len(NULL_SEEDS) * 3 * len(NULL_OUTCOMES)
    assert families_with_discovery <= stats.binom.ppf(0.999, families, ALPHA), families_with_discovery
    assert flagged_null <= stats.binom.ppf(0.999, all_families, ALPHA), flagged_null


def _planted_groups(truth: dict) -> dict[tuple[str, str], set[str]]:
    """(outcome, dimension) -> the groups the demo planted an effect for, from ground_truth.json; a race x
    disability group carries the effect of its race or of its disability status."""
    planted: dict[tuple[str, str], set[str]] = {}
    for effect in truth["planted_effects"]:
        if "outcome" not in effect:  # a named school's process problem, not a group's disparity
            continue
        for group in effect["groups"]:
            dimension = "disability_status" if group in ("idea", "section_504_only", "none") else "race_ethnicity"
            planted.setdefault((effect["outcome"], dimension), set()).add(group)
    for (outcome, dimension), groups in list(planted.items()):
        crossed = planted.setdefault((outcome, "race_x_disability"), set())
        crossed.update(f"{g}:" if dimension == "race_ethnicity" else f":{g}" for g in groups)
    return planted


def _is_planted(planted: dict, outcome: str, dimension: str, group: str) -> bool:
    groups = planted.get((outcome, dimension), set())
    if dimension != "race_x_disability":
        return group in groups
    race, _, disability = group.partition(":")
    return f"{race}:" in groups or f":{disability}" in groups


def test_the_board_reports_findings_are_planted_effects_and_the_planted_ones_are_found(main):
    """The board report's "unlikely to be chance" findings (ratios and same-level odds ratios, BH q within
    outcome x dimension x year) over the demo's three years: every one is on a group the demo planted an
    effect for, and the planted referral and discipline disparities are found at the adjusted level."""
    from reports.data import load_report_data

    con, truth = main
    planted = _planted_groups(truth)
    found = set()
    for year in truth["realized"]:
        data = load_report_data(con, year, "Ground Truth District")
        claims = [(f.outcome, f.dimension, f.group) for f in data.findings if f.unlikely_to_be_chance]
        claims += [(c.outcome, c.dimension, c.group) for c in data.conditional]
        wrong = [c for c in claims if not _is_planted(planted, *c)]
        assert not wrong, (year, wrong)
        found.update(claims)
    assert ("btam_referral", "race_ethnicity", "bl") in found
    assert ("case_exclusionary", "race_ethnicity", "bl") in found  # the same-level odds ratio
    assert ("oss_or_expulsion", "race_ethnicity", "bl") in found or (
        "oss_or_expulsion",
        "disability_status",
        "idea",
    ) in found
    # a planted ratio the demo realised above the threshold in some year is found in that year's report
    realised_idea = [real["referral_idea"]["risk_ratio"] for real in truth["realized"].values()]
    assert (("btam_referral", "disability_status", "idea") in found) == (max(realised_idea) > 2.0), realised_idea
