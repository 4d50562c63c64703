"""Small files in the CRDC school-level layout, built by code (synthetic numbers, no real school).

Two schools of state NV and one of OR. Every profile column is present; cells not listed are 0.
The numbers were chosen so that tests/test_crdc.py can state its expected sums by hand.
"""

from __future__ import annotations

import csv
from pathlib import Path

RACES = ("HI", "AM", "AS", "HP", "BL", "WH", "TR")
SEXES = ("M", "F")
ACTIONS = ("ISS", "SINGOOS", "MULTOOS", "EXPWE", "EXPWOE", "EXPZT", "REF", "ARR", "CORP")
KEYS = ("LEA_STATE", "LEA_NAME", "LEAID", "SCHID", "SCH_NAME", "COMBOKEY", "JJ")
GRADE_COLUMNS = ("SCH_GRADE_PS", "SCH_GRADE_KG", *(f"SCH_GRADE_G{g:02d}" for g in range(1, 13)), "SCH_GRADE_UG")


def grades(first: str, last: str) -> dict[str, str]:
    """The School Characteristics grade cells of a school offering `first`..`last` ('KG', '01'..'12', 'UG')."""
    order = ["KG", *(f"{g:02d}" for g in range(1, 13))]
    offered = {"UG"} if first == "UG" else set(order[order.index(first) : order.index(last) + 1])
    return {c: "Yes" if c.rsplit("_", 1)[1].removeprefix("G") in offered else "No" for c in GRADE_COLUMNS}


def count_columns() -> list[str]:
    columns = [f"SCH_ENR_{r}_{s}" for r in RACES for s in SEXES]
    columns += [f"TOT_ENR_{s}" for s in SEXES]
    columns += [f"SCH_ENR_{b}_{s}" for b in ("LEP", "504", "IDEA") for s in SEXES]
    columns += [f"SCH_IDEAENR_{r}_{s}" for r in RACES for s in SEXES]
    for action in ACTIONS:
        columns += [f"SCH_DISCWODIS_{action}_{r}_{s}" for r in RACES for s in SEXES]
        columns += [f"SCH_DISCWODIS_{action}_{b}_{s}" for b in ("LEP", "504") for s in SEXES]
        columns += [f"TOT_DISCWODIS_{action}_{s}" for s in SEXES]
        columns += [f"SCH_DISCWDIS_{action}_IDEA_{r}_{s}" for r in RACES for s in SEXES]
        columns += [f"SCH_DISCWDIS_{action}_IDEA_LEP_{s}" for s in SEXES]
        columns += [f"TOT_DISCWDIS_{action}_IDEA_{s}" for s in SEXES]
    return columns


SCHOOL_A = {
    "keys": {
        "LEA_STATE": "NV",
        "LEA_NAME": "Sierra Test District",
        "LEAID": "3200001",
        "SCHID": "00001",
        "SCH_NAME": "Test Elementary A",
        "COMBOKEY": "320000100001",
        "JJ": "No",
    },
    "cells": {
        "SCH_ENR_HI_M": 40,
        "SCH_ENR_HI_F": 50,
        "SCH_ENR_AS_M": 10,
        "SCH_ENR_AS_F": 10,
        "SCH_ENR_BL_M": 30,
        "SCH_ENR_BL_F": 20,
        "SCH_ENR_WH_M": 100,
        "SCH_ENR_WH_F": 90,
        "SCH_ENR_TR_M": 5,
        "SCH_ENR_TR_F": 5,
        "TOT_ENR_M": 185,
        "TOT_ENR_F": 175,
        "SCH_ENR_IDEA_M": 20,
        "SCH_ENR_IDEA_F": 10,
        "SCH_ENR_504_M": 5,
        "SCH_ENR_504_F": 5,
        "SCH_ENR_LEP_M": 15,
        "SCH_ENR_LEP_F": 12,
        "SCH_IDEAENR_BL_M": 8,
        "SCH_IDEAENR_WH_M": 10,
        "SCH_IDEAENR_HI_M": 2,
        "SCH_IDEAENR_WH_F": 6,
        "SCH_IDEAENR_BL_F": 4,
        "SCH_DISCWODIS_ISS_BL_M": 6,
        "SCH_DISCWODIS_ISS_BL_F": 3,
        "SCH_DISCWODIS_ISS_WH_M": 5,
        "SCH_DISCWODIS_ISS_WH_F": 2,
        "SCH_DISCWODIS_ISS_HI_M": 4,
        "SCH_DISCWODIS_ISS_LEP_M": 2,
        "SCH_DISCWODIS_ISS_504_M": 1,
        "TOT_DISCWODIS_ISS_M": 16,  # the race cells add to 15: a parts_vs_total finding
        "TOT_DISCWODIS_ISS_F": 5,
        "SCH_DISCWDIS_ISS_IDEA_BL_M": 2,
        "SCH_DISCWDIS_ISS_IDEA_WH_M": 1,
        "TOT_DISCWDIS_ISS_IDEA_M": 3,
        "SCH_DISCWODIS_SINGOOS_BL_M": 4,
        "SCH_DISCWODIS_SINGOOS_WH_M": 3,
        "SCH_DISCWODIS_SINGOOS_HI_F": 1,
        "SCH_DISCWODIS_SINGOOS_504_M": 1,
        "TOT_DISCWODIS_SINGOOS_M": 7,
        "TOT_DISCWODIS_SINGOOS_F": 1,
        "SCH_DISCWODIS_MULTOOS_BL_M": 2,
        "TOT_DISCWODIS_MULTOOS_M": 2,
        "SCH_DISCWODIS_EXPWOE_WH_M": 1,
        "TOT_DISCWODIS_EXPWOE_M": 1,
        "SCH_DISCWDIS_SINGOOS_IDEA_BL_M": 1,
        "TOT_DISCWDIS_SINGOOS_IDEA_M": 1,
        "SCH_DISCWODIS_REF_BL_M": 2,
        "TOT_DISCWODIS_REF_M": 2,
        "SCH_DISCWODIS_ARR_BL_M": 1,
        "TOT_DISCWODIS_ARR_M": 1,
        "SCH_DISCWDIS_REF_IDEA_WH_M": 1,
        "TOT_DISCWDIS_REF_IDEA_M": 1,
    },
}

