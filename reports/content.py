"""What the board report says: sections of plain sentences, tables and chart specs, written only from
the published cells of the release (reports/data.py), so the PDF and the HTML say the same thing.

Every count printed is a cell's display ('1,234', '<10', '*'); every other number carries its unit
(%, days, times, per 1,000), so a bare small integer never appears. Nothing prints None or NaN: a
value that is hidden or undefined is a sentence saying so.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from data_contracts import number_format as nf
from data_contracts.labels import (
    AUDIT_BY_LEVEL,
    AUDIT_LABELS,
    AUDIT_STATUS_LABELS,
    CASE_OUTCOME_PHRASES,
    COMPLETENESS_LABELS,
    DIMENSION_LABELS,
    LEVEL_LABELS,
    LEVELS,
    OUTCOME_LABELS,
    OUTCOME_PHRASES,
    POPULATION_LABELS,
    SCHOOL_LEVEL_LABELS,
    first_lower,
    first_upper,
    group_label,
    students_phrase,
)
from figures.released_outcomes import strata_published
from figures.words import p_text, statistic_sentence
from metrics.audit import INDICATORS_BY_KEY, indicator_label
from metrics.competing_risks import MIN_CASES
from reports.data import AUDIT_TABLE_INDICATORS, CASE_POPULATION, DIMENSIONS, TOTAL, RatioFinding, ReportData

NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SUPPRESSED_NOTE = (
    "<10 means fewer than 10 students or cases, but not none; * means hidden so that a small number cannot be "
    "worked out from the totals (or, for a rate, that its count is hidden)."
)


# -- blocks -----------------------------------------------------------------------------------------------------


@dataclass
class Paragraph:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    caption: str
    notes: list[str] = field(default_factory=list)
    widths: list[float] | None = None  # relative column widths


@dataclass
class ChartSpec:
    """A chart independent of the renderer: bars or lines of categories, None = not published."""

    key: str
    kind: str  # "bar", "hbar" or "line"
    title: str
    categories: list[str]
    series: list[tuple[str, list[float | None]]]
    y_title: str
    alt_text: str
    value_suffix: str = ""
    value_decimals: int = 0
    ordered: bool = False  # concern levels: the ordered light-to-dark scale


@dataclass
class Section:
    key: str
    title: str
    blocks: list = field(default_factory=list)
    new_page: bool = True


@dataclass
class ReportContent:
    title: str
    district_name: str
    school_year: str
    as_of: str
    synthetic: bool
    sections: list[Section]

    def charts(self) -> list[ChartSpec]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, ChartSpec)]

    def text(self) -> str:
        """Everything the report says, as plain text (tests and the page preview)."""
        out = [self.title]
        for s in self.sections:
            out.append(s.title)
            for b in s.blocks:
                if isinstance(b, Paragraph):
                    out.append(b.text)
                elif isinstance(b, Bullets):
                    out.extend(b.items)
                elif isinstance(b, Table):
                    out.append(b.caption)
                    out.append(" | ".join(b.columns))
                    out.extend(" | ".join(r) for r in b.rows)
                    out.extend(b.notes)
                elif isinstance(b, ChartSpec):
                    out.append(b.title)
                    out.append(b.alt_text)
        return "\n".join(out)


# -- formatting -------------------------------------------------------------------------------------------------


NOT_AVAILABLE = "not available"  # what a missing figure reads as in the report


def words(n: int) -> str:
    """Small counts of findings as words, so no bare small integer is ever printed."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else nf.fmt_int(n)


def pct(fraction: float | None, decimals: int = 0) -> str:
    return nf.fmt_pct(fraction, decimals=decimals, missing=NOT_AVAILABLE)


