"""Load data (administrators): upload exports and run the same loader as the command line."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import polars as pl
import streamlit as st

from access.metric_tables import latest_activity_date
from access.roles import may_load
from access.session import warehouse_path
from data_contracts.interchange import ENTITIES
from figures.stored import store_releases
from pipelines import finish_steps
from pipelines.loader import DATA_SUFFIXES, LoadResult, load_files
from pipelines.profiles import PROFILES_DIR
from pipelines.upload_checks import FileDates, latest_file_date, suggested_as_of, unnamed_files
from ui.context import PageContext, connection, page_context
from ui.text import fmt_int, plural

_UNSAFE = re.compile(r"[^A-Za-z0-9 ._-]+")


def profiles() -> dict[str, str]:
    """Profile name -> its description, from data_contracts/profiles/*.json."""
    found = {}
    for path in sorted(PROFILES_DIR.glob("*.json")):
        try:
            found[path.stem] = str(json.loads(path.read_text(encoding="utf-8")).get("description", ""))
        except (OSError, json.JSONDecodeError):
            found[path.stem] = "(this profile file cannot be read)"
    return found


def safe_upload_name(name: str, taken: set[str]) -> str | None:
    """A file name without any path, with only letters, digits, space . _ -; None for other file types.

    The stem is kept as far as possible: profiles recognise exports by their name.
    """
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    suffix = Path(base).suffix.lower()
    if suffix not in DATA_SUFFIXES:
        return None
    stem = _UNSAFE.sub("_", base[: len(base) - len(suffix)]).strip(" ._-")[:100] or "upload"
    candidate, n = f"{stem}{suffix}", 2
    while candidate.lower() in taken:
        candidate, n = f"{stem}_{n}{suffix}", n + 1
    taken.add(candidate.lower())
    return candidate


def write_uploads(uploads: list, folder: Path) -> tuple[list[Path], list[str]]:
    """Write uploads into a private folder (0700, files 0600); returns the paths and the names skipped."""
    taken: set[str] = set()
    paths, skipped = [], []
    for upload in uploads:
        name = safe_upload_name(upload.name, taken)
        if name is None:
            skipped.append(upload.name)
            continue
        target = folder / name
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(upload.getvalue())
        paths.append(target)
    return paths, skipped


BY_NAME = "by_name"


def default_as_of() -> dt.date | None:
    """The latest date the warehouse's data holds (its default as-of date), or None for a warehouse without one."""
    try:
        return latest_activity_date(connection())
    except Exception:  # no warehouse yet, or one without the activity tables: no date to start from
        return None


def uploaded_dates(uploads: list, profile: str, entity: str | None) -> FileDates:
    """The latest activity date in the uploaded files, read once per set of uploads, profile and entity (each
    widget change reruns the page; re-reading a large export each time would not do)."""
    key = (tuple((u.file_id, u.name) for u in uploads), profile, entity)
    cached = st.session_state.get("load_file_dates")
    if cached is not None and cached[0] == key:
        return cached[1]
    folder = Path(tempfile.mkdtemp(prefix="btam-upload-"))
    try:
        paths, _ = write_uploads(uploads, folder)
        found = latest_file_date(paths, profile, entity)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    st.session_state["load_file_dates"] = (key, found)
    return found


def run_load(
    ctx: PageContext, uploads: list, profile: str, as_of: dt.date, synthetic: bool, entity: str | None = None
) -> LoadResult:
    folder = Path(tempfile.mkdtemp(prefix="btam-upload-"))
    try:
        paths, skipped = write_uploads(uploads, folder)
        if skipped:
            st.warning(f"Not loaded (not .csv, .tsv, .txt, .xlsx or .parquet): {', '.join(skipped)}")
        bar = st.progress(0.0, text="Starting the load")

        def progress(stage: str, fraction: float) -> None:
            bar.progress(max(0.0, min(1.0, fraction)), text=stage[:120])

        if not paths:
            bar.empty()
            return LoadResult("", warehouse_path(), [], error="No file of a loadable type was uploaded.", exit_code=4)
        # the load's build stores the published figures of every year, as the command line's does
        with finish_steps.registered(store_releases):
            result = load_files(warehouse_path(), paths, profile, as_of, entity, synthetic, progress)
        bar.progress(1.0, text="Done" if not result.error else "Stopped")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ctx.audit(
        "load",
        load_id=result.load_id,
        profile=profile,
        as_of=as_of.isoformat(),
        files=len(result.files),
        rows_loaded=sum(f.rows_loaded for f in result.files),
        rows_quarantined=sum(f.rows_quarantined for f in result.files),
        published=result.published,
        exit_code=result.exit_code,
    )
    return result


def show_result(result: LoadResult) -> None:
    if result.error:
        st.error(f"{result.error}\n\nThe warehouse is unchanged.", icon=":material/block:")
    elif result.published:
        st.success(f"Load {result.load_id} is published: every page now shows it.", icon=":material/check_circle:")
    else:
        st.info("Every file was loaded before (same content): nothing changed.")
    if not result.files:
        return
    st.dataframe(
        pl.DataFrame(
            {
                "File": [f.file_name for f in result.files],
                "Entity": [f.entity for f in result.files],
                "Result": [
                    {"loaded": "loaded", "unchanged": "already loaded, unchanged"}.get(f.status, "not loaded")
                    for f in result.files
                ],
                "Read": [fmt_int(f.rows_read) for f in result.files],
                "Loaded": [fmt_int(f.rows_loaded) for f in result.files],
                "Quarantined": [fmt_int(f.rows_quarantined) for f in result.files],
                "Top rules": [
                    ", ".join(f"{rule} ({fmt_int(n)})" for rule, n in f.top_rules) or "–" for f in result.files
                ],
                "Columns not stored": [", ".join(f.ignored_columns) or "–" for f in result.files],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    if any(f.rows_quarantined for f in result.files):
        st.caption("Quarantined rows, with their row numbers and rules, are on the *Data quality* page.")


ctx = page_context()
st.title("Load data")
if not may_load(ctx.viewer):
    st.warning(
        "Only an administrator may load data. Loads replace what every user sees, so they are kept "
        "to the people who manage the warehouse and are written to the audit log. Ask your district's "
        "dashboard administrator to load new exports.",
        icon=":material/lock:",
    )
    st.stop()

st.write(
    f"Upload one load's exports (any order; parents are loaded first). They go through the same "
    f"contracts as `python -m pipelines load` into `{warehouse_path()}`: every row is loaded or "
    "quarantined with the rule it broke, files with direct identifiers are refused whole, and the load is "
    "all or nothing."
)
known = profiles()
# no form: the as-of date starts from the chosen files' own dates, so choosing them redraws the page
uploads = st.file_uploader(
    "Exports",
    type=[s.lstrip(".") for s in sorted(DATA_SUFFIXES)],
    accept_multiple_files=True,
    help="CSV (UTF-8 or Windows-1252; comma, semicolon or tab), XLSX or Parquet.",
    key="load_uploads",
)
c1, c2 = st.columns(2)
profile = c1.selectbox(
    "Mapping profile",
    list(known),
    format_func=lambda p: p,
    help="How the source system's columns and codes map to the interchange format (data_contracts/profiles/).",
)
entity_choice = c2.selectbox(
    "What the files hold",
    [BY_NAME, *ENTITIES],
    format_func=lambda e: "Tell from each file's name" if e == BY_NAME else e,
    help="Each file's entity is told from its name (students.csv, cases.xlsx ...). Choose one only when "
    "every file uploaded holds that entity.",
)
entity = None if entity_choice == BY_NAME else entity_choice
if profile:
    st.caption(f"Profile *{profile}*: {known.get(profile) or 'no description'}")
today = dt.date.today()
file_dates = uploaded_dates(uploads, profile, entity) if uploads and profile else FileDates(None, None)
start_date, reason = suggested_as_of(default_as_of(), file_dates, today)
as_of = st.date_input(
    "As-of date",
    value=start_date,
    max_value=today,
    key=f"load_as_of_{start_date.isoformat()}",  # a new suggestion (other files) starts the field afresh
    help="The date the exports describe; later dates are quarantined. Set it to the day the exports were taken.",
)
st.caption(f"The as-of date starts at {start_date.isoformat()}, {reason}. Change it if the exports were taken later.")
synthetic = False
if ctx.synthetic:
    synthetic = st.checkbox(
        "These files are synthetic (made by the demo generator)",
        help="This warehouse holds the synthetic demo, which runs without login. Real "
        "exports are never mixed into it: load them into a new warehouse file, "
        "which then asks for a login.",
    )
submitted = st.button("Load", type="primary", icon=":material/upload:")

if submitted:
    if not uploads:
        st.warning("Choose at least one file to load.")
    elif ctx.synthetic and not synthetic:
        st.error(
            "This warehouse holds the synthetic demo. Real exports are never mixed into it: start the "
            "dashboard on a new warehouse file (BTAM_WAREHOUSE=path) and load them there; it will then "
            "ask for a login.",
            icon=":material/block:",
        )
    elif problem := unnamed_files([u.name for u in uploads], profile, entity):
        st.error(problem, icon=":material/block:")
    else:
        st.session_state["last_load_result"] = run_load(ctx, uploads, profile, as_of, synthetic, entity)
        st.caption(f"{plural(len(uploads), 'file')} uploaded; the upload folder has been deleted.")

if "last_load_result" in st.session_state:
    st.subheader("Result of the last load")
    show_result(st.session_state["last_load_result"])
