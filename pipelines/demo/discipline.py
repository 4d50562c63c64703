"""One school year of the district's discipline export.

Suspensions and expulsions ordered by a BTAM case appear here too, with
related_case_id. The independent draws are calibrated around them, so that
each student's yearly chance of >= 1 action of a type is exactly the planted
base x level x risk ratio, whether or not the student had a case: groups with
more cases do not pick up a hidden discipline effect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_contracts.interchange import DISCIPLINE_ACTION_TYPES, DISCIPLINE_BEHAVIORS, RACES
from pipelines.demo.cases import ACTION, YearCases
from pipelines.demo.config import SCHOOL_LEVELS_USED, DemoConfig
from pipelines.demo.draws import (
    bernoulli,
    categorical,
    code_series,
    date_series,
    school_days,
    sequential_ids,
)
from pipelines.demo.population import Enrollment, Schools, Students

KINDS = (
    "iss",
    "oss",
    "expulsion",
    "alternative_placement",
    "law_enforcement_referral",
    "school_related_arrest",
    "removal_from_class",
    "other",
)
BEHAVIOR_TABLE = {
    "iss": "suspension",
    "oss": "suspension",
    "expulsion": "serious",
    "alternative_placement": "serious",
    "law_enforcement_referral": "serious",
    "school_related_arrest": "serious",
    "removal_from_class": "minor",
    "other": "minor",
}
CASE_TO_KIND = {
    ACTION["in_school_suspension"]: "iss",
    ACTION["out_of_school_suspension"]: "oss",
    ACTION["expulsion"]: "expulsion",
}
TYPE = {name: i for i, name in enumerate(DISCIPLINE_ACTION_TYPES)}


@dataclass
class YearDiscipline:
    row: np.ndarray  # index into the year's Enrollment arrays
    day: np.ndarray
    action_type: np.ndarray
    behavior: np.ndarray
    days_removed: np.ndarray  # float, NaN when blank
    related_case: np.ndarray  # index into the year's cases, -1 when none


def risk(cfg: DemoConfig, kind: str, level: np.ndarray, race: np.ndarray, idea: np.ndarray) -> np.ndarray:
    """The planted yearly probability of >= 1 action of a kind for each student."""
    d = cfg.discipline
    p = d.base_rate[kind] * np.array([d.level_multiplier[n] for n in SCHOOL_LEVELS_USED])[level]
    if kind in ("oss", "expulsion"):
        p = p * np.array([d.oss_expulsion_race_risk_ratio[r] for r in RACES])[race]
        p = p * np.where(idea, d.oss_expulsion_idea_risk_ratio, 1.0)
    return p


def _days_removed(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "iss":
        return rng.choice(np.array([0.5, 1, 1, 1, 2, 2, 3, 5]), n)
    if kind == "oss":
        long = bernoulli(rng, 0.04, n)
        return np.where(long, rng.integers(11, 46, n), np.minimum(rng.geometric(1 / 3, n), 10)).astype(float)
    if kind == "expulsion":
        return rng.integers(45, 181, n).astype(float)
    if kind == "alternative_placement":
        return rng.integers(10, 91, n).astype(float)
    if kind == "removal_from_class":
        return np.where(bernoulli(rng, 0.3, n), np.nan, rng.choice(np.array([0.5, 1.0]), n))
    return np.where(bernoulli(rng, 0.5, n), np.nan, 0.0)


def _action_type(rng: np.random.Generator, kind: str, idea: np.ndarray) -> np.ndarray:
    if kind != "expulsion":
        return np.full(len(idea), TYPE[kind], dtype=np.int8)
    # IDEA students keep services (FAPE); others are split
    with_services = idea | bernoulli(rng, 0.5, len(idea))
    return np.where(with_services, TYPE["expulsion_with_services"], TYPE["expulsion_without_services"]).astype(np.int8)


def make_discipline(
    rng: np.random.Generator,
    cfg: DemoConfig,
    enr: Enrollment,
    students: Students,
    schools: Schools,
    cases: YearCases,
    as_of_day: int,
    year_end_day: int,
) -> YearDiscipline:
    n = len(enr.student)
    row_of_student = np.full(students.count, -1, dtype=np.int64)
    row_of_student[enr.student] = np.arange(n)
    race, idea = students.race[enr.student], students.idea[enr.student]
    level = schools.level[enr.school]
    cell = (level.astype(np.int64) * len(RACES) + race) * 2 + idea
    calendar = school_days(enr.year_start)
    calendar = calendar[calendar <= as_of_day]
    d = cfg.discipline

    # actions ordered by cases, inside the school year
    excl = np.isin(cases.action_type, list(CASE_TO_KIND)) & (cases.action_day <= year_end_day)
    linked_case = cases.action_case[excl]
    linked_row = row_of_student[cases.student[linked_case]]
    linked_kind = np.array([KINDS.index(CASE_TO_KIND[t]) for t in cases.action_type[excl]], dtype=np.int64)

    rows, days, types, behaviors, removed, related = [], [], [], [], [], []
    for k, kind in enumerate(KINDS):
        p = risk(cfg, kind, level, race, idea)
        linked = np.zeros(n, dtype=bool)
        linked[linked_row[linked_kind == k]] = True
        n_cell = np.bincount(cell, minlength=cell.max() + 1)
        expected = np.bincount(cell, weights=p, minlength=len(n_cell))
        already = np.bincount(cell, weights=linked, minlength=len(n_cell))
        q = np.clip((expected - already) / np.maximum(n_cell - already, 1), 0, 1)
        has = ~linked & bernoulli(rng, q[cell])
        count = has * (1 + rng.poisson(d.extra_events_mean.get(kind, 0.0), n))
        r = np.repeat(np.arange(n), count)
        if len(calendar) == 0:
            r = r[:0]
        lk = np.flatnonzero(linked_kind == k)
        m = len(r)
        rows += [r, linked_row[lk]]
        days += [
            calendar[rng.integers(0, max(len(calendar), 1), m)] if m else np.zeros(0, np.int32),
            cases.action_day[excl][lk],
        ]
        types += [_action_type(rng, kind, idea[r]), _action_type(rng, kind, idea[linked_row[lk]])]
        table = d.behavior_shares[BEHAVIOR_TABLE[kind]]
        linked_table = d.behavior_shares["case_linked"]
        codes = np.array([DISCIPLINE_BEHAVIORS.index(b) for b in table])
        linked_codes = np.array([DISCIPLINE_BEHAVIORS.index(b) for b in linked_table])
        behaviors += [codes[categorical(rng, m, table)], linked_codes[categorical(rng, len(lk), linked_table)]]
        removed += [_days_removed(rng, kind, m), _days_removed(rng, kind, len(lk))]
        related += [np.full(m, -1, dtype=np.int64), linked_case[lk]]

    row, day = np.concatenate(rows), np.concatenate(days).astype(np.int32)
    order = np.lexsort((row, day))
    return YearDiscipline(
        row=row[order],
        day=day[order],
        action_type=np.concatenate(types)[order],
        behavior=np.concatenate(behaviors).astype(np.int8)[order],
        days_removed=np.concatenate(removed)[order],
        related_case=np.concatenate(related)[order],
    )


def discipline_frame(
    dis: YearDiscipline, enr: Enrollment, schools: Schools, keys: pl.Series, case_ids: pl.Series, school_year: str
) -> pl.DataFrame:
    n = len(dis.row)
    yy = f"{enr.year_start % 100:02d}"
    related = (
        case_ids.gather(np.maximum(dis.related_case, 0)) if len(case_ids) else pl.Series([None] * n, dtype=pl.String)
    )
    return pl.DataFrame(
        [
            sequential_ids("action_id", f"DA{yy}-", n),
            sequential_ids("incident_id", f"IN{yy}-", n),
            pl.Series("school_year", [school_year] * n, dtype=pl.String),
            pl.Series("school_id", schools.school_id.tolist(), dtype=pl.String).gather(enr.school[dis.row]),
            keys.gather(enr.student[dis.row]).alias("student_key"),
            date_series("incident_date", dis.day),
            code_series("behavior", DISCIPLINE_BEHAVIORS, dis.behavior),
            code_series("action_type", DISCIPLINE_ACTION_TYPES, dis.action_type),
            pl.Series("days_removed", dis.days_removed).fill_nan(None),
            related.set(pl.Series(dis.related_case < 0), None).alias("related_case_id")
            if n
            else pl.Series("related_case_id", [], dtype=pl.String),
        ]
    )
