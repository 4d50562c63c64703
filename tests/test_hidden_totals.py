"""Releases where small counts reach the headline: a hidden year total, a hidden 0 within a small group, an
audit status over a hidden count. Each once broke a board output or leaked through it (issue 14 item 4)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from reports.build import generate

APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def board(monkeypatch, tmp_path):
    monkeypatch.setenv("BTAM_AUDIT_LOG", str(tmp_path / "audit_log.jsonl"))
    monkeypatch.setenv("BTAM_ACCOUNTS", str(tmp_path / "accounts.json"))

    def run(db: Path, page: str, year: str) -> AppTest:
        monkeypatch.setenv("BTAM_WAREHOUSE", str(db))
        at = AppTest.from_file(APP, default_timeout=300)
        at.session_state["demo_role"] = "board"
        at.query_params.update({"year": year})
        at.run()
        at.switch_page(f"pages/{page}.py").run()
        return at

    return run


def shown(at: AppTest) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))


def test_the_board_report_builds_when_a_zero_is_hidden_with_its_small_group(demo_warehouse):
    # seed 42: the 2023-24 release hides a referral count of 0 with a group of 1-9 students (pi, sex x)
    db = demo_warehouse(students=2000, seed=42)
    result = generate(db, "2023-24", "html", "Demo Unified", use_kaleido=False)
    assert b"Case volume and rate" in result.data


def test_case_volumes_for_the_board_when_the_years_total_is_hidden(demo_warehouse, board):
    # as of 20 September the new year has a single case: its total is <10 for the board
    db = demo_warehouse(students=1000, as_of="2024-09-20")
    at = board(db, "case_volumes", "2024-25")
    assert not at.exception, at.exception
    text = shown(at)
    assert "**<10 cases** were reported in 2024-25" in text
    assert "per 1,000 students** enrolled" not in text
    assert "no line marks it" in text


def test_process_audit_withholds_a_status_over_a_hidden_count(demo_warehouse, board):
    db = demo_warehouse(students=2000)
    at = board(db, "process_audit", "2023-24")
    assert not at.exception, at.exception
    table = next(pl.from_pandas(d.value.astype(str)) for d in at.dataframe if "Status" in d.value.columns)
    hidden = table.filter(pl.col("Numerator").is_in(["<10", "*"]) & (pl.col("Denominator") != "0"))
    assert hidden.height, "the demo year has hidden numerators to test"
    for row in hidden.iter_rows(named=True):
        assert "on target" not in row["Status"] and "off target" not in row["Status"], row
        assert row["Status"].startswith("withheld") or row["Status"].startswith("too few"), row
    assert "would narrow a hidden count" in shown(at)
    assert "withheld because a count it depends on is hidden" in shown(at)
