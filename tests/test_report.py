"""The board report (reports/): sections, small-number safety of every printed number, empty years, the
offline HTML, the chart fallback, the CLI and the benchmark hook. Built on a small synthetic demo."""

from __future__ import annotations

import io
import re
import shutil
from argparse import Namespace
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from figures.release import release_tables
from metrics.config import MetricSettings
from reports import cli
from reports.build import ReportResult, generate, generate_from_connection
from reports.charts import kaleido_available, render_all
from reports.content import build_content
from reports.data import CASE_POPULATION, load_report_data
from reports.html import render_html
from reports.pdf import render_pdf
from tests.test_adversary import disclosures

YEAR, PREVIOUS = "2024-25", "2023-24"
SECTIONS = (
    "Summary",
    "Case volume and rate",
    "Levels of concern",
    "Timeliness of interventions",
    "Outcomes of BTAM cases",
    "Equity findings",
    "Process-audit scorecard",
    "Data completeness",
    "Methodology and privacy appendix",
)


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


@pytest.fixture(scope="module")
def pdf_result(demo_db):
    return generate(demo_db, YEAR, "pdf", "Demo Unified", use_kaleido=False)


@pytest.fixture(scope="module")
def html_result(pdf_result):
    """The HTML of the same content and charts (generate() runs the same steps for fmt="html")."""
    html = render_html(pdf_result.content, pdf_result.charts).encode("utf-8")
    return ReportResult(html, "html", pdf_result.content, pdf_result.report_data, pdf_result.charts)


def pdf_text(data: bytes) -> tuple[int, str, list[str]]:
    reader = PdfReader(io.BytesIO(data))
    pages = [p.extract_text() for p in reader.pages]
    return len(reader.pages), "\n".join(pages), pages


def html_text(html: str) -> str:
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    html = re.sub(r"<img[^>]*>", " ", html)
    return re.sub(r"<[^>]+>", " ", html)


# Numbers that carry their unit or are furniture; whatever is left must be a count of 0 or at least 10.
_NOT_COUNTS = [
    r"\d{4}-\d{2}-\d{2}",  # dates
    r"\d{4}-\d{2}",  # school years
    r"Page \d+ of \d+",  # page numbers
    r"\d[\d,]*\.\d+",  # decimals: rates, ratios, intervals, axis ticks
    r"\d+(?:\.\d+)?%",  # percentages
    r"\d+ (?:to \d+ )?days?\b",  # durations
    r"\d+ to \d+ days",
]


def bare_integers(text: str) -> list[int]:
    for pattern in _NOT_COUNTS:
        text = re.sub(pattern, " ", text)
    return [int(m.replace(",", "")) for m in re.findall(r"(?<![\w.,])(\d+(?:,\d{3})*)(?!\d)", text)]


def test_pdf_opens_and_has_every_section(pdf_result):
    n_pages, text, pages = pdf_text(pdf_result.data)
    assert 4 <= n_pages <= 8
    for title in SECTIONS:
        assert title in text, title
    assert "What happened this year" in text and "What changed from last year" in text
    assert "What needs attention" in text


def test_every_page_carries_district_year_as_of_page_number_and_watermark(pdf_result):
    n_pages, _, pages = pdf_text(pdf_result.data)
    as_of = pdf_result.report_data.as_of.isoformat()
    for i, page in enumerate(pages, start=1):
        assert "Demo Unified" in page
        assert f"School year {YEAR}" in page and f"Data as of {as_of}" in page
        assert f"Page {i} of {n_pages}" in page
        assert "SYNTHETIC DATA" in page


def test_every_chart_has_a_text_alternative(pdf_result, html_result):
    _, text, _ = pdf_text(pdf_result.data)
    specs = pdf_result.content.charts()
    assert specs
    for spec in specs:
        assert spec.alt_text and "None" not in spec.alt_text and "nan" not in spec.alt_text
        assert "Chart description: " + spec.alt_text[:40] in text.replace("\n", " ")
    assert html_result.data.decode().count("Chart description:") == len(specs)


@pytest.fixture(scope="module")
def exact_tables(demo_db):
    """The exact count tables of the report year's release, read beside the report (which holds none)."""
    with duckdb.connect(str(demo_db), read_only=True) as con:
        return release_tables(con, YEAR)


def test_every_published_count_is_zero_or_at_least_ten(pdf_result, exact_tables):
    release = pdf_result.report_data.release
    threshold = release.settings.count_threshold
    checked = 0
    for table in exact_tables:
        out = release.tables[table.name]
        for measure in table.measures:
            for shown, value in zip(out.display[measure], out.published[measure]):
                checked += 1
                if value is None:
                    assert shown in (f"<{threshold}", "*")
                else:
                    assert value == 0 or value >= threshold, (table.name, measure, value)
    assert checked > 100


def test_the_attackers_recover_no_hidden_cell_of_the_release(pdf_result, exact_tables):
    data = pdf_result.report_data
    hidden = [c for c, r in data.release.cell_reasons.items() if r != "complementary"]
    assert hidden, "the demo should need suppression, or this test proves nothing"
    for knows_rules in (False, True):
        assert disclosures(exact_tables, data.release, knows_rules) == []


def test_no_bare_small_number_in_the_pdf_or_the_html(pdf_result, html_result):
    _, text, _ = pdf_text(pdf_result.data)
    for source in (text, html_text(html_result.data.decode())):
        small = [n for n in bare_integers(source) if 1 <= n <= 9]
        assert small == [], small
    assert bare_integers("7 cases, 12 cases, 0 cases, <10, 2024-25, 3 days, 12.5%") == [7, 12, 0, 10]


