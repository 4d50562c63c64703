"""Time to intervention: Kaplan-Meier curves by level of concern and by group, timeliness against the
targets, and the open cases at risk of missing them (case ids only for roles that may see case rows)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access.roles import may_see_case_rows
from metrics.config import DEFAULT_SETTINGS
from ui import page_data as data
from ui.charts import (
    OKABE_ITO,
    PALETTE,
    SYMBOLS,
    chart_with_table,
    mark_hidden,
    style,
    table_with_download,
)
from ui.context import analytic_view
from ui.text import fmt_date, fmt_int, fmt_p, fmt_pct, plural, python_map, within_days
from ui.url_state import url_selectbox

ctx, year, school_ids, suppress, where = analytic_view("Time to intervention")
# One call reads the case timeline once for the whole page, so it needs the dimension chosen in the select box
# below the headline: the box's value from the last run (it keeps it), checked again once the box is drawn.
CURVES_BY = ["concern_level", *data.GROUP_DIMENSIONS]
linked = st.query_params.get("by")
chosen = st.session_state.get("tti_dimension", linked if linked in CURVES_BY else "concern_level")
times = data.intervention_times(ctx.cache_key, year, school_ids, chosen)
summary = times.summary
if summary.is_empty():
    st.info(f"No BTAM case was reported in {where}. Choose another year or more schools in the sidebar.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
overall = summary.filter(pl.col("concern_level") == "all").row(0, named=True)
if overall["median_days"] is not None:
    st.markdown(
        f"Half of the cases had a first intervention **{within_days(int(overall['median_days']))}** "
        f"{'as' if int(overall['median_days']) == 0 else 'of'} the report (Kaplan-Meier median; 95% CI {fmt_int(overall['median_ci_low'])}–"
        f"{fmt_int(overall['median_ci_high'])} days)."
    )

dimension = url_selectbox(
    "Curves by",
    CURVES_BY,
    key="tti_dimension",
    param="by",
    format_func=lambda d: data.DIMENSION_LABELS[d],
)
if dimension != chosen:
    times = data.intervention_times(ctx.cache_key, year, school_ids, dimension)
groups = times.groups
small = set(groups.filter(pl.col("n_cases") < 10)["group"].to_list())

if suppress:
    # A step curve shows every single first action; the board sees the medians only, for groups of 10 or more.
    shown = groups.filter(pl.col("n_cases") >= 10)
    fig = go.Figure()
    for i, r in enumerate(shown.iter_rows(named=True)):
        if r["median_days"] is None:
            continue
        low, high = r["median_ci_low"], r["median_ci_high"]
        fig.add_scatter(
            x=[r["median_days"]],
            y=[data.group_label(dimension, r["group"])],
            mode="markers",
            marker_symbol=SYMBOLS[i % len(SYMBOLS)],
            marker_size=11,
            marker_color=PALETTE[i % len(PALETTE)],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [(high - r["median_days"]) if high is not None else 0],
                "arrayminus": [(r["median_days"] - low) if low is not None else 0],
            },
            showlegend=False,
        )
    style(
        fig,
        title=f"Median days from report to first intervention, by {data.DIMENSION_LABELS[dimension].lower()}, {where}",
        x_title="Days (median, 95% CI)",
        y_title=data.DIMENSION_LABELS[dimension],
    )
    table = groups.select(
        python_map(groups["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
        pl.when(pl.col("n_cases") >= 10).then(pl.col("median_days")).alias("Median days"),
        pl.when(pl.col("n_cases") >= 10).then(pl.col("median_ci_low")).alias("CI low"),
        pl.when(pl.col("n_cases") >= 10).then(pl.col("median_ci_high")).alias("CI high"),
    )
    notes = ["Groups with fewer than 10 cases: no figures shown."] if small else []
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"median_days_by_{dimension}_{year}",
        footnotes=notes,
        key="tti_medians",
        how="Kaplan-Meier median of the days from report to the first case action; cases without an "
        "action yet count as still waiting until they close or until the as-of date.",
        section="Time to first intervention (`metrics/survival.py`)",
    )
else:
    curves = times.curves
    order = list(data.LEVEL_LABELS) if dimension == "concern_level" else sorted(curves["group"].unique().to_list())
    fig = go.Figure()
    for i, group in enumerate(g for g in order if g in set(curves["group"].to_list())):
        part = curves.filter(pl.col("group") == group)
        days = [0.0, *part["days"].to_list()]
        surv = [1.0, *part["survival"].to_list()]
        colour = PALETTE[i % len(PALETTE)]
        name = data.group_label(dimension, group)
        band = part.filter(pl.col("ci_low").is_not_null())
        if band.height > 1:
            fig.add_scatter(
                x=band["days"].to_list() + band["days"].to_list()[::-1],
                y=band["ci_high"].to_list() + band["ci_low"].to_list()[::-1],
                fill="toself",
                line_width=0,
                fillcolor=colour,
                opacity=0.15,
                hoverinfo="skip",
                showlegend=False,
                line_shape="hv",
                legendgroup=name,
            )
        fig.add_scatter(
            x=days,
            y=surv,
            name=name,
            mode="lines+markers",
            line_shape="hv",
            line_color=colour,
            marker_symbol=SYMBOLS[i % len(SYMBOLS)],
            marker_size=5,
            legendgroup=name,
            line_dash=["solid", "dash", "dot", "dashdot"][i % 4],
        )
    fig.add_hline(y=0.5, line_dash="dot", line_color=OKABE_ITO["black"], annotation_text="half the cases")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    style(
        fig,
        title=f"Cases still waiting for a first intervention, by {data.DIMENSION_LABELS[dimension].lower()}, {where}",
        x_title="Days since the report",
        y_title="Share of cases still waiting (%)",
        height=440,
    )
    table = groups.select(
        python_map(groups["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
        pl.col("n_cases").alias("Cases"),
        pl.col("n_events").alias("With a first action"),
        pl.col("median_days").alias("Median days"),
        pl.col("median_ci_low").alias("CI low"),
        pl.col("median_ci_high").alias("CI high"),
        pl.col("p90_days").alias("Days until 90% served"),
    )
    notes = (
        ["A blank median or 90% day: the curve never falls that far within the follow-up."]
        if groups["median_days"].null_count() or groups["p90_days"].null_count()
        else []
    )
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"time_to_intervention_by_{dimension}_{year}",
        footnotes=notes,
        key="tti_curves",
        how="Kaplan-Meier estimate of the share of cases still without a first action, day by day; "
        "shaded bands are 95% confidence bands (log-log). Cases without an action are counted until "
        "they close or until the as-of date (censored).",
        section="Time to first intervention (`metrics/survival.py`)",
    )
test = times.logrank
if test.height and test["p_value"][0] is not None:
    p = test["p_value"][0]
    st.markdown(
        (
            "**The groups differ in how fast cases are served**"
            if p < 0.05
            else "**No clear difference between the groups** in how fast cases are served"
        )
        + f" (log-rank test, {fmt_p(p)})."
    )

# Timeliness against the targets.
st.subheader("First intervention within the target")
timely = times.timeliness
if timely.is_empty():
    st.info("No assessed case with a level of concern in this selection.")
else:
    timely = timely.with_columns(
        pl.col("n_met").cast(pl.String).alias("met_shown"),
        pl.col("n_missed").cast(pl.String).alias("missed_shown"),
        pl.col("share_met").alias("plotted"),
    )
    notes = []
    if suppress:
        pub = data.public_release(ctx.release_key, year, school_ids)["timeliness"]
        met, missed = data.published(pub, "timely_met"), data.published(pub, "timely_missed")
        timely = (
            timely.drop("met_shown", "missed_shown")
            .join(
                met.select("concern_level", pl.col("shown").alias("met_shown"), pl.col("value").alias("m")),
                on="concern_level",
            )
            .join(
                missed.select("concern_level", pl.col("shown").alias("missed_shown"), pl.col("value").alias("x")),
                on="concern_level",
            )
            .with_columns(
                pl.when(pl.col("m").is_null() | pl.col("x").is_null())
                .then(None)
                .otherwise(pl.col("share_met"))
                .alias("plotted")
            )
        )
        notes = list(pub.footnotes.values())
    # Each share says its n: the cases met plus missed (for a suppressed viewer only when both are published).
    sizes = [
        (fmt_int(r["m"] + r["x"]) if r["m"] is not None and r["x"] is not None else "*")
        if suppress
        else fmt_int(r["n_met"] + r["n_missed"])
        for r in timely.iter_rows(named=True)
    ]
    labels = [
        f"{data.LEVEL_LABELS[r['concern_level']]} (target {within_days(r['target_days'])})<br>n = {n}"
        for r, n in zip(timely.iter_rows(named=True), sizes)
    ]
    fig = go.Figure(
        go.Bar(
            x=labels,
            y=timely["plotted"].to_list(),
            marker_color=OKABE_ITO["blue"],
            text=[fmt_pct(v, decimals=0) if v is not None else "*" for v in timely["plotted"]],
            textposition="outside",
        )
    )
    if mark_hidden(fig, labels, timely["plotted"].to_list()):
        notes = notes + ["A level whose share is hidden for this role has no bar: it is marked hidden."]
    fig.update_yaxes(tickformat=".0%", range=[0, 1.1])
    style(
        fig,
        title=f"Share of assessed cases with a first intervention within the target, {where}",
        x_title="Level of concern (target days)",
        y_title="Cases meeting the target (%)",
    )
    chart_with_table(
        ctx,
        fig,
        timely.select(
            pl.Series("Level of concern", [label.split("<br>")[0] for label in labels]),
            pl.Series("Cases (n)", sizes),
            pl.col("met_shown").alias("Met"),
            pl.col("missed_shown").alias("Missed"),
            pl.col("plotted").round(3).alias("Share met"),
        ),
        stem=f"timeliness_{year}",
        footnotes=notes,
        key="tti_timeliness",
        how="Met: the first action came within the level's target. Missed: it came later, or none came "
        "while the case was open past the target. Cases still within their target are left out.",
        section="Time to first intervention (`metrics/survival.py`)",
    )

# Open cases at risk.
st.subheader("Open cases at risk of missing their target")
risk = times.open_cases
if risk.is_empty():
    st.success(
        "No open case with a level of concern is waiting past, or within two days of, its target.",
        icon=":material/check_circle:",
    )
else:
    missed = risk.filter(pl.col("status") == "target missed").height
    st.markdown(
        f"**{plural(risk.height, 'open case')}** without a first intervention: {missed} past the target, "
        f"{risk.height - missed} due within two days."
        if not suppress
        else "Open cases past or near their target are listed for district staff and the school's coordinator."
    )
    visible = risk.filter(python_map(risk["school_id"], lambda s: may_see_case_rows(ctx.viewer, s), pl.Boolean))
    if visible.height and not suppress:
        names = {s.school_id: s.name for s in ctx.options.schools}
        ctx.audit("view_case_rows", page="time_to_intervention", row_count=visible.height, filters=ctx.filter_key)
        table_with_download(
            ctx,
            visible.select(
                pl.col("case_id").alias("Case"),
                pl.col("school_id").replace_strict(names, default=pl.col("school_id")).alias("School"),
                pl.col("concern_level").replace_strict(data.LEVEL_LABELS).alias("Level"),
                python_map(visible["reported_date"], fmt_date).alias("Reported"),
                pl.col("duration_days").alias("Days waiting"),
                pl.col("target_days").alias("Target days"),
                pl.col("status").alias("Status"),
            ),
            stem=f"open_cases_at_risk_{year}",
            row_level=True,
            key="tti_risk",
        )
    elif not suppress:
        st.caption("Case ids are shown only to district staff and to the coordinator of the case's school.")
targets = ", ".join(
    f"{data.LEVEL_LABELS[k].lower()} {within_days(v)}" for k, v in DEFAULT_SETTINGS.timeliness_days.items()
)
st.caption(f"Targets (local practice defaults, not federal or NASP numbers): {targets}.")
