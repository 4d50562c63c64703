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
}
# Organisation names are not personal identifiers.
ORGANISATION_WORDS = {"school", "district", "team", "agency", "vendor"}

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
