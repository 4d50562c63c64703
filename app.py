"""Entry point: who is looking, the global filters, then navigation over pages/.

Run with `make run` (http://localhost:8501). The synthetic demo runs without
login, with a role switcher; a warehouse of real data asks for a login.
"""

from __future__ import annotations

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from access.filters import FilterOptions, load_options
from access.queries import run_query
from access.roles import ADMIN
from access.session import shared_reader
from access.warehouse_reader import WarehouseMissing
from ui.context import PageContext, set_page_context
from ui.filters_sidebar import sidebar_filters
from ui.first_run import show_first_run
from ui.login import current_login, demo_viewer, login_form, logout_button

# True only in a run Streamlit started in its legacy pages/-folder mode (AppTest, or `streamlit run app.py`
# before any st.navigation): ui/serve.py turns that mode off before the first request
LEGACY_RUN = bool(PagesManager.uses_pages_directory)

st.set_page_config(page_title="BTAM equity dashboard", page_icon="🛡️", layout="wide")

OVERVIEW = st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", url_path="overview")


def _to_overview() -> None:
    """The server's root is the Overview: the browser is sent on to /overview, the page's own address (a link to
    it works like any page's), with the link's filters."""
    st.switch_page(OVERVIEW, query_params=st.query_params.to_dict())


# "/" (Streamlit's default page always has the root's address), never listed: the Overview is
ROOT = st.Page(_to_overview, title="Overview", url_path="root", default=True, visibility="hidden")

# The pages, by group, one pages/<name>.py per page; the analytic groups come above "Data".
ANALYTIC_GROUPS: dict[str, list[st.Page]] = {
    "Summary": [
        OVERVIEW,
        st.Page("pages/board_report.py", title="Board report", icon=":material/summarize:"),
    ],
    "Cases": [
        st.Page("pages/case_volumes.py", title="Case volumes", icon=":material/bar_chart:"),
        st.Page("pages/concern_levels.py", title="Concern levels", icon=":material/stacked_bar_chart:"),
        st.Page("pages/time_to_intervention.py", title="Time to intervention", icon=":material/timer:"),
    ],
    "Equity and process": [
        st.Page("pages/equity.py", title="Equity", icon=":material/balance:"),
        st.Page("pages/discipline_outcomes.py", title="Discipline outcomes", icon=":material/gavel:"),
        st.Page("pages/process_audit.py", title="Process audit", icon=":material/checklist:"),
    ],
}
DATA_PAGES = [
    st.Page("pages/warehouse.py", title="What is loaded", icon=":material/database:"),
    st.Page("pages/data_quality.py", title="Data quality", icon=":material/fact_check:"),
    st.Page("pages/load_data.py", title="Load data", icon=":material/upload_file:"),
]
# administrators only: the router does not know this page for anyone else
ADMIN_PAGES = [st.Page("pages/audit_log.py", title="Audit log", icon=":material/policy:")]


@st.cache_data(show_spinner=False, max_entries=64)
def _options(viewer_key: str, version: str) -> FilterOptions:
    return load_options(shared_reader().connection())


def _warehouse_state() -> tuple[str, bool, str]:
    """('missing' | 'empty' | 'ready', synthetic, version)."""
    reader = shared_reader()
    try:
        version = reader.version
        row = run_query(reader.connection(), "quality/warehouse_state").row(0, named=True)
    except WarehouseMissing:
        return "missing", False, ""
    return ("ready" if row["files_loaded"] else "empty"), bool(row["synthetic"]), version


def _run_first_run(state: str) -> None:
    with st.sidebar:
        st.subheader("Log in")
        login_form()
    st.navigation(
        [
            st.Page(
                lambda: show_first_run(state == "missing"),
                title="Welcome",
                icon=":material/waving_hand:",
                url_path="welcome",
            )
        ]
    ).run()


def _run_login() -> None:
    """The login form at every page's address, so a shared link keeps its address through the login
    and the user lands on the linked page."""

    def login_page() -> None:
        st.title("Log in")
        login_form()

    pages = [p for group in ANALYTIC_GROUPS.values() for p in group] + DATA_PAGES + ADMIN_PAGES
    st.navigation(
        [st.Page(login_page, title="Log in", icon=":material/login:", url_path="root", default=True)]
        + [st.Page(login_page, title="Log in", icon=":material/login:", url_path=p.url_path) for p in pages]
        # in a legacy-mode run the page files' own addresses would win over these: one login page only
        if not LEGACY_RUN
        else [st.Page(login_page, title="Log in", icon=":material/login:", url_path="login")],
        position="hidden",
    ).run()


state, synthetic, version = _warehouse_state()
demo = state == "ready" and synthetic
if demo:
    st.warning(
        "**Synthetic demo data.** Every student, school and case here is made up by the demo "
        "generator; no real student is shown. The demo runs without login: choose a role in the "
        "sidebar to see what it sees.",
        icon=":material/science:",
    )
    all_options = load_options(shared_reader().connection())
    user, who = "demo", demo_viewer(all_options)
else:
    login = current_login()
    if login is None:
        set_page_context(None)
        if state == "ready":
            _run_login()
        else:
            _run_first_run(state)
        st.stop()
    user, who = login
    logout_button()

options = _options(who.cache_key(), version) if state != "missing" else FilterOptions((), ())
options = options.for_viewer(who)
filters = sidebar_filters(options, who)
set_page_context(
    PageContext(
        viewer=who, user=user, filters=filters, options=options, version=version, synthetic=synthetic, demo=demo
    )
)

data_pages = DATA_PAGES + (ADMIN_PAGES if who.role == ADMIN else [])
# the root's page is in the Summary group, hidden, so the group's order and the menu stay as they are
st.navigation(
    {**ANALYTIC_GROUPS, "Summary": [*ANALYTIC_GROUPS["Summary"], ROOT], "Data": data_pages}, expanded=True
).run()
