"""The door guard: files carrying direct identifiers are refused whole.

FERPA de-identification starts at the door: names, birth dates, SSNs, street
addresses, e-mail addresses, phone numbers and free-text narratives never
enter the warehouse, not even its quarantine. Findings name columns and row
numbers, never the values.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import duckdb

# Header words that mean a direct identifier when the column is not an interchange column.
IDENTIFIER_HEADER_WORDS = {
    "name": "a name",
    "first": "a name",
    "last": "a name",
    "surname": "a name",
    "given": "a name",
    "dob": "a birth date",
    "birth": "a birth date",
    "birthdate": "a birth date",
    "ssn": "an SSN",
    "social": "an SSN",
    "address": "a street address",
    "street": "a street address",
    "email": "an e-mail address",
    "mail": "an e-mail address",
    "phone": "a phone number",
    "telephone": "a phone number",
    "mobile": "a phone number",
    "cell": "a phone number",
    "narrative": "free text",
    "notes": "free text",
    "note": "free text",
    "comment": "free text",
    "comments": "free text",
    "description": "free text",
    "summary": "free text",
    "details": "free text",
    "guardian": "a guardian's name",
    "guardians": "a guardian's name",
    "mother": "a guardian's name",
    "father": "a guardian's name",
}
# Words run together in one token (`fname`, `studentname`, `bday`, `soc_sec_no`): a token matching one of
# these is the kind named, whatever the words around it.
COMPOUND_TOKENS = (
    (
        re.compile(
            r"^(f|l|m|first|last|middle|full|given|sur|nick|pref|preferred|legal|maiden|student|stu|child|pupil|"
            r"teacher|staff|guardian|parent|mother|father|person|contact)names?$"
        ),
        "a name",
    ),
    (re.compile(r"^(b|birth)(day|date|dt)$|^dob[a-z]*$"), "a birth date"),
    (re.compile(r"^ssn[a-z0-9]*$|^socsec[a-z]*$"), "an SSN"),
    (re.compile(r"^e?mail(addr|address)?$"), "an e-mail address"),
    (re.compile(r"^(phone|tel)(no|num|number)?$"), "a phone number"),
)
# Word pairs that say the same across two tokens (`soc_sec_no`, `social security`).
WORD_PAIRS = ((frozenset({"soc", "sec"}), "an SSN"), (frozenset({"social", "security"}), "an SSN"))
# Organisation names are not personal identifiers ("school name", "team notes") ...
ORGANISATION_WORDS = {"school", "district", "team", "agency", "vendor"}
# ... unless the header also says a person ("school_student_name", "team_lead_name").
PERSON_WORDS = {
    "student", "stu", "pupil", "child", "guardian", "parent", "mother", "father", "staff", "teacher",
    "counselor", "counsellor", "principal", "lead", "member", "coordinator", "assessor", "reporter", "author",
    "contact", "emergency", "first", "last", "middle", "full", "given", "legal", "preferred", "person",
}  # fmt: skip
# Invisible characters (zero-width space, joiners, BOMs inside a name) that would hide a word from the match.
_INVISIBLE = {"Cf", "Cc"}

# (kind, cheap prefilter, RE2 pattern); the prefilter keeps the regex off most values. A prefilter
# only tests what its pattern requires anyway (a length, a character the pattern cannot match
# without), so prefilter-and-pattern matches exactly the values the pattern matches in that range.
VALUE_PATTERNS = (
    ("an e-mail address", "contains({v}, '@')", r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
    ("an SSN", "length({v}) between 9 and 13 and contains({v}, '-')", r"^\s*[0-9]{3}-[0-9]{2}-[0-9]{4}\s*$"),
    (
        "a phone number",
        "length({v}) between 10 and 20 and (contains({v}, '-') or contains({v}, '.') or contains({v}, ' '))",
        r"^\s*(\+?1[-. ]?)?\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}\s*$",
    ),
    (
        "a street address",
        "length({v}) between 8 and 80 and contains({v}, ' ')",
        r"(?i)^\s*[0-9]{1,6}\s+([a-z0-9.]+\s+){1,4}(st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|"
        r"ct|court|way|pl|place|hwy|highway)\.?\s*$",
    ),
    ("free text", "length({v}) > 120", r"(\S+\s+){12,}"),
)
MAX_ROWS_NAMED = 10


@dataclass(frozen=True)
class Finding:
    column: str
    kind: str
    rows: tuple[int, ...]  # first row numbers (1-based data rows); empty for a header finding
    count: int

    def describe(self) -> str:
        if not self.rows:
            return f"column {self.column!r} looks like {self.kind} by its name"
        more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
        rows = ", ".join(str(r) for r in self.rows)
        return f"column {self.column!r} holds {self.kind} in row(s) {rows}{more}"


def person_columns(findings: list[Finding], unmapped: list[str]) -> list[str]:
    """The columns of `findings` that are outside the interchange: a profile may drop those by name."""
    return sorted({f.column for f in findings if f.column in set(unmapped)})


def visible(text: str) -> str:
    """`text` in NFKC form without invisible characters: what a reader of the header sees."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) not in _INVISIBLE)


