"""What every page runs under: the viewer, the global filters, the warehouse version.

app.py builds one PageContext per run (after login or the demo role switch
and the sidebar filters) and pages read it with `page_context()`. Every
st.cache_data function of a page takes `ctx.cache_key` (viewer scope and
warehouse version) as its first argument, so no role receives another's
cached result and a new load is never hidden behind an old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import duckdb
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from access import audit_log
from access.filters import FilterOptions, Filters, query_params, school_scope
from access.roles import Viewer, must_suppress
from access.session import shared_reader

CONTEXT_KEY = "btam_page_context"


@dataclass(frozen=True)
class PageContext:
    viewer: Viewer
    user: str  # login name, or 'demo' when the synthetic demo runs without login
    filters: Filters
    options: FilterOptions  # already limited to what the viewer may choose
    version: str  # access.warehouse_reader.WarehouseReader.version
    synthetic: bool
    demo: bool  # running without login (synthetic warehouse only)

    @property
    def cache_key(self) -> str:
        """Viewer scope + warehouse version: the first argument of every cached page function."""
        return f"{self.viewer.cache_key()}@{self.version}"

    @property
    def release_key(self) -> str:
        """Warehouse version alone: the first argument of ui.page_data.public_release. A release is
        suppressed whoever asks and depends only on the data and its school scope (its other arguments), so
        every suppressed viewer of that scope shares one copy instead of each paying for its audit."""
        return f"release@{self.version}"

    @property
    def filter_key(self) -> str:
        return self.filters.cache_key()

    def params(self) -> dict[str, object]:
        """$school_year and $school_ids for named queries, within the viewer's scope."""
        return query_params(self.filters, self.options, self.viewer)

    def scope(self) -> frozenset[str] | None:
        return school_scope(self.filters, self.options, self.viewer)

    def describe_filters(self) -> str:
        return self.filters.describe(self.options)

    def audit(self, event: str, **detail: object) -> None:
        """Write an event to the audit log under this viewer."""
        audit_log.append(event, user=self.user, role=self.viewer.role, scope=self.viewer.cache_key(), detail=detail)


def connection() -> duckdb.DuckDBPyConnection:
    """A read-only cursor on the current warehouse version (for use inside cached functions)."""
    return shared_reader().connection()


def set_page_context(ctx: PageContext | None) -> None:
    st.session_state[CONTEXT_KEY] = ctx


def page_context() -> PageContext:
    """The context app.py set for this run; stops the page with a message if there is none."""
    ctx = st.session_state.get(CONTEXT_KEY)
    if ctx is None and PagesManager.uses_pages_directory:
        # Streamlit ran this page file in its legacy pages/-folder mode, without app.py (a deep link to a
        # server started as `streamlit run app.py`): leave that mode and run app.py, which routes the URL
        PagesManager.uses_pages_directory = False
        st.rerun()
    if ctx is None:
        st.info("Log in to see this page.")
        st.stop()
    return ctx


class AnalyticView(NamedTuple):
    ctx: PageContext
    year: str
    school_ids: tuple[str, ...] | None  # None: every school the viewer may see
    suppress: bool  # small-cell suppression applies to this viewer and scope
    where: str  # "2024-25 · all schools · all levels", for titles


def analytic_view(title: str) -> AnalyticView:
    """How every analytic page starts: its title, the chosen year and schools, and whether to suppress.

    Stops the page with an explanation when nothing is loaded or no school matches the filters.
    """
    ctx = page_context()
    params = ctx.params()
    year, ids = params["school_year"], params["school_ids"]
    st.title(title)
    if year is None:
        st.info("Nothing is loaded yet. See *What is loaded*.")
        st.stop()
    if ids is not None and not ids:
        st.info(
            "No school matches the filters (the school level chosen has none of the schools chosen). "
            "Widen the school or level filter in the sidebar."
        )
        st.stop()
    return AnalyticView(
        ctx, year, None if ids is None else tuple(ids), must_suppress(ctx.viewer, ctx.scope()), ctx.describe_filters()
    )
