"""Static charts for the report, in the dashboard's look (ui/charts.py: Okabe-Ito palette, plotly_white).

Primary renderer: plotly figures exported to PNG by kaleido, which drives the system Chromium; one
`kaleido.start_sync_server()` serves every chart of a report. Fallback, when Chromium or kaleido is
missing or fails: the same chart drawn as plain SVG here (no dependency), which fpdf2 embeds in the
PDF and the HTML inlines, so the report stays complete. `RenderedChart.renderer` says which ran.
"""

from __future__ import annotations

import html
import logging
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import plotly.graph_objects as go

from data_contracts.number_format import fmt_decimal
from figures.chart_style import ORDERED, PALETTE, style
from reports.content import ChartSpec, days

log = logging.getLogger(__name__)

WIDTH, HEIGHT, SCALE = 900, 360, 2
KALEIDO, SVG_FALLBACK = "kaleido", "svg"


@dataclass(frozen=True)
class RenderedChart:
    spec: ChartSpec
    data: bytes  # PNG (kaleido) or SVG (fallback)
    mime: str  # image/png or image/svg+xml
    renderer: str


def colours(spec: ChartSpec) -> list[str]:
    if spec.ordered and len(spec.series) == 1:
        return ORDERED[: len(spec.categories)]
    return PALETTE


def _label(value: float | None, spec: ChartSpec) -> str:
    """A bar's label with its unit, as the text says it: '63%', '5 days', 'same day', '13.3'."""
    if value is None:
        return "hidden"
    if spec.value_suffix.strip() == "days":
        return days(value)
    return fmt_decimal(value, decimals=spec.value_decimals) + spec.value_suffix.strip()


def _px(value: float) -> str:
    """An SVG coordinate, to a tenth of a pixel (a position, not a number a reader sees)."""
    return f"{value:.1f}"


def figure(spec: ChartSpec) -> go.Figure:
    """The plotly figure of a spec, styled like the dashboard's charts."""
    fig = go.Figure()
    palette = colours(spec)
    for i, (name, values) in enumerate(spec.series):
        ys = [None if v is None else v for v in values]
        text = [_label(v, spec) for v in values]
        if spec.kind == "line":
            fig.add_trace(
                go.Scatter(
                    x=spec.categories,
                    y=ys,
                    name=name,
                    mode="lines+markers+text",
                    text=text,
                    textposition="top center",
                    line={"color": palette[i % len(palette)], "width": 3},
                    marker={"size": 10},
                )
            )
        else:
            colour = palette if spec.ordered and len(spec.series) == 1 else palette[i % len(palette)]
            fig.add_trace(
                go.Bar(
                    x=spec.categories,
                    y=[0 if v is None else v for v in ys],
                    name=name,
                    text=text,
                    textposition="outside",
                    marker={"color": colour},
                    cliponaxis=False,
                )
            )
    style(fig, title=spec.title, y_title=spec.y_title, height=HEIGHT)
    fig.update_layout(
        width=WIDTH,
        showlegend=len(spec.series) > 1,
        barmode="group",
        title={"font": {"size": 15}},
        margin={"l": 60, "r": 20, "t": 80, "b": 40},
        legend={"y": 1.02, "yanchor": "bottom", "x": 0},
    )
    top = max([v for _, vals in spec.series for v in vals if v is not None] or [1])
    fig.update_yaxes(range=[0, top * 1.25], rangemode="tozero")
    return fig


# -- the kaleido path ----------------------------------------------------------------------------------------------


