"""python -m pipelines export: the spec's two files exactly, the other files present, small numbers safe."""

from __future__ import annotations

import csv
import math
import subprocess
import sys
from argparse import Namespace
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from scipy import stats

from pipelines.export import DISPROPORTIONALITY_COLUMNS, EXPORT_FILES, run
from pipelines.loader import load_files
from tests.interchange_files import write_district
from tests.test_marts import AS_OF, ENROLLMENT, build_warehouse

REPO = Path(__file__).resolve().parent.parent
CHECKER = REPO.parent / "shared" / "tools" / "check_contract.py"
SPEC_DISP = [
    "school_year",
    "scope",
    "outcome",
    "dimension",
    "group",
    "n",
    "k",
    "comparison_n",
    "comparison_k",
    "risk",
    "comparison_risk",
    "risk_ratio",
    "ratio_method",
    "rr_ci_low",
    "rr_ci_high",
    "risk_difference",
    "p_value",
    "q_value",
    "flagged",
]
SPEC_TTI = [
    "school_year",
    "scope",
    "concern_level",
    "n_cases",
    "n_events",
    "median_days",
    "median_ci_low",
    "median_ci_high",
    "p90_days",
]


def export(db: Path, out: Path, as_of: str | None = None) -> int:
    return run(Namespace(db=str(db), out=str(out), as_of=as_of))


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def no_nan(folder: Path) -> None:
    for name in EXPORT_FILES:
        text = (folder / name).read_text()
        assert "NaN" not in text and "inf" not in text.lower().replace("info", ""), name


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Path:
    """The tiny valid district of tests/interchange_files.py, loaded through the real loader."""
    root = tmp_path_factory.mktemp("district")
    db = root / "w.duckdb"
    result = load_files(db, [write_district(root / "files")], as_of=date(2025, 6, 1))
    assert result.exit_code == 0, result.error
    return db


def test_export_writes_every_file_with_the_spec_columns(loaded, tmp_path):
    assert export(loaded, tmp_path) == 0
    for name in EXPORT_FILES:
        assert (tmp_path / name).exists(), name
    assert next(csv.reader((tmp_path / "disproportionality.csv").open())) == SPEC_DISP
    assert list(DISPROPORTIONALITY_COLUMNS) == SPEC_DISP
    assert next(csv.reader((tmp_path / "time_to_intervention.csv").open())) == SPEC_TTI
    flags = {r["flagged"] for r in read_rows(tmp_path / "disproportionality.csv")}
    assert flags <= {"true", "false"}
    no_nan(tmp_path)


