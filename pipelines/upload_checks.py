"""Checks of a web upload before it reaches the loader, worded for the web form (the loader's own messages name
command-line options such as --entity, which a web user does not have), and the dates the upload holds."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from data_contracts.interchange import ENTITIES
from pipelines.loader import DATA_SUFFIXES
from pipelines.mapping import MappingError, mapped_expressions, resolve_columns
from pipelines.profiles import load_profile
from pipelines.readers import ReadError, read_into

# The columns of sql/marts/latest_activity_date.sql, the warehouse's default as-of date, by entity
ACTIVITY_DATES = {
    "btam_cases": ("reported_date", "screened_date", "assessed_date", "plan_written_date", "closed_date"),
    "case_actions": ("action_date",),
    "case_reviews": ("review_date",),
    "discipline_actions": ("incident_date",),
}


def unnamed_files(names: list[str], profile: str, entity: str | None) -> str | None:
    """The web form's words for uploads whose entity the loader cannot tell from the name (the command line's
    message names --entity, which a web user does not have); None when every file's entity is known."""
    if entity is not None:
        return None
    try:
        known = load_profile(profile)
    except Exception:  # an unreadable profile is reported by the loader itself, with its reason
        return None
    unknown = [n for n in names if Path(n).suffix.lower() in DATA_SUFFIXES and known.entity_for(n) is None]
    if not unknown:
        return None
    return (
        f"Cannot tell which entity {'this file holds' if len(unknown) == 1 else 'these files hold'}: "
        f"{', '.join(unknown)}. Rename {'it' if len(unknown) == 1 else 'each'} after its entity "
        f"({', '.join(ENTITIES)}), choose the entity under *What the files hold* (when every file uploaded holds "
        f"the same one), or ask for the file name to be added to the profile *{profile}*. Nothing was loaded."
    )


@dataclass(frozen=True)
class FileDates:
    """The latest activity date the uploaded files hold (None when they hold none) and which file holds it."""

    latest: date | None
    file_name: str | None


def latest_file_date(paths: list[Path], profile: str, entity: str | None, *, today: date | None = None) -> FileDates:
    """The latest date of a case, action, review or discipline action in the files, as the warehouse's default
    as-of date is defined (sql/marts/latest_activity_date.sql), read with the profile's columns and date formats.

    Load data starts its as-of date here when the warehouse holds no date yet, so a first load is not dated
    today. Dates after `today` (quarantined by the load anyway) and files that cannot be read or mapped are
    passed over: the load itself reports those, with its own messages."""
    limit = today or date.today()
    try:
        known = load_profile(profile)
    except Exception:  # the loader reports an unreadable profile, with its reason
        return FileDates(None, None)
    best: FileDates = FileDates(None, None)
    con = duckdb.connect()
    work = Path(tempfile.mkdtemp(prefix="btam-dates-"))
    try:
        for path in paths:
            found = entity or known.entity_for(path.name)
            columns = ACTIVITY_DATES.get(found or "")
            if not columns or found is None:
                continue
            try:
                read = read_into(con, path, "raw", work, found, known.sheet_for(found))
                column_map = resolve_columns(path.name, read.columns, found, known)
            except (ReadError, MappingError, duckdb.Error):
                continue
            expressions = mapped_expressions(found, column_map, known)
            typed = [f"try_cast({expressions[c][1]} as date)" for c in columns if column_map.sources.get(c)]
            if not typed:
                continue
            values = " union all ".join(f"select {t} as d from raw" for t in typed)
            query = f"select max(d) from ({values}) where d <= $limit"
            latest = con.sql(query, params={"limit": limit}).fetchall()[0][0]
            if latest is not None and (best.latest is None or latest > best.latest):
                best = FileDates(latest, path.name)
    finally:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
    return best


def suggested_as_of(warehouse: date | None, files: FileDates, today: date) -> tuple[date, str]:
    """The as-of date a load starts from, and why, in the form's words.

    Never simply today: one small file (a schools list) loaded "as of today" would move every entity's as-of
    date and flag them all stale. The later of the warehouse's latest date and the uploaded files' latest date
    (a newer export must not have its newest rows quarantined as later than the as-of date); today only when
    neither holds a date."""
    if files.latest is not None and (warehouse is None or files.latest > warehouse):
        where = "the warehouse holds no date yet" if warehouse is None else f"the warehouse's latest is {warehouse}"
        return files.latest, f"the latest date in the uploaded files ({files.file_name}); {where}"
    if warehouse is not None:
        return min(warehouse, today), "the latest date the warehouse holds"
    return today, (
        "today: neither the warehouse nor the uploaded files hold a date of a case, action, review or "
        "discipline action. Set it to the day the exports were taken"
    )