SCHOOL_B = {
    "keys": {
        "LEA_STATE": "NV",
        "LEA_NAME": "Sierra Test District",
        "LEAID": "3200001",
        "SCHID": "00002",
        "SCH_NAME": "Test Middle B",
        "COMBOKEY": "320000100002",
        "JJ": "No",
    },
    "cells": {
        "SCH_ENR_HI_M": 100,
        "SCH_ENR_HI_F": 100,
        "SCH_ENR_BL_M": 10,
        "SCH_ENR_BL_F": 10,
        "SCH_ENR_WH_M": 50,
        "SCH_ENR_WH_F": 40,
        "TOT_ENR_M": 160,
        "TOT_ENR_F": 150,
        "SCH_ENR_IDEA_M": 15,
        "SCH_ENR_IDEA_F": 5,
        "SCH_ENR_504_M": 2,
        "SCH_ENR_504_F": 3,
        "SCH_ENR_LEP_M": 30,
        "SCH_ENR_LEP_F": 25,
        "SCH_IDEAENR_HI_M": 10,
        "SCH_IDEAENR_BL_M": 3,
        "SCH_IDEAENR_WH_M": 2,
        "SCH_IDEAENR_HI_F": 3,
        "SCH_IDEAENR_WH_F": 2,
        "SCH_DISCWODIS_ISS_HI_M": 10,
        "SCH_DISCWODIS_ISS_BL_M": 4,
        "TOT_DISCWODIS_ISS_M": 14,
        "SCH_DISCWODIS_ISS_AS_F": -9,  # not applicable / skipped: B is left out of every iss slice
        "SCH_DISCWODIS_SINGOOS_HI_M": 8,
        "SCH_DISCWODIS_SINGOOS_BL_M": 3,
        "SCH_DISCWODIS_SINGOOS_WH_F": 2,
        "SCH_DISCWODIS_SINGOOS_LEP_M": 4,
        "SCH_DISCWODIS_SINGOOS_504_F": 1,
        "TOT_DISCWODIS_SINGOOS_M": 11,
        "TOT_DISCWODIS_SINGOOS_F": 2,
        "SCH_DISCWODIS_MULTOOS_HI_M": 2,
        "TOT_DISCWODIS_MULTOOS_M": 2,
        "SCH_DISCWODIS_EXPWE_BL_M": 1,
        "TOT_DISCWODIS_EXPWE_M": 1,
        "SCH_DISCWDIS_SINGOOS_IDEA_HI_M": 2,
        "TOT_DISCWDIS_SINGOOS_IDEA_M": 2,
        "SCH_DISCWODIS_REF_HI_M": -5,  # action plan: B is left out of every law_enforcement slice
        "SCH_DISCWODIS_ARR_WH_F": "n/a",  # not a number: quarantined
    },
}

