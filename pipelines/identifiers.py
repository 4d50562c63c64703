"""The door guard: files carrying direct identifiers are refused whole.

FERPA de-identification starts at the door: names, birth dates, SSNs, street
addresses, e-mail addresses, phone numbers and free-text narratives never
enter the warehouse, not even its quarantine. Findings name columns and row
numbers, never the values.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

# Header words that mean a direct identifier when the column is not an interchange column.
IDENTIFIER_HEADER_WORDS = {
    "name": "a name", "first": "a name", "last": "a name", "surname": "a name", "given": "a name",
    "dob": "a birth date", "birth": "a birth date", "birthdate": "a birth date", "ssn": "an SSN",
    "social": "an SSN", "address": "a street address", "street": "a street address", "email": "an e-mail address",
    "mail": "an e-mail address", "phone": "a phone number", "telephone": "a phone number",
    "mobile": "a phone number", "cell": "a phone number", "narrative": "free text", "notes": "free text",
    "note": "free text", "comment": "free text", "comments": "free text", "description": "free text",
    "summary": "free text", "details": "free text",
}
# Organisation names are not personal identifiers.
ORGANISATION_WORDS = {"school", "district", "team", "agency", "vendor"}

# (kind, cheap prefilter, RE2 pattern); the prefilter keeps the regex off most values.
VALUE_PATTERNS = (
    ("an e-mail address", "contains({v}, '@')", r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}"),
    ("an SSN", "length({v}) between 9 and 13", r"^\s*[0-9]{3}-[0-9]{2}-[0-9]{4}\s*$"),
    ("a phone number", "length({v}) between 10 and 20",
     r"^\s*(\+?1[-. ]?)?\(?[0-9]{3}\)?[-. ]?[0-9]{3}[-. ][0-9]{4}\s*$"),
    ("a street address", "length({v}) between 8 and 80 and contains({v}, ' ')",
     r"(?i)^\s*[0-9]{1,6}\s+([a-z0-9.]+\s+){1,4}(st|street|ave|avenue|rd|road|blvd|boulevard|dr|drive|ln|lane|"
     r"ct|court|way|pl|place|hwy|highway)\.?\s*$"),
    ("free text", "length({v}) > 120", r"(\S+\s+){12,}"),
)
MAX_ROWS_NAMED = 10


@dataclass(frozen=True)
class Finding:
    column: str
    kind: str
    rows: tuple[int, ...]   # first row numbers (1-based data rows); empty for a header finding
    count: int

    def describe(self) -> str:
        if not self.rows:
            return f"column {self.column!r} looks like {self.kind} by its name"
        more = f" and {self.count - len(self.rows)} more" if self.count > len(self.rows) else ""
        rows = ", ".join(str(r) for r in self.rows)
        return f"column {self.column!r} holds {self.kind} in row(s) {rows}{more}"


def _words(header: str) -> set[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", header)
    return set(re.split(r"[^a-z0-9]+", spaced.lower())) - {""}


def header_findings(headers: list[str], interchange_columns: set[str]) -> list[Finding]:
    """Columns whose names say they hold a direct identifier."""
    findings = []
    for header in headers:
        if header in interchange_columns:
            continue
        words = _words(header)
        if words & ORGANISATION_WORDS:
            continue
        kinds = [IDENTIFIER_HEADER_WORDS[w] for w in words if w in IDENTIFIER_HEADER_WORDS]
        if kinds:
            findings.append(Finding(header, kinds[0], (), 0))
    return findings


def value_findings(con: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                   few_values: set[str] = frozenset(), row_id: str = "rowid + 1") -> list[Finding]:
    """Columns whose values are shaped like identifiers, whatever the column is called.

    One pass tests every column against one regular expression joining all patterns; columns
    expected to hold few distinct values (codes, dates, booleans) are tested on those values
    only. A column that matched is scanned again, pattern by pattern, to name kind and rows.
    `row_id` is the SQL expression of a row's 1-based data row number in `table`.
    """
    if not columns:
        return []
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
    many = [q for c, q in zip(columns, quoted) if c not in few_values]
    counts_by_column = {}
    if many:
        counts = con.sql("select " + ", ".join(f"count(*) filter (where {_any_identifier(q)})" for q in many)
                         + f" from {table}").fetchall()[0]
        counts_by_column.update(zip(many, counts))
    for c, q in zip(columns, quoted):
        if c in few_values:
            counts_by_column[q] = con.sql(f"select count(*) from (select distinct {q} from {table}) "
                                          f"where {_any_identifier(q)}").fetchall()[0][0]
    counts = [counts_by_column[q] for q in quoted]
    findings = []
    for column, q, count in zip(columns, quoted, counts):
        if not count:
            continue
        for kind, prefilter, pattern in VALUE_PATTERNS:
            predicate = f"({prefilter.format(v=q)} and regexp_matches({q}, {_sql_text(pattern)}))"
            found = con.sql(f"select count(distinct {row_id}) from {table} where {predicate}").fetchall()[0][0]
            if found:
                rows = con.sql(f"select distinct {row_id} as r from {table} where {predicate} order by r "
                               f"limit {MAX_ROWS_NAMED}").fetchall()
                findings.append(Finding(column, kind, tuple(r[0] for r in rows), found))
    return findings


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _any_identifier(quoted_column: str) -> str:
    """A cheap test that no value can pass unless one of the patterns matches it."""
    short = "|".join(f"(?:{pattern})" for kind, _, pattern in VALUE_PATTERNS if kind != "free text")
    long_text = next(pattern for kind, _, pattern in VALUE_PATTERNS if kind == "free text")
    c = quoted_column
    return (f"(length({c}) > 120 and regexp_matches({c}, {_sql_text(long_text)})) or "
            f"((contains({c}, '@') or length({c}) between 9 and 80) and regexp_matches({c}, {_sql_text(short)}))")
