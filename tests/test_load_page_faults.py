"""Issue 16's Load data faults: the as-of date starts at the warehouse's data, not today, and an upload whose
entity cannot be told is explained in the web form's words, never with the command line's --entity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from access.metric_tables import latest_activity_date
from data_contracts.interchange import ENTITIES
from pipelines.upload_checks import unnamed_files


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def test_the_as_of_date_starts_at_the_warehouse_s_latest_date_not_today(start, demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        latest = latest_activity_date(con)
    assert latest is not None and latest < dt.date.today()  # the demo is as of 2025: today would be wrong
    at = start("load_data", demo_role="admin")
    assert not at.exception
    (as_of,) = [d for d in at.date_input if d.label == "As-of date"]
    assert as_of.value == latest
    entity = next(s for s in at.selectbox if s.label == "What the files hold")
    assert entity.options[0] == "Tell from each file's name" and set(ENTITIES) <= set(entity.options)


def test_an_upload_of_unknown_entity_is_explained_for_the_web():
    text = unnamed_files(["export_2025.csv", "schools.csv"], "interchange", None)
    assert text is not None
    assert "export_2025.csv" in text and "schools.csv" not in text.split(". ")[0].split(": ")[1]
    assert "--entity" not in text and "pass" not in text
    assert "What the files hold" in text and "Nothing was loaded" in text
    assert unnamed_files(["export_2025.csv"], "interchange", "cases") is None  # the entity chosen in the form
    assert unnamed_files(["schools.csv", "btam_cases.xlsx"], "interchange", None) is None
