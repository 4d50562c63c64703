"""Each statistic in its own words (figures/words.py), read template by template, and the one significance
rule: the Discipline outcomes page and the board report flag the same same-level differences."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from figures.words import SCALE_WORDS, TEMPLATES, days_until, p_text, statistic_sentence

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("statistic", sorted(TEMPLATES))
def test_every_template_says_its_own_scale_and_no_other(statistic):
    sentence = statistic_sentence(statistic, 0.25 if statistic == "risk_difference" else 2.45, "S", "did X", "C")
    assert SCALE_WORDS[statistic] in sentence
    for other, words in SCALE_WORDS.items():
        if words != SCALE_WORDS[statistic]:
            assert words not in sentence, f"{statistic} is worded as {other}"
    assert "S" in sentence and "did X" in sentence and "C" in sentence and "{" not in sentence


def test_the_numbers_in_the_sentences():
    # Discipline outcomes, issue 15 item 3: an odds ratio of 2.98 where the rate ratio is 2.45
    assert statistic_sentence("odds_ratio", 2.98, "their cases", "involved police", "others") == (
        "The odds that their cases involved police were 3.0 times those of others"
    )
    assert statistic_sentence("risk_ratio", 2.45, "They", "were suspended", "others") == (
        "They were suspended 2.5 times as often as others"
    )
    lower = statistic_sentence("risk_difference", -0.042, "them", "were suspended", "others")
    assert "4.2 percentage points lower" in lower and "-" not in lower
    assert "percent " not in statistic_sentence("risk_difference", 0.1, "them", "x", "y")
    with pytest.raises(ValueError, match="no words"):
        statistic_sentence("hazard_ratio", 1.0, "a", "b", "c")


def test_p_values_are_rounded_for_reading():
    assert p_text(0.0) == "p < 0.001"  # an underflowed p
    assert p_text(0.00049) == "p < 0.001"
    assert p_text(0.99999999999850) == "p > 0.999"
    assert p_text(0.0421) == "p = 0.042"
    assert p_text(0.48, "q") == "q = 0.480"
    assert p_text(None) == "p not available"


def test_days_until_withholds_small_groups_and_says_never_reached():
    assert days_until(12.0, 9) == "withheld: fewer than 10 cases"
    assert days_until(None, 40) == "never reached"
    assert days_until(0.0, 40) == "the same day" and days_until(1.0, 40) == "1 day" and days_until(5.0, 10) == "5 days"


def test_no_page_or_report_words_an_odds_ratio_as_a_rate():
    """The sentence that names an odds ratio never says 'as often' (the words module says odds)."""
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("reports/*.py"), *ROOT.glob("ui/*.py")]:
        text = path.read_text()
        for statement in re.split(r"\n(?=\S)|\n    (?=\S)", text):
            if "odds_ratio" in statement and "as often" in statement:
                pytest.fail(f"{path.name}: an odds ratio next to 'as often': {statement[:200]}")


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


@pytest.fixture(scope="module")
def report_findings(demo_db):
    from access import metric_tables as mt
    from reports.data import load_report_data

    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = mt.school_years(con)[-1]
        data = load_report_data(con, year, "Demo District", as_of=mt.resolve_as_of(con))
    return {(c.outcome, c.dimension, c.group) for c in data.conditional}


@pytest.mark.parametrize("outcome", ["case_exclusionary", "case_law_enforcement"])
@pytest.mark.parametrize("dimension", ["race_ethnicity", "disability_status"])
def test_the_page_flags_what_the_report_flags(start, report_findings, outcome, dimension):
    from ui.page_data import students_phrase

    at = start("discipline_outcomes", demo_role="district", discipline_outcome=outcome, discipline_dimension=dimension)
    assert not at.exception
    lines = [str(m.value) for m in at.markdown if str(m.value).startswith("- ")]
    assert lines, "the page says nothing about the same-level comparison"
    flagged = [line for line in lines if line.startswith("- **The odds that")]
    expected = [g for o, d, g in report_findings if (o, d) == (outcome, dimension)]
    assert len(flagged) == len(expected)
    for group in expected:
        assert any(students_phrase(dimension, group) in line for line in flagged)
    for line in flagged:
        assert "unlikely to be chance" in line and re.search(r"q (<|=) 0\.0[0-5]", line)
    for line in lines:
        assert "times as often" not in line
    said_chance = [line for line in lines if "unlikely to be chance" in line and "lower" not in line]
    assert said_chance == flagged


def test_the_served_headline_from_the_cumulative_incidence():
    from figures.words import served_headline

    row = {"n_cases": 40, "served_by_10": 0.3, "served_by_30": 0.6, "ever_served": 0.8, "n_closed_unserved": 1}
    assert "**within 12 days** of the report" in served_headline(row | {"days_to_50": 12.0})
    assert "**on the day of the report**" in served_headline(row | {"days_to_50": 0.0})
    never = served_headline(row | {"days_to_50": None})
    assert "never reached" in never and "80% by the end of the period" in never
    assert "1 case closed without any intervention counts as never served" in never
    assert served_headline({"n_cases": 9}).startswith("Fewer than 10 cases")


@pytest.fixture(scope="module")
def report_ratio_findings(demo_db):
    from access import metric_tables as mt
    from reports.data import load_report_data

    with duckdb.connect(str(demo_db), read_only=True) as con:
        year = mt.school_years(con)[-1]
        data = load_report_data(con, year, "Demo District", as_of=mt.resolve_as_of(con))
    return [f for f in data.findings if f.flagged]


def test_the_overview_names_what_the_report_names(start, report_ratio_findings):
    """The board's Overview and the board report name flagged disparities in 'what needs attention' by the same
    rule (metrics.significance.disparity_significance). The Overview covers every outcome (the IDEA ones too),
    the report its equity outcomes: every disparity the report names is counted on the Overview."""
    import re

    from ui.page_data import students_phrase

    at = start("overview", demo_role="board")
    assert not at.exception
    lines = [str(m.value) for m in at.markdown if str(m.value).startswith("- ")]
    named = [line for line in lines if "unlikely to be chance (q" in line]
    assert len(named) == 1, "the 5,000-student demo has a flagged disparity that passes the rule"
    count = int(re.match(r"- \*\*(\d+) disparit", named[0]).group(1))  # type: ignore[union-attr]
    notable = [f for f in report_ratio_findings if f.unlikely_to_be_chance]
    assert count >= len(notable)
    if count == len(notable):
        for f in sorted(notable, key=lambda f: -f.risk_ratio)[:3]:
            assert students_phrase(f.dimension, f.group) in named[0]
    unflagged = [f for f in report_ratio_findings if not f.unlikely_to_be_chance]
    for f in unflagged:  # a flag that could be chance is never named as a finding
        assert f"{students_phrase(f.dimension, f.group)} — " not in named[0] or count > len(notable)
