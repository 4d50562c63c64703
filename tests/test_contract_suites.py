"""The great-expectations suites are the executable form of the interchange spec's column rules."""

from __future__ import annotations

import json

from data_contracts.build_suites import SUITES_DIR, suite_for
from data_contracts.interchange import ENTITIES
from pipelines.contracts import load_suite


def test_committed_suites_equal_what_the_spec_generates():
    for entity in ENTITIES.values():
        committed = json.loads((SUITES_DIR / f"{entity.name}.json").read_text())
        assert committed == suite_for(entity), f"run python -m data_contracts.build_suites ({entity.name})"


def test_great_expectations_accepts_every_expectation_of_every_suite():
    for entity in ENTITIES:
        raw = json.loads((SUITES_DIR / f"{entity}.json").read_text())
        assert len(load_suite(entity).expectations) == len(raw["expectations"]) > 0


def test_every_code_column_has_its_code_list_in_the_suite():
    suite = json.loads((SUITES_DIR / "btam_cases.json").read_text())
    in_set = {
        e["kwargs"]["column"]: e["kwargs"]["value_set"]
        for e in suite["expectations"]
        if e["type"] == "expect_column_values_to_be_in_set"
    }
    assert in_set["concern_level"] == ["low", "moderate", "high", "imminent"]
    assert in_set["law_enforcement_involved"] == ["Y", "N"]


def test_every_failing_value_of_a_large_column_is_found_past_great_expectations_200_value_list():
    """A key column of 6,000 values, 300 malformed: all 300 come back, from Arrow as from a plain list."""
    import pyarrow as pa

    from pipelines.contracts import SMALL_COLUMN, validate_values

    keys = [f"stu{i:06d}" for i in range(5700)] + [f"x{i}!" for i in range(300)] + [None]
    assert len(keys) > SMALL_COLUMN
    found = {}
    for form in (keys, pa.chunked_array([keys], type=pa.string())):
        violations = validate_values("discipline_actions", {"student_key": form})
        found[type(form).__name__] = sorted((v.rule, v.value or "") for v in violations)
    expected = sorted([("format:student_key", f"x{i}!") for i in range(300)] + [("required:student_key", "")])
    assert found == {"list": expected, "ChunkedArray": expected}
