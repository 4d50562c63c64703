"""What a board member sees for one school year, read as the attacker reads it, and the program it gives.

Every board page is run in AppTest; its tables, metrics, sentences and the plotly figures' data and hover
values are read by label (the school, level, month, indicator a number stands for), never through our
release objects. Each number becomes a constraint on a named count ("L|2024-25|Lakeside Middle School|High"
is that school's assessed cases rated high). The domain knowledge the attacker brings is what a reader of
the pages' own explanations knows: schools add to all schools, levels add to the assessed cases, months and
report sources add to all cases, an audit denominator such as "cases assessed low or moderate" is the sum
of those levels (docs/METHODOLOGY.md, shown on the Process audit page).

The true counts come from the same pages seen by the district role (exact figures in the same layout), so
the truth needs no code of ours either; a hidden cell is one the board sees as `<10` or `*`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.attacker.numbers import Shown, numbers_in, parse_count, parse_decimal, parse_share
from tests.attacker.program import Program

ALL = "All chosen schools"
LEVELS = ("Low", "Moderate", "High", "Imminent")
HIDDEN_MARKS = ("<10", "*")
FOLLOWED, SERVED_OF_THEM, SHARE_OF_THEM = (
    "Followed 30 days (cases)",
    "Of them served within 30 days",
    "Share of them served within 30 days",
)
PRECISE = 1e-6  # a chart's full-precision value: an interval this wide around it


def precise(value: float) -> Shown:
    return Shown(value - PRECISE * max(1.0, abs(value)), value + PRECISE * max(1.0, abs(value)), exact=False)


def level_of(text: str) -> str | None:
    """'Low (target within 10 days)' -> 'Low'."""
    head = str(text).split(" (")[0].strip().capitalize()
    return head if head in LEVELS else None


def L(year: str, population: str, level: str) -> str:  # noqa: N802 - the notation of the docstring
    return f"L|{year}|{population}|{level}"


def assessed(year: str, population: str) -> dict[str, float]:
    return {L(year, population, lv): 1.0 for lv in LEVELS}


@dataclass
class Sight:
    """Everything one viewer's pages show, keyed by the count each number stands for."""

    counts: dict[str, str] = field(default_factory=dict)  # key -> shown text of a count
    sources: dict[str, str] = field(default_factory=dict)  # key -> where it was first seen
    figures: list[tuple[str, Any]] = field(default_factory=list)  # (source, constraint builder input)
    texts: list[str] = field(default_factory=list)  # every visible string, for the record
    export_extras: list[str] = field(default_factory=list)  # numbers of a download its page does not print
    hidden: dict[str, str] = field(default_factory=dict)  # key -> the first output that hides it
    published: dict[str, str] = field(default_factory=dict)  # key -> the first output that prints it exactly

    def count(self, key: str, text: Any, source: str) -> None:
        text = str(text).strip()
        if text in HIDDEN_MARKS:
            self.hidden.setdefault(key, source)
        elif (shown := parse_count(text)) is not None and shown.exact:
            self.published.setdefault(key, source)
        if key in self.counts and self.counts[key] != text and parse_count(self.counts[key]) is not None:
            if parse_count(text) is not None and parse_count(text) != parse_count(self.counts[key]):
                self.figures.append((source, ("conflict", key, self.counts[key], text)))
        if key not in self.counts or parse_count(self.counts[key]) is None:
            self.counts[key] = text
            self.sources.setdefault(key, source)
        self.figures.append((source, ("count", {key: 1.0}, text)))

    def share(self, num: dict[str, float], den: dict[str, float], shown: Shown | None, source: str) -> None:
        if shown is not None:
            self.figures.append((source, ("share", num, den, shown)))

    def total(self, terms: dict[str, float], text: Any, source: str) -> None:
        self.figures.append((source, ("count", terms, str(text).strip())))

    def relation(self, parts: dict[str, float], total: dict[str, float], source: str, *, at_most: bool = False) -> None:
        """sum(parts) == sum(total) (or <= with at_most)."""
        self.figures.append((source, ("relation", parts, total, at_most)))


# ---------------------------------------------------------------------- AppTest access


@dataclass
class Page:
    """One page as shown: its tables (as text), plotly figures, sentences and metrics (label -> value, help)."""

    frames: list[Any]
    charts: list[dict]
    sentences: list[str]
    metrics: dict[str, tuple[str, str]]
    choices: dict[str, str] = field(default_factory=dict)  # selectbox key -> chosen value

    @classmethod
    def of(cls, at) -> Page:
        said = []
        for kind in ("title", "subheader", "markdown", "caption", "info", "warning", "success", "error"):
            said += [str(e.value) for e in getattr(at, kind)]
        return cls(
            frames=[d.value.astype(str) for d in at.dataframe],
            charts=[json.loads(c.proto.spec) for c in at.get("plotly_chart")],
            sentences=said,
            metrics={m.label: (str(m.value), str(m.proto.help)) for m in at.metric},
            choices={str(b.key): str(b.value) for b in at.selectbox if b.key},
        )

    def frame_with(self, *columns: str) -> Iterable[Any]:
        for frame in self.frames:
            if all(c in frame.columns for c in columns):
                yield frame


class Downloads:
    """The files of every download button, caught from AppTest's in-memory media store while a page runs:
    `with Downloads() as files: at.run()`, then `files.csv(at)` -> [(label, text)]."""

    def __enter__(self) -> Downloads:
        from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
        from streamlit.testing.v1 import app_test

        stores: list[MemoryMediaFileStorage] = []
        self._stores, self._module, self._original = stores, app_test, app_test.MemoryMediaFileStorage

        class Recording(MemoryMediaFileStorage):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                stores.append(self)

        app_test.MemoryMediaFileStorage = Recording  # type: ignore[misc]
        return self

    def __exit__(self, *exc: object) -> None:
        self._module.MemoryMediaFileStorage = self._original  # type: ignore[misc]

    def csv(self, at) -> list[tuple[str, str]]:
        out = []
        for button in at.get("download_button"):
            name = button.proto.url.rsplit("/", 1)[-1]
            for store in reversed(self._stores):
                try:
                    file = store.get_file(name)
                except Exception:  # noqa: BLE001 - another run's store
                    continue
                if file.mimetype.startswith("text/csv"):
                    out.append((button.proto.label, file.content.decode("utf-8-sig")))
                break
        return out


