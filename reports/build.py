"""One call from warehouse file to report bytes: the CLI, the Streamlit page and the benchmark use it."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from access.warehouse_reader import WarehouseReader
from reports.charts import RenderedChart, render_all
from reports.content import ReportContent, build_content
from reports.data import ReportData, load_report_data
from reports.html import render_html
from reports.options import DEFAULT_DISTRICT, FORMATS
from reports.pdf import render_pdf


@dataclass
class ReportResult:
    data: bytes
    fmt: str
    content: ReportContent
    report_data: ReportData
    charts: dict[str, RenderedChart]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def renderer(self) -> str:
        kinds = {c.renderer for c in self.charts.values()}
        return ",".join(sorted(kinds)) or "none"

    @property
    def mime(self) -> str:
        return "application/pdf" if self.fmt == "pdf" else "text/html"


def generate_from_connection(
    con,
    school_year: str,
    fmt: str = "pdf",
    district_name: str | None = None,
    as_of: date | None = None,
    use_kaleido: bool | None = None,
    methodology_url: str | None = None,
) -> ReportResult:
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    timings: dict[str, float] = {}
    start = time.perf_counter()
    data = load_report_data(con, school_year, district_name or DEFAULT_DISTRICT, as_of)
    timings["data"] = time.perf_counter() - start
    content = build_content(data, methodology_url)
    mark = time.perf_counter()
    charts = render_all(content.charts(), use_kaleido)
    timings["charts"] = time.perf_counter() - mark
    mark = time.perf_counter()
    out = render_pdf(content, charts) if fmt == "pdf" else render_html(content, charts).encode("utf-8")
    timings["render"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - start
    return ReportResult(out, fmt, content, data, charts, timings)


def generate(
    db: str | Path,
    school_year: str,
    fmt: str = "pdf",
    district_name: str | None = None,
    as_of: date | None = None,
    use_kaleido: bool | None = None,
    methodology_url: str | None = None,
) -> ReportResult:
    """The report of `school_year` from the warehouse file `db`, opened read-only."""
    reader = WarehouseReader(Path(db))
    try:
        return generate_from_connection(
            reader.connection(), school_year, fmt, district_name, as_of, use_kaleido, methodology_url
        )
    finally:
        reader.close()
