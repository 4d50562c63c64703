"""Schools, students and who is enrolled where each year.

Students persist: each year they move up a grade (a few are retained), change
school when their grade leaves the school's level, some leave the district,
seniors graduate, and new students fill every grade back to the target size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from data_contracts.interchange import GRADE_LEVELS, IDEA_DISABILITIES, RACES, SEXES
from pipelines.demo.config import SCHOOL_LEVELS_USED, DemoConfig
from pipelines.demo.draws import bernoulli, categorical, code_series, opaque_keys, yes_no

ELEMENTARY, MIDDLE, HIGH = 0, 1, 2
GRADE_INDEX = {g: i for i, g in enumerate(GRADE_LEVELS)}
# level of each grade index pk..12 (ug is never generated)
GRADE_LEVEL_OF = np.array([ELEMENTARY] * 7 + [MIDDLE] * 3 + [HIGH] * 4 + [ELEMENTARY], dtype=np.int8)
LAST_GRADE = GRADE_INDEX["12"]
DD, SLD = IDEA_DISABILITIES.index("dd"), IDEA_DISABILITIES.index("sld")

_NAME_A = (
    "Cedar",
    "Peñasco",
    "Maple",
    "Oak",
    "Willow",
    "Pine",
    "Aspen",
    "Birch",
    "Juniper",
    "Sycamore",
    "Magnolia",
    "Hawthorn",
    "Cypress",
    "Spruce",
    "Alder",
    "Laurel",
    "Chestnut",
    "Redwood",
    "Elm",
    "Poplar",
    "Linden",
    "Sierra",
    "Mesa",
    "Cañon",
    "Prairie",
    "Harbor",
    "Meadow",
    "River",
    "Summit",
    "Valley",
    "Brook",
)
_NAME_B = (
    "Grove",
    "Park",
    "Hills",
    "Creek",
    "Point",
    "Springs",
    "Heights",
    "Ridge",
    "Crossing",
    "Glen",
    "Hollow",
    "Trail",
    "View",
    "Fields",
    "Bend",
    "Landing",
    "Terrace",
    "Woods",
    "Vista",
    "Station",
)
_LEVEL_WORD = {"elementary": "Elementary School", "middle": "Middle School", "high": "High School"}


@dataclass
class Schools:
    school_id: np.ndarray  # str
    name: np.ndarray  # str
    level: np.ndarray  # int8: ELEMENTARY, MIDDLE, HIGH
    has_pk: np.ndarray  # bool
    weight: np.ndarray  # float: relative size within its level
    law_enforcement_school: int  # index of the school with the planted law-enforcement problem
    slow_school: int  # index of the school with missing plans and slow first interventions

    def frame(self) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "school_id": self.school_id,
                "school_name": self.name,
                "school_level": np.array(SCHOOL_LEVELS_USED)[self.level],
            }
        )


@dataclass
class Students:
    """Attributes that stay with a student, indexed by a running student number."""

    key: list  # numpy byte arrays of keys, one per batch
    race: np.ndarray
    sex: np.ndarray
    idea: np.ndarray
    disability: np.ndarray  # index into IDEA_DISABILITIES, -1 without IDEA
    section_504: np.ndarray
    english_learner: np.ndarray
    econ: np.ndarray
    key_numbers_sorted: np.ndarray

    @property
    def count(self) -> int:
        return len(self.race)


@dataclass
class Enrollment:
    """One school year's enrolled students: parallel arrays, one row per student."""

    year_start: int
    student: np.ndarray  # index into Students
    grade: np.ndarray  # index into GRADE_LEVELS
    school: np.ndarray  # index into Schools

    def level(self, schools: Schools) -> np.ndarray:
        return schools.level[self.school]