def unexplained_numbers(csv_text: str, shown: Iterable[str]) -> list[str]:
    """Numbers of a downloaded CSV that the page does not print anywhere (an export may repeat a page, not add)."""
    printed = {n.value for text in shown for n in numbers_in(text)}
    printed |= {round(n.value, 6) for text in shown for n in numbers_in(text)}
    import csv
    import io

    extra = []
    for row in list(csv.reader(io.StringIO(csv_text)))[1:]:
        for number in (n for value in row for n in numbers_in(value)):
            if number.value not in printed and round(number.value, 6) not in printed:
                extra.append(f"{number.value:g} in '{','.join(row)[:80]}'")
    return extra


# ---------------------------------------------------------------------- the pages


def read_overview(at: Page, year: str, seen: Sight) -> None:
    src = "Overview"
    shown = at.metrics
    if "BTAM cases" in shown:
        seen.count(f"C|{year}|{ALL}", shown["BTAM cases"][0], f"{src}: metric BTAM cases")
    if "Cases per 1,000 students" in shown:
        value, help_text = shown["Cases per 1,000 students"]
        enrolled = re.search(r"\(([\d,]+) enrolled\)", help_text)
        if enrolled and re.fullmatch(r"[\d.]+", value):
            seen.count(f"E|{year}|{ALL}", enrolled.group(1), f"{src}: metric help (students enrolled)")
            rate = parse_decimal(value)
            seen.share({f"C|{year}|{ALL}": 1000.0}, {f"E|{year}|{ALL}": 1.0}, rate, f"{src}: metric cases per 1,000")
    if "Share rated high or imminent" in shown:
        high = {L(year, ALL, "High"): 1.0, L(year, ALL, "Imminent"): 1.0}
        seen.share(high, assessed(year, ALL), parse_share(shown["Share rated high or imminent"][0]), f"{src}: metric")
    for text in at.sentences:
        audit = re.search(r"e\.g\. (.+?) \((\d+(?:\.\d+)?%) against a target", text)
        if audit:
            name = audit.group(1).strip().lower()
            seen.share(
                {f"AN|{year}|{name}": 1.0}, {f"AD|{year}|{name}": 1.0}, parse_share(audit.group(2)), f"{src}: {text}"
            )
    for frame in at.frame_with("School year", "Level of concern", "Assessed cases"):
        for row in frame.to_dict("records"):
            lv = level_of(row["Level of concern"])
            if lv:
                seen.count(L(row["School year"], ALL, lv), row["Assessed cases"], f"{src}: levels table")


def read_case_volumes(at: Page, year: str, seen: Sight) -> None:
    src = "Case volumes"
    total = f"C|{year}|{ALL}"
    for text in at.sentences:
        said = re.search(r"\*\*([\d,]+) cases\*\* were reported in (\d{4}-\d{2}), \*\*([\d.]+) per 1,000", text)
        if said and said.group(2) == year:
            seen.count(total, said.group(1), f"{src}: headline sentence")
    for frame in at.frame_with("Month", "Cases"):
        months = {}
        for row in frame.to_dict("records"):
            key = f"CM|{row['School year']}|{row['Month']}"
            seen.count(key, row["Cases"], f"{src}: monthly table")
            months[key] = 1.0
        seen.relation(months, {total: 1.0}, f"{src}: months add to the year's cases")
    for frame in at.frame_with("School", "Cases", "Students enrolled"):
        schools = {}
        for row in frame.to_dict("records"):
            key, enrol = f"C|{year}|{row['School']}", f"E|{year}|{row['School']}"
            seen.count(key, row["Cases"], f"{src}: cases by school")
            seen.count(enrol, row["Students enrolled"], f"{src}: students enrolled")
            schools[key] = 1.0
            rate = row.get("Cases per 1,000")
            if rate and re.fullmatch(r"[\d.]+", rate):
                seen.share({key: 1000.0}, {enrol: 1.0}, parse_decimal(rate), f"{src}: rate of {row['School']}")
        seen.relation(schools, {total: 1.0}, f"{src}: schools add to the year's cases")
        for spec in at.charts:
            for trace in spec["data"]:
                if trace.get("orientation") == "h" and "per 1,000" in json.dumps(spec["layout"].get("title")):
                    for name, x, text in zip(trace["y"], trace["x"], trace.get("text", []), strict=False):
                        if x is not None and text not in HIDDEN_MARKS and f"C|{year}|{name}" in schools:
                            seen.share(
                                {f"C|{year}|{name}": 1000.0},
                                {f"E|{year}|{name}": 1.0},
                                precise(float(x)),
                                f"{src}: rate chart value of {name}",
                            )
        for text in at.sentences:
            said = re.search(r"\*\*[\d,]+ cases\*\* were reported in (\d{4}-\d{2}), \*\*([\d.]+) per 1,000", text)
            if said and said.group(1) == year:
                rate = parse_decimal(said.group(2))
                seen.share({total: 1000.0}, {f"E|{year}|{ALL}": 1.0}, rate, f"{src}: headline rate")
    for frame in at.frame_with("Category", "Cases"):
        parts = {}
        for row in frame.to_dict("records"):
            key = f"CS|{year}|{row['Category']}"
            seen.count(key, row["Cases"], f"{src}: cases by who reported")
            parts[key] = 1.0
        seen.relation(parts, {total: 1.0}, f"{src}: report sources add to the year's cases")


