"""Case volumes: how many BTAM cases, when, where (per 1,000 students) and from what kind of report."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from data_contracts import number_format as nf
from data_contracts.labels import BREAKDOWN_LABELS, first_upper
from figures.released_volumes import (
    percent_change,
    rate_per_1000,
    released_breakdown,
    released_enrolled,
    released_school_rates,
    released_total,
)
from metrics.rates import poisson_rate_ci
from ui import page_data as data
from ui.charts import OKABE_ITO, PALETTE, SYMBOLS, chart_with_table, mark_hidden, style
from ui.context import analytic_view
from ui.text import fmt_int, table_number
from ui.url_state import url_radio

ctx, year, school_ids, suppress, where = analytic_view("Case volumes")
volumes = data.case_volumes(ctx.cache_key, year, school_ids).filter(pl.col("school_year") == year)
district = volumes.filter(pl.col("scope") == "district")
total = district.filter(pl.col("breakdown") == "total")
if total.is_empty() or not total["cases"][0]:
    st.info(f"No BTAM case was reported in {where}. Choose another year or more schools in the sidebar.")
    st.stop()
release = data.public_release(ctx.release_key, year, school_ids) if suppress else None
cases, rate = int(total["cases"][0]), total["cases_per_1000"][0]
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
change = total["cases_percent_change"][0]
cases_text = fmt_int(cases)
if suppress:  # the headline's figures as the release publishes them: a hidden total hides its rate and change
    now = released_total(release, year)
    cases_text = now.shown
    rate = rate_per_1000(now.cases, released_enrolled(release))
    before = released_total(
        data.public_release(ctx.release_key, data.prior_year(year), school_ids), data.prior_year(year)
    )
    change = percent_change(now.cases, before.cases)
rate_text = f", **{nf.fmt_rate(rate)} students** enrolled" if rate is not None else ""
st.markdown(
    f"**{cases_text} cases** were reported in {year}{rate_text}"
    + (
        f", {nf.fmt_int(abs(change))}% {'more' if change > 0 else 'fewer'} than the year before."
        if change is not None
        else "; no change from the year before is shown: it needs both years' totals, and one is hidden or "
        "not loaded for this role."
        if suppress
        else "; the year before is not loaded, so there is no change to show."
    )
)

# Trend over the years loaded, by month.
trend = data.case_volume_trend(ctx.cache_key, school_ids)
months = trend.filter(pl.col("breakdown") == "month").sort("category")
if release is not None:  # the board's trend is this year's months from the suppressed release
    pub = release["cases_by_month"]
    months = (
        data.published(pub, "cases")
        .filter(pl.col("month") != data.TOTAL)
        .select(pl.lit(year).alias("school_year"), pl.col("month").alias("category"), "value", "shown")
    )
else:
    months = months.with_columns(pl.col("cases").alias("value"), pl.col("cases").cast(pl.String).alias("shown"))
fig = go.Figure()
for i, (y,) in enumerate(sorted(months.partition_by("school_year", as_dict=True))):
    part = months.filter(pl.col("school_year") == y)
    fig.add_scatter(
        x=part["category"].to_list(),
        y=part["value"].to_list(),
        name=y,
        mode="lines+markers",
        marker_symbol=SYMBOLS[i % len(SYMBOLS)],
        line_color=PALETTE[i % len(PALETTE)],
        text=part["shown"].to_list(),
        hovertemplate="%{x}: %{text} cases<extra>" + y + "</extra>",
    )
style(
    fig,
    title=f"BTAM cases reported per month, {where.split(' · ', 1)[1]}, "
    + (year if suppress else "every school year loaded"),
    x_title="Month reported",
    y_title="Cases reported",
)
notes = (
    (
        ["Months whose count is hidden are left out of the line; the table shows them as <10 or *."]
        + list(release["cases_by_month"].footnotes.values())
    )
    if release is not None and months["value"].null_count()
    else []
)
chart_with_table(
    ctx,
    fig,
    months.select(
        pl.col("school_year").alias("School year"), pl.col("category").alias("Month"), pl.col("shown").alias("Cases")
    ),
    stem="cases_per_month",
    footnotes=notes,
    key="volumes_months",
    how="Each case counts once, in the month of its reported date, whatever its subject (student, "
    "staff or other). Cases reported after the as-of date are left out.",
    section="Rates (`metrics/rates.py`)",
)

# By school, per 1,000 students.
schools = volumes.filter((pl.col("scope") != "district") & (pl.col("breakdown") == "total"))
if schools.height and release is not None and "cases_by_school" not in release.tables:
    st.info(
        f"Cases by school are not published for this role when more than {data.MAX_PUBLIC_SCHOOLS} schools are "
        "in view; the figures above are for all of them together."
    )
elif schools.height:
    names = {s.school_id: s.name for s in ctx.options.schools}
    table = schools.select(pl.col("scope").alias("school"), "cases", "enrolled", "cases_per_1000")
    if release is not None:  # a school's rate only from its published count and enrolment
        pub = release["cases_by_school"]
        table = table.drop("cases_per_1000").join(released_school_rates(pub), on="school", how="left")
        table = table.with_columns(pl.col("enrolled_shown").alias("enrolled"))
        notes = list(pub.footnotes.values())
    else:
        table = table.with_columns(pl.col("cases").cast(pl.String).alias("shown"))
        notes = []
    # The 95% interval of each rate, from the count and enrolment as shown (a suppressed viewer: only where both
    # are published exactly, so the interval comes from released figures alone).
    exact = table.select(
        pl.col("shown").str.replace_all(",", "").cast(pl.Int64, strict=False).alias("k"),
        pl.col("enrolled").cast(pl.String).str.replace_all(",", "").cast(pl.Int64, strict=False).alias("e"),
        "cases_per_1000",
    )
    bounds = [
        poisson_rate_ci(k, e) if k is not None and e is not None and r is not None else None
        for k, e, r in exact.iter_rows()
    ]
    table = table.with_columns(
        pl.Series("ci_low", [b[0] if b else None for b in bounds], dtype=pl.Float64),
        pl.Series("ci_high", [b[1] if b else None for b in bounds], dtype=pl.Float64),
        pl.col("enrolled").cast(pl.String),
    )
    table = table.with_columns(pl.col("school").replace_strict(names, default=pl.col("school")).alias("name")).sort(
        "cases_per_1000", nulls_last=False
    )
    values = table["cases_per_1000"].to_list()
    fig = go.Figure(
        go.Bar(
            x=values,
            y=table["name"].to_list(),
            orientation="h",
            marker_color=OKABE_ITO["blue"],
            text=[nf.fmt_ratio(r, decimals=1, missing="*") for r in values],
            textposition="outside",
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [h - r if h is not None else None for h, r in zip(table["ci_high"], values)],
                "arrayminus": [r - lo if lo is not None else None for lo, r in zip(table["ci_low"], values)],
                "color": "#31333F",
            },
        )
    )
    if mark_hidden(fig, table["name"].to_list(), values, horizontal=True):
        notes = notes + ["A school whose count or enrolment is hidden for this role has no bar: it is marked hidden."]
    if rate is not None:
        fig.add_vline(
            x=rate,
            line_dash="dash",
            line_color=OKABE_ITO["black"],
            annotation_text=f"all chosen schools {nf.fmt_ratio(rate, decimals=1)}",
            annotation_position="top right",
        )
    else:  # the year's total is hidden for this role, and with it the rate of all schools together
        notes = notes + ["The rate of all chosen schools together is hidden with its count, so no line marks it."]
    style(
        fig,
        title=f"BTAM cases per 1,000 students enrolled, by school, {year}",
        x_title="Cases per 1,000 students (95% interval)",
        y_title="School",
        height=max(320, 60 + 22 * table.height),
    )
    chart_with_table(
        ctx,
        fig,
        table.select(
            pl.col("name").alias("School"),
            pl.col("shown").alias("Cases"),
            pl.col("enrolled").alias("Students enrolled"),
            table_number("cases_per_1000", "rate").alias("Cases per 1,000"),
            table_number("ci_low", "rate").alias("95% interval, low"),
            table_number("ci_high", "rate").alias("95% interval, high"),
        ),
        stem=f"cases_by_school_{year}",
        footnotes=notes,
        key="volumes_schools",
        how="Cases of the school year recorded by each school, divided by the students enrolled at "
        "that school that year, times 1,000, with the exact (Poisson) 95% interval: a small school's rate "
        "moves a lot with one case more or less. The dashed line is all chosen schools together.",
        section="Rates (`metrics/rates.py`)",
    )

chosen = url_radio(
    "Cases by",
    list(BREAKDOWN_LABELS),
    key="volumes_breakdown",
    param="by",
    horizontal=True,
    format_func=lambda b: first_upper(BREAKDOWN_LABELS[b]),
)
breakdown, words = chosen, BREAKDOWN_LABELS[chosen]
part = district.filter(pl.col("breakdown") == breakdown).sort("cases")
if release is not None:  # a rate only from a published count and the published enrolment
    pub = release[f"cases_by_{breakdown}"]
    part = part.drop("cases_per_1000").join(
        released_breakdown(pub, breakdown, released_enrolled(release)), on="category", how="left"
    )
    notes = list(pub.footnotes.values())
else:
    part = part.with_columns(pl.col("cases").cast(pl.String).alias("shown"), pl.col("cases").alias("value"))
    notes = []
labels = [data.group_label(breakdown, c) for c in part["category"]]
fig = go.Figure(
    go.Bar(
        x=part["value"].to_list(),
        y=labels,
        orientation="h",
        marker_color=OKABE_ITO["bluish_green"],
        text=part["shown"].to_list(),
        textposition="outside",
    )
)
if mark_hidden(fig, labels, part["value"].to_list(), horizontal=True):
    notes = notes + ["A category whose count is hidden for this role has no bar: it is marked hidden."]
style(
    fig,
    title=f"BTAM cases by {words}, {where}",
    x_title="Cases",
    y_title=words.capitalize(),
    height=max(280, 60 + 30 * part.height),
)
chart_with_table(
    ctx,
    fig,
    part.select(
        pl.Series("Category", labels),
        pl.col("shown").alias("Cases"),
        table_number("cases_per_1000", "rate").alias("Cases per 1,000 students"),
    ),
    stem=f"cases_by_{breakdown}_{year}",
    footnotes=notes,
    key=f"volumes_{breakdown}",
    how=f"Cases of the school year counted by {words}; each case has exactly one, so the bars add up to all cases.",
    section="Rates (`metrics/rates.py`)",
)
