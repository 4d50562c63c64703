"""The report as a PDF (fpdf2): district, school year and as-of date in every page header, page numbers
in every footer, a "SYNTHETIC DATA" watermark on every page of a synthetic warehouse, and every chart
followed by its text description (also set as the image's alternative text)."""

from __future__ import annotations

import io

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from reports.charts import RenderedChart
from reports.content import Bullets, ChartSpec, Paragraph, ReportContent, Table

INK, MUTED, ACCENT, RULE = (34, 34, 34), (90, 90, 90), (0, 114, 178), (200, 200, 200)
SUBHEADS = {
    "What happened this year",
    "What changed from last year",
    "What needs attention",
    "Definitions",
    "How small numbers are protected",
}


def latin1(text: str) -> str:
    """The core fonts are Latin-1: swap the few typographic characters that are not."""
    swaps = {
        "\u2013": "-",
        "\u2014": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2026": "...",
        "\u00a0": " ",
    }
    for a, b in swaps.items():
        text = text.replace(a, b)
    return text.encode("latin-1", "replace").decode("latin-1")


class ReportPDF(FPDF):
    def __init__(self, content: ReportContent):
        super().__init__(orientation="P", unit="mm", format="Letter")
        self.content = content
        self.set_margins(18, 22, 18)
        self.set_auto_page_break(True, margin=20)
        self.set_title(latin1(content.title))
        self.set_author(latin1(content.district_name))
        self.set_subject(f"BTAM board summary, school year {content.school_year}")
        self.set_lang("en-US")
        self.set_creator("BTAM equity dashboard")

    def header(self) -> None:
        c = self.content
        if c.synthetic:
            self.watermark()
        self.set_y(8)
        self.set_font("Helvetica", "B", 9)
        self.set_text_color(*ACCENT)
        self.cell(0, 5, latin1(c.district_name), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            4,
            latin1(
                f"BTAM summary for the board | School year {c.school_year} | Data as of {c.as_of}"
                + (" | SYNTHETIC DATA" if c.synthetic else "")
            ),
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 18, self.w - self.r_margin, 18)
        self.set_y(22)
        self.set_text_color(*INK)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font("Helvetica", "", 8)
        self.set_text_color(*MUTED)
        c = self.content
        self.cell(
            0, 5, latin1(f"{c.district_name} | {c.school_year} | Public summary: small numbers protected"), align="L"
        )
        self.set_x(self.l_margin)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

    def watermark(self) -> None:
        x, y = self.get_x(), self.get_y()
        self.set_font("Helvetica", "B", 64)
        self.set_text_color(235, 235, 235)
        with self.rotation(45, self.w / 2, self.h / 2):
            self.text(self.w / 2 - 95, self.h / 2 + 10, "SYNTHETIC DATA")
        self.set_xy(x, y)
        self.set_text_color(*INK)

    # blocks ----------------------------------------------------------------------------------------------------
    def heading(self, text: str) -> None:
        self.set_font("Helvetica", "B", 15)
        self.set_text_color(*ACCENT)
        self.multi_cell(0, 8, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.set_text_color(*INK)

    def paragraph(self, text: str) -> None:
        if text in SUBHEADS or text.endswith(":") and len(text) < 40:
            self.ln(1)
            self.set_font("Helvetica", "B", 11)
            self.multi_cell(0, 6, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            return
        self.set_font("Helvetica", "", 10)
        self.multi_cell(0, 5, latin1(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(2)

    def bullets(self, items: list[str]) -> None:
        self.set_font("Helvetica", "", 10)
        for item in items:
            self.set_x(self.l_margin + 2)
            self.cell(4, 5, "-")
            self.multi_cell(0, 5, latin1(item), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            self.ln(0.8)
        self.ln(1.5)

    def table_block(self, t: Table) -> None:
        needed = 14 + 7 * min(len(t.rows) + 1, 12) + 4 * len(t.notes)
        if self.get_y() + needed > self.h - self.b_margin:
            self.add_page()
        self.set_font("Helvetica", "B", 10)
        self.multi_cell(0, 5, latin1(t.caption), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)
        self.set_font("Helvetica", "", 8.5)
        widths = tuple(t.widths) if t.widths else None
        with self.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=4.6,
            padding=1.2,
            headings_style=_heading_style(),
            borders_layout="HORIZONTAL_LINES",
            first_row_as_headings=True,
        ) as table:
            table.row([latin1(c) for c in t.columns])
            for r in t.rows:
                table.row([latin1(str(v)) for v in r])
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(*MUTED)
        for note in t.notes:
            self.multi_cell(0, 4, latin1(note), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(3)

    def chart(self, spec: ChartSpec, rendered: RenderedChart | None) -> None:
        width = self.w - self.l_margin - self.r_margin
        height = width * 360 / 900
        if self.get_y() + height + 14 > self.h - self.b_margin:
            self.add_page()
        if rendered is not None:
            self.image(
                io.BytesIO(rendered.data),
                x=self.l_margin,
                w=width,
                h=height,
                alt_text=latin1(spec.alt_text),
                title=latin1(spec.title),
            )
            self.set_y(self.get_y() + 1)
        self.set_font("Helvetica", "I", 8)
        self.set_text_color(*MUTED)
        self.multi_cell(0, 4, latin1("Chart description: " + spec.alt_text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(*INK)
        self.ln(3)


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(232, 240, 247))


def render_pdf(content: ReportContent, charts: dict[str, RenderedChart]) -> bytes:
    pdf = ReportPDF(content)
    pdf.alias_nb_pages()
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.set_text_color(*INK)
    pdf.multi_cell(0, 10, latin1(content.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(*MUTED)
    pdf.multi_cell(
        0,
        5,
        latin1(
            f"{content.district_name}. Prepared from the district's BTAM records as of "
            f"{content.as_of}. Small numbers are protected so that no student can be "
            f"identified; see the appendix."
        ),
        new_x=XPos.LMARGIN,
        new_y=YPos.NEXT,
    )
    pdf.set_text_color(*INK)
    pdf.ln(3)
    for i, section in enumerate(content.sections):
        if i and (section.new_page or pdf.get_y() > pdf.h - pdf.b_margin - 70):
            pdf.add_page()
        elif i:
            pdf.ln(4)
        pdf.start_section(latin1(section.title))
        pdf.heading(section.title)
        for block in section.blocks:
            if isinstance(block, Paragraph):
                pdf.paragraph(block.text)
            elif isinstance(block, Bullets):
                pdf.bullets(block.items)
            elif isinstance(block, Table):
                pdf.table_block(block)
            elif isinstance(block, ChartSpec):
                pdf.chart(block, charts.get(block.key))
    return bytes(pdf.output())
