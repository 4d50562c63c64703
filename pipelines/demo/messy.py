"""The vendor-style export of the demo's last school year, with rows that each break one rule.

OUT/vendor/ holds the same data as the interchange files for a few schools,
written the way student-information and threat-assessment vendors do it:
their own file and column names, labels instead of codes, MM/DD/YYYY dates,
TRUE/FALSE, a CSTAG concern scale, a cp1252 semicolon file, a UTF-8 BOM file
and an XLSX. data_contracts/profiles/vendor_messy.json maps it back exactly
(profile() below is its source; a test keeps the two equal).
OUT/identifiers/ holds two files a loader must refuse whole.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from data_contracts.interchange import ENTITIES, school_year_bounds, school_year_of
from pipelines.demo.config import DemoConfig
from pipelines.demo.draws import opaque_keys
from pipelines.demo.generator import LastYear
from pipelines.demo.population import Schools

DATE_FORMAT = "%m/%d/%Y"
TRUE, FALSE = "TRUE", "FALSE"
MISSING_SCHOOL = "ZZ999"
MISSING_CASE = "BT99-9999999"

# vendor file stem -> (entity, file name, encoding, delimiter); delimiter None means XLSX
FILES = {
    "SIS_Schools": ("schools", "SIS_Schools.csv", "utf-8", ","),
    "SIS_StudentEnrollment": ("enrollment", "SIS_StudentEnrollment.csv", "utf-8-sig", ","),
    "TA_Cases": ("btam_cases", "TA_Cases.csv", "utf-8", ","),
    "TA_Interventions": ("case_actions", "TA_Interventions.csv", "utf-8", ","),
    "TA_Reviews": ("case_reviews", "TA_Reviews.xlsx", None, None),
    "Discipline_Incidents": ("discipline_actions", "Discipline_Incidents.csv", "cp1252", ";"),
}

# vendor column -> interchange column, in the vendor's column order
COLUMNS = {
    "schools": {"School Code": "school_id", "School Name": "school_name", "School Type": "school_level"},
    "enrollment": {
        "School Year": "school_year",
        "Student ID": "student_key",
        "School Code": "school_id",
        "Grade": "grade_level",
        "Gender": "sex",
        "Race/Ethnicity": "race_ethnicity",
        "SPED Eligible": "idea",
        "Primary Disability": "idea_disability",
        "Section 504 Plan": "section_504",
        "English Learner": "english_learner",
        "Economically Disadvantaged": "econ_disadvantaged",
    },
    "btam_cases": {
        "Case Number": "case_id",
        "School Year": "school_year",
        "School Code": "school_id",
        "Subject Type": "subject_type",
        "Student ID": "student_key",
        "Date Reported": "reported_date",
        "Referral Source": "report_source",
        "Referral Method": "report_channel",
        "Threat Type": "concern_type",
        "Behavior of Concern": "behavior",
        "Screening Date": "screened_date",
        "Assessment Date": "assessed_date",
        "Threat Level": "concern_level",
        "Admin on Team": "team_admin",
        "Mental Health on Team": "team_mental_health",
        "SRO on Team": "team_law_enforcement",
        "Law Enforcement Involved": "law_enforcement_involved",
        "Disability Considered": "disability_factors_considered",
        "Safety Plan Date": "plan_written_date",
        "Monitoring Level": "monitoring",
        "Date Closed": "closed_date",
    },
    "case_actions": {
        "Intervention ID": "action_id",
        "Case Number": "case_id",
        "Intervention Date": "action_date",
        "Intervention Type": "action_type",
    },
    "case_reviews": {
        "Review ID": "review_id",
        "Case Number": "case_id",
        "Review Date": "review_date",
        "Outcome": "review_outcome",
    },
    "discipline_actions": {
        "Action ID": "action_id",
        "Incident Number": "incident_id",
        "School Year": "school_year",
        "School Code": "school_id",
        "Student ID": "student_key",
        "Incident Date": "incident_date",
        "Offense": "behavior",
        "Action Taken": "action_type",
        "Days Removed": "days_removed",
        "Related Case Number": "related_case_id",
    },
}
EXTRA_COLUMNS = {"btam_cases": {"Record Status": lambda row: "Closed" if row["closed_date"] else "Open"}}

# interchange code -> the vendor's label, for columns of every entity
LABELS = {
    "school_level": {
        "elementary": "Elementary School",
        "middle": "Middle School",
        "high": "High School",
        "k12": "K-12 School",
        "other": "Other School",
    },
    "grade_level": {"pk": "PK", "kg": "K", **{f"{g:02d}": str(g) for g in range(1, 13)}, "ug": "Ungraded"},
    "sex": {"f": "Female", "m": "Male", "x": "Non-Binary"},
    "race_ethnicity": {
        "hi": "Hispanic or Latino",
        "am": "American Indian or Alaska Native",
        "as": "Asian",
        "bl": "Black or African American",
        "pi": "Native Hawaiian or Other Pacific Islander",
        "wh": "White",
        "mu": "Two or More Races",
    },
    "idea_disability": {
        "aut": "Autism",
        "db": "Deaf-Blindness",
        "dd": "Developmental Delay",
        "emn": "Emotional Disturbance",
        "hi": "Hearing Impairment",
        "id": "Intellectual Disability",
        "md": "Multiple Disabilities",
        "oi": "Orthopedic Impairment",
        "ohi": "Other Health Impairment",
        "sld": "Specific Learning Disability",
        "sli": "Speech or Language Impairment",
        "tbi": "Traumatic Brain Injury",
        "vi": "Visual Impairment",
    },
    "subject_type": {"student": "Student", "staff": "Staff Member", "other": "Other Person"},
    "report_source": {
        "staff": "School Staff",
        "student": "Student",
        "parent": "Parent/Guardian",
        "anonymous": "Anonymous",
        "law_enforcement": "Law Enforcement",
        "community": "Community Member",
        "self": "Self-Referral",
        "other": "Other",
    },
    "report_channel": {
        "in_person": "In Person",
        "tip_line": "Tip Line",
        "online_form": "Online Form",
        "app": "Mobile App",
        "phone": "Phone Call",
        "email": "Email",
        "social_media": "Social Media",
        "other": "Other",
    },
    "concern_type": {
        "harm_to_others": "Harm to Others",
        "harm_to_self": "Harm to Self",
        "both": "Harm to Self and Others",
    },
    "concern_level": {
        "low": "Transient",
        "moderate": "Serious Substantive",
        "high": "Very Serious Substantive",
        "imminent": "Imminent",
    },
    "disability_factors_considered": {"y": "Yes", "n": "No", "na": "N/A"},
    "monitoring": {"none": "No Monitoring", "informal": "Informal Check-ins", "formal": "Formal Monitoring Plan"},
    "review_outcome": {
        "continue": "Continue Monitoring",
        "escalate": "Escalate",
        "de_escalate": "De-escalate",
        "close": "Close Case",
    },
}
# labels for the columns two entities share a name for
ENTITY_LABELS = {
    "btam_cases": {
        "behavior": {
            "verbal_threat": "Verbal Threat",
            "written_threat": "Written Threat",
            "online_threat": "Online Threat",
            "weapon": "Weapon",
            "physical_aggression": "Physical Aggression",
            "behavior_change": "Concerning Behavior Change",
            "self_harm": "Self-Harm",
            "other": "Other Behavior",
        }
    },
    "case_actions": {
        "action_type": {
            "counseling": "Counseling",
            "mental_health_referral": "Mental Health Referral",
            "safety_plan": "Safety Plan",
            "parent_conference": "Parent Conference",
            "supervision": "Increased Supervision",
            "schedule_change": "Schedule Change",
            "community_referral": "Community Agency Referral",
            "special_education_evaluation": "Special Education Evaluation",
            "section_504_review": "Section 504 Review",
            "restorative": "Restorative Conference",
            "other_support": "Other Support",
            "in_school_suspension": "In-School Suspension",
            "out_of_school_suspension": "Out-of-School Suspension",
            "expulsion": "Expulsion",
            "change_of_placement": "Change of Placement",
            "law_enforcement_referral": "Referral to Law Enforcement",
            "arrest": "Arrest",
        }
    },
    "discipline_actions": {
        "behavior": {
            "fighting": "Fighting",
            "threat_intimidation": "Threat/Intimidation",
            "school_threat": "Threat Against School",
            "weapon_possession": "Weapon Possession",
            "battery": "Battery",
            "drugs_alcohol": "Drugs/Alcohol",
            "tobacco": "Tobacco/Vaping",
            "defiance": "Defiance",
            "disruption": "Disruption",
            "harassment_bullying": "Harassment \u2013 Bullying",
            "other": "Other Offense",
        },
        "action_type": {
            "iss": "In-School Suspension",
            "oss": "Out-of-School Suspension",
            "expulsion_with_services": "Expulsion with Services",
            "expulsion_without_services": "Expulsion without Services",
            "alternative_placement": "Alternative Placement",
            "law_enforcement_referral": "Referral to Law Enforcement",
            "school_related_arrest": "School-Related Arrest",
            "removal_from_class": "Removal from Class",
            "other": "Other Action",
        },
    },
}
# second spellings some rows use
ALIASES = {"grade_level": {"kg": "Kindergarten", "pk": "Pre-K"}}
BOOLEANS = {"true": [TRUE, "Yes", "T"], "false": [FALSE, "No", "F"]}
NOISY_COLUMNS = {
    "enrollment": ("grade_level", "sex", "race_ethnicity", "idea"),
    "btam_cases": ("concern_level", "report_source", "subject_type"),
    "discipline_actions": ("action_type",),
}


def profile() -> dict:
    """The mapping profile of this export (written to data_contracts/profiles/vendor_messy.json)."""
    values: dict[str, dict[str, str]] = {}
    for column, labels in LABELS.items():
        values[column] = {label: code for code, label in labels.items() if label != code}
        values[column].update({label: code for code, label in ALIASES.get(column, {}).items()})
    entities = {}
    for entity, columns in COLUMNS.items():
        spec: dict = {"rename": dict(columns)}
        if entity in ENTITY_LABELS:
            spec["values"] = {
                col: {label: code for code, label in labels.items()} for col, labels in ENTITY_LABELS[entity].items()
            }
        entities[entity] = spec
    return {
        "name": "vendor_messy",
        "description": (
            "The demo's vendor-style export (python -m pipelines demo --messy, OUT/vendor): a student "
            "information system (SIS_*), a threat-assessment case tool (TA_*) and a discipline export. "
            "Concern levels use the CSTAG scale; this district's policy maps Transient -> low, Serious "
            "Substantive -> moderate, Very Serious Substantive -> high, Imminent -> imminent."
        ),
        "files": {stem: spec[0] for stem, spec in FILES.items()},
        "date_formats": [DATE_FORMAT],
        "booleans": BOOLEANS,
        "values": values,
        "entities": entities,
    }


def check_as_of(cfg: DemoConfig) -> None:
    """Rows dated after the as-of date must still fall inside its school year."""
    year_end = date.fromisoformat(school_year_bounds(school_year_of(cfg.last_year_start))[1])
    if cfg.as_of > year_end - timedelta(days=3) or cfg.as_of < date(cfg.last_year_start, 9, 15):
        raise ValueError(
            "--messy needs an as-of date between September 15 and June 27 of its school year, "
            f"so that broken rows dated after it still fall inside the year (got {cfg.as_of})"
        )


def _vendor_value(entity: str, column: str, value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "date":
        return value.strftime(DATE_FORMAT)
    if kind == "bool":
        return TRUE if value == "Y" else FALSE
    if kind == "decimal":
        return f"{value:g}"
    labels = ENTITY_LABELS.get(entity, {}).get(column) or LABELS.get(column)
    return labels[value] if labels else str(value)


def _kinds(entity: str) -> dict[str, str]:
    return {c.name: c.type for c in ENTITIES[entity].columns}


def to_vendor(entity: str, row: dict) -> dict[str, str]:
    """One interchange row (dict of python values) as the vendor writes it."""
    kinds = _kinds(entity)
    out = {vendor: _vendor_value(entity, col, row[col], kinds[col]) for vendor, col in COLUMNS[entity].items()}
    for name, make in EXTRA_COLUMNS.get(entity, {}).items():
        out[name] = make(row)
    return out


def _add_noise(rng: np.random.Generator, entity: str, rows: list[dict], clean: list[dict]) -> None:
    """Other spellings that must still map: aliases, other case, spaces around, raw codes in capitals."""
    inverse = {c: v for v, c in COLUMNS[entity].items()}
    for column in NOISY_COLUMNS.get(entity, ()):
        vendor_col = inverse[column]
        for i in np.flatnonzero(rng.random(len(rows)) < 0.06):
            text, code = rows[i][vendor_col], clean[i][column]
            if not text:
                continue
            style = int(rng.integers(0, 4))
            if style == 0 and code in ALIASES.get(column, {}):
                rows[i][vendor_col] = ALIASES[column][code]
            elif style == 1:
                rows[i][vendor_col] = text.upper()
            elif style == 2:
                rows[i][vendor_col] = f"  {text.lower()} "
            elif _kinds(entity)[column] == "code":
                rows[i][vendor_col] = f" {code.upper()} "
            else:
                rows[i][vendor_col] = f" {text.lower()}"


def _sample_school_ids(schools: Schools) -> list[str]:
    """The two named schools, two more elementary schools, one more middle and one more high school."""
    picked = [schools.law_enforcement_school, schools.slow_school]
    for level, count in ((0, 2), (1, 1), (2, 1)):
        others = [i for i in np.flatnonzero(schools.level == level) if i not in picked]
        picked += [int(i) for i in others[:count]]
    return [str(schools.school_id[i]) for i in picked]


def _sample(last: LastYear, school_ids: list[str]) -> dict[str, pl.DataFrame]:
    f = last.frames
    in_sample = pl.col("school_id").is_in(school_ids)
    cases = f["btam_cases"].filter(in_sample)
    case_ids = cases["case_id"]
    return {
        "schools": f["schools"],
        "enrollment": f["enrollment"].filter(in_sample),
        "btam_cases": cases,
        "case_actions": f["case_actions"].filter(pl.col("case_id").is_in(case_ids)),
        "case_reviews": f["case_reviews"].filter(pl.col("case_id").is_in(case_ids)),
        "discipline_actions": f["discipline_actions"].filter(in_sample),
    }


class _Broken:
    """Rows that each break exactly one rule, built from valid template rows (vendor form)."""

    def __init__(self, cfg: DemoConfig, sample: dict[str, pl.DataFrame], rng: np.random.Generator):
        self.rows: dict[str, list[tuple[dict, str]]] = {e: [] for e in COLUMNS}
        self.rng = rng
        self.as_of = cfg.as_of
        self.year_start = date.fromisoformat(school_year_bounds(school_year_of(cfg.last_year_start))[0])
        cases = sample["btam_cases"]
        template = cases.filter(
            pl.col("subject_type") == "student",
            pl.col("closed_date").is_not_null(),
            pl.col("plan_written_date").is_not_null(),
            pl.col("reported_date") >= self.year_start + timedelta(days=7),
        )
        acted = cases.filter(pl.col("case_id").is_in(sample["case_actions"]["case_id"]))
        enrollment = sample["enrollment"].filter(pl.col("idea") == "N")
        discipline = sample["discipline_actions"].filter(
            pl.col("related_case_id").is_null(), pl.col("action_type") == "oss"
        )
        if min(template.height, acted.height, enrollment.height, discipline.height) == 0:
            raise ValueError(
                "--messy: the sample schools hold too few cases, actions or suspensions "
                "for the broken rows; use more --students or a later --as-of"
            )
        self.case = template.row(0, named=True)
        self.acted_case = acted.row(0, named=True)
        self.enrollment = enrollment.row(0, named=True)
        self.discipline = discipline.row(0, named=True)
        self.serial = 0

    def fresh_key(self) -> str:
        return opaque_keys(self.rng, 1, "V")[0][0].decode()

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}{self.serial:04d}"

    def add(self, entity: str, base: dict, rule: str, change: dict | Callable[[dict], None], copies: int = 1) -> None:
        row = to_vendor(entity, base)
        if callable(change):
            change(row)
        else:
            row.update(change)
        for _ in range(copies):
            self.rows[entity].append((dict(row), rule))

    def day(self, d: date) -> str:
        return d.strftime(DATE_FORMAT)

    def build(self) -> dict[str, list[tuple[dict, str]]]:
        y2 = self.year_start.year + 1
        bad_date = f"02/30/{y2}"
        before_year = self.year_start - timedelta(days=10)
        after = self.as_of + timedelta(days=1)

        def school(sid: str, name: str, level: str) -> dict:
            return {"school_id": sid, "school_name": name, "school_level": level}

        self.add("schools", school("ZS001", "x", "high"), "required:school_name", {"School Name": ""})
        self.add(
            "schools",
            school("ZS002", "Harbor Academy", "other"),
            "code:school_level",
            {"School Type": "Charter Academy"},
        )
        self.add("schools", school("ZS003", "Twin Oaks Annex", "other"), "duplicate_key", {}, copies=2)

        e = self.enrollment
        for rule, change in (
            ("required:sex", {"Gender": ""}),
            ("code:race_ethnicity", {"Race/Ethnicity": "Declined to State"}),
            ("format:student_key", {"Student ID": "AB#1234"}),
            ("format:school_year", {"School Year": f"{self.year_start.year}-{y2}"}),
            ("bool:english_learner", {"English Learner": "Maybe"}),
            ("code:grade_level", {"Grade": "13"}),
            ("required_if:idea_disability", {"SPED Eligible": TRUE, "Primary Disability": ""}),
            ("blank_unless:idea_disability", {"Primary Disability": "Autism"}),
            ("code:idea_disability", {"SPED Eligible": TRUE, "Primary Disability": "Dyslexia"}),
            ("unknown_school", {"School Code": MISSING_SCHOOL}),
        ):
            self.add("enrollment", {**e, "student_key": self.fresh_key()}, rule, change)
        self.add("enrollment", {**e, "student_key": self.fresh_key()}, "duplicate_key", {}, copies=2)

        c = self.case
        reported = c["reported_date"]
        cleared = {
            k: None
            for k in (
                "screened_date",
                "assessed_date",
                "concern_level",
                "team_admin",
                "team_mental_health",
                "team_law_enforcement",
                "law_enforcement_involved",
                "disability_factors_considered",
                "plan_written_date",
                "monitoring",
                "closed_date",
            )
        }
        for rule, base, change in (
            ("required:reported_date", c, {"Date Reported": ""}),
            (
                "date:reported_date",
                {
                    **c,
                    "screened_date": None,
                    "assessed_date": None,
                    "concern_level": None,
                    "plan_written_date": None,
                    "closed_date": None,
                },
                {"Date Reported": bad_date},
            ),
            ("date:assessed_date", c, {"Assessment Date": f"13/01/{y2}"}),
            ("code:concern_level", c, {"Threat Level": "Moderate Risk"}),
            ("code:subject_type", c, {"Subject Type": "Visitor"}),
            ("required_if:student_key", c, {"Student ID": ""}),
            ("required_if:concern_level", c, {"Threat Level": ""}),
            ("date_order:screened_date", c, {"Screening Date": self.day(reported - timedelta(days=1))}),
            (
                "date_order:assessed_date",
                {**c, "screened_date": reported + timedelta(days=2), "assessed_date": reported + timedelta(days=1)},
                {},
            ),
            ("date_order:plan_written_date", c, {"Safety Plan Date": self.day(reported - timedelta(days=1))}),
            ("date_order:closed_date", c, {"Date Closed": self.day(reported - timedelta(days=1))}),
            ("in_school_year:reported_date", {**c, "reported_date": before_year}, {}),
            ("after_as_of:reported_date", {**c, **cleared, "reported_date": after}, {}),
            ("not_enrolled", {**c, "student_key": self.fresh_key()}, {}),
            ("unknown_school", c, {"School Code": MISSING_SCHOOL}),
            ("bool:law_enforcement_involved", c, {"Law Enforcement Involved": "Unknown"}),
        ):
            self.add("btam_cases", {**base, "case_id": self.next_id("BTV-")}, rule, change)
        self.add("btam_cases", {**c, "case_id": self.next_id("BTV-")}, "duplicate_key", {}, copies=2)

        a = {
            "case_id": self.acted_case["case_id"],
            "action_date": self.acted_case["reported_date"],
            "action_type": "counseling",
        }
        a_reported = self.acted_case["reported_date"]
        for rule, base, change in (
            ("date_order:action_date", {**a, "action_date": a_reported - timedelta(days=1)}, {}),
            ("after_as_of:action_date", {**a, "action_date": after}, {}),
            ("unknown_case", {**a, "case_id": MISSING_CASE}, {}),
            ("code:action_type", a, {"Intervention Type": "Detention"}),
            ("date:action_date", a, {"Intervention Date": bad_date}),
            ("required:action_date", a, {"Intervention Date": ""}),
        ):
            self.add("case_actions", {**base, "action_id": self.next_id("CAV-")}, rule, change)
        self.add("case_actions", {**a, "action_id": self.next_id("CAV-")}, "duplicate_key", {}, copies=2)

        r = {"case_id": c["case_id"], "review_date": c["closed_date"], "review_outcome": "continue"}
        for rule, base, change in (
            ("date_order:review_date", {**r, "review_date": reported - timedelta(days=1)}, {}),
            ("code:review_outcome", r, {"Outcome": "Pending"}),
            ("unknown_case", {**r, "case_id": MISSING_CASE}, {}),
            ("required:review_date", r, {"Review Date": ""}),
        ):
            self.add("case_reviews", {**base, "review_id": self.next_id("CRV-")}, rule, change)
        self.add("case_reviews", {**r, "review_id": self.next_id("CRV-")}, "duplicate_key", {}, copies=2)

        d = self.discipline
        for rule, base, change in (
            ("required:incident_id", d, {"Incident Number": ""}),
            ("code:behavior", d, {"Offense": "Loitering"}),
            ("code:action_type", d, {"Action Taken": "Detention"}),
            ("number:days_removed", {**d, "action_type": "removal_from_class"}, {"Days Removed": "three"}),
            ("range:days_removed", {**d, "action_type": "expulsion_with_services"}, {"Days Removed": "400"}),
            ("positive:days_removed", d, {"Days Removed": "0"}),
            ("date:incident_date", d, {"Incident Date": bad_date}),
            ("in_school_year:incident_date", {**d, "incident_date": before_year}, {}),
            ("after_as_of:incident_date", {**d, "incident_date": after}, {}),
            ("not_enrolled", {**d, "student_key": self.fresh_key()}, {}),
            ("unknown_case", {**d, "related_case_id": MISSING_CASE}, {}),
            ("unknown_school", d, {"School Code": MISSING_SCHOOL}),
        ):
            self.add(
                "discipline_actions",
                {**base, "action_id": self.next_id("DAV-"), "incident_id": self.next_id("INV-")},
                rule,
                change,
            )
        self.add(
            "discipline_actions",
            {**d, "action_id": self.next_id("DAV-"), "incident_id": self.next_id("INV-")},
            "duplicate_key",
            {},
            copies=2,
        )
        return self.rows


def _mix(
    rng: np.random.Generator, clean: list[dict], broken: list[tuple[dict, str]]
) -> tuple[list[dict], list[tuple[int, str]]]:
    """Broken rows inserted at random places; returns the rows and (1-based row number, rule) of the broken ones."""
    total = len(clean) + len(broken)
    at = np.sort(rng.choice(total, size=len(broken), replace=False))
    rows, manifest, ci = [], [], 0
    slots = dict(zip(at.tolist(), broken))
    for pos in range(total):
        if pos in slots:
            row, rule = slots[pos]
            rows.append(row)
            manifest.append((pos + 1, rule))
        else:
            rows.append(clean[ci])
            ci += 1
    return rows, manifest


def _write_csv(path: Path, header: list[str], rows: list[dict], encoding: str, delimiter: str) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[row.get(h, "") for h in header] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))


def _write_xlsx(path: Path, header: list[str], rows: list[dict], created: date) -> None:
    book = xlsxwriter.Workbook(str(path))
    book.set_properties({"created": datetime.combine(created, time())})  # same seed, same bytes
    sheet = book.add_worksheet("Reviews")
    for j, name in enumerate(header):
        sheet.write_string(0, j, name)
    for i, row in enumerate(rows, start=1):
        for j, name in enumerate(header):
            if row.get(name, ""):
                sheet.write_string(i, j, row[name])
    book.close()


def write_vendor(cfg: DemoConfig, out: Path, last: LastYear, schools: Schools) -> dict:
    """Write OUT/vendor/ and its expected_quarantine.json; return a summary for ground_truth.json."""
    rng = np.random.default_rng([cfg.seed, 7])
    school_ids = _sample_school_ids(schools)
    sample = _sample(last, school_ids)
    broken = _Broken(cfg, sample, rng).build()
    folder = out / "vendor"
    folder.mkdir(parents=True, exist_ok=True)
    manifest, summary = [], {}
    for entity, name, encoding, delimiter in FILES.values():
        clean = sample[entity].to_dicts()
        rows = [to_vendor(entity, row) for row in clean]
        _add_noise(rng, entity, rows, clean)
        rows, broken_at = _mix(rng, rows, broken[entity])
        header = list(COLUMNS[entity]) + list(EXTRA_COLUMNS.get(entity, {}))
        if delimiter is None:
            _write_xlsx(folder / name, header, rows, cfg.as_of)
        else:
            _write_csv(folder / name, header, rows, encoding, delimiter)
        manifest += [{"file": name, "row_number": n, "rule": rule} for n, rule in broken_at]
        summary[name] = {
            "entity": entity,
            "encoding": encoding or "xlsx",
            "delimiter": delimiter,
            "rows": len(rows),
            "rows_quarantined": len(broken_at),
            "rows_valid": len(clean),
        }
    (folder / "expected_quarantine.json").write_text(json.dumps(manifest, indent=1) + "\n")
    (folder / "README.md").write_text(_readme(cfg, summary, school_ids))
    return {
        "as_of": cfg.as_of.isoformat(),
        "school_year": last.school_year,
        "sample_school_ids": school_ids,
        "profile": "vendor_messy",
        "files": summary,
    }


def _readme(cfg: DemoConfig, summary: dict, school_ids: list[str]) -> str:
    lines = [
        "# Vendor-style export of the synthetic demo (not real data)",
        "",
        f"The demo's last school year for schools {', '.join(school_ids)}, as a vendor would export it.",
        f"Load it with the as-of date of the demo, **{cfg.as_of.isoformat()}**, so the rules about dates after",
        "the as-of date hold:",
        "",
        f"    python -m pipelines load {'{OUT}'}/vendor --profile vendor_messy --as-of {cfg.as_of.isoformat()}",
        "",
        "expected_quarantine.json lists every row that must be quarantined (file, 1-based data row, rule);",
        "every other row maps to a valid interchange row equal to the demo's own files.",
        "",
        "| file | entity | encoding | delimiter | rows | quarantined |",
        "|---|---|---|---|---|---|",
    ]
    for name, s in summary.items():
        lines.append(
            f"| {name} | {s['entity']} | {s['encoding']} | {s['delimiter'] or '(xlsx)'} | "
            f"{s['rows']} | {s['rows_quarantined']} |"
        )
    return "\n".join(lines) + "\n"


_NAMES = (
    "Alex Example",
    "Jordan Sample",
    "Casey Placeholder",
    "Riley Testcase",
    "Morgan Fictional",
    "Taylor Madeup",
    "Jamie Synthetic",
    "Avery Dummy",
)


def write_identifiers(out: Path, last: LastYear) -> dict:
    """Two files carrying direct identifiers, which a loader must refuse whole (fully made up)."""
    folder = out / "identifiers"
    folder.mkdir(parents=True, exist_ok=True)
    enrollment = last.frames["enrollment"].head(20)
    names = [_NAMES[i % len(_NAMES)] for i in range(enrollment.height)]
    enrollment.with_columns(pl.Series("student_name", names)).write_csv(folder / "enrollment_with_names.csv")
    cases = last.frames["btam_cases"].head(20).with_row_index("_i")
    contacts = cases.with_columns(
        pl.when(pl.col("_i").is_in([2, 9]))
        .then(pl.lit("x.y@example.org"))
        .otherwise(pl.col("report_source"))
        .alias("report_source"),
        pl.when(pl.col("_i") == 5)
        .then(pl.lit("555-201-3344"))
        .otherwise(pl.col("report_channel"))
        .alias("report_channel"),
    ).drop("_i")
    contacts.write_csv(folder / "btam_cases_with_contacts.csv")
    return {
        "enrollment_with_names.csv": {"identifier_columns": ["student_name"], "rows": enrollment.height},
        "btam_cases_with_contacts.csv": {
            "email_in": "report_source",
            "email_rows": [3, 10],
            "phone_in": "report_channel",
            "phone_rows": [6],
            "rows": contacts.height,
        },
    }


def write_messy(cfg: DemoConfig, out: Path, last: LastYear, schools: Schools, truth: dict) -> None:
    truth["messy"] = write_vendor(cfg, out, last, schools)
    truth["identifiers"] = write_identifiers(out, last)
    (out / "ground_truth.json").write_text(json.dumps(truth, indent=2) + "\n")
