"""The strict value parser of the interchange contract: one definition of what a key, a school year,
a date and a number look like.

The great-expectations suites (data_contracts/build_suites.py writes their regexes from PATTERNS),
the suite check of pipelines/contracts.py and the loader's typing (pipelines/mapping.py) read this
module, so what passes the contract is exactly what is stored.

Every pattern is anchored with ^ and \\Z: Python's `$` also matches before a final newline, so
`^[0-9]{4}-[0-9]{2}$` accepts "2024-25\\n". The parse functions use re.fullmatch on the same body.
"""

from __future__ import annotations

import re
from datetime import date

STUDENT_KEY_BODY = r"[A-Za-z0-9_-]{6,64}"
# The second year is the first plus one, written with two digits: 2024-25 and 1999-00, never 2024-26,
# 2024-24 or 2024-99. A regex cannot add, so the hundred (last two digits, next two digits) pairs are
# listed; the suite then checks the arithmetic itself.
SCHOOL_YEAR_BODY = "[0-9]{2}(?:" + "|".join(f"{n:02d}-{(n + 1) % 100:02d}" for n in range(100)) + ")"
ISO_DATE_BODY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
# At most four digits before the point and two after: the warehouse stores decimal(6, 2), so a value
# it would round or overflow is refused instead of changed.
NUMBER_BODY = r"-?[0-9]{1,4}(?:\.[0-9]{1,2})?"
NUMBER_SQL_TYPE = "decimal(6, 2)"


def anchored(body: str) -> str:
    """The regex great-expectations runs (Python re, with str.contains semantics): the whole value or nothing."""
    return rf"^(?:{body})\Z"


def end_of_text_anchored(body: str) -> str:
    """The same rule for RE2 and Rust regex (DuckDB, polars): there $ is the end of the text, and \\Z is
    not supported."""
    return rf"^(?:{body})$"


STUDENT_KEY_PATTERN = anchored(STUDENT_KEY_BODY)
SCHOOL_YEAR_PATTERN = anchored(SCHOOL_YEAR_BODY)
ISO_DATE_PATTERN = anchored(ISO_DATE_BODY)
NUMBER_PATTERN = anchored(NUMBER_BODY)

# Text columns with a pattern of their own, wherever they appear (column name -> regex of the suite).
PATTERNS = {"student_key": STUDENT_KEY_PATTERN, "school_year": SCHOOL_YEAR_PATTERN}


def _full(body: str, text: object) -> bool:
    return isinstance(text, str) and re.fullmatch(body, text) is not None


def parse_student_key(text: object) -> str | None:
    """The key, or None when it is not 6-64 letters, digits, _ or - (a zero-width character is neither,
    so two keys differing only by one never become two keys: the row is quarantined)."""
    return text if isinstance(text, str) and _full(STUDENT_KEY_BODY, text) else None


def parse_school_year(text: object) -> str | None:
    """'2024-25', or None for anything else (2024-26, 2024-24, 2024-99, '2024-25\\n')."""
    return text if isinstance(text, str) and _full(SCHOOL_YEAR_BODY, text) else None


def parse_iso_date(text: object) -> date | None:
    """A calendar date written YYYY-MM-DD exactly, or None ('2024-10- 3', '2024-1-3', '2024-02-30')."""
    if not _full(ISO_DATE_BODY, text):
        return None
    try:
        return date.fromisoformat(text)  # type: ignore[arg-type]
    except ValueError:
        return None


def parse_number(text: object) -> float | None:
    """A number the warehouse stores unchanged (decimal(6, 2)), or None."""
    return float(text) if _full(NUMBER_BODY, text) else None  # type: ignore[arg-type]


def sql_full_match(expression: str, body: str) -> str:
    """DuckDB's test that `expression` is wholly `body` (RE2's regexp_full_match anchors both ends)."""
    return f"regexp_full_match({expression}, '{body}')"