def make_schools(rng: np.random.Generator, cfg: DemoConfig) -> Schools:
    pop = cfg.population
    weights = np.array([pop.grade_weights[g] for g in GRADE_LEVELS[:-1]])
    level_share = np.bincount(GRADE_LEVEL_OF[:-1], weights=weights, minlength=3) / weights.sum()
    counts = [
        max(1, round(cfg.students * level_share[lv] / pop.school_size_mean[name]))
        for lv, name in enumerate(SCHOOL_LEVELS_USED)
    ]
    level = np.repeat(np.arange(3, dtype=np.int8), counts)
    names, ids = [], []
    for lv, name in enumerate(SCHOOL_LEVELS_USED):
        for i in range(counts[lv]):
            combo = (i * 7 + lv * 11) % (len(_NAME_A) * len(_NAME_B))
            base = f"{_NAME_A[combo % len(_NAME_A)]} {_NAME_B[combo // len(_NAME_A)]}"
            suffix = f" {i // (len(_NAME_A) * len(_NAME_B)) + 1}" if i >= len(_NAME_A) * len(_NAME_B) else ""
            names.append(f"{base}{suffix} {_LEVEL_WORD[name]}")
    le_school = int(np.flatnonzero(level == HIGH)[0])
    slow_school = int(np.flatnonzero(level == MIDDLE)[0])
    names[le_school] = cfg.school_problems.law_enforcement_school_name
    names[slow_school] = cfg.school_problems.slow_school_name
    order = rng.permutation(len(level))  # ids do not reveal the level or the planted schools
    ids = np.empty(len(level), dtype=object)
    ids[order] = [f"SCH{100 + i:05d}" for i in range(len(level))]
    has_pk = (level == ELEMENTARY) & bernoulli(rng, pop.share_of_elementary_with_pk, len(level))
    has_pk[np.flatnonzero(level == ELEMENTARY)[0]] = True
    weight = np.exp(0.25 * rng.standard_normal(len(level)))
    weight[[le_school, slow_school]] *= cfg.school_problems.named_school_size_factor
    return Schools(ids.astype(str), np.array(names), level, has_pk, weight, le_school, slow_school)


def _new_students(rng: np.random.Generator, n: int, cfg: DemoConfig, students: Students | None) -> Students:
    pop = cfg.population
    used = students.key_numbers_sorted if students else None
    keys, numbers = opaque_keys(rng, n, "S", used)
    idea = bernoulli(rng, pop.idea_share, n)
    disability = np.where(
        idea, categorical(rng, n, [pop.idea_disability_shares.get(d, 0.0) for d in IDEA_DISABILITIES]), -1
    ).astype(np.int8)
    s504 = ~idea & bernoulli(rng, pop.section_504_only_share / (1 - pop.idea_share), n)
    batch = Students(
        key=[keys],
        race=categorical(rng, n, [pop.race_shares[r] for r in RACES]),
        sex=categorical(rng, n, [pop.sex_shares[s] for s in SEXES]),
        idea=idea,
        disability=disability,
        section_504=s504,
        english_learner=bernoulli(rng, pop.english_learner_share, n),
        econ=bernoulli(rng, pop.econ_disadvantaged_share, n),
        key_numbers_sorted=np.sort(numbers),
    )
    if students is None:
        return batch
    return Students(
        key=students.key + batch.key,
        race=np.concatenate([students.race, batch.race]),
        sex=np.concatenate([students.sex, batch.sex]),
        idea=np.concatenate([students.idea, batch.idea]),
        disability=np.concatenate([students.disability, batch.disability]),
        section_504=np.concatenate([students.section_504, batch.section_504]),
        english_learner=np.concatenate([students.english_learner, batch.english_learner]),
        econ=np.concatenate([students.econ, batch.econ]),
        key_numbers_sorted=np.sort(np.concatenate([students.key_numbers_sorted, numbers])),
    )


def _assign_schools(rng: np.random.Generator, grade: np.ndarray, schools: Schools) -> np.ndarray:
    """A school of the grade's level for each student, by school size; pk only where offered."""
    out = np.empty(len(grade), dtype=np.int32)
    level = GRADE_LEVEL_OF[grade]
    groups = [(level == ELEMENTARY) & (grade != 0), grade == 0, level == MIDDLE, level == HIGH]
    candidates = [schools.level == ELEMENTARY, schools.has_pk, schools.level == MIDDLE, schools.level == HIGH]
    for rows, allowed in zip(groups, candidates):
        if rows.any():
            pool = np.flatnonzero(allowed)
            out[rows] = pool[categorical(rng, int(rows.sum()), schools.weight[pool]).astype(np.int64)]
    return out