def read_concern_levels(at: Page, year: str, seen: Sight) -> None:
    src = "Concern levels"
    for text in at.sentences:
        said = re.search(r"Of the assessed cases, (\d+(?:\.\d+)?%) were rated high or imminent", text)
        if said:
            high = {L(year, ALL, "High"): 1.0, L(year, ALL, "Imminent"): 1.0}
            seen.share(high, assessed(year, ALL), parse_share(said.group(1)), f"{src}: {said.group(0)}")
        test = re.search(r"\(p = [\d.]+, .*?, ([\d,]+) cases\)", text)
        if test and "across schools" in text:
            seen.total(assessed(year, ALL), test.group(1), f"{src}: cases of the test of independence")
    schools: set[str] = set()
    dimension = at.choices.get("levels_dimension", "school")
    groups: set[str] = set()
    for frame in at.frames:
        if "Level of concern" not in frame.columns or "Assessed cases" not in frame.columns:
            continue
        population = frame.columns[0]
        for row in frame.to_dict("records"):
            lv, pop = level_of(row["Level of concern"]), row[population]
            if not lv:
                continue
            if population not in ("School", "Population"):
                pop = f"{dimension}={pop}"
                groups.add(pop)
            if population == "School":
                schools.add(pop)
            seen.count(L(year, pop, lv), row["Assessed cases"], f"{src}: levels table ({pop})")
            share = row.get("Share of the group's assessed cases", "–")
            if re.fullmatch(r"\d+(?:\.\d+)?", share):
                seen.share({L(year, pop, lv): 1.0}, assessed(year, pop), parse_decimal(share), f"{src}: share column")
    for spec in at.charts:
        for trace in spec["data"]:
            lv = level_of(trace.get("name", ""))
            if not lv or "customdata" not in trace:
                continue
            for pop, x in zip(trace["y"], trace["x"], strict=False):
                if pop != ALL and pop not in schools and dimension != "school":
                    pop = f"{dimension}={pop}"
                if x is not None:
                    seen.share({L(year, pop, lv): 1.0}, assessed(year, pop), precise(float(x)), f"{src}: bar of {pop}")
    for lv in LEVELS:
        if groups:  # cases about students of each group: at most all assessed cases (staff cases have no group)
            seen.relation(
                {L(year, g, lv): 1.0 for g in groups},
                {L(year, ALL, lv): 1.0},
                f"{src}: groups within all",
                at_most=True,
            )
        if schools:
            seen.relation({L(year, s, lv): 1.0 for s in schools}, {L(year, ALL, lv): 1.0}, f"{src}: schools add to all")


def read_time_to_intervention(at: Page, year: str, seen: Sight) -> None:
    src = "Time to intervention"
    for frame in at.frame_with("Level of concern", "Met", "Missed"):
        for row in frame.to_dict("records"):
            lv = level_of(row["Level of concern"])
            if not lv:
                continue
            met, missed = f"MET|{year}|{lv}", f"MISS|{year}|{lv}"
            seen.count(met, row["Met"], f"{src}: met")
            seen.count(missed, row["Missed"], f"{src}: missed")
            seen.relation({met: 1.0, missed: 1.0}, {L(year, ALL, lv): 1.0}, f"{src}: met and missed", at_most=True)
            share = row.get("Share met", "–")
            if re.fullmatch(r"\d+(?:\.\d+)?", share):
                seen.share({met: 1.0}, {met: 1.0, missed: 1.0}, parse_decimal(share), f"{src}: share met ({lv})")
    # The cases followed 30 days and those of them served within 30 days, by the chosen grouping: the groups
    # add up to all of them, a level's followed cases are at most its assessed cases, the served at most the
    # followed; the share (table and bars) is served / followed.
    dim = at.choices.get("tti_dimension", "concern_level")
    everyone = ("All assessed cases", "All student cases")
    for frame in at.frame_with("Group", FOLLOWED, SERVED_OF_THEM):
        groups: list[tuple[str, str]] = []
        for row in frame.to_dict("records"):
            group = "ALL" if row["Group"] in everyone else str(row["Group"])
            fol, srv = f"FOL|{year}|{dim}|{group}", f"SRV|{year}|{dim}|{group}"
            seen.count(fol, row[FOLLOWED], f"{src}: followed 30 days")
            seen.count(srv, row[SERVED_OF_THEM], f"{src}: served within 30 days")
            seen.relation({srv: 1.0}, {fol: 1.0}, f"{src}: served of the followed", at_most=True)
            if dim == "concern_level" and (lv := level_of(row["Group"])):
                seen.relation({fol: 1.0}, {L(year, ALL, lv): 1.0}, f"{src}: followed of assessed", at_most=True)
            share = str(row.get(SHARE_OF_THEM, "–"))
            if re.fullmatch(r"\d+(?:\.\d+)?", share):
                seen.share({srv: 1.0}, {fol: 1.0}, parse_decimal(share), f"{src}: share served in 30 days")
            if group != "ALL":
                groups.append((fol, srv))
        if any(row["Group"] in everyone for row in frame.to_dict("records")):
            for i in (0, 1):
                seen.relation(
                    {g[i]: 1.0 for g in groups},
                    {f"{('FOL', 'SRV')[i]}|{year}|{dim}|ALL": 1.0},
                    f"{src}: groups add to all",
                )
    for spec in at.charts:
        for trace in spec["data"]:
            title = json.dumps(spec["layout"].get("title"))
            if trace.get("type") == "bar" and "within 30 days, by" in title:
                for name, x in zip(trace["y"], trace["x"], strict=False):
                    group = str(name)
                    fol, srv = f"FOL|{year}|{dim}|{group}", f"SRV|{year}|{dim}|{group}"
                    if x is not None:
                        seen.share({srv: 1.0}, {fol: 1.0}, precise(float(x)), f"{src}: served bar ({group})")
            if trace.get("type") == "bar" and "within the target" in json.dumps(spec["layout"].get("title")):
                for name, y, text in zip(trace["x"], trace["y"], trace.get("text", []), strict=False):
                    lv = level_of(name)
                    if lv and y is not None and text not in HIDDEN_MARKS:
                        met, missed = f"MET|{year}|{lv}", f"MISS|{year}|{lv}"
                        seen.share({met: 1.0}, {met: 1.0, missed: 1.0}, precise(float(y)), f"{src}: bar ({lv})")


