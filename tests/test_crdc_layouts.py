"""CRDC files of the 2015-16, 2017-18, 2020-21 and 2021-22 layouts (built by tests/crdc_files.py): every
collection writes state_reference, breakouts a collection did not have are reported as not collected,
and the state counts equal an independent sum of the raw columns."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from pipelines.reference.crdc import import_crdc
from tests.crdc_files import LAYOUTS, RACES, write_layout

ACTIONS = {
    "iss": ("ISS",),
    "oss_or_expulsion": ("SINGOOS", "MULTOOS", "EXPWE", "EXPWOE"),
    "law_enforcement": ("REF", "ARR"),
}
GROUP_OF_RACE = {"HI": "hi", "AM": "am", "AS": "as", "HP": "pi", "BL": "bl", "WH": "wh", "TR": "mu"}


def raw_rows(paths: list[Path], state: str) -> tuple[dict[str, dict[str, str]], set[str]]:
    """The files' cells per school (COMBOKEY) of one state, straight from the CSVs, and every header."""
    schools: dict[str, dict[str, str]] = {}
    header: set[str] = set()
    for path in paths:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            header |= set(reader.fieldnames or ())
            for row in reader:
                if row["LEA_STATE"] == state:
                    schools.setdefault(row["COMBOKEY"], {}).update(row)
    return schools, header


