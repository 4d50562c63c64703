"""The one reader of the project's SQL files: every query, mart build, contract rule and schema is read here.

Two forms are expanded, so a chain of CTEs or a list of codes is written once:
- `{codes:NAME}`: the SQL list literal of the code list NAME (data_contracts.interchange.SQL_CODE_LISTS),
  e.g. `action_type in {codes:exclusionary_actions}`;
- a line `-- include: NAME`: the text of sql/NAME.sql (itself expanded), e.g. the student-outcome chain of
  CTEs that the outcome mart and the student-level query share.
An unknown name is an error naming the file, never an empty list.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from data_contracts.interchange import SQL_CODE_LISTS

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
_CODES = re.compile(r"\{codes:(\w+)\}")
_INCLUDE = re.compile(r"^\s*--\s*include:\s*(\S+)\s*$", re.MULTILINE)


class SqlFileError(ValueError):
    """A SQL file naming a code list or an included file that does not exist."""


@cache
def read_sql(path: Path) -> str:
    """The text of the SQL file `path` with its includes and code lists expanded."""
    return _expanded(Path(path), ())


def _expanded(path: Path, including: tuple[Path, ...]) -> str:
    if path in including:
        raise SqlFileError(f"{path}: includes itself (through {' -> '.join(p.name for p in including)})")
    text = path.read_text()

    def include(match: re.Match) -> str:
        target = (SQL_DIR / f"{match[1]}.sql").resolve()
        if SQL_DIR.resolve() not in target.parents or not target.exists():
            raise SqlFileError(f"{path}: includes {match[1]!r}, which is not a file under {SQL_DIR}")
        return _expanded(target, (*including, path)).rstrip("\n")

    def codes(match: re.Match) -> str:
        if match[1] not in SQL_CODE_LISTS:
            raise SqlFileError(
                f"{path}: {{codes:{match[1]}}} names no code list; known: {', '.join(sorted(SQL_CODE_LISTS))}"
            )
        return "(" + ", ".join("'" + code.replace("'", "''") + "'" for code in SQL_CODE_LISTS[match[1]]) + ")"

    return _CODES.sub(codes, _INCLUDE.sub(include, text))