def kaleido_available() -> bool:
    try:
        import kaleido  # noqa: F401
    except ImportError:
        return False
    return any(shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome", "chrome"))


# kaleido runs one browser per process: sessions rendering reports at once share it. The first user starts it,
# the last one stops it (stopping it under another session's render fails inside kaleido).
_SERVER_LOCK = threading.Lock()
_server_users = 0


@contextmanager
def chart_server(use_kaleido: bool | None = None) -> Iterator[bool]:
    """One kaleido browser for all charts of a report (shared by concurrent reports); yields whether kaleido
    is in use."""
    global _server_users
    active = kaleido_available() if use_kaleido is None else (use_kaleido and kaleido_available())
    joined = False
    if active:
        with _SERVER_LOCK:
            try:
                import kaleido

                if _server_users == 0:
                    kaleido.start_sync_server(silence_warnings=True)
                _server_users += 1
                joined = True
            except Exception as exc:  # a broken browser: fall back, and say why
                log.warning("kaleido could not start (%s); charts are drawn by the SVG fallback", exc)
                active = False
    try:
        yield active
    finally:
        if joined:
            with _SERVER_LOCK:
                _server_users -= 1
                if _server_users == 0:
                    import kaleido

                    try:
                        kaleido.stop_sync_server(silence_warnings=True)
                    except Exception as exc:  # the report is built; a browser that will not stop is only logged
                        log.warning("kaleido did not stop cleanly (%s)", exc)


def render(spec: ChartSpec, use_kaleido: bool) -> RenderedChart:
    if use_kaleido:
        try:
            import kaleido

            png = kaleido.calc_fig_sync(
                figure(spec), opts={"format": "png", "width": WIDTH, "height": HEIGHT, "scale": SCALE}
            )
            return RenderedChart(spec, png, "image/png", KALEIDO)
        except Exception as exc:
            log.warning("kaleido failed on %s (%s); drawing the SVG fallback", spec.key, exc)
    return RenderedChart(spec, svg(spec).encode("utf-8"), "image/svg+xml", SVG_FALLBACK)


def render_all(specs: list[ChartSpec], use_kaleido: bool | None = None) -> dict[str, RenderedChart]:
    with chart_server(use_kaleido) as active:
        return {s.key: render(s, active) for s in specs}


# -- the fallback: plain SVG ---------------------------------------------------------------------------------------


def svg(spec: ChartSpec, width: int = WIDTH, height: int = HEIGHT) -> str:
    """The chart as a self-contained SVG (Helvetica text, no scripts, no external references)."""
    left, right, top, bottom = 70, 20, 80, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vals in spec.series for v in vals if v is not None]
    vmax = max(values or [1]) * 1.2 or 1
    palette = colours(spec)
    esc = html.escape
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{esc(spec.alt_text)}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="10" y="26" font-family="Helvetica" font-size="16" fill="#222222">{esc(spec.title)}</text>',
    ]
    for i in range(5):
        v = vmax * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(
            f'<line x1="{left}" y1="{_px(y)}" x2="{left + plot_w}" y2="{_px(y)}" stroke="#e5e5e5" stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 8}" y="{_px(y + 4)}" font-family="Helvetica" font-size="11" fill="#555555" '
            f'text-anchor="end">{fmt_decimal(v, decimals=1)}</text>'
        )
    out.append(
        f'<text x="16" y="{_px(top + plot_h / 2)}" font-family="Helvetica" font-size="12" fill="#444444" '
        f'transform="rotate(-90 16 {_px(top + plot_h / 2)})" text-anchor="middle">{esc(spec.y_title)}</text>'
    )
    n_cat, n_ser = len(spec.categories), max(len(spec.series), 1)
    band = plot_w / max(n_cat, 1)
    if len(spec.series) > 1:
        x = left
        for j, (name, _) in enumerate(spec.series):
            out.append(f'<rect x="{x}" y="40" width="12" height="12" fill="{palette[j % len(palette)]}"/>')
            out.append(
                f'<text x="{x + 16}" y="50" font-family="Helvetica" font-size="12" fill="#333333">{esc(name)}</text>'
            )
            x += 30 + 7 * len(name)
    for c, cat in enumerate(spec.categories):
        cx = left + band * (c + 0.5)
        out.append(
            f'<text x="{_px(cx)}" y="{top + plot_h + 20}" font-family="Helvetica" font-size="12" fill="#333333" '
            f'text-anchor="middle">{esc(cat)}</text>'
        )
    if spec.kind == "line":
        for j, (_name, vals) in enumerate(spec.series):
            pts = [
                (left + band * (c + 0.5), top + plot_h - plot_h * v / vmax) for c, v in enumerate(vals) if v is not None
            ]
            colour = palette[j % len(palette)]
            if len(pts) > 1:
                path = " ".join(f"{_px(x)},{_px(y)}" for x, y in pts)
                out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
            for (x, y), v in zip(pts, [v for v in vals if v is not None]):
                out.append(f'<circle cx="{_px(x)}" cy="{_px(y)}" r="5" fill="{colour}"/>')
                out.append(
                    f'<text x="{_px(x)}" y="{_px(y - 10)}" font-family="Helvetica" font-size="12" '
                    f'text-anchor="middle" fill="#222222">{esc(_label(v, spec))}</text>'
                )
    else:
        bar_w = band * 0.8 / n_ser
        for j, (_name, vals) in enumerate(spec.series):
            for c, v in enumerate(vals):
                x = left + band * c + band * 0.1 + bar_w * j
                colour = palette[c % len(palette)] if spec.ordered and n_ser == 1 else palette[j % len(palette)]
                if v is None:
                    out.append(
                        f'<text x="{_px(x + bar_w / 2)}" y="{top + plot_h - 6}" font-family="Helvetica" '
                        f'font-size="11" text-anchor="middle" fill="#555555">hidden</text>'
                    )
                    continue
                h = plot_h * v / vmax
                out.append(
                    f'<rect x="{_px(x)}" y="{_px(top + plot_h - h)}" width="{_px(bar_w)}" height="{_px(h)}" '
                    f'fill="{colour}"/>'
                )
                out.append(
                    f'<text x="{_px(x + bar_w / 2)}" y="{_px(top + plot_h - h - 5)}" font-family="Helvetica" '
                    f'font-size="11" text-anchor="middle" fill="#222222">{esc(_label(v, spec))}</text>'
                )
    out.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888888"/>')
    out.append("</svg>")
    return "\n".join(out)