def _words(header: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", visible(header))
    return set(re.split(r"[^a-z0-9]+", spaced.lower())) - {""}


def header_kind(header: str) -> str | None:
    """The kind of direct identifier a column's name says it holds, or None."""
    words = _words(header)
    if words & ORGANISATION_WORDS and not words & PERSON_WORDS:
        return None
    for word in sorted(words):
        if word in IDENTIFIER_HEADER_WORDS:
            return IDENTIFIER_HEADER_WORDS[word]
    for pair, kind in WORD_PAIRS:
        if pair <= words:
            return kind
    for word in sorted(words):
        for pattern, kind in COMPOUND_TOKENS:
            if pattern.match(word):
                return kind
    return None


def header_findings(headers: list[str], interchange_columns: set[str]) -> list[Finding]:
    """Columns whose names say they hold a direct identifier."""
    findings = []
    for header in headers:
        if header in interchange_columns:
            continue
        kind = header_kind(header)
        if kind:
            findings.append(Finding(header, kind, (), 0))
    return findings


def value_findings(
    con: duckdb.DuckDBPyConnection,
    table: str,
    columns: list[str],
    few_values: frozenset[str] | set[str] = frozenset(),
    row_id: str = "rowid + 1",
    distinct_tables: dict[str, str] | None = None,
) -> list[Finding]:
    """Columns whose values are shaped like identifiers, whatever the column is called.

    One query tests every column against every pattern, each pattern behind its cheap prefilter
    (as a filter, so most values fail on length or a missing character and the regular
    expressions run on few of them); columns expected to hold few distinct values (codes, dates,
    booleans) are tested on those values only, and so is a column in `distinct_tables` (column ->
    a table of its distinct values, the column under its own name, computed once and shared with
    the contracts). A column that matched is scanned again in `table`, pattern by pattern, to name
    kind and rows. `row_id` is the SQL expression of a row's 1-based data row number in `table`.
    """
    distinct_tables = distinct_tables or {}
    if not columns:
        return []
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]

    def values_of(column: str, quoted_column: str) -> str:
        if column in distinct_tables:
            return distinct_tables[column]
        return f"(select distinct {quoted_column} from {table})" if column in few_values else table

    tests = [
        f"select {i} as i, count(*) as n from {values_of(c, q)} where {_any_identifier(q)}"
        for i, (c, q) in enumerate(zip(columns, quoted))
    ]
    found_in = dict(con.sql(" union all ".join(tests)).fetchall())
    counts = [found_in[i] for i in range(len(columns))]
    findings = []
    for column, q, count in zip(columns, quoted, counts):
        if not count:
            continue
        for kind, prefilter, pattern in VALUE_PATTERNS:
            predicate = _kind_predicate(q, prefilter, pattern)
            found = con.sql(f"select count(distinct {row_id}) from {table} where {predicate}").fetchall()[0][0]
            if found:
                rows = con.sql(
                    f"select distinct {row_id} as r from {table} where {predicate} order by r limit {MAX_ROWS_NAMED}"
                ).fetchall()
                findings.append(Finding(column, kind, tuple(r[0] for r in rows), found))
    return findings


