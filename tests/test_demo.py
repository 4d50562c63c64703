"""The synthetic demo district: interchange rules, a realistic shape, the planted effects, the messy export."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from datetime import date, datetime
from pathlib import Path

import numpy as np
import openpyxl
import polars as pl
import pytest

from data_contracts.interchange import (
    CASE_ACTION_TYPES,
    ENTITIES,
    EXCLUSIONARY_ACTIONS,
    LOAD_ORDER,
    REMOVAL_ACTIONS_NEEDING_DAYS,
    SCHOOL_YEAR_PATTERN,
    STUDENT_KEY_PATTERN,
    SUPPORT_ACTIONS,
    school_year_bounds,
)
from pipelines.demo import cli
from pipelines.demo.messy import FILES, profile

REPO = Path(__file__).resolve().parent.parent
AS_OF = date(2025, 5, 30)
RULES = [
    "required:",
    "code:",
    "format:student_key",
    "format:school_year",
    "date:",
    "bool:",
    "number:days_removed",
    "range:days_removed",
    "required_if:student_key",
    "required_if:idea_disability",
    "blank_unless:idea_disability",
    "required_if:concern_level",
    "positive:days_removed",
    "date_order:screened_date",
    "date_order:assessed_date",
    "date_order:plan_written_date",
    "date_order:closed_date",
    "date_order:action_date",
    "date_order:review_date",
    "in_school_year:reported_date",
    "in_school_year:incident_date",
    "after_as_of:reported_date",
    "after_as_of:action_date",
    "after_as_of:incident_date",
    "duplicate_key",
    "unknown_school",
    "not_enrolled",
    "unknown_case",
]


def _args(
    out: Path, students: int, years: int = 3, seed: int = 7, as_of: str | None = None, messy: bool = False
) -> argparse.Namespace:
    return argparse.Namespace(out=str(out), students=students, years=years, seed=seed, as_of=as_of, messy=messy)


def _read(folder: Path, entity: str) -> pl.DataFrame:
    """Every column as text, blanks as nulls: what a loader sees."""
    return pl.read_csv(folder / f"{entity}.csv", infer_schema=False)


def _dates(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    return frame.with_columns(pl.col(c).str.to_date("%Y-%m-%d", strict=True) for c in columns)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    assert cli.run(_args(out, 30_000, messy=True)) == 0
    return out


@pytest.fixture(scope="module")
def tables(demo: Path) -> dict[str, pl.DataFrame]:
    frames = {e: _read(demo, e) for e in LOAD_ORDER}
    frames["btam_cases"] = _dates(
        frames["btam_cases"], "reported_date", "screened_date", "assessed_date", "plan_written_date", "closed_date"
    )
    frames["case_actions"] = _dates(frames["case_actions"], "action_date")
    frames["case_reviews"] = _dates(frames["case_reviews"], "review_date")
    frames["discipline_actions"] = _dates(frames["discipline_actions"], "incident_date").with_columns(
        pl.col("days_removed").cast(pl.Float64)
    )
    return frames


@pytest.fixture(scope="module")
def truth(demo: Path) -> dict:
    return json.loads((demo / "ground_truth.json").read_text())


# ---- the interchange rules -------------------------------------------------------------------------------


def test_files_have_the_interchange_headers_in_spec_order(demo: Path):
    for entity in LOAD_ORDER:
        with open(demo / f"{entity}.csv", encoding="utf-8", newline="") as f:
            assert next(csv.reader(f)) == ENTITIES[entity].column_names


def test_every_code_is_in_its_list_and_required_values_are_present(tables):
    for entity, frame in tables.items():
        for column in ENTITIES[entity].columns:
            values = frame[column.name]
            if column.required:
                assert values.null_count() == 0, (entity, column.name)
            if column.type == "code":
                assert set(values.drop_nulls().unique()) <= set(column.codes), (entity, column.name)
            if column.type == "bool":
                assert set(values.drop_nulls().unique()) <= {"Y", "N"}, (entity, column.name)


def test_keys_are_unique_and_keys_and_years_match_their_patterns(tables):
    for entity, frame in tables.items():
        assert frame.select(ENTITIES[entity].key).is_duplicated().sum() == 0, entity
    enrollment = tables["enrollment"]
    assert enrollment["student_key"].str.contains(STUDENT_KEY_PATTERN).all()
    assert enrollment["school_year"].str.contains(SCHOOL_YEAR_PATTERN).all()
    assert tables["btam_cases"]["student_key"].drop_nulls().str.contains(STUDENT_KEY_PATTERN).all()


def _year_bounds(frame: pl.DataFrame) -> pl.DataFrame:
    years = frame["school_year"].unique().to_list()
    bounds = pl.DataFrame(
        {
            "school_year": years,
            "year_first": [date.fromisoformat(school_year_bounds(y)[0]) for y in years],
            "year_last": [date.fromisoformat(school_year_bounds(y)[1]) for y in years],
        }
    )
    return frame.join(bounds, on="school_year")


def test_case_dates_obey_the_spec(tables):
    cases = _year_bounds(tables["btam_cases"])
    assert cases.filter(~pl.col("reported_date").is_between(pl.col("year_first"), pl.col("year_last"))).height == 0
    for column in ("reported_date", "screened_date", "assessed_date", "plan_written_date", "closed_date"):
        assert cases.filter(pl.col(column) > AS_OF).height == 0, column
    assert cases.filter(pl.col("screened_date") < pl.col("reported_date")).height == 0
    assert cases.filter(pl.col("assessed_date") < pl.col("screened_date")).height == 0
    assert cases.filter(pl.col("plan_written_date") < pl.col("reported_date")).height == 0
    assert cases.filter(pl.col("closed_date") < pl.col("reported_date")).height == 0
    assert (cases["concern_level"].is_null() == cases["assessed_date"].is_null()).all()
    assert ((cases["subject_type"] == "student") == cases["student_key"].is_not_null()).all()


def test_actions_and_reviews_belong_to_cases_and_follow_their_report(tables):
    reported = tables["btam_cases"].select("case_id", "reported_date")
    for entity, column in (("case_actions", "action_date"), ("case_reviews", "review_date")):
        joined = tables[entity].join(reported, on="case_id", how="left")
        assert joined["reported_date"].null_count() == 0, entity
        assert joined.filter(pl.col(column) < pl.col("reported_date")).height == 0, entity
        assert joined.filter(pl.col(column) > AS_OF).height == 0, entity


def test_subjects_and_disciplined_students_are_enrolled_at_that_school_that_year(tables):
    enrolled = tables["enrollment"].select("school_year", "student_key", "school_id")
    cases = tables["btam_cases"].filter(pl.col("subject_type") == "student")
    assert cases.join(enrolled, on=["school_year", "student_key", "school_id"], how="anti").height == 0
    assert (
        tables["discipline_actions"].join(enrolled, on=["school_year", "student_key", "school_id"], how="anti").height
        == 0
    )
    schools = set(tables["schools"]["school_id"])
    for entity in ("enrollment", "btam_cases", "discipline_actions"):
        assert set(tables[entity]["school_id"]) <= schools, entity


def test_discipline_rows_obey_the_spec(tables):
    dis = _year_bounds(tables["discipline_actions"])
    assert dis.filter(~pl.col("incident_date").is_between(pl.col("year_first"), pl.col("year_last"))).height == 0
    assert dis.filter(pl.col("incident_date") > AS_OF).height == 0
    assert dis.filter(~pl.col("days_removed").is_between(0, 365)).height == 0
    removals = dis.filter(pl.col("action_type").is_in(REMOVAL_ACTIONS_NEEDING_DAYS))
    assert removals.filter(pl.col("days_removed").is_null() | (pl.col("days_removed") <= 0)).height == 0
    related = dis["related_case_id"].drop_nulls()
    assert len(related) > 0
    assert set(related) <= set(tables["btam_cases"]["case_id"])


def test_idea_disability_is_given_exactly_for_idea_students(tables):
    enrollment = tables["enrollment"]
    assert ((enrollment["idea"] == "Y") == enrollment["idea_disability"].is_not_null()).all()


# ---- a realistic shape ---------------------------------------------------------------------------------


def test_referral_rate_and_concern_levels_are_realistic(tables, truth):
    enrolled = tables["enrollment"].group_by("school_year").len("n")
    referred = (
        tables["btam_cases"]
        .filter(pl.col("subject_type") == "student")
        .group_by("school_year")
        .agg(pl.col("student_key").n_unique().alias("k"))
    )
    rates = enrolled.join(referred, on="school_year").with_columns(rate=pl.col("k") / pl.col("n"))
    assert rates["rate"].is_between(0.008, 0.018).all(), rates
    cases = tables["btam_cases"]
    assert 0.02 <= (cases["subject_type"] != "student").mean() <= 0.07
    levels = cases["concern_level"].drop_nulls()
    assert 0.58 <= (levels == "low").mean() <= 0.75
    assert 0.01 <= (levels == "imminent").mean() <= 0.05
    assert cases["assessed_date"].is_not_null().mean() > 0.8
    days_to_assess = (cases["assessed_date"] - cases["reported_date"]).dt.total_days().drop_nulls()
    assert days_to_assess.median() <= 4


def test_enrollment_shares_are_realistic(tables):
    enrollment = tables["enrollment"]
    share = lambda expr: enrollment.select(expr.mean()).item()  # noqa: E731
    assert 0.12 <= share(pl.col("idea") == "Y") <= 0.16
    assert 0.02 <= share((pl.col("section_504") == "Y") & (pl.col("idea") == "N")) <= 0.04
    assert 0.08 <= share(pl.col("english_learner") == "Y") <= 0.12
    assert 0.42 <= share(pl.col("econ_disadvantaged") == "Y") <= 0.48
    for race, expected in {"hi": 0.28, "wh": 0.456, "bl": 0.15, "as": 0.05, "mu": 0.05}.items():
        assert abs(share(pl.col("race_ethnicity") == race) - expected) < 0.015, race
    assert 0.001 <= share(pl.col("sex") == "x") <= 0.01
    disability = enrollment["idea_disability"].drop_nulls().value_counts(sort=True)
    assert disability["idea_disability"][0] == "sld"


def test_schools_have_plausible_sizes_and_grade_spans(tables):
    joined = tables["enrollment"].join(tables["schools"], on="school_id")
    spans = {
        "elementary": {"pk", "kg", "01", "02", "03", "04", "05"},
        "middle": {"06", "07", "08"},
        "high": {"09", "10", "11", "12"},
    }
    for level, grades in spans.items():
        at = joined.filter(pl.col("school_level") == level)
        assert set(at["grade_level"].unique()) <= grades, level
    sizes = (
        joined.group_by("school_year", "school_id", "school_level")
        .len()
        .group_by("school_level")
        .agg(pl.col("len").median())
    )
    size = dict(zip(sizes["school_level"], sizes["len"]))
    assert 300 <= size["elementary"] <= 650 and 550 <= size["middle"] <= 1100 and 1000 <= size["high"] <= 2200


def test_students_persist_and_move_up_a_grade(tables):
    enrollment = tables["enrollment"].with_columns(
        grade=pl.col("grade_level").replace_strict({"pk": -1, "kg": 0, **{f"{g:02d}": g for g in range(1, 13)}})
    )
    first, second = (enrollment.filter(pl.col("school_year") == y) for y in ("2022-23", "2023-24"))
    both = first.join(second, on="student_key", suffix="_next")
    assert 0.75 <= both.height / first.height <= 0.92
    assert ((both["grade_next"] - both["grade"]) == 1).mean() > 0.97
    assert both.filter(pl.col("race_ethnicity") != pl.col("race_ethnicity_next")).height == 0
    assert first.filter(pl.col("grade_level") == "12").join(second, on="student_key").height == 0


def test_supports_are_far_more_common_than_exclusion(tables):
    types = tables["case_actions"]["action_type"]
    assert types.is_in(SUPPORT_ACTIONS).sum() > 5 * types.is_in(EXCLUSIONARY_ACTIONS).sum()
    assert set(types.unique()) <= set(CASE_ACTION_TYPES)


def test_discipline_rates_by_action_type_are_realistic(tables):
    enrolled = tables["enrollment"].height
    dis = tables["discipline_actions"]

    def students_with(*types: str) -> float:
        return (
            dis.filter(pl.col("action_type").is_in(types))
            .select(pl.struct("school_year", "student_key").n_unique())
            .item()
            / enrolled
        )

    assert 0.02 <= students_with("oss") <= 0.06
    assert 0.02 <= students_with("iss") <= 0.06
    assert students_with("expulsion_with_services", "expulsion_without_services") <= 0.004
    assert 0.002 <= students_with("law_enforcement_referral") <= 0.009


def test_discipline_volume_is_about_one_row_per_enrolled_student_year(tmp_path: Path):
    """docs/DEMO.md: 0.87-1.13 discipline rows per enrolled student-year (about 3M rows at 1M students x 3
    years), mostly minor actions, concentrated in middle and high schools, with repeats for a minority."""
    assert cli.run(_args(tmp_path, 20_000, years=1)) == 0
    enrollment = _read(tmp_path, "enrollment").join(_read(tmp_path, "schools"), on="school_id")
    dis = _read(tmp_path, "discipline_actions").join(_read(tmp_path, "schools"), on="school_id")
    assert 0.87 <= dis.height / enrollment.height <= 1.13
    assert dis["action_type"].is_in(["removal_from_class", "other"]).mean() > 0.8
    enrolled = dict(enrollment.group_by("school_level").len().iter_rows())
    rows = dict(dis.group_by("school_level").len().iter_rows())
    rate = {level: rows[level] / enrolled[level] for level in ("elementary", "middle", "high")}
    assert 0.25 <= rate["elementary"] <= 0.5
    assert rate["middle"] > 3 * rate["elementary"] and rate["high"] > 3 * rate["elementary"]
    per_student = dis.group_by("student_key").len()
    assert 0.1 <= (per_student["len"] >= 2).sum() / enrollment.height <= 0.3  # repeat events: a minority
    assert per_student.filter(pl.col("len") >= 2)["len"].sum() > 0.8 * dis.height  # who carry most rows


# ---- the planted effects, found in the raw files -------------------------------------------------------


def _referral_risk(tables, column: str) -> dict[str, float]:
    enrollment = tables["enrollment"]
    referred = (
        tables["btam_cases"]
        .filter(pl.col("subject_type") == "student")
        .select("school_year", "student_key")
        .unique()
        .with_columns(referred=pl.lit(1))
    )
    risk = (
        enrollment.join(referred, on=["school_year", "student_key"], how="left")
        .group_by(column)
        .agg(pl.col("referred").fill_null(0).mean())
    )
    return dict(zip(risk[column], risk["referred"]))


def test_referral_risk_is_planted_for_bl_am_and_idea_only(tables):
    race = _referral_risk(tables, "race_ethnicity")
    assert race["bl"] / race["wh"] > 1.5
    assert race["am"] / race["wh"] > 1.0
    for group in ("hi", "as", "mu"):
        assert 0.7 <= race[group] / race["wh"] <= 1.4, group
    idea = _referral_risk(tables, "idea")
    assert idea["Y"] / idea["N"] > 1.5
    for column in ("sex", "english_learner", "econ_disadvantaged"):
        risk = _referral_risk(tables, column)
        low, high = (risk["f"], risk["m"]) if column == "sex" else (risk["Y"], risk["N"])
        assert 0.75 <= low / high <= 1.33, column


def _mantel_haenszel_odds_ratio(strata: list[tuple[int, int, int, int]]) -> float:
    """sum(a d / n) / sum(b c / n) over strata (a, b: group with / without; c, d: others with / without)."""
    num = sum(a * d / (a + b + c + d) for a, b, c, d in strata)
    den = sum(b * c / (a + b + c + d) for a, b, c, d in strata)
    return num / den


def test_bl_cases_end_in_exclusion_more_often_at_every_concern_level(tables):
    excluded = (
        tables["case_actions"]
        .filter(pl.col("action_type").is_in(EXCLUSIONARY_ACTIONS))
        .select("case_id")
        .unique()
        .with_columns(excluded=pl.lit(True))
    )
    cases = (
        tables["btam_cases"]
        .filter(pl.col("subject_type") == "student", pl.col("concern_level").is_not_null())
        .join(
            tables["enrollment"].select("school_year", "student_key", "race_ethnicity"),
            on=["school_year", "student_key"],
        )
        .join(excluded, on="case_id", how="left")
        .with_columns(pl.col("excluded").fill_null(False), bl=pl.col("race_ethnicity") == "bl")
    )
    strata = []
    for level in ("low", "moderate", "high", "imminent"):
        at = cases.filter(pl.col("concern_level") == level)
        g, o = at.filter("bl"), at.filter(~pl.col("bl"))
        strata.append((g["excluded"].sum(), (~g["excluded"]).sum(), o["excluded"].sum(), (~o["excluded"]).sum()))
    assert _mantel_haenszel_odds_ratio(strata) > 1.5
    by_level = cases.group_by("bl").agg(pl.col("concern_level").is_in(["high", "imminent"]).mean())
    share = dict(zip(by_level["bl"], by_level["concern_level"]))
    assert 0.6 <= share[True] / share[False] <= 1.6  # concern levels themselves carry no race effect


def test_named_schools_show_their_process_problems(tables, truth):
    named = truth["named_schools"]
    le_school = named["law_enforcement_in_low_concern_cases"]["school_id"]
    slow_school = named["missing_plans_and_slow_first_interventions"]["school_id"]
    cases = tables["btam_cases"]
    low = cases.filter(pl.col("concern_level") == "low").with_columns(at=pl.col("school_id") == le_school)
    le = low.group_by("at").agg((pl.col("law_enforcement_involved") == "Y").mean())
    le = dict(zip(le["at"], le["law_enforcement_involved"]))
    assert le[True] > 4 * le[False]

    serious = cases.filter(
        pl.col("concern_level").is_in(["moderate", "high", "imminent"]), pl.col("assessed_date") <= date(2025, 5, 1)
    ).with_columns(at=pl.col("school_id") == slow_school)
    plans = serious.group_by("at").agg(pl.col("plan_written_date").is_not_null().mean())
    plans = dict(zip(plans["at"], plans["plan_written_date"]))
    assert plans[True] < 0.5 < 0.8 < plans[False]

    first = tables["case_actions"].group_by("case_id").agg(pl.col("action_date").min().alias("first"))
    lag = (
        cases.join(first, on="case_id")
        .with_columns(
            days=(pl.col("first") - pl.col("reported_date")).dt.total_days(), at=pl.col("school_id") == slow_school
        )
        .group_by("at")
        .agg(pl.col("days").median())
    )
    lag = dict(zip(lag["at"], lag["days"]))
    assert lag[True] >= 10 and lag[False] <= 5


def test_some_cases_are_open_at_the_as_of_date_some_without_any_action(tables):
    cases = tables["btam_cases"].filter(pl.col("school_year") == "2024-25")
    open_cases = cases.filter(pl.col("closed_date").is_null())
    assert open_cases.height > 0
    assert open_cases.join(tables["case_actions"], on="case_id", how="anti").height > 0


def test_oss_risk_is_planted_for_bl_and_idea_but_iss_is_not(tables):
    enrollment = tables["enrollment"]

    def risk(types: tuple[str, ...], column: str) -> dict:
        has = (
            tables["discipline_actions"]
            .filter(pl.col("action_type").is_in(types))
            .select("school_year", "student_key")
            .unique()
            .with_columns(has=pl.lit(1))
        )
        r = (
            enrollment.join(has, on=["school_year", "student_key"], how="left")
            .group_by(column)
            .agg(pl.col("has").fill_null(0).mean())
        )
        return dict(zip(r[column], r["has"]))

    oss = ("oss", "expulsion_with_services", "expulsion_without_services")
    assert risk(oss, "race_ethnicity")["bl"] / risk(oss, "race_ethnicity")["wh"] > 1.5
    assert risk(oss, "idea")["Y"] / risk(oss, "idea")["N"] > 1.5
    iss = risk(("iss",), "race_ethnicity")
    assert 0.8 <= iss["bl"] / iss["wh"] <= 1.25


# ---- ground truth, determinism, arguments --------------------------------------------------------------


def test_ground_truth_records_parameters_and_counts(demo: Path, truth: dict):
    assert truth["synthetic"] is True
    assert truth["seed"] == 7 and truth["as_of"] == "2025-05-30" and truth["students_per_year"] == 30_000
    assert truth["school_years"] == ["2022-23", "2023-24", "2024-25"]
    for name, rows in truth["files"].items():
        assert sum(1 for _ in open(demo / name, encoding="utf-8")) - 1 == rows, name
    planted = {p["id"] for p in truth["planted_effects"]}
    assert {
        "referral_race",
        "referral_idea",
        "case_exclusion_within_level",
        "law_enforcement_low_concern",
        "missing_plans_and_slow_first_intervention",
    } <= planted
    assert truth["parameters"]["referral"]["race_risk_ratio"]["bl"] > 2


def test_same_seed_writes_the_same_files(tmp_path: Path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        assert cli.run(_args(tmp_path / name, 3000, years=2, seed=seed, messy=True)) == 0
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*") if p.is_file())
    assert len(files) == 7 + 8 + 2
    for path in files:
        assert (tmp_path / "a" / path).read_bytes() == (tmp_path / "b" / path).read_bytes(), path
    assert (tmp_path / "a" / "enrollment.csv").read_bytes() != (tmp_path / "c" / "enrollment.csv").read_bytes()


def test_years_end_with_the_school_year_of_the_as_of_date(tmp_path: Path):
    assert cli.run(_args(tmp_path, 2000, years=2, as_of="2025-10-15")) == 0
    truth = json.loads((tmp_path / "ground_truth.json").read_text())
    assert truth["school_years"] == ["2024-25", "2025-26"]
    cases = _dates(_read(tmp_path, "btam_cases"), "reported_date")
    assert cases["reported_date"].max() <= date(2025, 10, 15)


def test_bad_arguments_get_a_message_not_a_traceback(tmp_path: Path, capsys):
    assert cli.run(_args(tmp_path, 25_000, as_of="2025-02-30")) == 2
    assert "--as-of" in capsys.readouterr().err
    assert cli.run(_args(tmp_path, 10)) == 2
    assert cli.run(_args(tmp_path, 25_000, as_of="2025-06-29", messy=True)) == 2


# ---- the messy vendor export ---------------------------------------------------------------------------


def _vendor_rows(folder: Path, name: str, encoding: str | None, delimiter: str | None) -> list[dict]:
    path = folder / name
    if delimiter is None:
        sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
        values = [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        return [dict(zip(values[0], row)) for row in values[1:]]
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode(encoding), newline=""), delimiter=delimiter))


def _apply_profile(entity: str, row: dict, prof: dict) -> dict[str, str | None]:
    """A minimal reading of data_contracts/profiles/README.md, enough to map the demo's vendor rows."""
    spec = prof["entities"][entity]
    rename = {k.strip().lower(): v for k, v in spec["rename"].items()}
    yes = {w.lower() for w in prof["booleans"]["true"]} | {"y"}
    no = {w.lower() for w in prof["booleans"]["false"]} | {"n"}
    out = {}
    for vendor_col, raw in row.items():
        col = rename.get(vendor_col.strip().lower())
        if col is None:
            continue
        column = ENTITIES[entity].column(col)
        value = raw.strip()
        if value == "":
            out[col] = None
        elif column.type == "date":
            out[col] = datetime.strptime(value, prof["date_formats"][0]).date().isoformat()
        elif column.type == "bool":
            out[col] = "Y" if value.lower() in yes else "N" if value.lower() in no else value
        elif column.type == "decimal":
            out[col] = float(value)
        elif column.type == "code":
            table = {**prof["values"].get(col, {}), **spec.get("values", {}).get(col, {})}
            table = {k.strip().lower(): v for k, v in table.items()}
            out[col] = table.get(value.lower(), value.lower() if value.lower() in column.codes else value)
        else:
            out[col] = value
    return out


