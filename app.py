"""Entry point: the synthetic-data banner, then navigation over the pages in pages/.

Run with `make run` (http://localhost:8501).
"""
from __future__ import annotations

import streamlit as st

from access.session import shared_reader
from access.warehouse_reader import WarehouseMissing
from access.warehouse_status import read_status

st.set_page_config(page_title="BTAM equity dashboard", page_icon=":material/shield_person:", layout="wide")


@st.cache_data(show_spinner=False, max_entries=8)
def _is_synthetic(version: str) -> bool:
    return read_status(shared_reader().connection()).synthetic


try:
    if _is_synthetic(shared_reader().version):
        st.warning("**Synthetic demo data.** Every student, school and case here is made up by the demo "
                   "generator; no real student is shown.", icon=":material/science:")
except WarehouseMissing:
    pass

navigation = st.navigation({
    "Data": [st.Page("pages/warehouse.py", title="What is loaded", icon=":material/database:", default=True)],
})
navigation.run()
