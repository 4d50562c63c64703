"""Write the synthetic demo district: six interchange CSV files and ground_truth.json.

Year by year, so memory holds one year at a time: enrollment, then the year's
BTAM cases (with actions and reviews), then its discipline export.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from data_contracts.interchange import (
    CONCERN_LEVELS,
    ENTITIES,
    LOAD_ORDER,
    RACES,
    school_year_bounds,
    school_year_of,
)
from pipelines.demo import population
from pipelines.demo.cases import (
    ACTION,
    BL,
    LOW,
    MODERATE,
    STUDENT,
    YearCases,
    actions_frame,
    case_ids,
    cases_frame,
    make_cases,
    referral_base_rate,
    reviews_frame,
    with_odds_ratio,
)
from pipelines.demo.config import DemoConfig
from pipelines.demo.discipline import TYPE, YearDiscipline, discipline_frame, make_discipline
from pipelines.demo.draws import NA_DAY, day

EXCLUSIONARY = [ACTION[a] for a in ("in_school_suspension", "out_of_school_suspension", "expulsion")]


@dataclass
class LastYear:
    """The last school year's frames, kept for the vendor-style (messy) export."""

    school_year: str
    frames: dict[str, pl.DataFrame]


class _CsvFiles:
    """One CSV per entity, appended year by year, header written once."""

    def __init__(self, out: Path):
        self.handles = {e: open(out / f"{e}.csv", "wb") for e in LOAD_ORDER}
        self.rows = {e: 0 for e in LOAD_ORDER}

    def write(self, entity: str, frame: pl.DataFrame) -> None:
        frame = frame.select(ENTITIES[entity].column_names)
        frame.write_csv(self.handles[entity], include_header=self.handles[entity].tell() == 0)
        self.rows[entity] += frame.height

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def generate(cfg: DemoConfig, out: str | Path) -> tuple[dict, LastYear, population.Schools]:
    """Write the six entity files into out; return the ground truth, the last year and the schools."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = np.random.SeedSequence(cfg.seed).spawn(2 + 3 * cfg.years)
    schools = population.make_schools(np.random.default_rng(seeds[0]), cfg)
    as_of_day = day(cfg.as_of)
    base = referral_base_rate(cfg)
    files = _CsvFiles(out)
    realized: dict[str, dict] = {}
    try:
        files.write("schools", schools.frame())
        pop_rng = np.random.default_rng(seeds[1])
        students, enr = None, None
        for i, year_start in enumerate(cfg.year_starts):
            school_year = school_year_of(year_start)
            if enr is None:
                students, enr = population.first_year(pop_rng, cfg, schools, year_start)
            else:
                students, enr = population.next_year(pop_rng, cfg, schools, students, enr)
            keys = population.key_series(students)
            frames = {"enrollment": population.enrollment_frame(enr, students, schools, keys, school_year)}
            cases = make_cases(np.random.default_rng(seeds[2 + 3 * i]), cfg, enr, students, schools, as_of_day, base)
            ids = case_ids(year_start, cases.count)
            frames["btam_cases"] = cases_frame(cases, ids, school_year, schools, keys)
            frames["case_actions"] = actions_frame(cases, ids, year_start)
            frames["case_reviews"] = reviews_frame(cases, ids, year_start)
            year_end = day(date.fromisoformat(school_year_bounds(school_year)[1]))
            dis = make_discipline(
                np.random.default_rng(seeds[3 + 3 * i]), cfg, enr, students, schools, cases, as_of_day, year_end
            )
            frames["discipline_actions"] = discipline_frame(dis, enr, schools, keys, ids, school_year)
            for entity in LOAD_ORDER[1:]:
                files.write(entity, frames[entity])
            realized[school_year] = _realized(cfg, enr, students, schools, cases, dis, as_of_day)
    finally:
        files.close()
    truth = ground_truth(cfg, schools, base, realized, {f"{e}.csv": n for e, n in files.rows.items()})
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    last = LastYear(school_year_of(cfg.year_starts[-1]), {"schools": schools.frame(), **frames})
    return truth, last, schools


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 4) if b else None


def _risk_vs_rest(has: np.ndarray, in_group: np.ndarray) -> dict:
    n, k = int(in_group.sum()), int(has[in_group].sum())
    cn, ck = int((~in_group).sum()), int(has[~in_group].sum())
    return {
        "n": n,
        "k": k,
        "comparison_n": cn,
        "comparison_k": ck,
        "risk_ratio": _ratio(k / n if n else 0.0, ck / cn if cn else 0.0) if n and cn else None,
    }


def _realized(
    cfg: DemoConfig,
    enr: population.Enrollment,
    students: population.Students,
    schools: population.Schools,
    c: YearCases,
    dis: YearDiscipline,
    as_of_day: int,
) -> dict:
    """What the data of one year actually holds, for checking metrics against (not just what was planted)."""
    n = len(enr.student)
    race, idea = students.race[enr.student], students.idea[enr.student]
    row_of_student = np.full(students.count, -1, dtype=np.int64)
    row_of_student[enr.student] = np.arange(n)
    is_student = c.subject == STUDENT
    referred = np.zeros(n, dtype=bool)
    referred[row_of_student[c.student[is_student]]] = True

    def has_type(*types: str) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        out[dis.row[np.isin(dis.action_type, [TYPE[t] for t in types])]] = True
        return out

    oss_exp = has_type("oss", "expulsion_with_services", "expulsion_without_services")
    assessed = c.assessed != NA_DAY
    excluded = np.zeros(c.count, dtype=bool)
    excluded[c.action_case[np.isin(c.action_type, EXCLUSIONARY)]] = True
    group = is_student & (students.race[np.maximum(c.student, 0)] == BL)
    exclusion = {}
    for lv, name in enumerate(CONCERN_LEVELS):
        at = is_student & assessed & (c.level == lv)
        exclusion[name] = {
            "group_cases": int((at & group).sum()),
            "group_excluded": int((at & group & excluded).sum()),
            "other_cases": int((at & ~group).sum()),
            "other_excluded": int((at & ~group & excluded).sum()),
        }
    low = assessed & (c.level == LOW)
    at_le = c.school == schools.law_enforcement_school
    at_slow = c.school == schools.slow_school
    serious = assessed & (c.level >= MODERATE) & (c.assessed <= as_of_day - 14)
    first = np.full(c.count, np.iinfo(np.int32).max, dtype=np.int64)
    np.minimum.at(first, c.action_case, c.action_day)
    acted = first < np.iinfo(np.int32).max
    lag = first - c.reported
    open_cases = c.closed == NA_DAY
    return {
        "enrolled": n,
        "cases": int(c.count),
        "student_cases": int(is_student.sum()),
        "referral_by_race": {r: _risk_vs_rest(referred, race == i) for i, r in enumerate(RACES)},
        "referral_idea": _risk_vs_rest(referred, idea),
        "assessed_cases_by_level": {
            name: int((assessed & (c.level == lv)).sum()) for lv, name in enumerate(CONCERN_LEVELS)
        },
        "case_exclusion_by_level_bl_vs_others": exclusion,
        "low_concern_law_enforcement_involved": {
            "named_school_cases": int((low & at_le).sum()),
            "named_school_involved": int((low & at_le & c.law_enforcement_involved).sum()),
            "other_cases": int((low & ~at_le).sum()),
            "other_involved": int((low & ~at_le & c.law_enforcement_involved).sum()),
        },
        "moderate_plus_plan_written_assessed_14_days_before_as_of": {
            "named_school_cases": int((serious & at_slow).sum()),
            "named_school_with_plan": int((serious & at_slow & (c.plan != NA_DAY)).sum()),
            "other_cases": int((serious & ~at_slow).sum()),
            "other_with_plan": int((serious & ~at_slow & (c.plan != NA_DAY)).sum()),
        },
        "median_days_to_first_action_among_cases_with_one": {
            "named_school": float(np.median(lag[acted & at_slow])) if (acted & at_slow).any() else None,
            "other_schools": float(np.median(lag[acted & ~at_slow])) if (acted & ~at_slow).any() else None,
        },
        "open_cases_at_as_of": int(open_cases.sum()),
        "open_cases_without_action": int((open_cases & ~acted).sum()),
        "oss_or_expulsion_bl": _risk_vs_rest(oss_exp, race == BL),
        "oss_or_expulsion_idea": _risk_vs_rest(oss_exp, idea),
        "iss_bl": _risk_vs_rest(has_type("iss"), race == BL),
        "law_enforcement_bl": _risk_vs_rest(has_type("law_enforcement_referral", "school_related_arrest"), race == BL),
    }


def ground_truth(cfg: DemoConfig, schools: population.Schools, base: float, realized: dict, counts: dict) -> dict:
    ref, pop, out, probs, dis = cfg.referral, cfg.population, cfg.outcomes, cfg.school_problems, cfg.discipline
    shares = pop.race_shares

    def vs_rest(table: dict[str, float], group: str) -> float:
        rest = [r for r in RACES if r != group]
        mean = sum(shares[r] * table[r] for r in rest) / sum(shares[r] for r in rest)
        return round(table[group] / mean, 4)

    le_id = str(schools.school_id[schools.law_enforcement_school])
    slow_id = str(schools.school_id[schools.slow_school])
    p_excl = out.exclusion_probability
    planted = [
        {
            "id": "referral_race",
            "outcome": "btam_referral",
            "dimension": "race_ethnicity",
            "groups": {r: v for r, v in ref.race_risk_ratio.items() if v != 1.0},
            "effect": "risk ratio vs groups without effect",
            "expected_risk_ratio_vs_all_others": {r: vs_rest(ref.race_risk_ratio, r) for r in RACES},
        },
        {
            "id": "referral_idea",
            "outcome": "btam_referral",
            "dimension": "disability_status",
            "groups": {"idea": ref.idea_risk_ratio},
            "effect": "risk ratio vs students without IDEA eligibility",
            "expected_risk_ratio_vs_all_others": ref.idea_risk_ratio,
        },
        {
            "id": "case_exclusion_within_level",
            "outcome": "case_exclusionary",
            "dimension": "race_ethnicity",
            "groups": {out.exclusion_odds_ratio_group: out.exclusion_odds_ratio},
            "effect": "odds ratio of >= 1 exclusionary case action (iss, oss, expulsion), the same at every concern level "
            "(a Mantel-Haenszel odds ratio over concern levels should find it)",
            "probability_by_level": {
                lv: {"group": round(float(with_odds_ratio(np.array(p), out.exclusion_odds_ratio)), 4), "others": p}
                for lv, p in p_excl.items()
            },
        },
        {
            "id": "discipline_oss_expulsion",
            "outcome": "oss_or_expulsion",
            "dimension": "race_ethnicity and disability_status",
            "groups": {"bl": dis.oss_expulsion_race_risk_ratio["bl"], "idea": dis.oss_expulsion_idea_risk_ratio},
            "effect": "risk ratio of >= 1 oss or expulsion in the discipline export (case-linked actions included)",
            "expected_risk_ratio_vs_all_others": {
                "bl": vs_rest(dis.oss_expulsion_race_risk_ratio, "bl"),
                "idea": dis.oss_expulsion_idea_risk_ratio,
            },
        },
        {
            "id": "law_enforcement_low_concern",
            "school_id": le_id,
            "school_name": probs.law_enforcement_school_name,
            "effect": "law_enforcement_involved = Y (and law_enforcement_referral actions) in low-concern cases",
            "named_school": {
                "involved": probs.low_concern_law_enforcement_involved,
                "referral_given_involved": probs.low_concern_law_enforcement_referral_given_involved,
            },
            "other_schools": {
                "involved": out.law_enforcement_involved_probability["low"],
                "referral_given_involved": out.law_enforcement_referral_given_involved["low"],
            },
        },
        {
            "id": "missing_plans_and_slow_first_intervention",
            "school_id": slow_id,
            "school_name": probs.slow_school_name,
            "effect": "plan_written_date mostly blank for moderate+ cases; first case action weeks after the report",
            "plan_written_share": {
                "named_school": probs.slow_plan_written_share,
                "other_schools": cfg.process.plan_written_share,
            },
            "first_action_median_days": {
                "named_school": probs.slow_first_action_median_days,
                "other_schools": cfg.process.first_action_median_days,
            },
        },
    ]
    return {
        "synthetic": True,
        "generator": "python -m pipelines demo",
        "seed": cfg.seed,
        "as_of": cfg.as_of.isoformat(),
        "students_per_year": cfg.students,
        "school_years": [school_year_of(y) for y in cfg.year_starts],
        "schools": {
            "count": int(len(schools.level)),
            "by_level": {
                name: int((schools.level == i).sum()) for i, name in enumerate(("elementary", "middle", "high"))
            },
        },
        "named_schools": {
            "law_enforcement_in_low_concern_cases": {
                "school_id": le_id,
                "school_name": probs.law_enforcement_school_name,
            },
            "missing_plans_and_slow_first_interventions": {"school_id": slow_id, "school_name": probs.slow_school_name},
        },
        "planted_effects": planted,
        "no_effect": (
            "Every group not listed in planted_effects has the reference rates: races hi, as, pi, wh, mu for "
            "referral; all races but bl and disability status for case outcomes; sex, english_learner, "
            "econ_disadvantaged and section_504_only everywhere; concern levels for every group; iss, "
            "law enforcement, removal and other discipline for every group. Student attributes are drawn "
            "independently of each other and of school, so no effect leaks between groups."
        ),
        "derived": {"referral_base_rate": round(base, 6)},
        "parameters": cfg.as_dict(),
        "realized": realized,
        "files": counts,
    }
