"""The sidebar's global filters as Streamlit widgets, kept in the URL's query string.

The rules (what a link may ask for, what a viewer may see) live in access.filters, which has no Streamlit;
this module only draws the widgets and keeps them and the URL in step.
"""

from __future__ import annotations

import streamlit as st

from access.filters import ALL_LEVELS, LEVEL, LEVEL_LABELS, PARAM_KEYS, SCHOOLS, YEAR, FilterOptions, Filters, parse
from access.roles import COORDINATOR, Viewer, may_choose_schools
from data_contracts.labels import DIMENSION_LABELS

_WIDGET = {YEAR: "filter_year", SCHOOLS: "filter_schools", LEVEL: "filter_level"}


def _widget_params() -> dict[str, str]:
    state = st.session_state
    params: dict[str, str] = {}
    if state.get(_WIDGET[YEAR]):
        params[YEAR] = str(state[_WIDGET[YEAR]])
    if state.get(_WIDGET[SCHOOLS]):
        params[SCHOOLS] = ",".join(str(s) for s in state[_WIDGET[SCHOOLS]])
    if state.get(_WIDGET[LEVEL]) not in (None, ALL_LEVELS):
        params[LEVEL] = str(state[_WIDGET[LEVEL]])
    return params


def sidebar_filters(options: FilterOptions, viewer: Viewer) -> Filters:
    """Draw the global filters in the sidebar and keep them in the URL's query string.

    A link opened (or a URL edited) sets the widgets; a widget change rewrites
    the URL. Switching pages keeps the current choice.
    """
    allowed = options.for_viewer(viewer)
    url = {k: st.query_params[k] for k in PARAM_KEYS if k in st.query_params}
    last = st.session_state.get("_filters_url")
    source = url if last is None or (url and url != last) else _widget_params()
    seed = parse(source, options, viewer)
    st.session_state[_WIDGET[YEAR]] = seed.school_year
    st.session_state[_WIDGET[SCHOOLS]] = list(seed.school_ids)
    st.session_state[_WIDGET[LEVEL]] = seed.school_level or ALL_LEVELS

    with st.sidebar:
        st.subheader("Filters")
        if allowed.school_years:
            st.selectbox("School year", allowed.school_years, key=_WIDGET[YEAR])
        if may_choose_schools(viewer):
            names = {s.school_id: s.name for s in allowed.schools}
            st.multiselect(
                "Schools",
                list(names),
                key=_WIDGET[SCHOOLS],
                format_func=lambda s: names.get(s, s),
                placeholder="All schools" if viewer.role != COORDINATOR else "All my schools",
                help="Leave empty for every school you may see.",
            )
            levels = (ALL_LEVELS,) + allowed.levels
            st.selectbox(
                DIMENSION_LABELS["school_level"],
                levels,
                key=_WIDGET[LEVEL],
                format_func=lambda lv: "All levels" if lv == ALL_LEVELS else LEVEL_LABELS.get(lv, lv),
            )
        else:
            st.caption(
                "The board view covers the whole district: school-by-school selections are kept to "
                "restricted roles, so that no small group can be worked out by comparing selections."
            )

    chosen = parse(_widget_params(), options, viewer)
    params = chosen.to_params()
    if params != url:
        for key in PARAM_KEYS:
            if key in params:
                st.query_params[key] = params[key]
            elif key in st.query_params:
                del st.query_params[key]
    st.session_state["_filters_url"] = params
    return chosen
