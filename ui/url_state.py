"""A page's own selections (outcome, student groups, breakdown ...) kept in the URL's query string, beside the
sidebar's year, schools and level, so a shared or refreshed link opens the same view.

A link opened (or a URL edited) sets the widget when it names one of the widget's options; anything else in the
URL is ignored, never an error. A widget change rewrites its parameter; the first option (the page's default)
leaves the parameter out, so plain links stay short.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import streamlit as st

_LAST = "_url_state"  # param -> the value this session last wrote to the URL


def _seed(key: str, param: str, options: Sequence[Any]) -> None:
    """Set the widget's state from the URL when the URL names a valid option it did not get from this session."""
    written: dict[str, str | None] = st.session_state.setdefault(_LAST, {})
    asked = st.query_params.get(param)
    if asked is None or asked == written.get(param):
        return
    by_text = {str(o): o for o in options}
    if asked in by_text:
        st.session_state[key] = by_text[asked]


def _keep(param: str, value: Any, options: Sequence[Any]) -> None:
    written: dict[str, str | None] = st.session_state.setdefault(_LAST, {})
    if options and value == options[0]:
        if param in st.query_params:
            del st.query_params[param]
        written[param] = None
        return
    text = str(value)
    if st.query_params.get(param) != text:
        st.query_params[param] = text
    written[param] = text


def _url_choice(
    widget: str,
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    param: str,
    format_func: Callable[[Any], Any],
    container: Any,
    **kwargs: Any,
) -> Any:
    """The single-choice widget `widget` of `container` (default the page) with its choice kept in the URL."""
    options = list(options)
    _seed(key, param, options)
    if key in st.session_state and st.session_state[key] not in options:
        del st.session_state[key]  # a choice of an earlier view that this one does not offer
    value = getattr(container or st, widget)(label, options, key=key, format_func=format_func, **kwargs)
    _keep(param, value, options)
    return value


def url_selectbox(
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    param: str,
    format_func: Callable[[Any], Any] = str,
    container: Any = None,
    **kwargs: Any,
) -> Any:
    """st.selectbox (in `container`, default the page) whose choice lives in the URL as `param`."""
    return _url_choice(
        "selectbox", label, options, key=key, param=param, format_func=format_func, container=container, **kwargs
    )


def url_radio(
    label: str,
    options: Sequence[Any],
    *,
    key: str,
    param: str,
    format_func: Callable[[Any], Any] = str,
    container: Any = None,
    **kwargs: Any,
) -> Any:
    """st.radio whose choice lives in the URL as `param`."""
    return _url_choice(
        "radio", label, options, key=key, param=param, format_func=format_func, container=container, **kwargs
    )