# The audit denominators a reader of the Process audit page's method table can write as level sums.
LOWER_IS_BETTER = ("law enforcement", "exclusion", "suspended")


def audit_denominator(year: str, indicator: str) -> tuple[dict[str, float], bool] | None:
    """(the levels whose assessed cases make the denominator, whether it is only an upper bound)."""
    name = indicator.lower()
    if name.startswith("assessment team"):
        return assessed(year, ALL), False
    if "moderate concern and above" in name:
        terms = {L(year, ALL, lv): 1.0 for lv in ("Moderate", "High", "Imminent")}
        return terms, name.startswith("monitoring review")
    if "low or moderate" in name:
        return {L(year, ALL, lv): 1.0 for lv in ("Low", "Moderate")}, False
    level = re.search(r"by level of concern \((\w+)\)", name)
    if level:
        return {L(year, ALL, level.group(1).capitalize()): 1.0}, False
    return None


def read_process_audit(at: Page, year: str, seen: Sight) -> None:
    src = "Process audit"
    for frame in at.frame_with("Indicator", "Numerator", "Denominator"):
        for row in frame.to_dict("records"):
            name = row["Indicator"].strip().lower()
            num, den = f"AN|{year}|{name}", f"AD|{year}|{name}"
            seen.count(num, row["Numerator"], f"{src}: numerator of {row['Indicator']}")
            seen.count(den, row["Denominator"], f"{src}: denominator of {row['Indicator']}")
            seen.relation({num: 1.0}, {den: 1.0}, f"{src}: numerator within denominator", at_most=True)
            share = row.get("Share", "–")
            if re.fullmatch(r"\d+(?:\.\d+)?", share):
                seen.share({num: 1.0}, {den: 1.0}, parse_decimal(share), f"{src}: share of {row['Indicator']}")
            levels = audit_denominator(year, name)
            if levels:
                seen.relation({den: 1.0}, levels[0], f"{src}: denominator of {row['Indicator']}", at_most=levels[1])
            if name.startswith("level of concern recorded"):
                seen.relation(assessed(year, ALL), {num: 1.0}, f"{src}: {row['Indicator']}")
            status, target = row.get("Status", ""), row.get("Target", "")
            if re.fullmatch(r"\d+(?:\.\d+)?", target) and ("on target" in status or "off target" in status):
                t = float(target)
                lower = any(word in name for word in LOWER_IS_BETTER)
                below = ("on target" in status) == lower  # share <= target
                shown = Shown(0.0, t, False) if below else Shown(t, 1.0, False)
                seen.share({num: 1.0}, {den: 1.0}, shown, f"{src}: status of {row['Indicator']}")
            if "too few" in status:
                seen.figures.append((f"{src}: too few ({row['Indicator']})", ("range", {den: 1.0}, 1, 9)))
    for spec in at.charts:
        for trace in spec["data"]:
            if trace.get("name") in (None, "target") or "x" not in trace:
                continue
            for name, x in zip(trace["y"], trace["x"], strict=False):
                key = name.strip().lower()
                if x is not None:
                    seen.share(
                        {f"AN|{year}|{key}": 1.0}, {f"AD|{year}|{key}": 1.0}, precise(float(x)), f"{src}: chart {name}"
                    )


def read_discipline_outcomes(at: Page, year: str, seen: Sight) -> None:
    src = "Discipline outcomes"
    for text in at.sentences:
        said = re.search(r"\*\*([\d,]+|<10|\*)\*\* students with a BTAM case \((\d+(?:\.\d+)?%)\)", text)
        if said:
            name = "students suspended while their bTAM case was open".lower()
            seen.count(f"AN|{year}|{name}", said.group(1), f"{src}: suspended while open")
            seen.share(
                {f"AN|{year}|{name}": 1.0}, {f"AD|{year}|{name}": 1.0}, parse_share(said.group(2)), f"{src}: {text}"
            )
    for frame in at.frame_with("Group", "Level of concern", "Assessed cases", "With the outcome"):
        for row in frame.to_dict("records"):
            lv = level_of(row["Level of concern"])
            view = f"{at.choices.get('discipline_outcome', '')}|{at.choices.get('discipline_dimension', '')}"
            n, k = f"DN|{year}|{view}|{row['Group']}|{lv}", f"DK|{year}|{view}|{row['Group']}|{lv}"
            seen.count(n, row["Assessed cases"], f"{src}: assessed cases of {row['Group']}")
            seen.count(k, row["With the outcome"], f"{src}: with the outcome, {row['Group']}")
            seen.relation({k: 1.0}, {n: 1.0}, f"{src}: with the outcome within its cases", at_most=True)
            share = row.get("Share", "–")
            if re.fullmatch(r"\d+(?:\.\d+)?%?", share):
                got = parse_share(share) if share.endswith("%") else parse_decimal(share)
                seen.share({k: 1.0}, {n: 1.0}, got, f"{src}: share of {row['Group']}")