def test_vendor_export_maps_back_to_the_interchange_rows_except_the_listed_ones(demo: Path, truth: dict):
    prof = json.loads((REPO / "data_contracts" / "profiles" / "vendor_messy.json").read_text(encoding="utf-8"))
    manifest = json.loads((demo / "vendor" / "expected_quarantine.json").read_text())
    broken = {(m["file"], m["row_number"]) for m in manifest}
    sample = truth["messy"]["sample_school_ids"]
    for entity, name, encoding, delimiter in FILES.values():
        rows = _vendor_rows(demo / "vendor", name, encoding, delimiter)
        mapped = [_apply_profile(entity, row, prof) for i, row in enumerate(rows, start=1) if (name, i) not in broken]
        got = pl.DataFrame(
            mapped, schema={c: pl.Float64 if c == "days_removed" else pl.String for c in ENTITIES[entity].column_names}
        )
        expected = _read(demo, entity)
        if entity == "discipline_actions":
            expected = expected.with_columns(pl.col("days_removed").cast(pl.Float64))
        if entity in ("enrollment", "btam_cases", "discipline_actions"):
            expected = expected.filter(pl.col("school_year") == "2024-25")
        if entity in ("enrollment", "btam_cases", "discipline_actions"):
            expected = expected.filter(pl.col("school_id").is_in(sample))
        if entity in ("case_actions", "case_reviews"):
            cases = _read(demo, "btam_cases").filter(
                pl.col("school_year") == "2024-25", pl.col("school_id").is_in(sample)
            )
            expected = expected.filter(pl.col("case_id").is_in(cases["case_id"]))
        key = list(ENTITIES[entity].key)
        assert got.sort(key).equals(expected.sort(key)), name