def test_export_passes_the_shared_contract_check(loaded, tmp_path):
    if not CHECKER.exists():
        pytest.skip("../shared/tools/check_contract.py is not beside this clone")
    assert export(loaded, tmp_path) == 0
    done = subprocess.run(
        [sys.executable, str(CHECKER), "--export", str(tmp_path), "--db", str(loaded)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_disproportionality_rows_recomputed_by_hand(tmp_path):
    """A warehouse big enough for real ratios: 40 bl students, 14 referred; 160 others, 16 referred."""
    enrollment = [
        (f"stu{i:04d}", "A", "f", "bl" if i < 40 else "wh", False, None, False, False, False) for i in range(200)
    ]
    referred = [f"stu{i:04d}" for i in range(14)] + [f"stu{i:04d}" for i in range(40, 56)]
    cases = [
        (f"C{i}", "A", "student", key, "2024-10-01", None, None, None, None, None, None, None, None, None)
        for i, key in enumerate(referred)
    ]
    con = build_warehouse(
        tmp_path / "w.duckdb",
        enrollment=enrollment,
        cases=cases,
        actions=[],
        reviews=[],
        discipline=[],
        schools=(("A", "middle"),),
    )
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", "2025-06-01") == 0
    rows = {
        (r["scope"], r["outcome"], r["dimension"], r["group"]): r
        for r in read_rows(tmp_path / "out" / "disproportionality.csv")
    }
    bl = rows[("district", "btam_referral", "race_ethnicity", "bl")]
    # risk 14/40 = 0.35, comparison 16/160 = 0.1, ratio 3.5; Katz: exp(ln 3.5 +- 1.96 sqrt(1/14-1/40+1/16-1/160))
    assert (bl["n"], bl["k"], bl["comparison_n"], bl["comparison_k"]) == ("40", "14", "160", "16")
    assert float(bl["risk"]) == 14 / 40 and float(bl["comparison_risk"]) == 16 / 160
    assert float(bl["risk_ratio"]) == pytest.approx(3.5, rel=1e-12) and bl["ratio_method"] == "risk_ratio"
    se = math.sqrt(1 / 14 - 1 / 40 + 1 / 16 - 1 / 160)
    assert float(bl["rr_ci_low"]) == pytest.approx(3.5 * math.exp(-1.959963984540054 * se), rel=1e-9)
    assert float(bl["rr_ci_high"]) == pytest.approx(3.5 * math.exp(1.959963984540054 * se), rel=1e-9)
    assert float(bl["risk_difference"]) == pytest.approx(0.25, rel=1e-12)
    assert float(bl["p_value"]) == pytest.approx(stats.fisher_exact([[14, 26], [16, 144]]).pvalue, rel=1e-9)
    assert bl["flagged"] == "true"
    wh = rows[("district", "btam_referral", "race_ethnicity", "wh")]
    assert float(wh["risk_ratio"]) == pytest.approx(0.1 / 0.35, rel=1e-12) and wh["flagged"] == "false"
    # BH over the family (2024-25, district, btam_referral): every dimension's rows with a p value
    family = [r for k, r in rows.items() if k[:2] == ("district", "btam_referral") and r["p_value"]]
    p = sorted(float(r["p_value"]) for r in family)
    q_bl = min(
        min(len(p) * p[j] / (j + 1) for j in range(i, len(p))) for i in range(len(p)) if p[i] == float(bl["p_value"])
    )
    assert float(bl["q_value"]) == pytest.approx(min(q_bl, 1.0), rel=1e-9)
    # the case population is all referred: case_* rows have k = 0, no ratio, p = 1
    case_bl = rows[("district", "case_exclusionary", "race_ethnicity", "bl")]
    assert (case_bl["n"], case_bl["k"], case_bl["ratio_method"], case_bl["risk_ratio"]) == ("14", "0", "none", "")
    # a single school: its scope repeats the district's numbers
    assert rows[("A", "btam_referral", "race_ethnicity", "bl")]["risk_ratio"] == bl["risk_ratio"]
    assert not any(k[1].startswith("idea_") for k in rows)  # no IDEA students: no IDEA population


def test_time_to_intervention_recomputed_by_hand(tmp_path):
    con = build_warehouse(tmp_path / "w.duckdb")
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", AS_OF.isoformat()) == 0
    rows = {(r["scope"], r["concern_level"]): r for r in read_rows(tmp_path / "out" / "time_to_intervention.csv")}
    # district, all five cases: C1 event 2, C2 censored 212 (open), C3 event 5, C4 censored 2, C5 event 3.
    # KM: day 2: 5 at risk, 1 event -> 0.8 (C4 censored after); day 3: 3 at risk -> 0.8*2/3 = 0.5333;
    # day 5: 2 at risk -> 0.2667 <= 0.5: median 5; never <= 0.1 (C2 censored): p90 blank.
    d = rows[("district", "all")]
    assert (d["n_cases"], d["n_events"], d["median_days"], d["p90_days"]) == ("5", "3", "5.0", "")
    low = rows[("district", "low")]  # C2 censored 212, C5 event 3: S(3) = 0.5 -> median 3
    assert (low["n_cases"], low["n_events"], low["median_days"]) == ("2", "1", "3.0")
    assert ("district", "imminent") not in rows  # levels without cases have no row
    assert rows[("A", "all")]["n_cases"] == "1" and rows[("B", "all")]["n_cases"] == "4"
    assert list(rows)[0] == ("district", "all")


def test_as_of_defaults_to_the_latest_warehouse_date(tmp_path, capsys):
    con = build_warehouse(tmp_path / "w.duckdb")
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out") == 0
    assert "as of 2025-04-01" in capsys.readouterr().out
    c2 = {r["scope"] + r["concern_level"]: r for r in read_rows(tmp_path / "out" / "time_to_intervention.csv")}
    # C2 (low, open since 2024-11-01) is censored at 2025-04-01: 151 days; the low median stays 3
    assert c2["districtlow"]["median_days"] == "3.0"


def test_empty_warehouse_exports_headers_only(tmp_path):
    con = build_warehouse(
        tmp_path / "w.duckdb", enrollment=[], cases=[], actions=[], reviews=[], discipline=[], schools=[]
    )
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out") == 0
    assert read_rows(tmp_path / "out" / "disproportionality.csv") == []
    assert next(csv.reader((tmp_path / "out" / "time_to_intervention.csv").open())) == SPEC_TTI
    no_nan(tmp_path / "out")


def test_a_year_without_cases_and_a_single_school(tmp_path):
    """Enrollment in 2024-25, no case at all: referral rows with k = 0 and no ratio; no case population."""
    con = build_warehouse(
        tmp_path / "w.duckdb",
        enrollment=[e for e in ENROLLMENT if e[1] == "A"],
        cases=[],
        actions=[],
        reviews=[],
        discipline=[],
        schools=(("A", "elementary"),),
    )
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", "2025-06-01") == 0
    disp = pl.read_csv(tmp_path / "out" / "disproportionality.csv", infer_schema_length=0)
    assert set(disp["outcome"]) == {
        "btam_referral",
        "oss_or_expulsion",
        "iss",
        "law_enforcement",
        "any_exclusionary",
        "idea_oss_exp_le10",
        "idea_oss_exp_gt10",
        "idea_iss_le10",
        "idea_iss_gt10",
        "idea_total_removals",
    }
    assert set(disp["k"]) == {"0"} and set(disp["ratio_method"]) == {"none"} and set(disp["flagged"]) == {"false"}
    assert set(disp["scope"]) == {"district", "A"}
    assert read_rows(tmp_path / "out" / "time_to_intervention.csv") == []
    no_nan(tmp_path / "out")


def test_state_reference_gives_the_alternate_ratio(tmp_path):
    """Comparison too small locally (wh 2 of 60 referred < 10): the state's counts stand in for it."""
    enrollment = [
        (f"stu{i:04d}", "A", "f", "bl" if i < 40 else "wh", False, None, False, False, False) for i in range(100)
    ]
    referred = [f"stu{i:04d}" for i in range(12)] + ["stu0050", "stu0051"]
    cases = [
        (f"C{i}", "A", "student", key, "2024-10-01", None, None, None, None, None, None, None, None, None)
        for i, key in enumerate(referred)
    ]
    con = build_warehouse(
        tmp_path / "w.duckdb",
        enrollment=enrollment,
        cases=cases,
        actions=[],
        reviews=[],
        discipline=[],
        schools=(("A", "middle"),),
    )
    con.execute((REPO / "sql" / "warehouse" / "state_reference.sql").read_text())
    con.execute(
        "insert into state_reference values ('2024-25', 'btam_referral', 'race_ethnicity', 'bl', 1000, 50),"
        "('2024-25', 'btam_referral', 'race_ethnicity', 'wh', 9000, 90)"
    )
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", "2025-06-01") == 0
    rows = {
        (r["scope"], r["outcome"], r["dimension"], r["group"]): r
        for r in read_rows(tmp_path / "out" / "disproportionality.csv")
    }
    bl = rows[("district", "btam_referral", "race_ethnicity", "bl")]
    # 12/40 = 0.3 against the state's other students 90/9000 = 0.01: alternate ratio 30
    assert bl["ratio_method"] == "alternate_risk_ratio" and float(bl["risk_ratio"]) == pytest.approx(30.0)
    detail = {
        (r["scope"], r["outcome"], r["dimension"], r["group"]): r
        for r in read_rows(tmp_path / "out" / "disproportionality_detail.csv")
    }
    # weighted: the other group's local risk 2/60, state weight 9000: 0.3 / (2/60) = 9
    assert float(detail[("district", "btam_referral", "race_ethnicity", "bl")]["weighted_risk_ratio"]) == pytest.approx(
        9.0
    )


def test_missing_warehouse_and_bad_date_are_messages(tmp_path, capsys):
    assert export(tmp_path / "none.duckdb", tmp_path / "out") == 2
    assert "no warehouse" in capsys.readouterr().err
    build_warehouse(tmp_path / "w.duckdb").close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", "June 1") == 2
    assert "not a date" in capsys.readouterr().err


SPEC_TTI_CI = [
    "school_year",
    "scope",
    "concern_level",
    "n_cases",
    "n_served",
    "n_closed_unserved",
    "n_open",
    "served_by_10",
    "served_by_30",
    "served_by_60",
    "ever_served",
    "days_to_50",
    "days_to_90",
]


def _staff_case(cid, reported, closed, level=None):
    return (
        cid,
        "B",
        "staff",
        None,
        reported,
        reported if level else None,
        level,
        None,
        None,
        None,
        None,
        None,
        None,
        closed,
    )


def test_time_to_intervention_ci_recomputed_by_hand(tmp_path):
    """Twelve cases at school B (the hand-worked table of tests/test_metrics_competing_risks.py), one served
    after it closed (counted closed unserved at its closing), two open at the as-of date (censored there)."""
    cases = [
        _staff_case("K01", "2024-10-01", "2024-10-20"),  # served day 0
        _staff_case("K02", "2024-10-01", "2024-10-20", "low"),  # served day 3
        _staff_case("K03", "2024-10-01", None, "low"),  # served day 3
        _staff_case("K04", "2024-10-01", "2024-10-04", "low"),  # closed day 3; action day 6 comes after
        _staff_case("K05", "2025-05-29", None),  # open: censored at day 3
        _staff_case("K06", "2024-10-01", "2024-10-08"),  # closed unserved day 7
        _staff_case("K07", "2024-10-01", None),  # served day 12
        _staff_case("K08", "2024-10-01", None),  # served day 12
        _staff_case("K09", "2025-04-22", None),  # open: censored at day 40
        _staff_case("K10", "2024-10-01", None),  # served day 45
        _staff_case("K11", "2024-10-01", "2024-11-15"),  # closed unserved day 45
        _staff_case("K12", "2024-10-01", None),  # served day 70
    ]
    served = {
        "K01": "2024-10-01",
        "K02": "2024-10-04",
        "K03": "2024-10-04",
        "K04": "2024-10-07",
        "K07": "2024-10-13",
        "K08": "2024-10-13",
        "K10": "2024-11-15",
        "K12": "2024-12-10",
    }
    actions = [(f"A{cid}", cid, day, "counseling", "support") for cid, day in served.items()]
    con = build_warehouse(tmp_path / "w.duckdb", cases=cases, actions=actions, reviews=[], discipline=[])
    con.close()
    assert export(tmp_path / "w.duckdb", tmp_path / "out", "2025-06-01") == 0
    path = tmp_path / "out" / "time_to_intervention_ci.csv"
    assert next(csv.reader(path.open())) == SPEC_TTI_CI
    rows = {(r["scope"], r["concern_level"]): r for r in read_rows(path)}
    assert list(rows) == [("district", "all"), ("district", "low"), ("B", "all"), ("B", "low")]
    d = rows[("district", "all")]
    assert (d["n_cases"], d["n_served"], d["n_closed_unserved"], d["n_open"]) == ("12", "7", "3", "2")
    assert float(d["served_by_10"]) == pytest.approx(3 / 12, abs=1e-15)
    assert float(d["served_by_30"]) == pytest.approx(37 / 84, abs=1e-15)
    assert float(d["served_by_60"]) == pytest.approx(143 / 252, abs=1e-15)
    assert float(d["ever_served"]) == pytest.approx(25 / 36, abs=1e-15)
    assert (d["days_to_50"], d["days_to_90"]) == ("45.0", "")
    assert {k: v for k, v in rows[("B", "all")].items() if k != "scope"} == {k: v for k, v in d.items() if k != "scope"}
    low = rows[("district", "low")]  # three cases: counts kept, every estimate blank
    assert (low["n_cases"], low["n_served"], low["n_closed_unserved"], low["n_open"]) == ("3", "2", "1", "0")
    assert all(low[c] == "" for c in SPEC_TTI_CI[7:])
    # the Kaplan-Meier file keeps its definition: K04's later action is its event, closures censored
    km = {(r["scope"], r["concern_level"]): r for r in read_rows(tmp_path / "out" / "time_to_intervention.csv")}
    assert km[("district", "all")]["n_events"] == "8"