def read_equity(at: Page, year: str, seen: Sight) -> None:
    """The risk table of the chosen outcome and student groups: sizes, counts, risks and the comparison's risk
    (all other students: the groups' totals minus the group, both unknown to the attacker unless printed)."""
    outcome = at.choices.get("equity_outcome", "")
    dimension = at.choices.get("equity_dimension", "")
    if at.choices.get("equity_reference", "__all_others__") != "__all_others__":
        return
    src = f"Equity ({outcome} by {dimension})"
    total_n, total_k = f"EN|{year}|{outcome}|{dimension}|all", f"EK|{year}|{outcome}|{dimension}|all"
    for frame in at.frame_with("Group", "Students", "With the outcome"):
        ns, ks = {}, {}
        for row in frame.to_dict("records"):
            group = row["Group"]
            n, k = f"EN|{year}|{outcome}|{dimension}|{group}", f"EK|{year}|{outcome}|{dimension}|{group}"
            seen.count(n, row["Students"], f"{src}: students of {group}")
            seen.count(k, row["With the outcome"], f"{src}: with the outcome, {group}")
            seen.relation({k: 1.0}, {n: 1.0}, f"{src}: with the outcome within the group", at_most=True)
            ns[n], ks[k] = 1.0, 1.0
            risk, other = row.get("Risk", "nan"), row.get("Comparison risk", "nan")
            if re.fullmatch(r"\d+(?:\.\d+)?", risk):
                seen.share({k: 1.0}, {n: 1.0}, parse_decimal(risk), f"{src}: risk of {group}")
            if re.fullmatch(r"\d+(?:\.\d+)?", other):
                seen.share(
                    {total_k: 1.0, k: -1.0},
                    {total_n: 1.0, n: -1.0},
                    parse_decimal(other),
                    f"{src}: comparison of {group}",
                )
        seen.relation(ns, {total_n: 1.0}, f"{src}: groups add to all students")
        seen.relation(ks, {total_k: 1.0}, f"{src}: groups add to all with the outcome")


READERS = {
    "overview": read_overview,
    "case_volumes": read_case_volumes,
    "concern_levels": read_concern_levels,
    "time_to_intervention": read_time_to_intervention,
    "process_audit": read_process_audit,
    "discipline_outcomes": read_discipline_outcomes,
    "equity": read_equity,
}

# The choices each page offers (selectbox keys): every combination is read, not only the default view.
VIEWS = {
    "concern_levels": ("levels_dimension",),
    "equity": ("equity_outcome", "equity_dimension"),
    "discipline_outcomes": ("discipline_outcome", "discipline_dimension"),
    "time_to_intervention": ("tti_dimension",),
}


def read_page(at: Page, page: str, year: str, seen: Sight, downloads: Iterable[tuple[str, str]] = ()) -> None:
    """Read one page into `seen`; each downloaded CSV may only repeat numbers the page prints."""
    texts = at.sentences + [f"{label}: {value} ({help_text})" for label, (value, help_text) in at.metrics.items()]
    for frame in at.frames:
        texts += [" | ".join(map(str, row)) for row in frame.itertuples(index=False)]
    for spec in at.charts:
        texts.append(json.dumps(spec["data"]))
    seen.texts += texts
    for label, csv_text in downloads:
        seen.export_extras += [f"{page}, {label}: {extra}" for extra in unexplained_numbers(csv_text, texts)]
    READERS[page](at, year, seen)


def option_values(box) -> list[Any]:
    """The values behind a selectbox's shown labels. AppTest's select_index passes the label itself through the
    page's format function, which breaks for label lookups (`LABELS.get`), so the values are found by formatting
    every known code (the dashboard's outcome and group codes) with the widget's own format function."""
    from ui import page_data

    fmt = box.format_func
    known = [*page_data.DIMENSION_LABELS, *page_data.OUTCOME_LABELS, "school"]
    values = []
    for label in box.options:
        for code in known:
            try:
                if str(fmt(code)) == label:
                    values.append(code)
                    break
            except (KeyError, TypeError):
                continue
        else:
            raise AssertionError(f"no value behind the option {label!r} of {box.key}")
    return values


def read_every_view(open_page: Callable[..., Any], page: str, year: str, seen: Sight, files: Downloads) -> int:
    """Read the page as opened, then under every combination of its choices (VIEWS), each combination in a fresh
    session (`open_page(**state)` opens the page with those session values); returns the views read."""
    read_page(Page.of(at := open_page()), page, year, seen, files.csv(at))
    done = 1

    def walk(keys: tuple[str, ...], preset: dict[str, Any]) -> None:
        nonlocal done
        for value in option_values(open_page(**preset).selectbox(key=keys[0])):
            if len(keys) > 1:
                walk(keys[1:], {**preset, keys[0]: value})
                continue
            at = open_page(**preset, **{keys[0]: value})  # the choice made before the page runs: one run less
            if at.exception:
                raise AssertionError(f"{page} with {keys[0]} = {value}: {at.exception}")
            for key, chosen in {**preset, keys[0]: value}.items():
                assert at.selectbox(key=key).value == chosen, f"{page}: {key} shows {at.selectbox(key=key).value}"
            read_page(Page.of(at), page, year, seen, files.csv(at))
            done += 1

    if page in VIEWS:
        walk(VIEWS[page], {})
    return done


# ---------------------------------------------------------------------- the program


def build_program(seen: Sight, *, threshold: int = 10) -> Program:
    """Every figure of `seen` as constraints; a count shown `*` gets only non-negativity."""
    program = Program()
    for source, figure in seen.figures:
        kind = figure[0]
        if kind == "count":
            program.shown_count(figure[1], parse_count(figure[2], threshold=threshold), source)
        elif kind == "share" and figure[2]:
            program.shown_share(figure[1], figure[2], figure[3], source)
        elif kind == "share":  # a scaled count over a known denominator: a plain interval
            program.add(figure[1], figure[3].low, figure[3].high, source)
        elif kind == "relation":
            terms = dict(figure[1])
            for k, v in figure[2].items():
                terms[k] = terms.get(k, 0.0) - v
            program.add(terms, -float("inf") if figure[3] else 0.0, 0.0, source)
        elif kind == "range":
            program.add(figure[1], figure[2], figure[3], source)
        elif kind == "conflict":
            raise AssertionError(f"{source}: {figure[1]} shown as {figure[2]!r} and as {figure[3]!r}")
    return program


def hidden_cells(board: Sight, district: Sight) -> tuple[list[str], dict[str, int]]:
    """Keys the board sees as `<10` or `*` whose exact count the district sees, and every key's true count."""
    truth: dict[str, int] = {}
    for key, text in district.counts.items():
        shown = parse_count(text, threshold=10**9)
        if shown is not None and shown.exact:
            truth[key] = int(shown.low)
    hidden = sorted(k for k in board.hidden if k in truth)
    return hidden, truth


