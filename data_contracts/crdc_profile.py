"""What the columns of CRDC's school-level files mean: the profile data_contracts/profiles/reference/crdc.json
read into one object, shared by the CRDC import (pipelines/reference/crdc.py) and the peer benchmarks
(access/benchmarks.py). docs/REFERENCE_DATA.md gives the sources of the column families and reserve codes.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

PROFILE_PATH = Path(__file__).resolve().parent / "profiles" / "reference" / "crdc.json"


@dataclass(frozen=True)
class Cell:
    """What one CRDC column counts: a measure over a table's population, broken out by group and sex."""

    measure: str
    subset: str
    breakout: str
    group: str
    sex: str

    @property
    def key(self) -> str:
        return "|".join((self.measure, self.subset, self.breakout, self.group, self.sex))


@dataclass(frozen=True)
class CrdcProfile:
    name: str
    keys: dict[str, list[str]]
    races: dict[str, str]
    sexes: dict[str, str]
    enrollment_families: dict[str, str]
    enrollment_breakouts: dict[str, str]
    discipline_actions: dict[str, str]
    discipline_breakouts: dict[str, str]
    reserve_codes: dict[int, str]
    outcomes: dict[str, dict]
    dimensions: tuple[str, ...]
    grades: dict[str, str] = field(default_factory=dict)  # SCH_GRADE_* column -> grade (ps, kg, 01..12, ug)

    def parse(self, column: str) -> Cell | None:
        """The cell a CRDC column name holds, or None when the profile does not use the column."""
        name = column.strip().upper()
        races, sexes = "|".join(self.races), "|".join(self.sexes)
        families = "|".join(self.enrollment_families)
        if m := re.fullmatch(rf"({families})_({races})_({sexes})", name):
            return Cell("enrollment", self.enrollment_families[m[1]], "race", self.races[m[2]], self.sexes[m[3]])
        if m := re.fullmatch(rf"SCH_ENR_({'|'.join(self.enrollment_breakouts)})_({sexes})", name):
            return Cell("enrollment", "all", self.enrollment_breakouts[m[1]], "y", self.sexes[m[2]])
        if m := re.fullmatch(rf"TOT_({'|'.join(f[4:] for f in self.enrollment_families)})_({sexes})", name):
            return Cell("enrollment", self.enrollment_families["SCH_" + m[1]], "total", "all", self.sexes[m[2]])
        actions = "|".join(self.discipline_actions)
        breakouts = "|".join(self.discipline_breakouts)
        if m := re.fullmatch(rf"SCH_DISCW(O?)DIS_({actions})_(IDEA_)?({races}|{breakouts})_({sexes})", name):
            if bool(m[1]) == bool(m[3]):  # WODIS columns have no _IDEA_, WDIS columns need it
                return None
            subset = "non_idea" if m[1] else "idea"
            if m[4] in self.races:
                breakout, group = "race", self.races[m[4]]
            else:
                breakout, group = self.discipline_breakouts[m[4]], "y"
                if subset == "idea" and breakout == "section_504_only":
                    return None
            return Cell(self.discipline_actions[m[2]], subset, breakout, group, self.sexes[m[5]])
        if m := re.fullmatch(rf"TOT_DISCW(O?)DIS_({actions})_(IDEA_)?({sexes})", name):
            if bool(m[1]) == bool(m[3]):
                return None
            return Cell(self.discipline_actions[m[2]], "non_idea" if m[1] else "idea", "total", "all", self.sexes[m[4]])
        return None

    def column_family(self, cell_key: str, any_race: bool = False) -> str:
        """The CRDC column name of a cell key (the inverse of `parse`), for messages about absent columns;
        `any_race`: the race code written {race}. English learners are written LEP/EL (the name changed
        from LEP to EL in 2020-21)."""
        measure, subset, breakout, group, sex = cell_key.split("|")
        sex_code = next(c for c, v in self.sexes.items() if v == sex)
        race = "{race}" if any_race else next((c for c, v in self.races.items() if v == group), group)
        named = {v: c for c, v in self.enrollment_breakouts.items() if c not in ("LEP", "EL")}
        part = "LEP/EL" if breakout == "english_learner" else named.get(breakout, race)
        if measure == "enrollment":
            family = next(c for c, v in self.enrollment_families.items() if v == subset)
            return f"{family}_{race}_{sex_code}" if breakout == "race" else f"SCH_ENR_{part}_{sex_code}"
        action = next(c for c, v in self.discipline_actions.items() if v == measure)
        table = "SCH_DISCWODIS" if subset == "non_idea" else "SCH_DISCWDIS"
        return f"{table}_{action}_{'' if subset == 'non_idea' else 'IDEA_'}{part}_{sex_code}"

    def key_column(self, role: str, header: list[str]) -> str | None:
        wanted = {c.upper() for c in self.keys.get(role, [])}
        return next((h for h in header if h.strip().upper() in wanted), None)


def load_crdc_profile(path: Path = PROFILE_PATH) -> CrdcProfile:
    raw = json.loads(path.read_text(encoding="utf-8"))
    return CrdcProfile(
        name=raw["name"],
        keys=raw["keys"],
        races=raw["races"],
        sexes=raw["sexes"],
        enrollment_families=raw["enrollment_families"],
        enrollment_breakouts=raw["enrollment_breakouts"],
        discipline_actions=raw["discipline_actions"],
        discipline_breakouts=raw["discipline_breakouts"],
        reserve_codes={int(k): v for k, v in raw["reserve_codes"].items()},
        outcomes=raw["outcomes"],
        dimensions=tuple(raw["dimensions"]),
        grades=raw.get("grades", {}),
    )