def days(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not reached"
    n = int(round(value))
    return "same day" if n == 0 else f"{n} day" if n == 1 else f"{n} days"


def served_sentence(half_served: tuple[float | None] | None, served_within: tuple[int, int, float] | None) -> str:
    """How soon cases were served: the days until half of all cases were (cumulative incidence, a case closed
    unserved is never served) and the share of the assessed cases followed 30 days served within them, from the
    release's counts (figures/released_served.py), each when it is published."""
    parts = []
    if half_served is not None:
        (days_to_50,) = half_served
        parts.append(
            "Fewer than half of all cases had a first intervention by the end of the period."
            if days_to_50 is None
            else f"Half of all cases had a first intervention within {days(days_to_50)} of the report."
        )
    if served_within is not None:
        followed, served, share = served_within
        parts.append(
            f"Of the {nf.fmt_int(followed)} assessed cases reported at least 30 days before the end of the period, "
            f"{nf.fmt_int(served)} ({pct(share)}) had a first intervention within 30 days."
        )
    if not parts:
        return ""
    return " ".join(parts) + " Cases closed without any intervention count as never served, not as cases still waiting."


def day_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "interval not available"
    lo, hi = int(round(low)), int(round(high))
    if lo == hi:
        return days(lo)
    return f"{lo} to {hi} days" if lo else f"same day to {days(hi)}"


def target_text(target_days: int) -> str:
    return "same day" if target_days == 0 else f"within {days(target_days)}"


def times(ratio: float) -> str:
    return f"{nf.fmt_ratio(ratio, decimals=1)} times"


def per_1000(count: int | None, enrolled: int | None) -> float | None:
    if count is None or not enrolled:
        return None
    return 1000 * count / enrolled


def fmt_rate(value: float | None) -> str:
    return nf.fmt_rate(value, missing=NOT_AVAILABLE)


def rate_clause(rate: float | None) -> str:
    """', 12.3 per 1,000 enrolled students', or why there is no rate (its count is hidden)."""
    if rate is None:
        return " (the rate per 1,000 students is hidden with its count, to protect small numbers)"
    return f", {fmt_rate(rate)} enrolled students"


def change_words(now: float, before: float, shown: Callable[[float], str]) -> str:
    """'up 12% from 4.1 per 1,000 the year before': the relative change, each value through `shown`."""
    if before == 0:
        return f"from none to {shown(now)}"
    diff = 100 * (now - before) / before
    if abs(diff) < 1:
        return f"about the same as the year before ({shown(before)})"
    direction = "up" if diff > 0 else "down"
    return f"{direction} {nf.fmt_int(abs(diff))}% from {shown(before)} the year before"


# -- sections ---------------------------------------------------------------------------------------------------


class _Writer:
    def __init__(self, data: ReportData):
        self.d = data
        self.year = data.school_year
        self.prev = data.previous_year
        self.attention: list[str] = []

    # volumes ------------------------------------------------------------------------------------------------
    def year_counts(self, year: str) -> tuple[int | None, int | None, int | None]:
        d = self.d
        return (
            d.year_value(year, "cases"),
            d.year_value(year, "enrolled"),
            d.year_value(year, "btam_referral"),
        )

    def volume(self) -> Section:
        d = self.d
        rows, rates = [], []
        for year in d.trend_years:
            cases, enrolled, students = self.year_counts(year)
            rate = per_1000(cases, enrolled)
            rates.append(rate)
            rows.append(
                [
                    year,
                    d.year_display(year, "enrolled"),
                    d.year_display(year, "cases"),
                    d.year_display(year, "btam_referral"),
                    nf.fmt_ratio(rate, decimals=1, missing=NOT_AVAILABLE),
                ]
            )
        cases, enrolled, students = self.year_counts(self.year)
        blocks: list = []
        if cases == 0:
            blocks.append(Paragraph(f"No BTAM case was recorded for {self.year} as of {d.as_of.isoformat()}."))
        else:
            rate = per_1000(cases, enrolled)
            blocks.append(
                Paragraph(
                    f"In {self.year}, schools opened {d.year_display(self.year, 'cases')} "
                    f"BTAM cases{rate_clause(rate)}. "
                    f"{d.year_display(self.year, 'btam_referral')} different students were the "
                    f"subject of a case; the other cases concerned staff members or others."
                )
            )
        blocks.append(
            ChartSpec(
                "volume_trend",
                "line",
                f"BTAM cases per 1,000 enrolled students, {d.trend_years[0]} to {self.year}",
                list(d.trend_years),
                [("Cases per 1,000 students", rates)],
                "Cases per 1,000 students",
                "Line chart. " + "; ".join(f"{y}: {fmt_rate(r)}" for y, r in zip(d.trend_years, rates)) + ".",
                value_decimals=1,
            )
        )
        blocks.append(
            Table(
                ["School year", "Students enrolled", "BTAM cases", "Students with a case", "Cases per 1,000"],
                rows,
                "Case volume by school year",
                [SUPPRESSED_NOTE],
                [1, 1.2, 1, 1.2, 1],
            )
        )
        level_rows = []
        t = d.release.tables["cases_by_school_level"]
        for row in t.display.iter_rows(named=True):
            if row["school_level"] == TOTAL:
                continue
            level_rows.append(
                [SCHOOL_LEVEL_LABELS.get(row["school_level"], row["school_level"].capitalize()), row["cases"]]
            )
        if level_rows:
            level_rows.append(["All schools", d.display("cases_by_school_level", "cases", school_level=TOTAL)])
            blocks.append(
                Table(
                    [DIMENSION_LABELS["school_level"], "BTAM cases"],
                    level_rows,
                    f"Cases by school level, {self.year}",
                    widths=[2, 1],
                )
            )
        return Section("volume", "Case volume and rate", blocks)

    # concern levels -----------------------------------------------------------------------------------------
    def level_shares(self, table: str) -> list[float | None]:
        d = self.d
        total = d.value(table, "assessed_cases", concern_level=TOTAL)
        out = []
        for level in LEVELS:
            v = d.value(table, "assessed_cases", concern_level=level)
            out.append(None if v is None or not total else v / total)
        return out

    def high_share(self, table: str) -> float | None:
        d = self.d
        total = d.value(table, "assessed_cases", concern_level=TOTAL)
        parts = [d.value(table, "assessed_cases", concern_level=lvl) for lvl in ("high", "imminent")]
        if not total or any(p is None for p in parts):
            return None
        return sum(parts) / total

    def concern(self) -> Section:
        d = self.d
        total = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
        blocks: list = []
        if total == 0:
            blocks.append(
                Paragraph(
                    f"No case of {self.year} had a level of concern recorded by "
                    f"{d.as_of.isoformat()}, so there is no distribution to show."
                )
            )
            return Section("concern", "Levels of concern", blocks)
        if total is None:  # hidden in the release: the counts the release publishes, no shares
            blocks.append(
                Paragraph(
                    f"The number of cases rated in {self.year} is protected as a small number, so the shares of "
                    "each level are not shown."
                )
            )
            rows = [
                [LEVEL_LABELS[lv], d.display("concern_outcomes", "assessed_cases", concern_level=lv), "hidden"]
                for lv in LEVELS
            ]
            rows.append(["All rated cases", d.display("concern_outcomes", "assessed_cases", concern_level=TOTAL), ""])
            blocks.append(
                Table(
                    [DIMENSION_LABELS["concern_level"], "Cases", "Share"],
                    rows,
                    f"Rated cases by level of concern, {self.year}",
                    [SUPPRESSED_NOTE],
                    [2, 1, 1],
                )
            )
            return Section("concern", "Levels of concern", blocks)
        shares = self.level_shares("concern_outcomes")
        words = [f"{LEVEL_LABELS[lvl].lower()} {pct(s)}" for lvl, s in zip(LEVELS, shares) if s is not None]
        rated = d.display("concern_outcomes", "assessed_cases", concern_level=TOTAL)
        blocks.append(
            Paragraph(
                f"After assessment, teams rate each case's level of concern. Of the {rated} cases rated in "
                f"{self.year}: "
                + (
                    ", ".join(words)
                    if words
                    else "the share at each level is hidden this year to protect small numbers"
                )
                + ". Most cases are low concern, as expected in a program that catches problems "
                "early; the level decides the supports and how closely the case is followed."
            )
        )
        series = [(self.year, shares)]
        if (
            self.prev
            and d.has_table(f"concern_outcomes@{self.prev}")
            and d.value(f"concern_outcomes@{self.prev}", "assessed_cases", concern_level=TOTAL)
        ):
            series.insert(0, (self.prev, self.level_shares(f"concern_outcomes@{self.prev}")))
        alt = "Bar chart of the share of rated cases at each level. " + " ".join(
            f"{name}: "
            + ", ".join(f"{LEVEL_LABELS[lv]} {pct(v) if v is not None else 'hidden'}" for lv, v in zip(LEVELS, vals))
            + "."
            for name, vals in series
        )
        blocks.append(
            ChartSpec(
                "concern_levels",
                "bar",
                "Share of rated BTAM cases by level of concern, "
                + (f"{self.prev} and {self.year}" if len(series) > 1 else self.year),
                [LEVEL_LABELS[lv] for lv in LEVELS],
                [(n, [None if v is None else 100 * v for v in vals]) for n, vals in series],
                "Share of rated cases (%)",
                alt,
                "%",
                0,
                ordered=False,
            )
        )
        rows = [
            [
                LEVEL_LABELS[lv],
                d.display("concern_outcomes", "assessed_cases", concern_level=lv),
                "hidden" if s is None else pct(s, 1),
            ]
            for lv, s in zip(LEVELS, shares)
        ]
        rows.append(["All rated cases", rated, "hidden" if total is None else "100%"])
        blocks.append(
            Table(
                [DIMENSION_LABELS["concern_level"], "Cases", "Share"],
                rows,
                f"Rated cases by level of concern, {self.year}",
                [SUPPRESSED_NOTE],
                [2, 1, 1],
            )
        )
        return Section("concern", "Levels of concern", blocks)

    # timeliness ---------------------------------------------------------------------------------------------
    def timeliness(self) -> Section:
        d = self.d
        targets = d.metric_settings.timeliness_days
        blocks: list = []
        met = d.value("timeliness", "timely_met", concern_level=TOTAL) if d.has_table("timeliness") else None
        total = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
        if total == 0:
            blocks.append(Paragraph("No rated case this year, so there is no timeliness to report."))
            return Section("timeliness", "Timeliness of interventions", blocks)
        if total is None:
            blocks.append(
                Paragraph(
                    f"The number of cases rated in {self.year} is protected as a small number, so the share "
                    "with a timely first intervention is not shown."
                )
            )
            return Section("timeliness", "Timeliness of interventions", blocks)
        share = None if met is None else met / total
        if share is not None:
            blocks.append(
                Paragraph(
                    "Each level of concern has a target for the first intervention after a report: "
                    + ", ".join(f"{LEVEL_LABELS[lv].lower()} {target_text(targets[lv])}" for lv in reversed(LEVELS))
                    + f". In {self.year}, {d.display('timeliness', 'timely_met', concern_level=TOTAL)} of "
                    f"{d.display('concern_outcomes', 'assessed_cases', concern_level=TOTAL)} rated cases ({pct(share)}) had a first "
                    f"intervention within their target. The rest missed it, or were reported so recently that "
                    f"their target date had not yet passed."
                )
            )
            if share < 0.8:
                self.attention.append(
                    f"Only {pct(share)} of rated cases had a first intervention within their target time."
                )
        else:
            blocks.append(
                Paragraph("The share of cases served within their target is hidden this year to protect small numbers.")
            )
        medians = d.median_days
        served_text = served_sentence(d.half_served, d.served_within)
        if served_text:
            blocks.append(Paragraph(served_text))
        rows, values = [], []
        for level in LEVELS:
            target = target_text(targets[level])
            if level in medians:
                m, lo, hi = medians[level]
                values.append(m)
                rows.append([LEVEL_LABELS[level], target, days(m), day_range(lo, hi)])
                late = m > targets[level]
                if late and level in ("high", "imminent"):
                    self.attention.append(
                        f"The median time to a first intervention for {level}-concern cases "
                        f"({days(m)}) is longer than the target ({target})."
                    )
            else:
                values.append(None)
                why = d.median_withheld.get(level, "not reported")
                rows.append([LEVEL_LABELS[level], target, "not reached" if why == "not reached" else "not shown", why])
        blocks.append(
            ChartSpec(
                "time_to_intervention",
                "bar",
                f"Median days from report to first intervention by level of concern, {self.year}",
                [LEVEL_LABELS[lv] for lv in LEVELS],
                [("Median days", values)],
                "Days (median)",
                "Bar chart. "
                + "; ".join(
                    f"{LEVEL_LABELS[lv]}: {days(v) if v is not None else 'not reported'}"
                    for lv, v in zip(LEVELS, values)
                )
                + ".",
                " days",
                0,
                ordered=True,
            )
        )
        blocks.append(
            Table(
                [DIMENSION_LABELS["concern_level"], "Target", "Median time", "95% interval"],
                rows,
                f"Days from report to first intervention, {self.year}",
                [
                    "Kaplan-Meier median (a case closed without any intervention is counted as if it could still be "
                    f"served): the first day at most half are still waiting. Shown only for a level with a published "
                    f"count of {MIN_CASES} cases or more."
                ],
                [1.3, 1.2, 1, 1.5],
            )
        )
        return Section("timeliness", "Timeliness of interventions", blocks)

    # outcomes -----------------------------------------------------------------------------------------------
    def outcomes(self) -> Section:
        d = self.d
        blocks: list = []
        total = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
        blocks.append(
            Paragraph(
                "BTAM is meant to lead to support, not punishment. National guidance (NASP) says the level of concern "
                "should decide the supports, that suspension and expulsion can raise risk, and that law enforcement "
                "should join only when risk is imminent. This table shows, for each level, how many cases had no "
                "support action recorded, how many led to a suspension, expulsion or change of placement, and how "
                "many involved law enforcement. A case can appear in more than one column."
            )
        )
        if total == 0:
            blocks.append(Paragraph("No rated case this year."))
            return Section("outcomes", "Outcomes of BTAM cases", blocks)
        rows = []
        t = d.release.tables["concern_outcomes"]
        for row in t.display.iter_rows(named=True):
            name = "All rated cases" if row["concern_level"] == TOTAL else LEVEL_LABELS[row["concern_level"]]
            rows.append(
                [name, row["assessed_cases"]]
                + [
                    row[m] if row[f"{m}_rate"] == "*" else f"{row[m]} ({row[f'{m}_rate']})"
                    for m in ("without_support", "with_exclusion_or_placement", "with_law_enforcement")
                ]
            )
        blocks.append(
            Table(
                [
                    DIMENSION_LABELS["concern_level"],
                    "Cases",
                    "No support recorded",
                    "Suspension, expulsion or placement change",
                    "Law enforcement involved",
                ],
                rows,
                f"What happened in rated cases, {self.year}",
                [
                    SUPPRESSED_NOTE,
                    "Percentages are of the cases at that level. <=5% means 5% or less "
                    "(shown as a range for groups under 100 cases).",
                ],
                [1.3, 0.8, 1.3, 1.7, 1.4],
            )
        )
        published = t.published
        series = []
        for measure, name in (
            ("without_support", "No support recorded"),
            ("with_exclusion_or_placement", "Suspension, expulsion or placement change"),
            ("with_law_enforcement", "Law enforcement involved"),
        ):
            vals = []
            for level in LEVELS:
                i = published["concern_level"].to_list().index(level)
                v, count, n = (published[c][i] for c in (f"{measure}_rate", measure, "assessed_cases"))
                vals.append(100 * v if v is not None else 0.0 if count == 0 and n else None)
            series.append((name, vals))
        shown = sum(v is not None for _, vals in series for v in vals)
        if shown * 2 < len(LEVELS) * len(series):
            blocks.append(
                Paragraph(
                    "No chart is drawn by level this year: most of these figures are small numbers "
                    "and are hidden to protect students."
                )
            )
        else:
            blocks.append(
                ChartSpec(
                    "case_outcomes",
                    "bar",
                    f"Share of rated cases by what happened and level of concern, {self.year}",
                    [LEVEL_LABELS[lv] for lv in LEVELS],
                    series,
                    "Share of cases at the level (%)",
                    "Grouped bar chart. "
                    + " ".join(
                        f"{name}: "
                        + ", ".join(
                            f"{LEVEL_LABELS[lv]} {'hidden' if v is None else nf.fmt_int(v) + '%'}"
                            for lv, v in zip(LEVELS, vals)
                        )
                        + "."
                        for name, vals in series
                    )
                    + " Hidden bars are small numbers withheld to protect students.",
                    "%",
                    0,
                )
            )
        excl = d.value("concern_outcomes", "with_exclusion_or_placement", concern_level="low")
        low = d.value("concern_outcomes", "assessed_cases", concern_level="low")
        if excl and low and excl / low > d.metric_settings.audit_targets["exclusion_or_placement_change"]:
            self.attention.append(
                "More low-concern cases than the target ended in a suspension, expulsion or change of placement."
            )
        return Section("outcomes", "Outcomes of BTAM cases", blocks)

    # equity -------------------------------------------------------------------------------------------------
    def finding_sentence(self, f: RatioFinding) -> str:
        population = POPULATION_LABELS["btam_referral"] if f.outcome in CASE_POPULATION else "students"
        ci = (
            f"95% confidence interval {nf.fmt_interval(f.ci_low, f.ci_high)} times"
            if f.ci_low is not None and f.ci_high is not None
            else "no confidence interval"
        )
        table = f"disp_{f.outcome}_{f.dimension}"
        den = "btam_referral" if f.outcome in CASE_POPULATION else "enrolled"
        k = self.d.display(table, f.outcome, **{f.dimension: f.group})
        n = self.d.display(table, den, **{f.dimension: f.group})
        persistent = " This has been flagged three years running." if f.persistent else ""
        return (
            f"{first_upper(students_phrase(f.dimension, f.group))} {OUTCOME_PHRASES[f.outcome][0]} at {times(f.risk_ratio)} the rate "
            f"of all other {population} ({k} of {n}, {pct(f.risk, 1)}, against {pct(f.comparison_risk, 1)}; "
            f"{ci}).{persistent}"
        )

    def equity(self) -> Section:
        d = self.d
        s = d.metric_settings
        blocks: list = [
            Paragraph(
                f"Each group of students is compared with all other students on five outcomes: being referred to "
                f"BTAM, out-of-school suspension or expulsion, and, among students with a case, a high or imminent "
                f"rating, a suspension or expulsion within the case, and law-enforcement involvement. A group is "
                f"flagged when its rate is more than {nf.fmt_ratio(s.threshold, decimals=1)} times that of all other students (the federal "
                f"test for significant disproportionality). A rate is compared only when at least {s.min_cell} "
                f"students had the outcome and the group has at least {s.min_n} students. The confidence interval "
                f"is the range the true ratio likely lies in. With many groups compared at once some intervals lie "
                f"above 1.0 by chance alone, so a difference is called unlikely to be chance only when its q value "
                f"(the p value adjusted for the number of groups compared on the same outcome) is {nf.fmt_setting(s.alpha)} or "
                f"less."
            )
        ]
        flagged = [f for f in d.findings if f.flagged]
        if flagged:
            blocks.append(Paragraph(f"Flagged in {self.year}:"))
            blocks.append(Bullets([self.finding_sentence(f) for f in flagged]))
            # The attention list names only what passes the significance rule, as the Overview does.
            notable = sum(f.unlikely_to_be_chance for f in flagged)
            n = len(flagged)
            if notable:
                self.attention.append(
                    f"{words(notable).capitalize()} group comparison{'s' if notable != 1 else ''} exceeded the "
                    f"disproportionality threshold by a difference unlikely to be chance (q {nf.fmt_setting(s.alpha)} or less; "
                    f"see Equity findings)."
                )
            else:
                self.attention.append(
                    f"{words(n).capitalize()} group comparison{'s' if n != 1 else ''} exceeded the "
                    f"disproportionality threshold, none by a difference unlikely to be chance once the number of "
                    f"groups compared is taken into account (see Equity findings)."
                )
        else:
            blocks.append(
                Paragraph(
                    f"No group was flagged in {self.year}: no comparison that could be made showed "
                    f"a rate more than {nf.fmt_ratio(s.threshold, decimals=1)} times that of all other students."
                )
            )
        if d.trends:
            blocks.append(self.trend_table())
        # A flag over hidden counts is itself a release of them (it says the ratio, so the count, is high): it is
        # neither named nor counted here; such groups are listed below only as not compared.
        cond = [c for c in d.conditional if self.conditional_published(c.outcome, c.dimension, c.group)]
        if cond:
            blocks.append(
                Paragraph(
                    "Comparing like with like (cases at the same level of concern), these groups' cases more often "
                    f"had a harsher consequence than other students' cases, a difference unlikely to be chance "
                    f"(q {nf.fmt_setting(s.alpha)} or less):"
                )
            )
            blocks.append(
                Bullets(
                    [
                        statistic_sentence(
                            "odds_ratio",
                            c.odds_ratio,
                            f"cases of {students_phrase(c.dimension, c.group)}",
                            CASE_OUTCOME_PHRASES.get(c.outcome, c.outcome),
                            "other students' cases at the same level",
                        )
                        + f" (95% confidence interval {nf.fmt_interval(c.ci_low, c.ci_high)}; {p_text(c.q_value, 'q')})."
                        for c in cond
                    ]
                )
            )
            self.attention.append(
                "Some groups' cases ended in harsher consequences than others' at the same level "
                "of concern (see Equity findings)."
            )
        if not self.all_strata_published():
            blocks.append(
                Paragraph(
                    "Some comparisons of like with like (cases at the same level of concern) are not published: they "
                    "pool counts of each group at each level, and small ones among them are hidden to protect "
                    "students (a ratio over a hidden count would give it back). The district team has them."
                )
            )
        rows = []
        for outcome in OUTCOME_PHRASES:
            parts = [
                f"{DIMENSION_LABELS[dim]}: " + ", ".join(group_label(dim, g) for g in small)
                for dim in DIMENSIONS
                if (small := d.too_small.get((outcome, dim)))
            ]
            if parts:
                rows.append([OUTCOME_LABELS[outcome], "; ".join(parts)])
        if rows:
            blocks.append(
                Table(
                    ["Outcome", "Groups too small to report"],
                    rows,
                    "Groups not compared: too few students, or figures hidden to protect a small group",
                    [
                        "Groups with fewer than 10 students with the outcome, fewer than 30 students, or "
                        "figures hidden by small-number protection are not compared."
                    ],
                    [1.2, 3.8],
                )
            )
        return Section("equity", "Equity findings", blocks)

    def trend_table(self) -> Table:
        """Each flagged ratio in every trend year, as that year's report publishes it, beside the state's."""
        d = self.d
        state_years = sorted({y for t in d.trends for y, *_ in t.state})

        def ratio(value: float, low: float | None, high: float | None) -> str:
            shown = nf.fmt_ratio(value, decimals=1)
            return f"{shown} ({nf.fmt_interval(low, high)})" if low is not None and high is not None else shown

        rows = []
        for t in d.trends:
            row = [f"{group_label(t.dimension, t.group)}: {first_lower(OUTCOME_LABELS[t.outcome])}"]
            for _, f in t.years:
                row.append(
                    "not published"
                    if f is None
                    else ratio(f.risk_ratio, f.ci_low, f.ci_high) + (", flagged" if f.flagged else "")
                )
            state = {y: (v, lo, hi) for y, v, lo, hi in t.state}
            row += [ratio(*state[y]) if y in state else "no state figure" for y in state_years]
            rows.append(row)
        notes = [
            "Each year's ratio (95% confidence interval) is the one that year's report publishes; 'not published' "
            "means too few students or a figure hidden to protect a small group that year."
        ]
        if state_years:
            notes.append(
                f"State ratios are the state's own groups against its other students, from the state reference data "
                f"of {', '.join(state_years)} (public counts); they describe those years, not this report's."
            )
        else:
            notes.append("No state reference data is loaded, so the state's ratios are not shown.")
        columns = ["Flagged group and outcome", *d.trend_years, *(f"State {y} (reference)" for y in state_years)]
        return Table(
            columns,
            rows,
            f"Flagged ratios over the years, {d.trend_years[0]} to {d.trend_years[-1]}, beside the state's",
            notes,
            [2.0] + [1.0] * (len(columns) - 1),
        )

    def conditional_published(self, outcome: str, dimension: str, group: str) -> bool:
        """Every count the same-level odds ratio pools is published: the group's and all cases' at each level."""
        table = self.d.release.tables.get(f"outcome_{outcome}_{dimension}")
        return strata_published(table, dimension, group, outcome)

    def all_strata_published(self) -> bool:
        """Independent of the findings (so its sentence says nothing about them): every outcome x dimension's
        table of counts by group and level is in the release with no hidden cell."""
        for outcome in CASE_OUTCOME_PHRASES:
            for dimension in DIMENSIONS:
                table = self.d.release.tables.get(f"outcome_{outcome}_{dimension}")
                if table is None or not all(
                    table.published[c].null_count() == 0 for c in table.published.columns if c not in table.dimensions
                ):
                    return False
        return True

    # how we compare (CRDC) ---------------------------------------------------------------------------------
    def compare(self) -> Section:
        """The district's rates by race beside its state's and similar districts' (public CRDC counts)."""
        d, view = self.d, self.d.benchmarks
        title = "How we compare"
        if view is None:
            return Section(
                "compare",
                title,
                [
                    Paragraph(
                        "No federal Civil Rights Data Collection (CRDC) figures are loaded, so this report does not compare "
                        "the district with its state or with similar districts."
                    )
                ],
            )
        crdc, lag = view.crdc_year, view.lag_years(self.year)
        blocks: list = [
            Paragraph(
                f"The state's and similar districts' rates come from the federal Civil Rights Data Collection (CRDC) "
                f"of {crdc}, the latest loaded. CRDC is published years after the school year it covers, so these "
                f"figures describe {crdc}"
                + (
                    f", {words(lag)} school year{'s' if lag != 1 else ''} before this report's {self.year} figures."
                    if lag > 0
                    else "."
                )
                + " They are public counts for whole districts, not this district's student records."
            )
        ]
        if view.has_peers:
            blocks.append(
                Paragraph(
                    f"Similar districts (CRDC {crdc}, {words(view.peer_count)} peer districts): "
                    f"{view.peer_rule}. Their students are pooled, so larger districts count more."
                )
            )
        else:
            why = {
                "no_district": "the district's federal (NCES) district id is not recorded",
                "district_not_in_crdc": f"the recorded district id is not among the CRDC {crdc} schools",
                "no_peers": "too few districts of the state match the peer rule",
            }.get(view.status, "")
            blocks.append(Paragraph(f"Similar districts are not shown: {why}. The state's rates are."))
        for outcome in (
            o for o in ("iss", "oss_or_expulsion", "law_enforcement") if d.has_table(f"disp_{o}_race_ethnicity")
        ):
            table = self.compare_table(outcome, view)
            if table is not None:
                blocks.append(table)
        return Section("compare", title, blocks)

    def compare_table(self, outcome: str, view) -> Table | None:
        d, name, crdc = self.d, f"disp_{outcome}_race_ethnicity", view.crdc_year
        state = {
            r["race_ethnicity"]: r
            for r in view.state_rates.filter(
                (view.state_rates["outcome"] == outcome) & (view.state_rates["n"] > 0)
            ).iter_rows(named=True)
        }
        peers = (
            {}
            if not view.has_peers
            else {
                r["race_ethnicity"]: r
                for r in view.peers.filter((view.peers["outcome"] == outcome) & (view.peers["n"] > 0)).iter_rows(
                    named=True
                )
            }
        )
        if not state:
            return None
        groups = [g for g in d.release.tables[name].display["race_ethnicity"].to_list() if g != TOTAL]
        groups += sorted(g for g in state if g not in groups)
        rows = []
        for g in groups:
            shown = g in d.release.tables[name].display["race_ethnicity"].to_list()
            n = d.value(name, "enrolled", race_ethnicity=g) if shown else None
            k = d.value(name, outcome, race_ethnicity=g) if shown else None
            if shown and n == 0 and g not in state:
                continue
            own = pct(k / n, 1) if n and k is not None else ("no students" if n == 0 else "hidden")
            row = [
                group_label("race_ethnicity", g),
                d.display(name, "enrolled", race_ethnicity=g) if shown else "none enrolled",
                d.display(name, outcome, race_ethnicity=g) if shown else "none",
                own,
                pct(state[g]["risk"], 1) if g in state else "no students",
            ]
            if view.has_peers:
                row.append(pct(peers[g]["risk"], 1) if g in peers else "no students")
            rows.append(row)
        columns = [
            "Group",
            f"Enrolled {self.year}",
            "With the outcome",
            f"District rate {self.year}",
            f"{view.state} {crdc}",
        ] + ([f"Similar districts {crdc}"] if view.has_peers else [])
        notes = [
            "District figures are this report's published counts; 'hidden' means a count behind the rate is "
            "protected as a small number."
        ]
        exact = view.state_rates.filter(view.state_rates["outcome"] == outcome)["exact"].all()
        if not exact:
            notes.append(
                "CRDC counts this outcome as the sum of several actions, so a student with more than one is "
                "counted more than once: the state and similar-district rates are upper bounds."
            )
        return Table(
            columns,
            rows,
            f"{OUTCOME_LABELS[outcome]}: district {self.year} beside {view.state} and similar districts, CRDC {crdc}",
            notes,
            [1.6, 1, 1, 1, 1, 1][: len(columns)],
        )

    # audit --------------------------------------------------------------------------------------------------
    def audit(self) -> Section:
        d = self.d
        s = d.metric_settings
        rows = []
        for key in AUDIT_TABLE_INDICATORS:
            ind = INDICATORS_BY_KEY[key]
            den_text, den = d.audit_cell(key, "den")
            num = d.audit_cell(key, "num")[1]
            label = indicator_label(ind, s)
            target = s.audit_targets[key]
            higher = ind.direction == "higher_is_better"
            # the cases short of practice (higher is better) or with the outcome: from published counts only
            cnt = None if den is None or num is None else (den - num if higher else num)
            if den is None or cnt is None or not den:
                status = AUDIT_STATUS_LABELS["not_applicable"] if den == 0 else "hidden (small numbers)"
                if den is not None and 0 < den < s.audit_min_denominator:
                    status = AUDIT_STATUS_LABELS["too_few"]
                rows.append(
                    [
                        label,
                        den_text,
                        "hidden" if den else "n/a",
                        f"{'at least' if higher else 'at most'} {pct(target)}",
                        status,
                    ]
                )
                continue
            value = (den - cnt) / den if higher else cnt / den
            status = self.audit_status(value, target, higher, den)
            rows.append(
                [label, den_text, pct(value, 1), f"{'at least' if higher else 'at most'} {pct(target)}", status]
            )
        for extra in self.derived_audit_rows():
            rows.append(extra)
        blocks = [
            Paragraph(
                "The scorecard checks the team's own process against national BTAM practice (NASP): who is on the "
                "team, whether levels and plans are written down, whether cases are monitored, and whether exclusion "
                "and law enforcement are kept for the cases that need them. Targets are the district's settings."
            ),
            Table(
                ["Practice", "Cases", "This year", "Target", "Status"],
                rows,
                f"Process-audit scorecard, {self.year}",
                [
                    "Status is shown only when the published numbers decide it. 'Too few cases' means fewer than "
                    f"{s.audit_min_denominator} cases."
                ],
                [3, 0.8, 0.9, 1.1, 1.1],
            ),
        ]
        off = [r[0] for r in rows if r[4] == AUDIT_STATUS_LABELS["off_target"]]
        if off:
            self.attention.append("Process practices off target: " + "; ".join(off) + ".")
        return Section("audit", "Process-audit scorecard", blocks)

    def audit_status(self, value: float, target: float, higher: bool, den: int) -> str:
        if den < self.d.metric_settings.audit_min_denominator:
            return AUDIT_STATUS_LABELS["too_few"]
        good = value >= target - 1e-12 if higher else value <= target + 1e-12
        return AUDIT_STATUS_LABELS["on_target" if good else "off_target"]

    def derived_audit_rows(self) -> list[list[str]]:
        """Indicators that are sums of published level cells: printed only when every part is published."""
        d = self.d
        s = d.metric_settings
        rows = []
        parts = [
            (
                d.value("concern_outcomes", "with_law_enforcement", concern_level=lv),
                d.value("concern_outcomes", "assessed_cases", concern_level=lv),
            )
            for lv in ("low", "moderate")
        ]
        label = AUDIT_LABELS["law_enforcement_low_moderate"]
        target = s.audit_targets["law_enforcement_low_moderate"]
        if all(k is not None and n is not None for k, n in parts) and sum(n for _, n in parts):
            k, n = sum(p[0] for p in parts), sum(p[1] for p in parts)
            rows.append(
                [
                    label,
                    nf.fmt_int(n),
                    pct(k / n, 1),
                    f"at most {pct(target)}",
                    self.audit_status(k / n, target, False, n),
                ]
            )
        else:
            rows.append([label, "*", "hidden", f"at most {pct(target)}", "hidden (small numbers)"])
        target = s.audit_targets["exclusion_or_placement_change"]
        levels = [
            (
                lvl,
                d.value("concern_outcomes", "with_exclusion_or_placement", concern_level=lvl),
                d.value("concern_outcomes", "assessed_cases", concern_level=lvl),
            )
            for lvl in LEVELS
        ]
        if all(k is not None and n is not None for _, k, n in levels if n != 0):
            for level, k, n in levels:
                label = AUDIT_BY_LEVEL.format(level=level)
                rows.append(
                    [
                        label,
                        d.display("concern_outcomes", "assessed_cases", concern_level=level),
                        "n/a" if not n else pct(k / n, 1),
                        f"at most {pct(target)}",
                        AUDIT_STATUS_LABELS["not_applicable"] if not n else self.audit_status(k / n, target, False, n),
                    ]
                )
            return rows
        k = d.value("concern_outcomes", "with_exclusion_or_placement", concern_level=TOTAL)
        n = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
        label = "Exclusion or placement change, all rated cases"
        if k is not None and n:
            rows.append(
                [
                    label,
                    d.display("concern_outcomes", "assessed_cases", concern_level=TOTAL),
                    pct(k / n, 1),
                    f"at most {pct(target)}",
                    self.audit_status(k / n, target, False, n),
                ]
            )
        rows.append(
            [
                AUDIT_LABELS["exclusion_or_placement_change"],
                "*",
                "hidden",
                f"at most {pct(target)}",
                "hidden (small numbers)",
            ]
        )
        return rows

    # completeness -------------------------------------------------------------------------------------------
    def completeness(self) -> Section:
        d = self.d
        rows = []
        worst = []
        for row in d.release.tables["completeness"].display.iter_rows(named=True):
            key = row["check_name"]
            den = d.value("completeness", "checked_cases", check_name=key)
            miss = d.value("completeness", "missing", check_name=key)
            complete = "n/a" if den == 0 else ("hidden" if den is None or miss is None else pct(1 - miss / den, 1))
            rows.append([COMPLETENESS_LABELS[key], row["checked_cases"], row["missing"], complete])
            if den and miss is not None and miss / den > 0.05:
                worst.append(first_lower(COMPLETENESS_LABELS[key]))
        blocks = [
            Paragraph(
                "A report is only as good as its records. These checks count how often an optional field that the "
                "analysis uses was left blank in this year's cases. Fields the data contract requires are checked when "
                "files are loaded; rows that fail are set aside, counted below, and never reach the report."
            )
        ]
        blocks.append(
            Table(
                ["Check", "Cases checked", "Missing", "Complete"],
                rows,
                f"Completeness of case records, {self.year}",
                [SUPPRESSED_NOTE],
                [3.2, 1, 0.8, 0.9],
            )
        )
        lq = d.release.tables["load_quality"].display
        total_read = d.display("load_quality", "rows_read", entity=TOTAL)
        total_q = d.display("load_quality", "rows_quarantined", entity=TOTAL)
        blocks.append(
            Paragraph(
                f"The loads behind this warehouse read {total_read} rows of district exports and set aside "
                f"{total_q} rows that broke a data rule."
                if lq.height > 1
                else "No load is recorded in this warehouse's ledger."
            )
        )
        if worst:
            self.attention.append("Records are incomplete for: " + "; ".join(worst) + ".")
        return Section("completeness", "Data completeness", blocks)

    # summary ------------------------------------------------------------------------------------------------
    def summary(self) -> Section:
        d = self.d
        happened, changed = [], []
        cases, enrolled, students = self.year_counts(self.year)
        if cases == 0:
            happened.append(
                f"No BTAM case was recorded in {self.year} as of {d.as_of.isoformat()}. The sections "
                f"below are empty for this year; earlier years are shown where they exist."
            )
        else:
            rate = per_1000(cases, enrolled)
            happened.append(
                f"Schools opened {d.year_display(self.year, 'cases')} BTAM cases"
                + (f" ({fmt_rate(rate)} students)" if rate is not None else "")
                + f"; {d.year_display(self.year, 'btam_referral')} different students were "
                "their subject."
            )
            share = self.high_share("concern_outcomes")
            if share is not None:
                happened.append(f"{pct(share)} of rated cases were high or imminent concern; most were low concern.")
            met = d.value("timeliness", "timely_met", concern_level=TOTAL) if d.has_table("timeliness") else None
            tot = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
            if met is not None and tot:
                happened.append(f"{pct(met / tot)} of rated cases had a first intervention within their target time.")
            no_support = d.value("concern_outcomes", "without_support", concern_level=TOTAL)
            lev = d.value("concern_outcomes", "assessed_cases", concern_level=TOTAL)
            if no_support is not None and lev:
                happened.append(
                    f"{pct(1 - no_support / lev)} of rated cases had a support action recorded "
                    f"(counseling, a safety plan, a parent conference and the like)."
                )
            excl = d.value("concern_outcomes", "with_exclusion_or_placement", concern_level=TOTAL)
            if excl is not None and lev:
                happened.append(
                    f"{pct(excl / lev)} of rated cases led to a suspension, expulsion or change of placement."
                )
        if self.prev:
            p_cases, p_enrolled, _ = self.year_counts(self.prev)
            rate, p_rate = per_1000(cases, enrolled), per_1000(p_cases, p_enrolled)
            if rate is not None and p_rate is not None:
                changed.append(f"The case rate is {change_words(rate, p_rate, nf.fmt_rate)}.")
            share, p_share = (
                self.high_share("concern_outcomes"),
                (
                    self.high_share(f"concern_outcomes@{self.prev}")
                    if d.has_table(f"concern_outcomes@{self.prev}")
                    else None
                ),
            )
            if share is not None and p_share is not None:
                diff = 100 * (share - p_share)
                changed.append(
                    f"High and imminent cases were {pct(share)} of rated cases, against {pct(p_share)} "
                    f"the year before" + (" (little change)." if abs(diff) < 2 else ".")
                )
        else:
            changed.append(f"The warehouse holds no data for the year before {self.year}, so no change can be shown.")
        if not changed:
            changed.append("Year-over-year changes are hidden this year to protect small numbers.")
        return Section(
            "summary",
            "Summary",
            [
                Paragraph("What happened this year"),
                Bullets(happened),
                Paragraph("What changed from last year"),
                Bullets(changed),
                Paragraph("What needs attention"),
                Bullets(self.attention or ["Nothing in this report crossed a threshold or missed a target this year."]),
            ],
            new_page=False,
        )

    def appendix(self, methodology_url: str | None = None) -> Section:
        d = self.d
        s, p = d.metric_settings, d.settings
        blocks = [
            Paragraph("Definitions"),
            Bullets(
                [
                    "BTAM case: a report of a concerning behaviour that the school's threat assessment team opened, "
                    "about a student, a staff member or someone else.",
                    "Level of concern: the team's rating after assessment (low, moderate, high, imminent). A case that "
                    "was not assessed, or not yet, has no level and is left out of the level tables.",
                    "Rate per 1,000: cases divided by students enrolled that year, times 1,000.",
                    "Timeliness: days from the report to the first recorded action of any kind. The share served "
                    "by a day is the cumulative incidence (Aalen-Johansen): a case closed without any action is "
                    "never served, and a case still open is counted until the end of the period. The medians by "
                    "level use the Kaplan-Meier method, which counts cases still waiting instead of dropping them "
                    "and treats a case closed without action as one still waiting.",
                    f"Risk ratio: a group's rate divided by the rate of all other students. Flagged when above "
                    f"{nf.fmt_ratio(s.threshold, decimals=1)} with at least {s.min_cell} students with the outcome and at least {s.min_n} "
                    f"students in the group (34 CFR 300.647). Confidence intervals are 95% intervals (Katz method).",
                    "Odds ratio within levels of concern: Mantel-Haenszel odds ratio comparing cases at the same "
                    "level, shown only when every count behind it is at least the minimum cell size.",
                    f"As-of date: {d.as_of.isoformat()}. Cases reported later, and actions dated later, are not counted.",
                ]
            ),
            Paragraph("How small numbers are protected"),
            Bullets(
                [
                    "The report is produced under the board role, which always receives suppressed figures; it shows no "
                    "student-level record and no school-level breakdown beyond school levels.",
                    f"A group of fewer than {p.min_n} students is hidden whole (*). A count below "
                    f"{p.count_threshold}, but above zero, is shown as <{p.count_threshold} and its rate is hidden.",
                    f"A count that leaves fewer than {p.count_threshold} of its group without the outcome is hidden (*), "
                    f"because it would say that nearly everyone in the group had it.",
                    "Complementary suppression: when a table's parts add to a total, a second figure is hidden so that "
                    "no hidden figure can be worked out by subtraction. All tables of this report are protected "
                    "together, as one release, and a figure hidden in one table is hidden in all of them.",
                    "After suppression, the software attacks its own output with integer programming and hides more "
                    "until no hidden figure can be narrowed beyond what its label says.",
                    f"Rates of groups under {p.coding_max_n} are shown as a range at the extremes "
                    f"(<={nf.fmt_setting(p.bottom_code_pct)}% or >={nf.fmt_setting(p.top_code_pct)}%).",
                    "Ratios, intervals and medians are shown only when the counts they come from are published.",
                    "Breakdowns by race and disability together (intersections) and by school are left to the "
                    "dashboard's restricted views, because publishing them would hide most figures here.",
                ]
            ),
            Paragraph(
                "The full methods, formulas and sources are in the methodology document shipped with the "
                "dashboard (docs/METHODOLOGY.md); the privacy rules are in docs/PRIVACY.md."
                + (f" Online: {methodology_url}" if methodology_url else "")
            ),
        ]
        if d.synthetic:
            blocks.append(
                Paragraph(
                    "This report was produced from SYNTHETIC demonstration data. No real student, "
                    "school or case is described."
                )
            )
        return Section("appendix", "Methodology and privacy appendix", blocks)


def build_content(data: ReportData, methodology_url: str | None = None) -> ReportContent:
    """The report's sections, in reading order; the summary is written last from what the others found."""
    w = _Writer(data)
    body = [w.volume(), w.concern(), w.timeliness(), w.outcomes(), w.equity(), w.compare(), w.audit(), w.completeness()]
    summary = w.summary()
    for section in body[1:]:
        section.new_page = False
    sections = [summary, *body, w.appendix(methodology_url)]
    return ReportContent(
        f"BTAM annual summary for the board, {data.school_year}",
        data.district_name,
        data.school_year,
        data.as_of.isoformat(),
        data.synthetic,
        sections,
    )
