"""The app shell and the data pages, run with Streamlit's AppTest on warehouses built by code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from access.filters import FilterOptions, Filters, School, parse, query_params
from access.roles import viewer
from pipelines.loader import load_files
from pipelines.warehouse import create_empty
from tests.browser import AS_OF, DEMO_STUDENTS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
PAGES = ("pages/warehouse.py", "pages/data_quality.py", "pages/load_data.py")
INJECTION = "2024-25'; drop table schools; --"


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=DEMO_STUDENTS, messy=True)


@pytest.fixture(scope="module")
def real_db(demo_db, tmp_path_factory) -> Path:
    """The demo's interchange files loaded as if they were a district's real data (not marked synthetic)."""
    db = tmp_path_factory.mktemp("app_real") / "warehouse.duckdb"
    result = load_files(db, [demo_db.parent / "demo"], "interchange", as_of=date.fromisoformat(AS_OF))
    assert result.exit_code == 0, result.error
    return db


@pytest.fixture
def app_env(monkeypatch, tmp_path):
    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))

    def start(warehouse: Path, **state) -> AppTest:
        monkeypatch.setenv("BTAM_WAREHOUSE", str(warehouse))
        at = AppTest.from_file(APP, default_timeout=180)  # the default page, Overview, is the heaviest
        for key, value in state.items():
            at.session_state[key] = value
        return at

    return start


def texts(at: AppTest) -> str:
    parts = [
        e.value
        for kind in ("title", "markdown", "caption", "info", "warning", "error", "success")
        for e in getattr(at, kind)
    ]
    return "\n".join(str(p) for p in parts)


def test_every_page_runs_on_the_demo_warehouse(app_env, demo_db):
    at = app_env(demo_db).run()
    assert not at.exception
    assert "Synthetic demo data" in texts(at)
    assert [t.value for t in at.title] == ["Overview"]  # the default page (issue 16)
    for page, title in zip(PAGES, ("What is loaded", "Data quality", "Load data")):
        at.switch_page(page).run()
        assert not at.exception, f"{page}: {at.exception}"
        assert title in [t.value for t in at.title]
        assert "None" not in texts(at) and "nan" not in texts(at).split()


@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_first_run_state_explains_what_to_do(app_env, tmp_path, kind):
    db = tmp_path / "warehouse.duckdb"
    if kind == "empty":
        create_empty(db)
    at = app_env(db).run()
    assert not at.exception
    assert "Nothing is loaded yet" in [t.value for t in at.title]
    assert "make demo" in texts(at)


def test_real_data_asks_for_a_login(app_env, real_db):
    at = app_env(real_db).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Log in"]
    assert "Synthetic demo data" not in texts(at)
    assert not at.dataframe  # nothing of the warehouse is shown
    assert "users add" in texts(at)  # no account yet: says how to create one


def test_a_shared_link_sets_the_filters(app_env, demo_db):
    at = app_env(demo_db)
    at.query_params.update({"year": "2023-24", "level": "high"})
    at.run()
    assert at.selectbox(key="filter_year").value == "2023-24"
    assert at.selectbox(key="filter_level").value == "high"
    assert at.query_params["year"] in ("2023-24", ["2023-24"])


def test_injection_like_query_params_change_nothing(app_env, demo_db):
    plain = app_env(demo_db).run()
    at = app_env(demo_db)
    at.query_params.update({"year": INJECTION, "schools": "x' or '1'='1", "level": "high; delete from enrollment"})
    at.run()
    assert not at.exception
    for key in ("filter_year", "filter_level"):
        assert at.selectbox(key=key).value == plain.selectbox(key=key).value
    assert at.multiselect(key="filter_schools").value == []
    assert [m.value for m in at.metric] == [m.value for m in plain.metric]


def test_filters_accept_only_the_warehouse_values_and_the_viewer_scope():
    options = FilterOptions(("2024-25", "2023-24"), (School("A", "Alder", "elementary"), School("B", "Birch", "high")))
    admin = viewer("admin")
    assert parse({"year": INJECTION, "schools": "A,Z,'; --", "level": "x"}, options, admin) == Filters(
        "2024-25", ("A",)
    )
    coordinator = viewer("coordinator", ["A"])
    assert parse({"schools": "B"}, options, coordinator).school_ids == ()
    assert query_params(Filters("2024-25", ("B",)), options, coordinator)["school_ids"] == []
    assert query_params(Filters("2024-25", (), "high"), options, admin)["school_ids"] == ["B"]
    assert query_params(Filters("2024-25"), options, admin)["school_ids"] is None


def test_board_sees_no_quarantined_rows(app_env, demo_db):
    admin = app_env(demo_db, demo_role="admin")
    admin.run().switch_page("pages/data_quality.py").run()
    assert "Quarantined rows as read" in texts(admin)
    assert any("Row as read" in df.value.columns for df in admin.dataframe)
    board = app_env(demo_db, demo_role="board")
    board.switch_page("pages/data_quality.py").run()  # straight there: the board's Overview is slow to build
    assert not board.exception
    assert "Quarantined rows as read" not in texts(board)
    assert not any("Row as read" in df.value.columns for df in board.dataframe)
    assert not any("Quarantined" in df.value.columns for df in board.dataframe)


def test_a_coordinator_sees_counts_but_not_quarantined_rows(app_env, demo_db):
    at = app_env(demo_db, demo_role="coordinator")
    at.run().switch_page("pages/data_quality.py").run()
    assert not at.exception
    assert "only district staff and administrators see them" in texts(at)
    assert not any("Row as read" in df.value.columns for df in at.dataframe)


@pytest.mark.parametrize("role", ["district", "coordinator", "board"])
def test_the_load_page_refuses_non_admins(app_env, demo_db, role):
    at = app_env(demo_db, demo_role=role)
    at.run().switch_page("pages/load_data.py").run()
    assert not at.exception
    assert "Only an administrator may load data" in texts(at)
    assert not at.get("file_uploader")


def test_the_load_page_offers_uploads_to_an_admin(app_env, demo_db):
    at = app_env(demo_db, demo_role="admin")
    at.run().switch_page("pages/load_data.py").run()
    assert at.get("file_uploader")
    assert {"interchange", "vendor_messy"} <= set(at.selectbox[0].options)


def test_a_coordinator_chooses_only_among_their_schools(app_env, demo_db):
    everyone = app_env(demo_db).run()
    assert len(everyone.multiselect(key="filter_schools").options) >= 2
    at = app_env(demo_db, demo_role="coordinator")
    at.query_params["schools"] = ",".join(s.school_id for s in _all_schools(demo_db))
    at.run()
    assert not at.exception
    assert len(at.multiselect(key="filter_schools").options) == 1
    assert len(at.multiselect(key="filter_schools").value) <= 1


def _all_schools(db: Path) -> tuple[School, ...]:
    import duckdb

    from access.filters import load_options

    con = duckdb.connect(str(db), read_only=True)
    try:
        return load_options(con).schools
    finally:
        con.close()


def test_viewing_quarantined_rows_is_audited(app_env, demo_db, tmp_path):
    from access import audit_log

    at = app_env(demo_db, demo_role="district")
    at.run().switch_page("pages/data_quality.py").run()
    events = audit_log.read(path=tmp_path / "audit_log.jsonl", event="view_case_rows")
    assert len(events) == 1 and events[0]["role"] == "district"
    assert events[0]["detail"]["page"] == "data_quality"


def test_a_local_account_logs_in_to_real_data(app_env, real_db, tmp_path):
    from access import accounts

    accounts.add_user("lead", "correct horse battery", "district", path=tmp_path / "accounts.json")
    at = app_env(real_db).run()
    at.text_input[0].input("lead")
    at.text_input[1].input("wrong password here")
    at.button[0].click().run()
    assert accounts.FAILED_LOGIN_MESSAGE in texts(at)
    at.text_input[0].input("nobody")  # an unknown name: the very same answer
    at.button[0].click().run()
    assert [e.value for e in at.error] == [accounts.FAILED_LOGIN_MESSAGE]
    at.text_input[0].input("lead")
    at.text_input[1].input("correct horse battery")
    at.button[0].click().run()
    assert not at.exception
    # the run that signs in ends there, so the cookie's redirect reaches the browser (a rerun would drop it)
    assert "Signed in. Opening the page ..." in [i.value for i in at.info]
    at.run()  # the next run (in a browser: the session resumed from the cookie) shows the page
    assert "Overview" in [t.value for t in at.title]
    assert "Synthetic demo data" not in texts(at)


def test_the_audit_log_page_is_for_administrators_only(app_env, demo_db, tmp_path, monkeypatch):
    from access import audit_log

    log = tmp_path / "audit_log.jsonl"
    monkeypatch.setenv(audit_log.ENV_VAR, str(log))
    audit_log.append("export", user="data-office", role="admin", scope="cli", detail={"via": "cli"})
    audit_log.append("login", user="lead", role="district", scope="district")
    admin = app_env(demo_db, demo_role="admin")
    admin.switch_page("pages/audit_log.py").run()
    assert not admin.exception
    assert "Audit log" in [t.value for t in admin.title]
    assert "The chain of 2 events is unbroken" in texts(admin)
    shown = admin.dataframe[0].value
    assert list(shown["event"]) == ["login", "export"]  # newest first
    admin.multiselect(key="audit_events").select("export").run()
    assert list(admin.dataframe[0].value["user"]) == ["data-office"]
    district = app_env(demo_db, demo_role="district")
    district.switch_page("pages/warehouse.py").run()
    assert "Audit log" not in [t.value for t in district.title]
