"""The house look of every chart, on the dashboard and in the board report: palette, marker symbols, layout.

Streamlit-free so the report's command line and the pages draw the same charts.
"""

from __future__ import annotations

import plotly.graph_objects as go

# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}
PALETTE = [
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "vermillion", "sky_blue", "reddish_purple", "yellow", "black")
]
# Ordered scales (concern levels low -> imminent) use this light-to-dark sequence of the same palette.
ORDERED = [OKABE_ITO["sky_blue"], OKABE_ITO["blue"], OKABE_ITO["orange"], OKABE_ITO["vermillion"]]
# Marker symbols so that no meaning is carried by colour alone.
SYMBOLS = ["circle", "square", "diamond", "triangle-up", "cross", "x", "star", "hexagon"]


def style(
    fig: go.Figure, *, title: str, x_title: str | None = None, y_title: str | None = None, height: int = 380
) -> go.Figure:
    """The house look: the title names measure, population and year; axes say their units."""
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        colorway=PALETTE,
        template="plotly_white",
        height=height,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
        font={"size": 13},
    )
    if x_title is not None:
        fig.update_xaxes(title_text=x_title)
    if y_title is not None:
        fig.update_yaxes(title_text=y_title)
    return fig
