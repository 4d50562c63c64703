"""The first-run state: no warehouse file yet, or one with nothing loaded."""

from __future__ import annotations

import streamlit as st

from access.session import warehouse_path

FIRST_RUN_TITLE = "Nothing is loaded yet"


def show_first_run(missing: bool) -> None:
    """Say what is missing and the two ways to fill the warehouse."""
    st.title(FIRST_RUN_TITLE)
    where = f"`{warehouse_path()}`"
    st.markdown(
        (
            f"There is no warehouse at {where} yet."
            if missing
            else f"The warehouse at {where} exists but no file has been loaded into it."
        )
        + "\n\nTo fill it, either\n"
        "- **try the dashboard on made-up data**: `make demo` (or `make run`) builds a synthetic district, "
        "marked synthetic on every page; or\n"
        "- **load your district's de-identified exports**: an administrator logs in and uses *Load data*, "
        "or runs `python -m pipelines load EXPORTS/ --db FILE --as-of YYYY-MM-DD` on the server.\n\n"
        "A warehouse of real data always asks for a login; accounts are created with "
        "`python -m pipelines users add NAME --role admin`."
    )
