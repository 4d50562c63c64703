"""The one reader of SQL files (data_contracts.sql_files): code lists and CTE chains written once."""

from __future__ import annotations

import re

import pytest

from data_contracts import sql_files
from data_contracts.interchange import SQL_CODE_LISTS
from data_contracts.sql_files import SQL_DIR, SqlFileError, read_sql
from pipelines.marts import mart_sources

SQL_FILES = sorted(SQL_DIR.rglob("*.sql"))
INCLUDE_LINE = re.compile(r"^\s*--\s*include:", re.MULTILINE)


def _literal(codes: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{c}'" for c in codes) + ")"


def test_every_sql_file_expands_to_plain_sql():
    assert len(SQL_FILES) > 30
    for path in SQL_FILES:
        text = read_sql(path)
        assert "{codes:" not in text and not INCLUDE_LINE.search(text), path


def test_a_code_list_is_spelled_out_in_no_sql_file():
    """Each list of SQL_CODE_LISTS is written as {codes:NAME}, never as its literal (which would drift)."""
    for path in SQL_FILES:
        raw = re.sub(r"\s+", " ", path.read_text())
        for name, codes in SQL_CODE_LISTS.items():
            assert _literal(codes) not in raw, f"{path.relative_to(SQL_DIR)} spells out {name}: use {{codes:{name}}}"


def test_code_lists_expand_to_their_codes():
    text = read_sql(SQL_DIR / "marts" / "build" / "case_student_removals.sql")
    assert "action_type in ('iss', 'oss', 'expulsion_with_services', 'expulsion_without_services')" in text


def test_the_student_outcome_chain_is_written_once_and_read_by_both_its_users():
    chain = read_sql(SQL_DIR / "marts" / "chains" / "student_outcomes.sql")
    body = chain[chain.index("enrolled as (") :]
    for user in ("marts/build/outcome_group_cells.sql", "marts/student_year_outcomes.sql"):
        assert body in read_sql(SQL_DIR / user), user
        assert "discipline_actions" not in (SQL_DIR / user).read_text(), f"{user} repeats the chain"
    assert mart_sources("outcome_group_cells") == {"enrollment", "btam_cases", "case_actions", "discipline_actions"}


@pytest.fixture
def sql_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(sql_files, "SQL_DIR", tmp_path)
    read_sql.cache_clear()
    yield tmp_path
    read_sql.cache_clear()


def test_an_unknown_code_list_or_include_is_an_error_naming_the_file(sql_dir):
    (sql_dir / "codes.sql").write_text("select 1 where x in {codes:no_such_list}\n")
    with pytest.raises(SqlFileError, match=r"codes\.sql: \{codes:no_such_list\} names no code list"):
        read_sql(sql_dir / "codes.sql")
    (sql_dir / "inc.sql").write_text("with\n-- include: chains/missing\nselect 1\n")
    with pytest.raises(SqlFileError, match=r"inc\.sql: includes 'chains/missing', which is not a file"):
        read_sql(sql_dir / "inc.sql")
    (sql_dir / "a.sql").write_text("-- include: b\n")
    (sql_dir / "b.sql").write_text("-- include: a\n")
    with pytest.raises(SqlFileError, match="includes itself"):
        read_sql(sql_dir / "a.sql")
    (sql_dir / "outside.sql").write_text("-- include: ../etc/passwd\n")
    with pytest.raises(SqlFileError, match="not a file under"):
        read_sql(sql_dir / "outside.sql")


def test_an_include_is_expanded_in_place_with_its_own_code_lists(sql_dir):
    (sql_dir / "chains").mkdir()
    (sql_dir / "chains" / "c.sql").write_text(
        "picked as (select * from t where a in {codes:law_enforcement_actions})\n"
    )
    (sql_dir / "q.sql").write_text("with\n-- include: chains/c\nselect * from picked\n")
    assert read_sql(sql_dir / "q.sql") == (
        "with\npicked as (select * from t where a in ('law_enforcement_referral', 'school_related_arrest'))\n"
        "select * from picked\n"
    )


def test_each_shared_chain_is_written_in_one_file_and_read_by_every_query_that_needs_it():
    """The case-action flags (which kinds of action a case had) are one CTE in sql/marts/chains: written out
    in four queries they would drift apart (the outcome mart, the process audit, the same-level strata, the report)."""
    chains = {
        "case_action_flags": "marts/chains/case_action_flags",
        "student_outcomes": "marts/chains/student_outcomes",
    }
    for cte, chain in chains.items():
        defining = [p for p in SQL_FILES if re.search(rf"^{cte} as \(", p.read_text(), re.MULTILINE)]
        assert [p.relative_to(SQL_DIR).with_suffix("").as_posix() for p in defining] == [chain], cte
    chain_text = read_sql(SQL_DIR / "marts/chains/case_action_flags.sql").rstrip("\n")
    readers = [p for p in SQL_FILES if "case_action_flags." in read_sql(p)]
    assert len(readers) >= 5, readers  # the outcome mart and student query (through student_outcomes), 3 more
    for path in readers:
        text = read_sql(path)
        assert text.count(chain_text) == 1 and "dated_case_actions as (" in text, path.relative_to(SQL_DIR)