def independent_sums(paths: list[Path], state: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    """(outcome, dimension, group) -> (n, k) summed from the raw columns by the CRDC definitions: an absent
    column is a breakout the collection did not have (adds nothing); a sex counts only when both the
    enrollment and the outcome's discipline columns have it."""
    schools, header = raw_rows(paths, state)

    def v(row: dict, name: str) -> int:
        return int(row[name]) if name in row else 0

    out: dict[tuple[str, str, str], tuple[int, int]] = {}
    for outcome, actions in ACTIONS.items():
        sexes = [
            s
            for s in ("M", "F", "X")
            if f"TOT_ENR_{s}" in header
            and any(c.startswith(f"SCH_DISCWODIS_{a}_") and c.endswith(f"_{s}") for a in actions for c in header)
        ]
        totals: dict[tuple[str, str], list[int]] = {}

        def add(dim: str, group: str, n: int, k: int) -> None:
            cell = totals.setdefault((dim, group), [0, 0])
            cell[0] += n
            cell[1] += k

        for row in schools.values():
            for race in RACES:
                add(
                    "race_ethnicity",
                    GROUP_OF_RACE[race],
                    sum(v(row, f"SCH_ENR_{race}_{s}") for s in sexes),
                    sum(
                        v(row, f"SCH_DISCWODIS_{a}_{race}_{s}") + v(row, f"SCH_DISCWDIS_{a}_IDEA_{race}_{s}")
                        for a in actions
                        for s in sexes
                    ),
                )
            for s in sexes:
                add(
                    "sex",
                    s.lower(),
                    sum(v(row, f"SCH_ENR_{r}_{s}") for r in RACES),
                    sum(
                        v(row, f"SCH_DISCWODIS_{a}_{r}_{s}") + v(row, f"SCH_DISCWDIS_{a}_IDEA_{r}_{s}")
                        for a in actions
                        for r in RACES
                    ),
                )
            everyone = sum(v(row, f"SCH_ENR_{r}_{s}") for r in RACES for s in sexes)
            idea_n = sum(v(row, f"SCH_ENR_IDEA_{s}") for s in sexes)
            s504_n = sum(v(row, f"SCH_ENR_504_{s}") for s in sexes)
            idea_k = sum(v(row, f"SCH_DISCWDIS_{a}_IDEA_{r}_{s}") for a in actions for r in RACES for s in sexes)
            wodis_k = sum(v(row, f"SCH_DISCWODIS_{a}_{r}_{s}") for a in actions for r in RACES for s in sexes)
            s504_k = sum(v(row, f"SCH_DISCWODIS_{a}_504_{s}") for a in actions for s in sexes)
            add("disability_status", "idea", idea_n, idea_k)
            add("disability_status", "section_504_only", s504_n, s504_k)
            add("disability_status", "none", everyone - idea_n - s504_n, wodis_k - s504_k)
        out.update({(outcome, dim, group): (n, k) for (dim, group), (n, k) in totals.items()})
    return out


def state_reference(con, year: str) -> dict[tuple[str, str, str], tuple[int, int]]:
    rows = con.execute(
        """select outcome, dimension, "group", n, k from state_reference where school_year = $y
                          and outcome in ('iss', 'oss_or_expulsion', 'law_enforcement')
                          and dimension in ('race_ethnicity', 'sex', 'disability_status')""",
        {"y": year},
    ).fetchall()
    return {(o, d, g): (n, k) for o, d, g, n, k in rows}


@pytest.fixture(scope="module")
def two_collections(tmp_path_factory):
    """A 2017-18 and a 2021-22 collection imported one after the other into one warehouse."""
    folder = tmp_path_factory.mktemp("two")
    db = folder / "w.duckdb"
    files = {year: write_layout(folder / year, year) for year in ("2017-18", "2021-22")}
    results = {year: import_crdc(db, paths, school_year=year, state="NV") for year, paths in files.items()}
    con = duckdb.connect(str(db), read_only=True)
    yield files, results, con
    con.close()


def test_two_collections_write_iss_oss_and_referrals_equal_to_an_independent_sum_of_the_raw_columns(two_collections):
    files, _, con = two_collections
    for year, paths in files.items():
        expected = independent_sums(paths, "NV")
        got = state_reference(con, year)
        assert len(expected) == 3 * (7 + 2 + 3)  # 3 outcomes x (7 races, m and f, 3 disability groups)
        assert got == expected, year


def test_nonbinary_enrollment_without_nonbinary_discipline_is_reported_not_collected(two_collections):
    _, results, con = two_collections
    summary = results["2021-22"].summary()
    assert "0 state_reference rows" not in summary
    assert "not collected, iss x sex x: skipped, absent: iss's discipline columns of sex X" in summary
    stored = con.sql("""select outcome, dimension, "group", effect from crdc_not_collected
                        where school_year = '2021-22' and outcome = 'iss' order by all""").fetchall()
    assert ("iss", "race_ethnicity", None, "not counted:") in stored
    assert ("iss", "sex", "x", "skipped, absent:") in stored
    # 2017-18 never had _X: the sex group x is reported absent, nothing is "not counted"
    rows = con.sql("""select distinct effect, columns from crdc_not_collected where school_year = '2017-18'
                      and dimension = 'sex'""").fetchall()
    assert rows == [("skipped, absent:", "every column of sex X (*_X): the collection has no such breakout")]


def test_a_missing_expulsion_breakout_writes_the_slice_without_it_and_says_so(two_collections):
    _, _, con = two_collections
    note = con.sql("""select note from state_reference_sources where school_year = '2021-22'
                      and outcome = 'oss_or_expulsion' and dimension = 'disability_status'""").fetchall()[0][0]
    assert "written without: SCH_DISCWODIS_EXPWE_504_F, SCH_DISCWODIS_EXPWE_504_M" in note
    assert (
        con.sql("""select count(*) from state_reference where school_year = '2021-22'
                      and outcome = 'oss_or_expulsion' and dimension = 'disability_status'""").fetchall()[0][0]
        == 3
    )
    # iss needs no expulsion column: nothing is said about it
    iss = con.sql("""select note from state_reference_sources where school_year = '2021-22'
                     and outcome = 'iss' and dimension = 'disability_status'""").fetchall()[0][0]
    assert "EXPWE" not in (iss or "")


@pytest.mark.parametrize("year", sorted(LAYOUTS))
def test_every_collection_layout_imports_to_the_independent_sums(tmp_path, year):
    paths = write_layout(tmp_path / year, year)
    result = import_crdc(tmp_path / "w.duckdb", paths, school_year=year, state="NV")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        assert state_reference(con, year) == independent_sums(paths, "NV")
        el = dict(
            ((g), (n, k))
            for g, n, k in con.execute(
                """select "group", n, k from state_reference where school_year = $y and outcome = 'iss'
               and dimension = 'english_learner'""",
                {"y": year},
            ).fetchall()
        )
        assert set(el) == {"y", "n"}, "the LEP (to 2017-18) and EL (from 2020-21) columns are both read"
    finally:
        con.close()
    assert result.state_reference_rows > 0


def test_a_topic_whose_every_column_is_absent_skips_only_that_outcome_with_the_reason(tmp_path):
    paths = write_layout(tmp_path / "2020-21", "2020-21", topics=("Enrollment", "Suspensions"))
    result = import_crdc(tmp_path / "w.duckdb", paths, school_year="2020-21", state="NV")
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    try:
        outcomes = {r[0] for r in con.sql("select distinct outcome from state_reference").fetchall()}
        skipped = con.sql("""select distinct outcome, effect from crdc_not_collected
                             where effect like 'skipped, every column%'""").fetchall()
    finally:
        con.close()
    assert outcomes == {"iss", "oss_or_expulsion", "any_exclusionary"}  # oss and any: written without expulsions
    assert skipped == [("law_enforcement", "skipped, every column of a part absent:")]
    assert (
        "not collected, law_enforcement x race_ethnicity: skipped, every column of a part absent: "
        "students with the outcome (k): every REF/ARR column"
    ) in result.summary()
    assert "oss_or_expulsion x race_ethnicity: written without: SCH_DISCWDIS_EXPWE_IDEA_{race}_F" in result.summary()
