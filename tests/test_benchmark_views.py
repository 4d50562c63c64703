"""The district's NCES LEA id, and the CRDC state and peer benchmarks on the Equity page and in the board report.

A small synthetic demo warehouse (built once), and a copy of it with the CRDC fixture of
tests/crdc_files.py (LEVEL_SCHOOLS, state NV) imported and the district recorded as LEA 3200001.
The peers under the default rule are 3200006, 3200008 and 3200009 (tests/test_benchmarks.py works them
out); their pooled in-school suspension risk, by hand from the fixture's cells:
  Black: (6 + 2 + 8 + 3) / (100 + 200 + 100) = 19 / 400
  White: (10 + 3 + 12) / (500 + 200 + 200 + 600) = 25 / 1500
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from access.benchmarks import district_lea
from pipelines import atomic
from pipelines.__main__ import main as pipelines_main
from pipelines.reference.district import DistrictLeaError, check_lea_id, set_district_lea
from reports.build import generate
from tests.crdc_files import write_level_file
from tests.test_report import bare_integers, pdf_text

APP = str(Path(__file__).resolve().parent.parent / "app.py")
DISTRICT = "3200001"
CRDC_YEAR = "2021-22"


def read_lea(db: Path) -> str | None:
    with duckdb.connect(str(db), read_only=True) as con:
        return district_lea(con)


@pytest.fixture(scope="module")
def plain_db(demo_warehouse) -> Path:
    return demo_warehouse(students=1500)


@pytest.fixture(scope="module")
def crdc_db(plain_db, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("bench_crdc")
    db = folder / "warehouse.duckdb"
    shutil.copyfile(plain_db, db)
    crdc = write_level_file(folder / f"CRDC_{CRDC_YEAR}.csv")
    assert (
        pipelines_main(["reference", "crdc", str(crdc), "--db", str(db), "--state", "NV", "--district-lea", DISTRICT])
        == 0
    )
    return db


# -- the district's LEA id ------------------------------------------------------------------------------------------


def test_crdc_import_with_district_lea_records_it(crdc_db):
    assert read_lea(crdc_db) == DISTRICT


def test_district_lea_is_stored_and_read_back_and_replaced(tmp_path, capsys):
    db = tmp_path / "w.duckdb"
    assert pipelines_main(["reference", "district", "--lea-id", "0100005", "--db", str(db)]) == 0
    assert "0100005 recorded" in capsys.readouterr().out
    assert read_lea(db) == "0100005"  # leading zero kept
    result = set_district_lea(db, " 5300300 ")
    assert result.lea_id == "5300300" and not result.unchanged and not result.found
    assert read_lea(db) == "5300300"
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.sql("select count(*) from reference_district").fetchall() == [(1,)]


def test_district_lea_write_is_atomic(tmp_path, monkeypatch):
    db = tmp_path / "w.duckdb"
    set_district_lea(db, "5300300")
    before = db.read_bytes()

    def crash(build, target):
        raise OSError("disk full")

    monkeypatch.setattr(atomic, "publish", crash)
    with pytest.raises(OSError):
        set_district_lea(db, "0600001")
    assert db.read_bytes() == before and read_lea(db) == "5300300"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["w.duckdb"]


@pytest.mark.parametrize(
    "bad, why",
    [("53003", "7 digits"), ("53-00300", "7 digits"), ("ABCDEFG", "7 digits"), ("9900001", "not a state FIPS code")],
)
def test_a_bad_lea_id_is_a_clear_error_and_changes_nothing(tmp_path, capsys, bad, why):
    with pytest.raises(DistrictLeaError, match=why):
        check_lea_id(bad)
    db = tmp_path / "w.duckdb"
    assert pipelines_main(["reference", "district", "--lea-id", bad, "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert why in err and "unchanged" in err and not db.exists()


def test_crdc_import_refuses_a_bad_district_lea_before_writing(tmp_path, capsys):
    crdc = write_level_file(tmp_path / f"CRDC_{CRDC_YEAR}.csv")
    db = tmp_path / "w.duckdb"
    assert (
        pipelines_main(["reference", "crdc", str(crdc), "--db", str(db), "--state", "NV", "--district-lea", "32001"])
        == 2
    )
    assert "--district-lea" in capsys.readouterr().err and not db.exists()


# -- the Equity page --------------------------------------------------------------------------------------------------


def equity_page(monkeypatch, tmp_path, db: Path, role: str, outcome: str = "iss") -> AppTest:
    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))
    monkeypatch.setenv("BTAM_WAREHOUSE", str(db))
    at = AppTest.from_file(APP, default_timeout=300)
    at.session_state["demo_role"] = role
    at.session_state["equity_outcome"] = outcome
    at.run()
    at.switch_page("pages/equity.py").run()
    assert not at.exception, at.exception
    return at


def benchmark_table(at: AppTest):
    for frame in at.dataframe:
        value = frame.value
        if any("peer districts" in str(c) for c in value.columns):
            return value
    raise AssertionError("no benchmark table on the page")


def test_equity_page_shows_state_and_peer_benchmarks_labelled_with_the_crdc_year(monkeypatch, tmp_path, crdc_db):
    at = equity_page(monkeypatch, tmp_path, crdc_db, "district")
    shown = "\n".join(str(e.value) for kind in ("markdown", "caption") for e in getattr(at, kind))
    assert f"CRDC {CRDC_YEAR}, 3 peer districts: districts of the same state" in shown
    assert "high-school grades" in shown
    assert "3 school years before the district's 2024-25 figures" in shown  # the CRDC lag, said
    table = benchmark_table(at).set_index("Group")
    peers = table[f"Risk, peer districts {CRDC_YEAR} (CRDC)"]
    assert float(peers["Black or African American"]) == pytest.approx(19 / 400, abs=1e-4)
    assert float(peers["White"]) == pytest.approx(25 / 1500, abs=1e-4)
    assert f"Risk, NV {CRDC_YEAR} (CRDC)" in table.columns
    chart = next(
        json.loads(c.proto.spec)
        for c in at.get("plotly_chart")
        if "CRDC" in json.loads(c.proto.spec)["layout"]["title"]["text"]
    )
    assert {t["name"] for t in chart["data"]} == {
        "District 2024-25",
        f"NV {CRDC_YEAR} (CRDC)",
        f"Peer districts {CRDC_YEAR} (CRDC)",
    }


def test_board_sees_the_benchmark_with_district_counts_from_the_suppressed_release(monkeypatch, tmp_path, crdc_db):
    at = equity_page(monkeypatch, tmp_path, crdc_db, "board")
    table = benchmark_table(at).set_index("Group")
    main = at.dataframe[0].value.set_index("Group")  # the page's own (suppressed) table of the same outcome
    for group in main.index:
        assert table.loc[group, "With the outcome, district 2024-25"] == main.loc[group, "With the outcome"]
        if main.loc[group, "Risk"] in ("–", None) or str(main.loc[group, "Risk"]) == "nan":
            assert str(table.loc[group, "Risk, district 2024-25"]) in ("–", "nan", "None")
    assert any(str(v) in ("<10", "*") for v in table["With the outcome, district 2024-25"])


def test_equity_page_says_how_to_import_crdc_when_there_is_none(monkeypatch, tmp_path, plain_db):
    at = equity_page(monkeypatch, tmp_path, plain_db, "district")
    info = " ".join(str(e.value) for e in at.info)
    assert "No CRDC reference data is loaded" in info and "python -m pipelines reference crdc" in info
    assert not at.error


def test_equity_page_shows_no_benchmark_for_an_outcome_crdc_cannot_express(monkeypatch, tmp_path, crdc_db):
    at = equity_page(monkeypatch, tmp_path, crdc_db, "district", outcome="btam_referral")
    assert not any("CRDC" in str(e.value) for e in at.subheader)


# -- the board report -------------------------------------------------------------------------------------------------


def test_board_report_compares_with_state_and_peers_labelled_with_the_crdc_year(crdc_db):
    result = generate(crdc_db, "2024-25", "pdf", "Demo Unified", use_kaleido=False)
    text = result.content.text()
    part = text[text.index("How we compare") : text.index("Process-audit scorecard")]
    assert f"Civil Rights Data Collection (CRDC) of {CRDC_YEAR}" in part
    assert f"Similar districts (CRDC {CRDC_YEAR}, three peer districts)" in part
    assert "three school years before this report's 2024-25 figures" in part
    iss = next(line for line in part.splitlines() if line.startswith("White | ") and "%" in line)
    assert iss.endswith(f"| {100 * 25 / 1500:.1f}%")  # the first table is in-school suspension
    # the district's own figures are cells of the report's suppressed release
    data = result.report_data
    for race in ("bl", "wh", "hi"):
        shown = data.display("disp_iss_race_ethnicity", "iss", race_ethnicity=race)
        label = {"bl": "Black or African American", "wh": "White", "hi": "Hispanic or Latino"}[race]
        row = next(line for line in part.splitlines() if line.startswith(f"{label} | "))
        assert row.split(" | ")[2] == shown
    _, pdf, _ = pdf_text(result.data)
    assert "How we compare" in pdf and f"CRDC {CRDC_YEAR}" in pdf
    assert [n for n in bare_integers(pdf) if 0 < n < 10] == []


def test_board_report_without_crdc_says_no_reference_is_loaded(plain_db):
    result = generate(plain_db, "2024-25", "html", "Demo Unified", use_kaleido=False)
    text = result.content.text()
    assert "How we compare" in text and "No federal Civil Rights Data Collection (CRDC) figures are loaded" in text