def hidden_here_printed_there(seen: Sight) -> list[str]:
    """Counts one output hides and another prints exactly (one release per year means never)."""
    return [
        f"{key}: hidden by {seen.hidden[key]}, printed by {seen.published[key]}"
        for key in sorted(set(seen.hidden) & set(seen.published))
    ]


def schools_seen(seen: Sight) -> list[str]:
    """The school names the pages printed (their enrolment rows)."""
    return sorted({key.split("|")[2] for key in seen.counts if key.startswith("E|") and not key.endswith(ALL)})


def sentence_numbers(seen: Sight) -> int:
    """How many numbers the pages print at all (for the record of what was read)."""
    return sum(len(numbers_in(t)) for t in seen.texts)


# ---------------------------------------------------------------------- the board report


def report_tables(document: str) -> dict[str, list[dict[str, str]]]:
    """caption -> rows (header -> cell text) of every table of the report's HTML."""
    from html import unescape

    def clean(cell: str) -> str:
        return unescape(re.sub(r"<[^>]+>", "", cell)).strip()

    tables = {}
    for caption, body in re.findall(r"<table><caption>(.*?)</caption>(.*?)</table>", document, flags=re.S):
        header = [clean(h) for h in re.findall(r"<th[^>]*>(.*?)</th>", body, flags=re.S)]
        rows = []
        for row in re.findall(r"<tbody>.*?</tbody>", body, flags=re.S)[0:1]:
            for tr in re.findall(r"<tr>(.*?)</tr>", row, flags=re.S):
                cells = [clean(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S)]
                rows.append(dict(zip(header, cells, strict=False)))
        tables[clean(caption)] = rows
    return tables


def report_sentences(document: str) -> list[str]:
    from html import unescape

    body = re.sub(r"<(style|svg|table)\b.*?</\1>", " ", document, flags=re.S)
    return [
        unescape(re.sub(r"<[^>]+>", "", p)).strip()
        for p in re.findall(r"<(?:p|li)\b[^>]*>(.*?)</(?:p|li)>", body, flags=re.S)
    ]


def count_and_share(text: str) -> tuple[str, Shown | None]:
    """'10 (23.3%)' -> ('10', 0.2325-0.2335); '<10' -> ('<10', None)."""
    said = re.fullmatch(r"(\S+)\s*\((\d+(?:\.\d+)?%)\)", text.strip())
    return (said.group(1), parse_share(said.group(2))) if said else (text.strip(), None)


REPORT_OUTCOMES = {
    "No support recorded": "nosupport",
    "Suspension, expulsion or placement change": "excluded",
    "Law enforcement involved": "police",
}