SCHOOL_OTHER_STATE = {
    "keys": {
        "LEA_STATE": "OR",
        "LEA_NAME": "Cascade Test District",
        "LEAID": "4100001",
        "SCHID": "00009",
        "SCH_NAME": "Test High C",
        "COMBOKEY": "410000100009",
        "JJ": "No",
    },
    "cells": {"SCH_ENR_HI_M": 999, "TOT_ENR_M": 999, "SCH_DISCWODIS_ISS_HI_M": 500},
}

SCHOOLS = (SCHOOL_A, SCHOOL_B, SCHOOL_OTHER_STATE)


def write_crdc_file(path: Path, schools=SCHOOLS, columns: list[str] | None = None) -> Path:
    """One combined extract: key columns, then every count column (0 where a school lists none)."""
    columns = columns or count_columns()
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*KEYS, *columns])
        for school in schools:
            writer.writerow(
                [
                    *(school["keys"][k] for k in KEYS),
                    *(school["cells"].get(c, "No" if c.startswith("SCH_GRADE_") else 0) for c in columns),
                ]
            )
    return path


def write_per_topic_files(folder: Path, schools=SCHOOLS) -> list[Path]:
    """The same data as OCR's per-topic files: Enrollment.csv, Suspensions.csv, Referrals and Arrests.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    columns = count_columns()
    topics = {
        "Enrollment.csv": [c for c in columns if "ENR" in c],
        "Suspensions.csv": [c for c in columns if any(f"_{a}_" in c for a in ("ISS", "SINGOOS", "MULTOOS"))],
        "Expulsions.csv": [c for c in columns if any(f"_{a}_" in c for a in ("EXPWE", "EXPWOE", "EXPZT"))],
        "Referrals and Arrests.csv": [c for c in columns if any(f"_{a}_" in c for a in ("REF", "ARR"))],
    }
    return [write_crdc_file(folder / name, schools, cols) for name, cols in topics.items()]


# -- districts for the peer benchmarks (tests/test_benchmarks.py, tests/test_benchmark_views.py) -------------------
# District 3200001 is schools A (K-5) and B (6-12). Grades offered by each school are its School
# Characteristics cells (SCH_GRADE_*). Sizes and high-school shares are worked out in the tests.


def district_school(lea: str, sch: str, cells: dict, first: str | None = None, last: str | None = None) -> dict:
    """A school of NV district `lea`; with `first`/`last`, the grades it offers."""
    return {
        "keys": {
            "LEA_STATE": "NV",
            "LEA_NAME": f"District {lea}",
            "LEAID": lea,
            "SCHID": sch,
            "SCH_NAME": f"School {lea}-{sch}",
            "COMBOKEY": lea + sch,
            "JJ": "No",
        },
        "cells": {**cells, **(grades(first, last or first) if first else {})},
    }


def with_grades(school: dict, first: str, last: str) -> dict:
    return {"keys": school["keys"], "cells": {**school["cells"], **grades(first, last)}}


LEVEL_SCHOOLS = (
    with_grades(SCHOOL_A, "KG", "05"),  # 360 students
    with_grades(SCHOOL_B, "06", "12"),  # 310 students
    district_school("3200002", "00001", {"SCH_ENR_WH_M": 250, "SCH_ENR_WH_F": 250}, "09", "12"),
    district_school("3200003", "00001", {"SCH_ENR_HI_M": 150, "SCH_ENR_HI_F": 150}, "KG", "08"),
    district_school("3200003", "00002", {"SCH_ENR_HI_M": 200, "SCH_ENR_HI_F": 200}, "09", "12"),
    district_school(
        "3200006",
        "00001",
        {
            "SCH_ENR_BL_M": 50,
            "SCH_ENR_BL_F": 50,
            "SCH_ENR_WH_M": 250,
            "SCH_ENR_WH_F": 250,
            "SCH_DISCWODIS_ISS_BL_M": 6,
            "SCH_DISCWODIS_ISS_WH_M": 10,
            "SCH_DISCWDIS_ISS_IDEA_BL_F": 2,
        },
        "KG",
        "12",
    ),
    district_school("3200007", "00001", {"SCH_ENR_WH_M": 225, "SCH_ENR_WH_F": 225}, "UG"),
    district_school(
        "3200008",
        "00001",
        {
            "SCH_ENR_HI_M": 100,
            "SCH_ENR_HI_F": 100,
            "SCH_ENR_WH_M": 100,
            "SCH_ENR_WH_F": 100,
            "SCH_DISCWODIS_ISS_HI_M": 4,
            "SCH_DISCWODIS_ISS_WH_F": 3,
        },
        "KG",
        "05",
    ),
    district_school(
        "3200008",
        "00002",
        {
            "SCH_ENR_BL_M": 100,
            "SCH_ENR_BL_F": 100,
            "SCH_ENR_WH_M": 100,
            "SCH_ENR_WH_F": 100,
            "SCH_DISCWODIS_ISS_BL_M": 8,
            "SCH_DISCWODIS_SINGOOS_BL_M": 5,
        },
        "06",
        "12",
    ),
    district_school(
        "3200009",
        "00001",
        {
            "SCH_ENR_WH_M": 300,
            "SCH_ENR_WH_F": 300,
            "SCH_ENR_BL_M": 50,
            "SCH_ENR_BL_F": 50,
            "SCH_DISCWODIS_ISS_WH_M": 12,
            "SCH_DISCWODIS_ISS_BL_M": 3,
            "SCH_DISCWODIS_REF_WH_M": 2,
        },
        "KG",
        "12",
    ),
    district_school("3200004", "00001", {"SCH_ENR_WH_M": 1500, "SCH_ENR_WH_F": 1500}, "KG", "12"),
    district_school("3200005", "00001", {"SCH_ENR_BL_M": 50, "SCH_ENR_BL_F": 50}, "KG", "12"),
    SCHOOL_OTHER_STATE,
)


def write_level_file(path: Path, schools=LEVEL_SCHOOLS) -> Path:
    """A combined extract with the School Characteristics grade columns."""
    return write_crdc_file(path, schools, [*GRADE_COLUMNS, *count_columns()])


# -- the layouts of the collections 2015-16, 2017-18, 2020-21 and 2021-22 (tests/test_crdc_layouts.py) -------------
# What changes between them (docs/REFERENCE_DATA.md, "CRDC collections and their layouts"): 2015-16 is one
# combined school file, later collections per-topic files; English learners are LEP in column names to
# 2017-18 and EL from 2020-21; 2021-22 enrollment has nonbinary _X columns. The 2021-22 layout here also
# lacks the discipline tables' _X columns and the Section 504 expulsion breakouts, as the real state file
# of issue 17 did: those breakouts are "not collected" for the import.

LAYOUTS = {
    "2015-16": {
        "el": "LEP",
        "enrollment_sexes": ("M", "F"),
        "discipline_sexes": ("M", "F"),
        "per_topic": False,
        "no_504_expulsions": False,
    },
    "2017-18": {
        "el": "LEP",
        "enrollment_sexes": ("M", "F"),
        "discipline_sexes": ("M", "F"),
        "per_topic": True,
        "no_504_expulsions": False,
    },
    "2020-21": {
        "el": "EL",
        "enrollment_sexes": ("M", "F"),
        "discipline_sexes": ("M", "F"),
        "per_topic": True,
        "no_504_expulsions": False,
    },
    "2021-22": {
        "el": "EL",
        "enrollment_sexes": ("M", "F", "X"),
        "discipline_sexes": ("M", "F"),
        "per_topic": True,
        "no_504_expulsions": True,
    },
}
USED_ACTIONS = ("ISS", "SINGOOS", "MULTOOS", "EXPWE", "EXPWOE", "EXPZT", "REF", "ARR")


def layout_columns(layout: dict) -> list[str]:
    """The count columns of one collection's layout, as OCR names them."""
    el, es, ds = layout["el"], layout["enrollment_sexes"], layout["discipline_sexes"]
    columns = [f"SCH_ENR_{r}_{s}" for r in RACES for s in es]
    columns += [f"TOT_ENR_{s}" for s in es]
    columns += [f"SCH_ENR_{b}_{s}" for b in (el, "504", "IDEA") for s in es]
    for action in USED_ACTIONS:
        breakouts = [el] if layout["no_504_expulsions"] and action.startswith("EXP") else [el, "504"]
        columns += [f"SCH_DISCWODIS_{action}_{r}_{s}" for r in RACES for s in ds]
        columns += [f"SCH_DISCWODIS_{action}_{b}_{s}" for b in breakouts for s in ds]
        columns += [f"TOT_DISCWODIS_{action}_{s}" for s in ds]
        columns += [f"SCH_DISCWDIS_{action}_IDEA_{r}_{s}" for r in RACES for s in ds]
        columns += [f"SCH_DISCWDIS_{action}_IDEA_{el}_{s}" for s in ds]
        columns += [f"TOT_DISCWDIS_{action}_IDEA_{s}" for s in ds]
    return columns


