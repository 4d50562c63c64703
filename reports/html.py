"""The report as one self-contained HTML file: inline CSS, charts inlined (PNG as data URIs, fallback SVG
inline), no script and no external reference, so it opens offline and can be e-mailed as is."""

from __future__ import annotations

import base64
from html import escape

from reports.charts import RenderedChart
from reports.content import Bullets, ChartSpec, Paragraph, ReportContent, Table

CSS = """
body{font-family:Helvetica,Arial,sans-serif;color:#222;max-width:60rem;margin:0 auto;padding:1rem 1.5rem;line-height:1.45}
header.furniture{border-bottom:1px solid #ccc;color:#555;font-size:.85rem;padding-bottom:.4rem;margin-bottom:1rem}
header.furniture strong{color:#0072B2}
h1{font-size:1.8rem;margin:.4rem 0} h2{color:#0072B2;margin-top:2rem;border-top:1px solid #eee;padding-top:1rem}
h3{font-size:1.05rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:.9rem}
caption{text-align:left;font-weight:bold;padding:.3rem 0}
th{background:#e8f0f7;text-align:left} th,td{padding:.3rem .5rem;border-bottom:1px solid #ddd;vertical-align:top}
p.note,figcaption{color:#555;font-size:.85rem;font-style:italic}
figure{margin:1rem 0} figure img,figure svg{max-width:100%;height:auto}
.synthetic{background:#fff3cd;border:1px solid #e6c200;padding:.5rem 1rem;font-weight:bold}
.watermark{position:fixed;top:40%;left:5%;font-size:6rem;color:rgba(0,0,0,.05);transform:rotate(-30deg);
pointer-events:none;font-weight:bold;z-index:0}
footer{margin-top:2rem;border-top:1px solid #ccc;color:#555;font-size:.85rem;padding-top:.4rem}
@media print{.watermark{position:fixed}}
"""
SUBHEADS = {
    "What happened this year",
    "What changed from last year",
    "What needs attention",
    "Definitions",
    "How small numbers are protected",
}


def _chart(spec: ChartSpec, rendered: RenderedChart | None) -> str:
    if rendered is None:
        body = ""
    elif rendered.mime == "image/svg+xml":
        body = rendered.data.decode("utf-8").replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    else:
        data = base64.b64encode(rendered.data).decode("ascii")
        body = f'<img src="data:{rendered.mime};base64,{data}" alt="{escape(spec.alt_text)}">'
    return f"<figure>{body}<figcaption>Chart description: {escape(spec.alt_text)}</figcaption></figure>"


def _table(t: Table) -> str:
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in t.columns)
    rows = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in t.rows)
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in t.notes)
    return f"<table><caption>{escape(t.caption)}</caption><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{notes}"


def render_html(content: ReportContent, charts: dict[str, RenderedChart]) -> str:
    c = content
    furniture = (
        f"<strong>{escape(c.district_name)}</strong> | BTAM summary for the board | School year "
        f"{escape(c.school_year)} | Data as of {escape(c.as_of)}" + (" | SYNTHETIC DATA" if c.synthetic else "")
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(c.title)} - {escape(c.district_name)}</title><style>{CSS}</style></head><body>",
    ]
    if c.synthetic:
        parts.append('<div class="watermark" aria-hidden="true">SYNTHETIC DATA</div>')
    parts.append(f'<header class="furniture">{furniture}</header><main>')
    if c.synthetic:
        parts.append(
            '<p class="synthetic">SYNTHETIC DATA: every student, school and case in this report is made up '
            "by the demo generator.</p>"
        )
    parts.append(
        f"<h1>{escape(c.title)}</h1><p>{escape(c.district_name)}. Prepared from the district's BTAM "
        f"records as of {escape(c.as_of)}. Small numbers are protected so that no student can be "
        f"identified; see the appendix.</p>"
    )
    for section in c.sections:
        parts.append(f'<section id="{escape(section.key)}"><h2>{escape(section.title)}</h2>')
        for block in section.blocks:
            if isinstance(block, Paragraph):
                tag = "h3" if block.text in SUBHEADS or (block.text.endswith(":") and len(block.text) < 40) else "p"
                parts.append(f"<{tag}>{escape(block.text)}</{tag}>")
            elif isinstance(block, Bullets):
                parts.append("<ul>" + "".join(f"<li>{escape(i)}</li>" for i in block.items) + "</ul>")
            elif isinstance(block, Table):
                parts.append(_table(block))
            elif isinstance(block, ChartSpec):
                parts.append(_chart(block, charts.get(block.key)))
        parts.append("</section>")
    parts.append(f"</main><footer>{furniture} | Public summary: small numbers protected</footer></body></html>")
    return "\n".join(parts)