def _kind_predicate(quoted_column: str, prefilter: str, pattern: str) -> str:
    return f"({prefilter.format(v=quoted_column)} and regexp_matches({quoted_column}, {_sql_text(pattern)}))"


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _any_identifier(quoted_column: str) -> str:
    """True for a value that one of the patterns finds (the same test as the per-kind scan)."""
    return " or ".join(_kind_predicate(quoted_column, prefilter, pattern) for _, prefilter, pattern in VALUE_PATTERNS)


# A person's name as exports write it: "Maria Lopez", "Lopez, Maria", "Maria J. Lopez", "O'Neil-Barros, Ann".
NAME_SHAPE = r"^\s*[A-Z][a-z'’-]+,?(\s+[A-Z][a-z'’.-]*){1,3}\s*$"
# An unmapped column is a list of names when most values are name-shaped and they vary as names do (a
# category such as "Teacher Report" repeats); free text when its values run to several words and vary.
NAME_SHARE, DISTINCT_SHARE, FREE_TEXT_WORDS = 0.8, 0.5, 4.0


def unmapped_findings(con: duckdb.DuckDBPyConnection, table: str, columns: list[str]) -> list[Finding]:
    """Columns outside the interchange whose values look like people's names or narratives. They would
    not be stored, but a file that carries them is an export of identifiers: refused like the others,
    unless the profile drops the column by name (`entities.<entity>.drop`)."""
    findings = []
    for column in columns:
        q = '"' + column.replace('"', '""') + '"'
        v = f"nullif(trim({q}), '')"
        filled, distinct, names, words = con.sql(
            f"select count({v}), count(distinct {v}), count(*) filter (regexp_matches({v}, {_sql_text(NAME_SHAPE)})), "
            f"avg(length(regexp_split_to_array({v}, '\\s+'))) from {table}"
        ).fetchall()[0]
        if not filled or distinct < DISTINCT_SHARE * filled:
            continue
        if names >= NAME_SHARE * filled:
            kind, predicate = "what look like people's names", f"regexp_matches({v}, {_sql_text(NAME_SHAPE)})"
        elif (words or 0) >= FREE_TEXT_WORDS:
            kind, predicate = "free text", f"length(regexp_split_to_array({v}, '\\s+')) >= {int(FREE_TEXT_WORDS)}"
        else:
            continue
        count, rows = _rows_where(con, table, predicate)
        findings.append(Finding(column, kind, rows, count))
    return findings


# student_key must be an opaque pseudonym; these shapes are a person's identifier instead.
KEY_SHAPES = (
    ("an SSN (nine digits)", r"^[0-9]{9}$"),
    (
        "a date (a birth date?)",
        r"^(19|20)[0-9]{2}[-/.]?(0[1-9]|1[0-2])[-/.]?(0[1-9]|[12][0-9]|3[01])$"
        r"|^(0[1-9]|1[0-2])[-/.]?(0[1-9]|[12][0-9]|3[01])[-/.]?(19|20)[0-9]{2}$",
    ),
    # words of letters joined as names are (jamie_lopez, Lopez.Jamie); a run of letters alone is not a name:
    # pseudonyms made of letters only (the demo's) look like "SAbcdEfghJk"
    ("a person's name", r"^[A-Za-z][a-z]+[_.-][A-Za-z][a-z]+([_.-][A-Za-z][a-z]+)?$"),
)


def key_findings(con: duckdb.DuckDBPyConnection, table: str, column: str) -> list[Finding]:
    """Values of a key column shaped like an SSN, a date or a name: a pseudonym never looks like those."""
    q = '"' + column.replace('"', '""') + '"'
    findings = []
    for kind, pattern in KEY_SHAPES:
        count, rows = _rows_where(con, table, f"regexp_matches(trim({q}), {_sql_text(pattern)})")
        if count:
            findings.append(Finding(column, f"values shaped like {kind}", rows, count))
    return findings


def _rows_where(con: duckdb.DuckDBPyConnection, table: str, predicate: str) -> tuple[int, tuple[int, ...]]:
    count = con.sql(f"select count(*) from {table} where {predicate}").fetchall()[0][0]
    if not count:
        return 0, ()
    rows = con.sql(f"select rowid + 1 as r from {table} where {predicate} order by r limit {MAX_ROWS_NAMED}").fetchall()
    return count, tuple(r[0] for r in rows)
