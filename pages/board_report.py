"""Board report: preview the public summary of a school year and download it as PDF or HTML.

The report is the board's view whoever opens this page: every count is suppressed (reports/data.py
runs the release under viewer("board")), so what is previewed is exactly what may be published.
"""

from __future__ import annotations

import streamlit as st
import streamlit.components.v1 as components

from data_contracts import number_format as nf
from reports.build import DEFAULT_DISTRICT, generate_from_connection
from reports.data import ReportDataError
from ui.context import connection, page_context


@st.cache_data(show_spinner=False, max_entries=16)
def _report(cache_key: str, year: str, district: str, fmt: str) -> tuple[bytes, dict[str, float], str]:
    result = generate_from_connection(connection(), year, fmt, district)
    return result.data, result.timings, result.renderer


ctx = page_context()
st.title("Board report")
st.caption(
    "A public-safe summary for the school board: the board's view (small numbers always protected), "
    "4-8 pages, as PDF or as one HTML file that opens offline."
)
years = list(ctx.options.school_years)
if not years:
    st.info("Load enrollment and BTAM cases first: the report needs at least one school year.")
    st.stop()
left, right = st.columns(2)
year = left.selectbox("School year", years, index=0, key="board_report_year")
district = (
    right.text_input(
        "District name (printed on every page)", value=DEFAULT_DISTRICT, key="board_report_district"
    ).strip()
    or DEFAULT_DISTRICT
)

try:
    with st.spinner("Building the report (suppression, charts, layout)..."):
        html_bytes, timings, renderer = _report(ctx.cache_key, year, district, "html")
        pdf_bytes = _report(ctx.cache_key, year, district, "pdf")[0]
except ReportDataError as exc:
    st.error(str(exc))
    st.stop()

stem = f"btam-board-report-{year}"


def _log(fmt: str, size: int) -> None:
    ctx.audit("download", file=f"{stem}.{fmt}", report="board", school_year=year, bytes=size)


c1, c2 = st.columns(2)
c1.download_button(
    "Download PDF",
    data=pdf_bytes,
    file_name=f"{stem}.pdf",
    mime="application/pdf",
    icon=":material/picture_as_pdf:",
    key="board_report_pdf",
    on_click=_log,
    args=("pdf", len(pdf_bytes)),
)
c2.download_button(
    "Download HTML",
    data=html_bytes,
    file_name=f"{stem}.html",
    mime="text/html",
    icon=":material/download:",
    key="board_report_html",
    on_click=_log,
    args=("html", len(html_bytes)),
)
st.caption(
    f"Charts drawn by {renderer}; built in {nf.fmt_decimal(timings.get('total', 0), decimals=1)} s. "
    + ("Synthetic demo data: the report carries a SYNTHETIC DATA watermark." if ctx.synthetic else "")
)
st.subheader("Preview")
components.html(html_bytes.decode("utf-8"), height=1100, scrolling=True)
