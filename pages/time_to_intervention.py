"""Time to intervention: the share of cases served day by day (cumulative incidence, closing unserved
competing) by level of concern and by group, Kaplan-Meier medians labelled as such, timeliness against the
targets, and the open cases at risk of missing them (case ids only for roles that may see case rows)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from access.roles import may_see_case_rows
from figures import released_served as released
from figures.derived import TOTAL
from figures.release import SERVED_HORIZON
from figures.words import days_until, served_headline, served_tests_sentence
from metrics.competing_risks import HORIZON_DAYS, MIN_CASES
from metrics.config import DEFAULT_SETTINGS
from ui import page_data as data
from ui.charts import (
    OKABE_ITO,
    PALETTE,
    SYMBOLS,
    chart_with_table,
    display_frame,
    mark_hidden,
    style,
    table_with_download,
)
from ui.context import analytic_view
from ui.text import fmt_date, fmt_int, fmt_pct, plural, python_map, table_number, within_days
from ui.url_state import url_selectbox

ctx, year, school_ids, suppress, where = analytic_view("Time to intervention")
# One call reads the case timeline once for the whole page, so it needs the dimension chosen in the select box
# below the headline: the box's value from the last run (it keeps it), checked again once the box is drawn.
# The counts of the cohort followed SERVED_HORIZON days (the only ones a suppressed viewer's figures come from).
FOLLOWED = f"Followed {SERVED_HORIZON} days (cases)"
SERVED_OF_THEM = f"Of them served within {SERVED_HORIZON} days"
SHARE_OF_THEM = f"Share of them served within {SERVED_HORIZON} days"
# A suppressed viewer chooses among the groupings the release publishes served counts for.
CURVES_BY = list(released.served_dimensions()) if suppress else ["concern_level", *data.GROUP_DIMENSIONS]
linked = st.query_params.get("by")
chosen = st.session_state.get("tti_dimension", linked if linked in CURVES_BY else "concern_level")
times = data.intervention_times(ctx.cache_key, year, school_ids, chosen)
summary = times.summary
if summary.is_empty():
    st.info(f"No BTAM case was reported in {where}. Choose another year or more schools in the sidebar.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
pub = data.public_release(ctx.release_key, year, school_ids) if suppress else None
if pub is not None:
    st.markdown(released.served_headline(released.released_served(pub, "concern_level")))
else:
    st.markdown(served_headline(times.served.filter(pl.col("concern_level") == "all").row(0, named=True)))

dimension = url_selectbox(
    "Curves by",
    CURVES_BY,
    key="tti_dimension",
    param="by",
    format_func=lambda d: data.DIMENSION_LABELS[d],
)
if dimension != chosen:
    times = data.intervention_times(ctx.cache_key, year, school_ids, dimension)
served = times.served_groups
label = data.DIMENSION_LABELS[dimension]
if pub is not None:
    # The board sees the release's served counts of the cohort followed 30 days and the shares computed from them.
    rows = released.released_served(pub, dimension)
    if rows is None:
        st.info(released.served_headline(None))
    else:
        groups = rows.filter(pl.col("group") != TOTAL)
        everyone = "All assessed cases" if dimension == "concern_level" else "All student cases"
        names = [data.group_label(dimension, g) if g != TOTAL else everyone for g in rows["group"].to_list()]
        table = pl.DataFrame(
            {
                "Group": names,
                FOLLOWED: rows["followed_shown"].to_list(),
                SERVED_OF_THEM: rows["served_shown"].to_list(),
                SHARE_OF_THEM: rows.select(table_number("share", "share"))["share"].to_list(),
                "Why no share": rows["withheld"].to_list(),
            },
            schema_overrides={SHARE_OF_THEM: pl.Float64},
        )
        shown = groups.filter(pl.col("share").is_not_null())
        fig = go.Figure(
            go.Bar(
                x=shown["share"].to_list(),
                y=[data.group_label(dimension, g) for g in shown["group"]],
                orientation="h",
                marker_color=OKABE_ITO["blue"],
                text=[fmt_pct(v, decimals=0) for v in shown["share"]],
                textposition="outside",
            )
        )
        fig.update_xaxes(tickformat=".0%", range=[0, 1.1])
        style(
            fig,
            title=f"Share of cases with a first intervention within {SERVED_HORIZON} days, by {label.lower()}, {where}",
            x_title=f"Cases served within {SERVED_HORIZON} days of the report (%)",
            y_title=label,
        )
        notes = [f"{FOLLOWED}: {released.COHORT}."]
        if shown.height < groups.height:
            notes.append(
                "A group without a bar has a count hidden for this role, so its share is withheld (the table says why)."
            )
        chart_with_table(
            ctx,
            fig,
            table,
            stem=f"served_within_{SERVED_HORIZON}_days_by_{dimension}_{year}",
            footnotes=notes,
            key="tti_served",
            how=f"Of the {released.COHORT}, those with a first case action within {SERVED_HORIZON} days; a case "
            "closed without any intervention is never served. With no case censored before the horizon, this "
            "share is the cumulative incidence (Aalen-Johansen) at the horizon.",
            section="Cumulative incidence of a first intervention (`metrics/competing_risks.py`)",
        )
    st.markdown(released.TESTS_WITHHELD)
    with st.expander("Kaplan-Meier medians (closing censored)", icon=":material/functions:"):
        st.caption(released.MEDIANS_WITHHELD)
else:
    table = served.select(
        python_map(served["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
        pl.col("n_cases").alias("Cases"),
        pl.col("n_served").alias("Served"),
        pl.col("n_closed_unserved").alias("Closed without any intervention"),
        pl.col("n_open").alias("Still open, not yet served"),
        *[table_number(f"served_by_{n}", "share").alias(f"Served within {n} days") for n in HORIZON_DAYS],
        table_number("ever_served", "share").alias("Ever served"),
        pl.col("n_cases").alias("_n"),
        pl.col("days_to_50").alias("_d50"),
        pl.col("days_to_90").alias("_d90"),
    )
    followed = times.served_followed.select(
        python_map(times.served_followed["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
        pl.col("followed").alias(FOLLOWED),
        pl.col("served_within").alias(SERVED_OF_THEM),
    )
    table = table.join(followed, on="Group", how="left", maintain_order="left").with_columns(
        pl.col(FOLLOWED, SERVED_OF_THEM).fill_null(0)
    )
    # plain Python over the rows (no polars callbacks: they deadlock polars' pool under many sessions)
    table = table.with_columns(
        pl.Series(
            f"Days until {p}% served",
            [days_until(d, n) for d, n in zip(table[f"_d{p}"].to_list(), table["_n"].to_list())],
            dtype=pl.String,
        )
        for p in (50, 90)
    ).drop("_n", "_d50", "_d90")
    small = served.filter(pl.col("n_cases") < MIN_CASES).height
    notes = (
        [f"Groups with fewer than {MIN_CASES} cases: shares and days withheld (too few cases for a stable estimate)."]
        if small
        else []
    )
    if served["days_to_50"].null_count() or served["days_to_90"].null_count():
        notes.append(
            "Never reached: the share served stays below that level by the end of the period (cases closed without "
            "any intervention are never served)."
        )
    curves = times.served_curves
    order = list(data.LEVEL_LABELS) if dimension == "concern_level" else sorted(curves["group"].unique().to_list())
    fig = go.Figure()
    for i, group in enumerate(g for g in order if g in set(curves["group"].to_list())):
        part = curves.filter(pl.col("group") == group)
        fig.add_scatter(
            x=[0.0, *part["days"].to_list()],
            y=[0.0, *part["cumulative_incidence"].to_list()],
            name=data.group_label(dimension, group),
            mode="lines+markers",
            line_shape="hv",
            line_color=PALETTE[i % len(PALETTE)],
            marker_symbol=SYMBOLS[i % len(SYMBOLS)],
            marker_size=5,
            line_dash=["solid", "dash", "dot", "dashdot"][i % 4],
        )
    fig.add_hline(y=0.5, line_dash="dot", line_color=OKABE_ITO["black"], annotation_text="half the cases")
    fig.update_yaxes(tickformat=".0%", range=[0, 1.02])
    style(
        fig,
        title=f"Cases with a first intervention, by days since the report and {label.lower()}, {where}",
        x_title="Days since the report",
        y_title="Cases served (cumulative %)",
        height=440,
    )
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"time_to_intervention_by_{dimension}_{year}",
        footnotes=notes,
        key="tti_curves",
        how="Cumulative incidence (Aalen-Johansen) of a first case action, day by day: a case closed without any "
        "intervention is a competing event (never served), a case still open is counted until the as-of date.",
        section="Cumulative incidence of a first intervention (`metrics/competing_risks.py`)",
    )
    st.markdown(served_tests_sentence(times.served_test, int(served["n_served"].sum())))

    with st.expander("Kaplan-Meier medians (closing censored)", icon=":material/functions:"):
        st.caption(
            "Kaplan-Meier counts a case closed without any intervention as if it could still be served later, so "
            "its median is the time to a first intervention had no case been closed unserved, not what happened. "
            "It is kept for comparison with time_to_intervention.csv."
        )
        km = times.groups
        km_ok = pl.col("n_cases") >= MIN_CASES
        st.dataframe(
            display_frame(
                km.select(
                    python_map(km["group"], lambda g: data.group_label(dimension, g)).alias("Group"),
                    pl.col("n_cases").alias("Cases"),
                    pl.when(km_ok).then(pl.col("median_days")).alias("Median days (Kaplan-Meier)"),
                    pl.when(km_ok).then(pl.col("median_ci_low")).alias("95% CI low"),
                    pl.when(km_ok).then(pl.col("median_ci_high")).alias("95% CI high"),
                    pl.when(km_ok)
                    .then(pl.lit("first day S(t) <= 0.5; blank: not reached"))
                    .otherwise(pl.lit(f"withheld: fewer than {MIN_CASES} cases"))
                    .alias("Note"),
                )
            ),
            hide_index=True,
            width="stretch",
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
    if pub is not None:
        timely_pub = pub["timeliness"]
        met, missed = data.published(timely_pub, "timely_met"), data.published(timely_pub, "timely_missed")
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
        notes = list(timely_pub.footnotes.values())
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
            pl.Series(data.DIMENSION_LABELS["concern_level"], [label.split("<br>")[0] for label in labels]),
            pl.Series("Cases (n)", sizes),
            pl.col("met_shown").alias("Met"),
            pl.col("missed_shown").alias("Missed"),
            table_number("plotted", "share").alias("Share met"),
        ),
        stem=f"timeliness_{year}",
        footnotes=notes,
        key="tti_timeliness",
        how="Met: the first action came within the level's target. Missed: it came later, none came "
        "while the case was open past the target, or the case was closed without any. Open cases still "
        "within their target are left out.",
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
    past_target = risk.filter(pl.col("status") == "target missed").height
    st.markdown(
        f"**{plural(risk.height, 'open case')}** without a first intervention: {past_target} past the target, "
        f"{risk.height - past_target} due within two days."
        if not suppress
        else "Open cases past or near their target are listed for district staff and the school's coordinator."
    )
    visible = risk.filter(python_map(risk["school_id"], lambda s: may_see_case_rows(ctx.viewer, s), pl.Boolean))
    if visible.height and not suppress:
        school_names = {s.school_id: s.name for s in ctx.options.schools}
        ctx.audit("view_case_rows", page="time_to_intervention", row_count=visible.height, filters=ctx.filter_key)
        table_with_download(
            ctx,
            visible.select(
                pl.col("case_id").alias("Case"),
                pl.col("school_id").replace_strict(school_names, default=pl.col("school_id")).alias("School"),
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