def read_report(document: str, year: str, seen: Sight, schools: Iterable[str] = ()) -> None:
    """The board report's tables and sentences, on the same keys as the pages where the measure is the same."""
    src = "Board report"
    tables = report_tables(document)
    seen.texts += report_sentences(document)
    for caption, rows in tables.items():
        seen.texts += [" | ".join(r.values()) for r in rows]
        if caption.startswith("Case volume by school year"):
            for row in rows:
                y, total = row["School year"], f"C|{row['School year']}|{ALL}"
                seen.count(total, row["BTAM cases"], f"{src}: {caption}")
                seen.count(f"E|{y}|{ALL}", row["Students enrolled"], f"{src}: {caption}")
                seen.count(f"ST|{y}|{ALL}", row["Students with a case"], f"{src}: {caption}")
                if re.fullmatch(r"[\d.]+", row.get("Cases per 1,000", "")):
                    rate = parse_decimal(row["Cases per 1,000"])
                    seen.share({total: 1000.0}, {f"E|{y}|{ALL}": 1.0}, rate, f"{src}: rate of {y}")
        elif caption.startswith("Cases by school level"):
            for row in rows:
                level = row["School level"]
                if level == "All schools":
                    seen.count(f"C|{year}|{ALL}", row["BTAM cases"], f"{src}: {caption}")
                    continue
                key = f"CL|{year}|{level}"
                seen.count(key, row["BTAM cases"], f"{src}: {caption}")
                members = {f"C|{year}|{s}": 1.0 for s in schools if f" {level} " in f" {s} "}
                if members:
                    seen.relation(members, {key: 1.0}, f"{src}: {caption} ({level}: schools named {level})")
        elif caption.startswith("Rated cases by level of concern"):
            for row in rows:
                lv = level_of(row["Level of concern"])
                terms = {L(year, ALL, lv): 1.0} if lv else assessed(year, ALL)
                if lv:
                    seen.count(L(year, ALL, lv), row["Cases"], f"{src}: {caption}")
                else:
                    seen.total(terms, row["Cases"], f"{src}: {caption}")
                share = parse_share(row.get("Share", ""))
                if lv and share is not None:
                    seen.share(terms, assessed(year, ALL), share, f"{src}: {caption}, share {lv}")
        elif caption.startswith("What happened in rated cases"):
            for row in rows:
                lv = level_of(row["Level of concern"])
                levels = [lv] if lv else list(LEVELS)
                base = {L(year, ALL, v): 1.0 for v in levels}
                if lv:
                    seen.count(L(year, ALL, lv), row["Cases"], f"{src}: {caption}")
                else:
                    seen.total(base, row["Cases"], f"{src}: {caption}")
                for column, name in REPORT_OUTCOMES.items():
                    if column not in row:
                        continue
                    shown, share = count_and_share(row[column])
                    keys = {f"RO|{year}|{v}|{name}": 1.0 for v in levels}
                    seen.total(keys, shown, f"{src}: {caption}, {column} ({row['Level of concern']})")
                    for key in keys:
                        seen.relation(
                            {key: 1.0}, {L(year, ALL, key.split("|")[2]): 1.0}, f"{src}: within", at_most=True
                        )
                    seen.share(keys, base, share, f"{src}: {caption}, {column} share ({row['Level of concern']})")
            # The Process audit page's exclusion numerator per level is the same measure (docs/METHODOLOGY.md).
            for lv in LEVELS:
                name = f"exclusion or placement change, by level of concern ({lv.lower()})"
                seen.relation(
                    {f"RO|{year}|{lv}|excluded": 1.0}, {f"AN|{year}|{name}": 1.0}, f"{src}: same as the audit's"
                )
        elif caption.startswith("Process-audit scorecard"):
            # Every row's cases and share: the rows of the audit release are the Process audit page's own cells
            # (same indicator, same key), bounded as the page's are (monitoring review: at most the cases of
            # moderate concern and above); the rows the report derives from its level table are read against it.
            for row in rows:
                practice = row["Practice"].lower()
                share = parse_share(row.get("This year", ""))
                where = f"{src}: scorecard {row['Practice']}"
                by_level = re.fullmatch(r"exclusion or placement change, (\w+) concern", practice)
                if practice.startswith("law enforcement"):
                    low_mod = {L(year, ALL, lv): 1.0 for lv in ("Low", "Moderate")}
                    seen.total(low_mod, row["Cases"], where)
                    seen.share({f"RO|{year}|{lv}|police": 1.0 for lv in ("Low", "Moderate")}, low_mod, share, where)
                elif by_level:
                    lv = by_level.group(1).capitalize()
                    seen.count(L(year, ALL, lv), row["Cases"], where)
                    seen.share({f"RO|{year}|{lv}|excluded": 1.0}, {L(year, ALL, lv): 1.0}, share, where)
                elif practice.startswith("exclusion or placement change, all"):
                    seen.total(assessed(year, ALL), row["Cases"], where)
                    seen.share({f"RO|{year}|{lv}|excluded": 1.0 for lv in LEVELS}, assessed(year, ALL), share, where)
                elif practice != "exclusion or placement change, by level of concern":  # that row: all hidden
                    num, den = f"AN|{year}|{practice}", f"AD|{year}|{practice}"
                    seen.count(den, row["Cases"], where)
                    seen.relation({num: 1.0}, {den: 1.0}, f"{where}: numerator within denominator", at_most=True)
                    levels = audit_denominator(year, practice)
                    if levels:
                        seen.relation({den: 1.0}, levels[0], f"{where}: denominator", at_most=levels[1])
                    seen.share({num: 1.0}, {den: 1.0}, share, where)
    for text in report_sentences(document):
        served = re.search(r"(\d+) of (\d+) rated cases \((\d+%)\) had a first intervention within their target", text)
        if served:
            met = {f"MET|{year}|{lv}": 1.0 for lv in LEVELS}
            seen.total(met, served.group(1), f"{src}: {served.group(0)}")
            seen.total(assessed(year, ALL), served.group(2), f"{src}: {served.group(0)}")
        followed = re.search(
            r"Of the ([\d,]+) assessed cases reported at least 30 days before the end of the period, ([\d,]+) "
            r"\((\d+%)\) had a first intervention within 30 days",
            text,
        )
        if followed:
            fol, srv = f"FOL|{year}|concern_level|ALL", f"SRV|{year}|concern_level|ALL"
            seen.count(fol, followed.group(1), f"{src}: followed 30 days")
            seen.count(srv, followed.group(2), f"{src}: served within 30 days")
            seen.share({srv: 1.0}, {fol: 1.0}, parse_share(followed.group(3)), f"{src}: {followed.group(0)}")
        rated = re.search(r"Of the (\d+) cases rated in (\d{4}-\d{2}): (.*?)\.", text)
        if rated and rated.group(2) == year:
            seen.total(assessed(year, ALL), rated.group(1), f"{src}: {rated.group(0)}")
            for lv, pct in re.findall(r"(low|moderate|high|imminent) (\d+%)", rated.group(3)):
                seen.share(
                    {L(year, ALL, lv.capitalize()): 1.0}, assessed(year, ALL), parse_share(pct), f"{src}: {text[:60]}"
                )
        opened = re.search(r"opened ([\d,]+) BTAM cases \(([\d.]+) per 1,000 students\) about ([\d,]+) students", text)
        if opened:
            seen.total({f"C|{year}|{ALL}": 1.0}, opened.group(1), f"{src}: {opened.group(0)}")
            seen.total({f"ST|{year}|{ALL}": 1.0}, opened.group(3), f"{src}: {opened.group(0)}")


# ---------------------------------------------------------------------- the board's exports


# Audit counts of the export a reader of docs/METHODOLOGY.md writes as level sums: (levels, only an upper bound).
MODERATE_UP = ("Moderate", "High", "Imminent")
EXPORT_AUDIT_LEVELS: dict[str, tuple[tuple[str, ...], bool]] = {
    "team_composition_den": (LEVELS, False),
    "concern_level_recorded_num": (LEVELS, False),
    "written_plan_moderate_plus_den": (MODERATE_UP, False),
    "formal_monitoring_moderate_plus_den": (MODERATE_UP, False),
    "review_within_window_moderate_plus_den": (MODERATE_UP, True),
    "law_enforcement_low_moderate_den": (("Low", "Moderate"), False),
    **{f"exclusion_or_placement_change_{lv.lower()}_den": ((lv,), False) for lv in LEVELS},
}
DISPARITY_DIMENSIONS = ("race_x_disability", "race_ethnicity", "disability_status", "sex", "english_learner")


def _disparity_outcome(figure: str) -> str | None:
    """'disp_btam_referral_sex' -> 'btam_referral'."""
    if not figure.startswith("disp_"):
        return None
    for dim in (*DISPARITY_DIMENSIONS, "econ_disadvantaged"):
        if figure.endswith(f"_{dim}"):
            return figure[len("disp_") : -len(dim) - 1]
    return None