def test_printed_ratios_come_only_from_published_counts(pdf_result):
    data = pdf_result.report_data
    assert data.findings
    for f in data.findings:
        table = f"disp_{f.outcome}_{f.dimension}"
        den = "btam_referral" if f.outcome in CASE_POPULATION else "enrolled"  # students with a case, or enrolled
        assert data.value(table, f.outcome, **{f.dimension: f.group}) is not None
        assert data.value(table, den, **{f.dimension: f.group}) is not None


def test_report_never_prints_none_or_nan(pdf_result, html_result):
    _, text, _ = pdf_text(pdf_result.data)
    for source in (text, html_text(html_result.data.decode())):
        assert not re.search(r"\b(None|nan|NaN|inf)\b", source)


def test_html_is_self_contained(html_result):
    html = html_result.data.decode()
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, flags=re.I)
    assert "<script" not in html.lower() and "<link" not in html.lower() and "@import" not in html
    assert "url(" not in html
    for title in SECTIONS:
        assert title in html


@pytest.mark.slow
def test_html_inlines_kaleido_png_as_data_uri(demo_db):
    if not kaleido_available():
        pytest.skip("no Chromium here: kaleido cannot run (the SVG fallback is tested separately)")
    result = generate(demo_db, YEAR, "html", "Demo Unified", use_kaleido=True)
    html = result.data.decode()
    assert result.renderer == "kaleido"
    assert html.count('src="data:image/png;base64,') == len(result.content.charts())
    assert not re.search(r"""src\s*=\s*["']https?:""", html)


def test_svg_fallback_still_gives_a_complete_report(pdf_result):
    assert pdf_result.renderer == "svg"
    n_pages, text, _ = pdf_text(pdf_result.data)
    for title in SECTIONS:
        assert title in text
    for spec in pdf_result.content.charts():
        assert spec.title in text.replace("\n", " ") or spec.title[:30] in text


def test_a_year_with_no_cases_gives_a_sensible_report(demo_db, tmp_path):
    db = tmp_path / "no_cases.duckdb"
    shutil.copyfile(demo_db, db)
    con = duckdb.connect(str(db))
    con.execute(
        "delete from case_actions where case_id in (select case_id from btam_cases where school_year = ?)", [YEAR]
    )
    con.execute(
        "delete from case_reviews where case_id in (select case_id from btam_cases where school_year = ?)", [YEAR]
    )
    con.execute("delete from btam_cases where school_year = ?", [YEAR])
    con.execute("checkpoint")
    con.close()
    result = generate(db, YEAR, "pdf", "Demo Unified", use_kaleido=False)
    html = render_html(result.content, result.charts)
    for text in (pdf_text(result.data)[1], html_text(html)):
        assert f"No BTAM case was recorded in {YEAR}" in text
        assert "no distribution to show" in text
        assert not re.search(r"\b(None|nan)\b", text)
        assert all(title in text for title in SECTIONS)


@pytest.mark.slow
def test_a_year_with_no_flagged_disparity_says_so(demo_db):
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        data = load_report_data(con, YEAR, "Demo Unified", settings=MetricSettings(threshold=50.0))
    finally:
        con.close()
    assert not [f for f in data.findings if f.flagged]
    content = build_content(data)
    charts = render_all(content.charts(), use_kaleido=False)
    text = pdf_text(render_pdf(content, charts))[1]
    assert f"No group was flagged in {YEAR}" in text
    assert "Groups too small to report" in text
    assert f"No group was flagged in {YEAR}" in render_html(content, charts)


def test_summary_compares_with_the_year_before(pdf_result):
    text = pdf_result.content.text()
    assert pdf_result.report_data.previous_year == PREVIOUS
    assert "the year before" in text


def test_a_year_missing_from_the_warehouse_is_an_actionable_error(demo_db, capsys):
    args = Namespace(
        db=str(demo_db),
        year="2030-31",
        fmt="pdf",
        out=None,
        district_name="X",
        as_of=None,
        methodology_url=None,
        no_browser=True,
    )
    assert cli.run(args) == 2
    assert "holds no enrollment or case for 2030-31" in capsys.readouterr().err
    args.year = "2024"
    assert cli.run(args) == 2
    assert "not a school-year code" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_writes_the_pdf(demo_db, tmp_path, capsys):
    out = tmp_path / "board.pdf"
    parser = cli.add_arguments(__import__("argparse").ArgumentParser())
    args = parser.parse_args(
        ["--db", str(demo_db), "--year", YEAR, "--out", str(out), "--district-name", "Demo Unified", "--no-browser"]
    )
    assert cli.run(args) == 0
    assert out.read_bytes().startswith(b"%PDF")
    assert "report: wrote" in capsys.readouterr().out


@pytest.mark.slow
def test_bench_records_generation_time(demo_db):
    from bench import report as bench_report

    seen = {}
    real_measure = bench_report.measure

    def spy(*args, **kwargs):
        seen.update(real_measure(*args, **kwargs))
        return seen

    bench_report.measure = spy
    try:
        seconds = bench_report.generation_seconds(demo_db, use_kaleido=False)
    finally:
        bench_report.measure = real_measure
    assert seconds == seen["pdf"]["total_s"] > 0
    assert seen["school_year"] == YEAR
    for fmt in ("pdf", "html"):
        assert seen[fmt]["data_s"] > 0 and seen[fmt]["bytes"] > 1000 and seen[fmt]["renderer"] == "svg"


@pytest.mark.slow
def test_connection_entry_point_matches_the_file_entry_point(demo_db, pdf_result):
    con = duckdb.connect(str(demo_db), read_only=True)
    try:
        result = generate_from_connection(con, YEAR, "html", "Demo Unified", use_kaleido=False)
    finally:
        con.close()
    assert result.content.text() == pdf_result.content.text()