def _fill_grades(rng: np.random.Generator, n_new: int, grade_now: np.ndarray, cfg: DemoConfig) -> np.ndarray:
    """Grades for entrants, so that each grade comes back towards its target size."""
    weights = np.array([cfg.population.grade_weights[g] for g in GRADE_LEVELS[:-1]])
    target = cfg.students * weights / weights.sum()
    deficit = np.clip(target - np.bincount(grade_now, minlength=len(weights)), 0, None) + 1e-9
    return categorical(rng, n_new, deficit)


def first_year(
    rng: np.random.Generator, cfg: DemoConfig, schools: Schools, year_start: int
) -> tuple[Students, Enrollment]:
    students = _new_students(rng, cfg.students, cfg, None)
    weights = [cfg.population.grade_weights[g] for g in GRADE_LEVELS[:-1]]
    grade = categorical(rng, cfg.students, weights)
    return students, Enrollment(year_start, np.arange(cfg.students), grade, _assign_schools(rng, grade, schools))


def next_year(
    rng: np.random.Generator, cfg: DemoConfig, schools: Schools, students: Students, prev: Enrollment
) -> tuple[Students, Enrollment]:
    pop = cfg.population
    n = len(prev.student)
    stays = (prev.grade != LAST_GRADE) & ~bernoulli(rng, pop.leave_district_per_year, n)
    retained = bernoulli(rng, pop.retained_in_grade_per_year, n) & (prev.grade > 0)
    grade = np.where(retained, prev.grade, prev.grade + 1)[stays].astype(np.int8)
    school = prev.school[stays].copy()
    moves = (GRADE_LEVEL_OF[grade] != schools.level[school]) | bernoulli(
        rng, pop.change_school_within_level_per_year, len(grade)
    )
    school[moves] = _assign_schools(rng, grade[moves], schools)
    n_new = cfg.students - len(grade)
    new_grade = _fill_grades(rng, n_new, grade, cfg)
    first_new = students.count
    students = _new_students(rng, n_new, cfg, students)
    return students, Enrollment(
        prev.year_start + 1,
        np.concatenate([prev.student[stays], np.arange(first_new, first_new + n_new)]),
        np.concatenate([grade, new_grade]),
        np.concatenate([school, _assign_schools(rng, new_grade, schools)]),
    )


def key_series(students: Students) -> pl.Series:
    """Every student's key, indexable by student number."""
    return pl.Series("student_key", np.concatenate(students.key)).cast(pl.String)


def enrollment_frame(
    enr: Enrollment, students: Students, schools: Schools, keys: pl.Series, school_year: str
) -> pl.DataFrame:
    s = enr.student
    disability = students.disability[s].copy()
    disability[(disability == DD) & (enr.grade >= GRADE_INDEX["04"])] = SLD  # dd ends at age 9
    idea = students.idea[s]
    return pl.DataFrame(
        [
            pl.Series("school_year", [school_year], dtype=pl.String).gather(np.zeros(len(s), dtype=np.int64)),
            keys.gather(s),
            pl.Series("school_id", schools.school_id.tolist(), dtype=pl.String).gather(enr.school),
            code_series("grade_level", GRADE_LEVELS, enr.grade),
            code_series("sex", SEXES, students.sex[s]),
            code_series("race_ethnicity", RACES, students.race[s]),
            yes_no("idea", idea),
            code_series("idea_disability", IDEA_DISABILITIES, np.maximum(disability, 0), ~idea),
            yes_no("section_504", students.section_504[s]),
            yes_no("english_learner", students.english_learner[s]),
            yes_no("econ_disadvantaged", students.econ[s]),
        ]
    )