def _export_measure(figure: str, measure: str) -> str:
    """The disproportionality tables' group size and count as n and k (the spec's names in both files)."""
    outcome = _disparity_outcome(figure)
    if outcome is None or measure.endswith("_rate"):
        return measure
    return "k" if measure == outcome else "n"


def export_terms(year: str, row: dict[str, str], names: dict[str, str]) -> dict[str, float]:
    """The count one row of published_figures.csv stands for, on the pages' keys where it is the same count."""
    figure, g1, g2, measure = row["figure"], row["group_1"], row["group_2"], row["measure"]
    total = "total"
    if figure == f"levels_all_{year}":
        return assessed(year, ALL) if g1 == total else {L(year, ALL, g1.capitalize()): 1.0}
    if figure == "levels_by_school" and total not in (g1, g2) and g1 in names:
        return {L(year, names[g1], g2.capitalize()): 1.0}
    if figure == f"cases_total_{year}" or (figure.startswith("cases_by_") and g1 == total and measure == "cases"):
        return {f"C|{year}|{ALL}": 1.0}
    if figure == "cases_by_school" and g1 in names:
        return {f"{'C' if measure == 'cases' else 'E'}|{year}|{names[g1]}": 1.0}
    if figure == "cases_by_school" and g1 == total and measure == "enrolled":
        return {f"E|{year}|{ALL}": 1.0}
    if figure == "cases_by_month":
        return {f"CM|{year}|{g1}": 1.0}
    if figure == "timeliness" and g1 != total and measure in ("timely_met", "timely_missed"):
        return {f"{'MET' if measure == 'timely_met' else 'MISS'}|{year}|{g1.capitalize()}": 1.0}
    return {f"F|{year}|{figure}|{g1}|{g2}|{_export_measure(figure, measure)}": 1.0}


def _add(into: dict[str, float], terms: dict[str, float], sign: float = 1.0) -> None:
    for key, value in terms.items():
        into[key] = into.get(key, 0.0) + sign * value


def read_exports(folder: Any, year: str, seen: Sight, names: dict[str, str]) -> None:
    """published_figures.csv and disproportionality.csv of `pipelines export --audience board`: every count,
    every published rate over its group size, every table's margins, the audit counts as level sums."""
    import csv
    from pathlib import Path

    src = "Board export"
    with (Path(folder) / "published_figures.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    seen.texts += [",".join(r.values()) for r in rows]
    by_row: dict[tuple[str, str, str], list[dict[str, str]]] = {}
    for row in rows:
        by_row.setdefault((row["figure"], row["group_1"], row["group_2"]), []).append(row)
    for (figure, g1, g2), cells in by_row.items():
        counts = [c for c in cells if not c["measure"].endswith("_rate")]
        where = f"{src}: {figure} ({g1}{', ' + g2 if g2 else ''})"
        for cell in counts:
            terms = export_terms(year, cell, names)
            if len(terms) == 1:
                seen.count(next(iter(terms)), cell["shown"], f"{where} {cell['measure']}")
            else:
                seen.total(terms, cell["shown"], f"{where} {cell['measure']}")
            levels = EXPORT_AUDIT_LEVELS.get(cell["measure"]) if figure.startswith("audit_district_") else None
            if levels:
                parts = {L(year, ALL, lv): 1.0 for lv in levels[0]}
                seen.relation(terms, parts, f"{where}: {cell['measure']} is those levels", at_most=levels[1])
        rates = [c for c in cells if c["measure"].endswith("_rate") and c["value"]]
        if rates and counts:
            den = export_terms(year, counts[0], names)
            for rate in rates:
                num = next((c for c in counts if c["measure"] == rate["measure"][: -len("_rate")]), None)
                if num is not None:
                    seen.share(export_terms(year, num, names), den, precise(float(rate["value"])), f"{where} rate")
    # margins: in each table, the rows of one dimension add to its total row (the other dimension fixed)
    for figure in {r["figure"] for r in rows}:
        of = [r for r in rows if r["figure"] == figure and not r["measure"].endswith("_rate")]
        for measure in {r["measure"] for r in of}:
            cells = [r for r in of if r["measure"] == measure]
            for fixed, free in (("group_2", "group_1"), ("group_1", "group_2")):
                for value in {r[fixed] for r in cells}:
                    line = [r for r in cells if r[fixed] == value and r[free]]
                    totals = [r for r in line if r[free] == "total"]
                    if not totals or len(line) < 2:
                        continue
                    parts: dict[str, float] = {}
                    for r in line:
                        if r[free] != "total":
                            _add(parts, export_terms(year, r, names))
                    seen.relation(parts, export_terms(year, totals[0], names), f"{src}: {figure} {measure} margins")
    with (Path(folder) / "disproportionality.csv").open(newline="", encoding="utf-8") as f:
        disparities = list(csv.DictReader(f))
    seen.texts += [",".join(r.values()) for r in disparities]
    for row in disparities:
        figure = f"disp_{row['outcome']}_{row['dimension']}"
        g1, g2 = row["group"].split(":", 1) if row["dimension"] == "race_x_disability" else (row["group"], "")
        whole = ("total", "total") if row["dimension"] == "race_x_disability" else ("total", "")
        where = f"{src}: disproportionality {row['outcome']} {row['dimension']} {row['group']}"
        for measure in ("n", "k"):
            key = f"F|{year}|{figure}|{g1}|{g2}|{measure}"
            all_key = f"F|{year}|{figure}|{whole[0]}|{whole[1]}|{measure}"
            seen.count(key, row[measure] or "*", f"{where} {measure}")
            if row[f"comparison_{measure}"]:
                seen.total({all_key: 1.0, key: -1.0}, row[f"comparison_{measure}"], f"{where} comparison_{measure}")
        if row["risk"]:
            n, k = (f"F|{year}|{figure}|{g1}|{g2}|{m}" for m in ("n", "k"))
            seen.share({k: 1.0}, {n: 1.0}, precise(float(row["risk"])), f"{where} risk")
