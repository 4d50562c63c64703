"""A tiny, valid district in the interchange format, built by code for loader tests.

Two schools, a handful of students, cases, actions, reviews and discipline
rows that break no rule. Tests copy it and break one value at a time.
"""

from __future__ import annotations

import csv
from pathlib import Path

from data_contracts.interchange import ENTITIES

AS_OF = "2025-06-01"
YEAR = "2024-25"


def valid_rows() -> dict[str, list[dict[str, str]]]:
    """Rows per entity; every row obeys every rule of the spec."""
    schools = [
        {"school_id": "SCH1", "school_name": "Maple Elementary", "school_level": "elementary"},
        {"school_id": "SCH2", "school_name": "Cedar High", "school_level": "high"},
    ]
    enrollment = []
    for i in range(1, 9):
        idea = i in (1, 5)
        enrollment.append(
            {
                "school_year": YEAR,
                "student_key": f"stu{i:04d}",
                "school_id": "SCH1" if i <= 4 else "SCH2",
                "grade_level": "03" if i <= 4 else "10",
                "sex": "f" if i % 2 else "m",
                "race_ethnicity": ["hi", "wh", "bl", "as"][i % 4],
                "idea": "Y" if idea else "N",
                "idea_disability": "sld" if idea else "",
                "section_504": "Y" if i == 2 else "N",
                "english_learner": "N",
                "econ_disadvantaged": "Y" if i % 3 == 0 else "N",
            }
        )
    case = {
        "school_year": YEAR,
        "subject_type": "student",
        "report_source": "staff",
        "report_channel": "in_person",
        "concern_type": "harm_to_others",
        "behavior": "verbal_threat",
        "team_admin": "Y",
        "team_mental_health": "Y",
        "team_law_enforcement": "N",
        "law_enforcement_involved": "N",
        "disability_factors_considered": "na",
        "monitoring": "informal",
    }
    btam_cases = [
        {
            **case,
            "case_id": "CASE1",
            "school_id": "SCH1",
            "student_key": "stu0001",
            "reported_date": "2024-10-01",
            "screened_date": "2024-10-01",
            "assessed_date": "2024-10-02",
            "concern_level": "low",
            "plan_written_date": "",
            "closed_date": "2024-10-30",
            "disability_factors_considered": "y",
        },
        {
            **case,
            "case_id": "CASE2",
            "school_id": "SCH2",
            "student_key": "stu0006",
            "reported_date": "2025-01-15",
            "screened_date": "2025-01-15",
            "assessed_date": "2025-01-16",
            "concern_level": "high",
            "plan_written_date": "2025-01-17",
            "closed_date": "",
            "monitoring": "formal",
        },
        {
            **case,
            "case_id": "CASE3",
            "school_id": "SCH2",
            "subject_type": "staff",
            "student_key": "",
            "reported_date": "2025-03-03",
            "screened_date": "",
            "assessed_date": "",
            "concern_level": "",
            "plan_written_date": "",
            "closed_date": "2025-03-04",
            "monitoring": "none",
        },
    ]
    case_actions = [
        {"action_id": "ACT1", "case_id": "CASE1", "action_date": "2024-10-03", "action_type": "counseling"},
        {"action_id": "ACT2", "case_id": "CASE2", "action_date": "2025-01-16", "action_type": "safety_plan"},
        {
            "action_id": "ACT3",
            "case_id": "CASE2",
            "action_date": "2025-01-20",
            "action_type": "out_of_school_suspension",
        },
    ]
    case_reviews = [
        {"review_id": "REV1", "case_id": "CASE2", "review_date": "2025-02-10", "review_outcome": "continue"},
    ]
    discipline_actions = [
        {
            "action_id": "DIS1",
            "incident_id": "INC1",
            "school_year": YEAR,
            "school_id": "SCH2",
            "student_key": "stu0006",
            "incident_date": "2025-01-20",
            "behavior": "school_threat",
            "action_type": "oss",
            "days_removed": "3",
            "related_case_id": "CASE2",
        },
        {
            "action_id": "DIS2",
            "incident_id": "INC2",
            "school_year": YEAR,
            "school_id": "SCH1",
            "student_key": "stu0003",
            "incident_date": "2024-11-05",
            "behavior": "defiance",
            "action_type": "removal_from_class",
            "days_removed": "0",
            "related_case_id": "",
        },
    ]
    return {
        "schools": schools,
        "enrollment": enrollment,
        "btam_cases": btam_cases,
        "case_actions": case_actions,
        "case_reviews": case_reviews,
        "discipline_actions": discipline_actions,
    }


def write_entity(folder: Path, entity: str, rows: list[dict[str, str]], name: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (name or f"{entity}.csv")
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ENTITIES[entity].column_names)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_district(folder: Path, rows: dict[str, list[dict[str, str]]] | None = None) -> Path:
    for entity, entity_rows in (rows or valid_rows()).items():
        write_entity(
            folder, entity, [{c: r.get(c, "") for c in ENTITIES[entity].column_names} | r for r in entity_rows]
        )
    return folder
