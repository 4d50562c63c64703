"""The words each statistic is said in, written once for the pages and the board report.

An odds ratio is not a rate ratio: "2.9 times the odds" where the rates differ 2.5 times is a different
claim from "2.5 times as often". A risk difference is in percentage points, never in percent. A p value
is rounded for reading (exports keep it exact), and a test that could not be run says why
(docs/METHODOLOGY.md "Words per statistic").
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from data_contracts.number_format import fmt_days, fmt_decimal, fmt_int, fmt_pct, fmt_ratio
from data_contracts.number_format import fmt_p as p_text
from metrics.competing_risks import MIN_CASES
from metrics.survival import logrank_not_run_reason

# One template per statistic. {subject} is who it is about ("Black students' cases"), {outcome} a verb phrase
# ("involved law enforcement"), {comparison} the comparison group, {value} the statistic as printed.
# tests/test_statistic_words.py reads each against its statistic.
TEMPLATES: dict[str, str] = {
    "risk_ratio": "{subject} {outcome} {value} times as often as {comparison}",
    "rate_ratio": "{subject} {outcome} {value} times as often as {comparison}",
    "odds_ratio": "the odds that {subject} {outcome} were {value} times those of {comparison}",
    "risk_difference": "the share of {subject} that {outcome} was {value} percentage points {direction} than that of "
    "{comparison}",
}
# The words that name each statistic's scale; no other statistic's template may use them.
SCALE_WORDS: dict[str, str] = {
    "risk_ratio": "times as often",
    "rate_ratio": "times as often",
    "odds_ratio": "odds that",
    "risk_difference": "percentage points",
}


def times(value: float, decimals: int = 1) -> str:
    """A ratio as printed: 2.45 -> '2.5'."""
    return fmt_ratio(value, decimals=decimals)


def statistic_sentence(statistic: str, value: float, subject: str, outcome: str, comparison: str) -> str:
    """The sentence for `statistic` (a key of TEMPLATES); a risk difference `value` is a difference of shares
    (0.042 = 4.2 percentage points)."""
    if statistic not in TEMPLATES:
        raise ValueError(f"statistic_sentence: no words for {statistic!r}; one of {sorted(TEMPLATES)}")
    if statistic == "risk_difference":
        points = 100 * value
        direction = "higher" if points > 0 else "lower" if points < 0 else "different"
        shown = fmt_ratio(abs(points), decimals=1)
    else:
        direction, shown = "", times(value)
    sentence = TEMPLATES[statistic].format(
        subject=subject, outcome=outcome, value=shown, comparison=comparison, direction=direction
    )
    return sentence[0].upper() + sentence[1:]


def days_text(days: float) -> str:
    """0 -> 'the same day', 1 -> '1 day', 12 -> '12 days'."""
    return fmt_days(days)


def days_until(days: float | None, n_cases: int, min_cases: int = MIN_CASES) -> str:
    """A 'days until X% served' cell: the days, 'never reached', or withheld with the reason."""
    if n_cases < min_cases:
        return f"withheld: fewer than {min_cases} cases"
    if days is None:
        return "never reached"
    return days_text(days)


def closed_text(n_closed_unserved: int) -> str:
    """'5 cases closed without any intervention count as never served' (1 case ... counts)."""
    if n_closed_unserved == 1:
        return "1 case closed without any intervention counts as never served"
    return f"{fmt_int(n_closed_unserved)} cases closed without any intervention count as never served"


def served_headline(row: Mapping[str, object], min_cases: int = MIN_CASES) -> str:
    """The page's sentence on how soon cases were served, from a time_to_intervention_ci row (cumulative
    incidence: a case closed without any intervention is never served)."""
    n = int(row["n_cases"])  # type: ignore[call-overload]
    if n < min_cases:
        return (
            f"Fewer than {min_cases} cases: the shares served and the days until half were served are withheld "
            "(too few cases for a stable estimate)."
        )
    by10, by30, ever = (float(row[c]) for c in ("served_by_10", "served_by_30", "ever_served"))  # type: ignore[arg-type]
    d50 = row["days_to_50"]
    share = (
        f"{fmt_pct(by10, decimals=0)} of cases were served within 10 days of the report, "
        f"{fmt_pct(by30, decimals=0)} within 30 days"
    )
    if d50 is None:
        lead = "**Half of the cases: never reached.** Fewer than half were ever served"
    else:
        days = float(d50)  # type: ignore[arg-type]
        when = "on the day of the report" if round(days) == 0 else f"within {days_text(days)}** of the report"
        lead = f"Half of the cases had a first intervention **{when}" + ("**" if round(days) == 0 else "")
    return (
        f"{lead}. {share} and {fmt_pct(ever, decimals=0)} by the end of the period; "
        f"{closed_text(int(row['n_closed_unserved']))} (cumulative incidence)."  # type: ignore[call-overload]
    )


def served_test_sentence(test: pl.DataFrame, n_served: int) -> str:
    """The group comparison of a page: the log-rank test on the cause-specific hazard of being served, or
    'not run' with the reason (`n_served`: the cases served across the groups compared)."""
    if test.is_empty():
        return "Group comparison not run: no cases in this selection."
    r = test.row(0, named=True)
    groups = [g for g in (r["groups"] or "").split(",") if g]
    method = "log-rank test on the cause-specific hazard of being served"
    if r["method"] == "not_applicable" or r["p_value"] is None:
        return f"Group comparison ({method}) {logrank_not_run_reason(groups, n_served)}."
    differ = (
        "**The groups differ in how fast cases are served**"
        if r["p_value"] < 0.05
        else "**No clear difference between the groups** in how fast cases are served"
    )
    return f"{differ} ({method}: chi-square {fmt_decimal(r['statistic'])}, {r['df']} df, {p_text(r['p_value'])})."


GRAY_METHOD = "Gray's test of equal cumulative incidence"


def served_tests_sentence(tests: pl.DataFrame, n_served: int) -> str:
    """The group comparison of the cumulative incidence, stated as Gray's (1988) test (do the groups differ in
    the share served by each day?), with the log-rank on the cause-specific hazard beside it (how fast the
    cases still waiting are served); `tests` has access.metric_tables.SERVED_TEST_COLUMNS' rows of one test
    each, `n_served` the cases served across the groups compared."""
    gray = tests.filter(pl.col("test") == "gray")
    hazard = tests.filter(pl.col("test") == "cause_specific_logrank").drop("test")
    if gray.is_empty():
        return "Group comparison not run: no cases in this selection."
    r = gray.row(0, named=True)
    groups = [g for g in (r["groups"] or "").split(",") if g]
    if r["method"] == "not_applicable" or r["p_value"] is None:
        lead = f"Group comparison ({GRAY_METHOD}) {logrank_not_run_reason(groups, n_served)}."
    else:
        differ = (
            "**The groups differ in the share of cases served over time**"
            if r["p_value"] < 0.05
            else "**No clear difference between the groups** in the share of cases served over time"
        )
        lead = f"{differ} ({GRAY_METHOD}, closing unserved competing: chi-square {fmt_decimal(r['statistic'])}, {r['df']} df, {p_text(r['p_value'])})."
    return lead + " Beside it: " + first_lower_text(served_test_sentence(hazard, n_served))


def first_lower_text(text: str) -> str:
    """A sentence continued after a colon: its first letter lower-case (a leading bold mark kept)."""
    bold = text.startswith("**")
    body = text[2:] if bold else text
    return ("**" if bold else "") + body[:1].lower() + body[1:]
