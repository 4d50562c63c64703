"""Issue 16's Load data faults: the as-of date starts at the data's own dates (the warehouse's, else the uploaded
files'), not today, and an upload whose entity cannot be told is explained in the web form's words, never with
the command line's --entity."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest

from access import audit_log
from access.metric_tables import latest_activity_date
from access.roles import ADMIN, viewer
from data_contracts.interchange import ENTITIES
from pipelines.upload_checks import FileDates, latest_file_date, suggested_as_of, unnamed_files
from tests.browser import AS_OF, REPO, _run


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


@pytest.fixture(scope="module")
def dateless_db(tmp_path_factory, demo_db) -> Path:
    """A warehouse of real (not --synthetic) data with no date of any case, action, review or discipline action:
    the demo's schools only."""
    db = tmp_path_factory.mktemp("dateless") / "warehouse.duckdb"
    _run(["load", str(demo_db.parent / "demo" / "schools.csv"), "--db", str(db), "--as-of", AS_OF, "--quiet"])
    with duckdb.connect(str(db), read_only=True) as con:
        assert latest_activity_date(con) is None
    return db


def _signed_in_admin(monkeypatch, tmp_path, db: Path):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("BTAM_WAREHOUSE", str(db))
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=300)
    # a signed-in local account, as ui/login.py leaves the session after the form
    at.session_state["auth_user"], at.session_state["auth_viewer"] = "office", viewer(ADMIN)
    at.session_state["auth_last_seen"], at.session_state["auth_method"] = dt.datetime.now(dt.UTC), "local"
    at.run()
    at.switch_page("pages/load_data.py").run()
    assert not at.exception
    return at


def _as_of(at):
    (field,) = [d for d in at.date_input if d.label == "As-of date"]
    return field


def test_on_a_warehouse_without_dates_the_as_of_date_starts_at_the_uploaded_file_s_dates(
    monkeypatch, tmp_path, demo_db, dateless_db
):
    actions = demo_db.parent / "demo" / "case_actions.csv"
    # independently: the latest action date in the file, as written (ISO dates), none after today
    dates = pl.read_csv(actions, infer_schema=False)["action_date"].str.to_date().drop_nulls()
    latest = dates.filter(dates <= dt.date.today()).max()
    assert isinstance(latest, dt.date) and latest < dt.date.today()

    at = _signed_in_admin(monkeypatch, tmp_path, dateless_db)
    assert _as_of(at).value == dt.date.today()  # nothing uploaded, no date anywhere: today, and said so
    assert any("neither the warehouse nor the uploaded files hold a date" in c.value for c in at.caption)

    at.file_uploader[0].set_value(("case_actions.csv", actions.read_bytes(), "text/csv")).run()
    assert not at.exception
    assert _as_of(at).value == latest
    shown = " ".join(c.value for c in at.caption)
    assert f"starts at {latest.isoformat()}" in shown and "case_actions.csv" in shown
    assert "the warehouse holds no date yet" in shown

    chosen = latest + dt.timedelta(days=3)  # the exports were taken later: the user changes it, and it holds
    _as_of(at).set_value(chosen).run()
    assert _as_of(at).value == chosen
    (load,) = [b for b in at.button if b.label == "Load"]
    load.click().run()
    assert not at.exception
    (event,) = audit_log.read(path=tmp_path / "audit_log.jsonl", event="load")
    assert event["detail"]["as_of"] == chosen.isoformat()


def test_a_newer_upload_moves_the_as_of_date_past_the_warehouse_s(monkeypatch, tmp_path):
    today = dt.date(2025, 9, 1)
    warehouse, newer = dt.date(2025, 5, 30), dt.date(2025, 8, 15)
    assert suggested_as_of(warehouse, FileDates(newer, "cases.csv"), today)[0] == newer
    assert suggested_as_of(warehouse, FileDates(dt.date(2025, 1, 2), "cases.csv"), today)[0] == warehouse
    assert suggested_as_of(warehouse, FileDates(None, None), today)[0] == warehouse  # a schools list alone
    assert suggested_as_of(None, FileDates(None, None), today)[0] == today


def test_the_file_dates_follow_the_profile_and_skip_dates_after_today(tmp_path):
    # the vendor profile's names and US dates (data_contracts/profiles/vendor_messy.json), hand-written rows
    actions = tmp_path / "TA_Interventions.csv"
    actions.write_text(
        "Intervention ID,Case Number,Intervention Date,Intervention Type\n"
        "A1,C1,03/01/2025,Counseling\n"
        "A2,C1,12/31/2024,Safety Plan\n"
        "A3,C2,01/01/2099,Counseling\n"
        "A4,C2,not a date,Counseling\n"
    )
    schools = tmp_path / "SIS_Schools.csv"
    schools.write_text("School Code,School Name\nS1,One\n")
    found = latest_file_date([schools, actions], "vendor_messy", None, today=dt.date(2025, 6, 1))
    assert found == FileDates(dt.date(2025, 3, 1), "TA_Interventions.csv")  # not 2099, after "today"
    assert latest_file_date([actions], "interchange", None) == FileDates(None, None)  # not this profile's names
