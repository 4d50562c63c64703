"""What every page runs under: the viewer, the global filters, the warehouse version.

app.py builds one PageContext per run (after login or the demo role switch
and the sidebar filters) and pages read it with `page_context()`. Every
st.cache_data function of a page takes `ctx.cache_key` (viewer scope and
warehouse version) as its first argument, so no role receives another's
cached result and a new load is never hidden behind an old one.
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb
import streamlit as st

from access import audit_log
from access.filters import FilterOptions, Filters, query_params, school_scope
from access.roles import Viewer
from access.session import shared_reader

CONTEXT_KEY = "btam_page_context"


@dataclass(frozen=True)
class PageContext:
    viewer: Viewer
    user: str                 # login name, or 'demo' when the synthetic demo runs without login
    filters: Filters
    options: FilterOptions    # already limited to what the viewer may choose
    version: str              # access.warehouse_reader.WarehouseReader.version
    synthetic: bool
    demo: bool                # running without login (synthetic warehouse only)

    @property
    def cache_key(self) -> str:
        """Viewer scope + warehouse version: the first argument of every cached page function."""
        return f"{self.viewer.cache_key()}@{self.version}"

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
        audit_log.append(event, user=self.user, role=self.viewer.role, scope=self.viewer.cache_key(),
                         detail=detail)


def connection() -> duckdb.DuckDBPyConnection:
    """A read-only cursor on the current warehouse version (for use inside cached functions)."""
    return shared_reader().connection()


def set_page_context(ctx: PageContext | None) -> None:
    st.session_state[CONTEXT_KEY] = ctx


def page_context() -> PageContext:
    """The context app.py set for this run; stops the page with a message if there is none."""
    ctx = st.session_state.get(CONTEXT_KEY)
    if ctx is None:
        st.info("Log in to see this page.")
        st.stop()
    return ctx