def layout_schools(year: str, schools: int = 24, seed: int = 17) -> list[dict]:
    """Schools of NV (and two of OR) with random counts that obey CRDC's nesting: IDEA + 504 within
    enrollment, every action within its table's students, the 504 and EL breakouts within their table, and
    few enough students with each action that no group's k exceeds its n."""
    import random

    layout = LAYOUTS[year]
    rng = random.Random(f"{seed}-{year}")
    el = layout["el"]
    out = []
    for i in range(schools + 2):
        state = "NV" if i < schools else "OR"
        lea = f"{'32' if state == 'NV' else '41'}000{i % 4:02d}"
        cells: dict[str, int] = {}
        for s in layout["enrollment_sexes"]:
            small = s == "X"
            for r in RACES:
                cells[f"SCH_ENR_{r}_{s}"] = rng.randint(0, 3) if small else rng.randint(15, 90)
            total = sum(cells[f"SCH_ENR_{r}_{s}"] for r in RACES)
            cells[f"TOT_ENR_{s}"] = total
            cells[f"SCH_ENR_IDEA_{s}"] = rng.randint(0, 2) if small else rng.randint(30, total // 5)
            cells[f"SCH_ENR_504_{s}"] = rng.randint(0, 1) if small else rng.randint(8, total // 12)
            cells[f"SCH_ENR_{el}_{s}"] = rng.randint(0, 2) if small else rng.randint(15, total // 5)
        for s in layout["discipline_sexes"]:
            for action in USED_ACTIONS:
                wodis = {r: rng.randint(0, 4) for r in RACES}
                idea = {r: rng.randint(0, 1) for r in RACES}
                for r in RACES:
                    cells[f"SCH_DISCWODIS_{action}_{r}_{s}"] = wodis[r]
                    cells[f"SCH_DISCWDIS_{action}_IDEA_{r}_{s}"] = idea[r]
                cells[f"TOT_DISCWODIS_{action}_{s}"] = sum(wodis.values())
                cells[f"TOT_DISCWDIS_{action}_IDEA_{s}"] = sum(idea.values())
                cells[f"SCH_DISCWODIS_{action}_504_{s}"] = rng.randint(0, min(1, sum(wodis.values())))
                cells[f"SCH_DISCWODIS_{action}_{el}_{s}"] = rng.randint(0, min(2, sum(wodis.values())))
                cells[f"SCH_DISCWDIS_{action}_IDEA_{el}_{s}"] = rng.randint(0, min(1, sum(idea.values())))
        out.append(
            {
                "keys": {
                    "LEA_STATE": state,
                    "LEA_NAME": f"District {lea}",
                    "LEAID": lea,
                    "SCHID": f"{i:05d}",
                    "SCH_NAME": f"School {i}",
                    "COMBOKEY": f"{lea}{i:05d}",
                    "JJ": "No",
                },
                "cells": cells,
            }
        )
    return out


def write_layout(
    folder: Path, year: str, schools: list[dict] | None = None, topics: tuple[str, ...] | None = None
) -> list[Path]:
    """One collection's files: the 2015-16 combined school file, or the per-topic files of later years
    (`topics` picks some of Enrollment, Suspensions, Expulsions, Referrals and Arrests)."""
    layout = LAYOUTS[year]
    schools = schools if schools is not None else layout_schools(year)
    columns = layout_columns(layout)
    folder.mkdir(parents=True, exist_ok=True)
    if not layout["per_topic"]:
        return [write_crdc_file(folder / f"CRDC {year} School Data.csv", schools, columns)]
    by_topic = {
        "Enrollment": [c for c in columns if "_ENR_" in c],
        "Suspensions": [c for c in columns if any(f"_{a}_" in c for a in ("ISS", "SINGOOS", "MULTOOS"))],
        "Expulsions": [c for c in columns if any(f"_{a}_" in c for a in ("EXPWE", "EXPWOE", "EXPZT"))],
        "Referrals and Arrests": [c for c in columns if any(f"_{a}_" in c for a in ("REF", "ARR"))],
    }
    return [
        write_crdc_file(folder / f"{name}.csv", schools, cols)
        for name, cols in by_topic.items()
        if topics is None or name in topics
    ]
