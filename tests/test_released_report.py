"""The board report's derived numbers (reports/content.py): every share, rate, change and "N of M" is computed
from the report's released cells, or the sentence is withheld or reworded with the reason. Read as text, as a
board member reads it, on a small demo whose year hides most counts."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from figures.released_outcomes import strata_published
from reports.content import Bullets, Paragraph, Table, build_content
from reports.data import TOTAL, load_report_data

HIDDEN = re.compile(r"(?<![\w<])(<10|\*)(?![\w])")  # a count printed as '<10' or '*'
DERIVED = re.compile(r"\d%|\d\.\d|\d per 1,000|times|χ")  # a share, rate, ratio or test statistic printed


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=1500)


@pytest.fixture(scope="module")
def report(demo_db):
    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = con.execute("select max(school_year) from enrollment").fetchone()[0]
        data = load_report_data(con, year, "Demo Unified")
    return data, build_content(data)


def _sentences(content, skip=("appendix", "compare")):
    for section in content.sections:
        if section.key in skip:
            continue
        for block in section.blocks:
            texts = block.items if isinstance(block, Bullets) else [block.text] if isinstance(block, Paragraph) else []
            for text in texts:
                yield from (s for s in re.split(r"(?<=[.:;])\s+", text) if s)


def test_no_share_rate_or_change_in_a_sentence_with_a_hidden_count(report):
    _data, content = report
    offending = [s for s in _sentences(content) if HIDDEN.search(s) and DERIVED.search(s)]
    assert offending == []


def test_no_share_or_rate_in_a_table_row_whose_case_count_is_hidden(report):
    _data, content = report
    checked = 0
    for section in content.sections:
        if section.key == "compare":  # state and peer rates are public CRDC figures, beside the district's
            continue
        for table in (b for b in section.blocks if isinstance(b, Table)):
            counts = [i for i, c in enumerate(table.columns) if c in ("Cases", "BTAM cases", "Students enrolled")]
            for row in table.rows:
                if not any(HIDDEN.fullmatch(row[i]) for i in counts):
                    continue
                checked += 1
                derived = [
                    cell
                    for column, cell in zip(table.columns, row)
                    if column != "Target" and DERIVED.search(cell) and not cell.endswith("(*)")
                ]
                assert derived == [], (table.caption, row)
    assert checked  # the small demo hides some, so the rule was applied


def test_a_hidden_total_is_not_reported_as_none(report):
    data, content = report
    text = content.text()
    if data.year_value(data.school_year, "cases") is None:
        assert "No BTAM case was recorded" not in text
    if data.value("concern_outcomes", "assessed_cases", concern_level=TOTAL) is None:
        assert "No rated case" not in text and "had a level of concern recorded" not in text
        assert "the shares of each level are not shown" in text


def test_published_figures_are_still_shown(report):
    data, content = report
    year = data.school_year
    text = content.text()
    cases = data.year_value(year, "cases")
    enrolled = data.year_value(year, "enrolled")
    if cases and enrolled:
        assert f"{1000 * cases / enrolled:.1f} per 1,000 enrolled students" in text
    else:
        assert "the rate per 1,000 students is hidden with its count" in text
    total = data.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
    low = data.value("concern_outcomes", "assessed_cases", concern_level="low")
    if total and low is not None:
        assert f"low {100 * low / total:.0f}%" in text


def test_flags_and_odds_ratios_over_hidden_counts_are_neither_named_nor_counted(report):
    data, content = report
    text = content.text()
    assert "A further flag exceeded the threshold" not in text
    # A same-level odds ratio is printed only for a group whose pooled counts the release publishes at every level
    # (the report and the pages share one release, outcome_<outcome>_<dimension> tables included).
    sentence = "these groups' cases more often had a harsher consequence"
    published = [
        c
        for c in data.conditional
        if strata_published(
            data.release.tables.get(f"outcome_{c.outcome}_{c.dimension}"), c.dimension, c.group, c.outcome
        )
    ]
    if not published:
        assert sentence not in text