def test_vendor_manifest_covers_every_rule_once_per_row(demo: Path):
    manifest = json.loads((demo / "vendor" / "expected_quarantine.json").read_text())
    rules = {m["rule"] for m in manifest}
    for rule in RULES:
        assert any(r == rule or (rule.endswith(":") and r.startswith(rule)) for r in rules), rule
    assert len({(m["file"], m["row_number"]) for m in manifest}) == len(manifest)
    names = {spec[1] for spec in FILES.values()}
    assert {m["file"] for m in manifest} == names
    for m in manifest:
        assert m["row_number"] >= 1
    for name in names:
        assert sum(1 for m in manifest if m["file"] == name and m["rule"] == "duplicate_key") == 2, name


def test_vendor_files_use_their_promised_encodings_and_formats(demo: Path):
    folder = demo / "vendor"
    assert (folder / "SIS_StudentEnrollment.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    discipline = (folder / "Discipline_Incidents.csv").read_bytes()
    assert b"\x96" in discipline  # the en dash of 'Harassment - Bullying' in cp1252
    assert discipline.split(b"\r\n")[0].count(b";") == 9
    assert (folder / "TA_Reviews.xlsx").read_bytes()[:2] == b"PK"
    cases = (folder / "TA_Cases.csv").read_text(encoding="utf-8")
    assert "Transient" in cases and "Very Serious Substantive" in cases and re.search(r"\d\d/\d\d/20\d\d", cases)
    assert "2025-05-30" in (folder / "README.md").read_text()


def test_profile_file_is_the_generators_profile():
    path = REPO / "data_contracts" / "profiles" / "vendor_messy.json"
    assert json.loads(path.read_text(encoding="utf-8")) == profile()


def test_identifier_files_carry_names_emails_and_phones(demo: Path):
    names = pl.read_csv(demo / "identifiers" / "enrollment_with_names.csv", infer_schema=False)
    assert "student_name" in names.columns and names["student_name"].str.contains(" ").all()
    contacts = (demo / "identifiers" / "btam_cases_with_contacts.csv").read_text()
    assert re.search(r"[\w.]+@example\.org", contacts) and re.search(r"\b555-\d{3}-\d{4}\b", contacts)


# ---- at a size where the effects are sharp --------------------------------------------------------------


@pytest.mark.slow
def test_planted_ratios_are_recovered_at_a_large_size(tmp_path: Path):
    assert cli.run(_args(tmp_path, 400_000, years=1)) == 0
    tables = {e: _read(tmp_path, e) for e in ("enrollment", "btam_cases")}
    race = _referral_risk(tables, "race_ethnicity")
    assert 2.0 <= race["bl"] / race["wh"] <= 2.6  # planted 2.3
    assert 1.3 <= race["am"] / race["wh"] <= 2.4  # planted 1.8, a small group
    assert 0.9 <= race["hi"] / race["wh"] <= 1.1
    idea = _referral_risk(tables, "idea")
    assert 1.95 <= idea["Y"] / idea["N"] <= 2.45  # planted 2.2
    assert np.isclose(sum(1 for _ in open(tmp_path / "enrollment.csv")) - 1, 400_000)


def test_the_make_run_demo_holds_quarantined_rows_and_its_stored_releases(demo_warehouse):
    """`make run` builds the demo with --messy, and one demo command then loads the vendor export too, so Data
    quality shows quarantined rows as the README's screenshots do; the command stores the published figures of
    every year with its last load, so the board's first view reads them (tests/browser.py builds the
    suite's demo warehouses with the same command)."""
    import re

    import duckdb

    from access.warehouse_status import read_status
    from figures import stored

    recipe = (Path(__file__).resolve().parent.parent / "Makefile").read_text(encoding="utf-8")
    demo_line = next(line for line in recipe.splitlines() if re.search(r"-m pipelines demo .*--db", line))
    assert "--messy" in demo_line
    db = demo_warehouse(students=3000, messy=True)
    with duckdb.connect(str(db), read_only=True) as con:
        status = read_status(con)
        years = [r[0] for r in con.execute("select distinct school_year from enrollment order by 1").fetchall()]
        rows = con.execute(f"select school_year, scope, load_id from {stored.TABLE} order by 1").fetchall()
        loads = con.execute("select count(distinct load_id) from load_ledger").fetchone()[0]
        current = stored.current_load(con)
        assert all(stored.stored_release(con, year)[0] is not None for year in years)
    assert status.synthetic
    assert status.quarantine.height and int(status.quarantine["rows_quarantined"].sum()) > 0
    assert loads == 2  # the interchange files, then the vendor export
    assert rows == [(year, stored.ALL_SCHOOLS, current) for year in years]
