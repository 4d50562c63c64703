"""Levels of concern: the ordered distribution, by school and by student group, and whether the level
goes with the group (the test of independence, in plain words)."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
import streamlit as st

from data_contracts import number_format as nf
from data_contracts.labels import LEVELS
from figures.derived import released_high_share
from figures.released_levels import released_level_shares, released_level_test
from figures.words import p_text
from metrics.config import DEFAULT_SETTINGS
from ui import page_data as data
from ui.charts import ORDERED, chart_with_table, style
from ui.context import analytic_view
from ui.text import fmt_int, fmt_pct, table_number
from ui.url_state import url_selectbox

METHODS = {
    "chi_square": "Pearson's chi-square test",
    "fisher_exact": "Fisher's exact test",
    "monte_carlo": "a Monte Carlo test of independence (10,000 random tables)",
}
PATTERNS = ("", "/", "x", ".")

ctx, year, school_ids, suppress, where = analytic_view("Concern levels")
levels = data.concern_levels(ctx.cache_key, year, school_ids).filter(pl.col("school_year") == year)
overall = levels.filter((pl.col("scope") == "district") & (pl.col("dimension") == "all"))
if overall.is_empty() or not overall["n"].sum():
    st.info(f"No case was assessed with a level of concern in {where}. Choose another year or more schools.")
    st.stop()
st.caption(where + (" · counts of 1 to 9 are shown as <10 for this role" if suppress else ""))
names = {s.school_id: s.name for s in ctx.options.schools}
options = ["school", *data.GROUP_DIMENSIONS]
dimension = url_selectbox(
    "Compare levels of concern by",
    options,
    key="levels_dimension",
    param="by",
    format_func=lambda d: data.DIMENSION_LABELS[d],
)
release = data.public_release(ctx.release_key, year, school_ids) if suppress else None


NOT_PUBLISHED = (
    f"This breakdown is not published for this role: per-school figures are published for up to "
    f"{data.MAX_PUBLIC_SCHOOLS} schools in view, and a breakdown with no assessed case has nothing to show."
)


def stacked(
    frame: pl.DataFrame,
    by: str,
    labels: dict[str, str],
    title: str,
    y_title: str,
    measure: str,
    table_name: str,
    key: str,
) -> None:
    """A 100% stacked bar per group, levels in order, each level with its own pattern as well as colour."""
    frame = frame.with_columns(pl.col("n").cast(pl.String).alias("shown"), pl.col("share").alias("plotted"))
    notes: list[str] = []
    if release is not None and table_name not in release.tables:
        st.info(NOT_PUBLISHED)
        return
    if release is not None:  # a share only where the level's count and its row's total are published
        pub = release[table_name]
        shown = released_level_shares(pub, by if by in pub.dimensions else None)
        if by not in shown.columns:
            shown = shown.with_columns(pl.lit("all").alias(by))
        frame = frame.drop("shown", "plotted").join(
            shown.select(by, "concern_level", "shown", pl.col("share").alias("plotted")),
            on=[by, "concern_level"],
            how="left",
        )
        notes = list(pub.footnotes.values())
        if frame["plotted"].null_count():
            notes.append("A share is shown only where its count and the row's total are published for this role.")
        printed = data.published(pub, measure)  # each row's total as the release prints it
        if by not in printed.columns:
            printed = printed.with_columns(pl.lit("all").alias(by))
        totals = {
            r[by]: r["shown"]
            for r in printed.filter((pl.col("concern_level") == data.TOTAL) & (pl.col(by) != data.TOTAL)).iter_rows(
                named=True
            )
        }
    else:
        totals = {g: fmt_int(n) for g, n in frame.group_by(by).agg(pl.col("n").sum()).iter_rows()}
    # Every bar says how many cases its 100% is, and how many of its levels are hidden.
    hidden = {g: c for g, c in frame.filter(pl.col("plotted").is_null()).group_by(by).len().iter_rows()}
    bar_label = {
        g: f"{labels[g]} (n = {totals.get(g, '*')}"
        + (f"; {hidden[g]} {'level' if hidden[g] == 1 else 'levels'} hidden)" if g in hidden else ")")
        for g in frame[by].unique().to_list()
    }
    if hidden:
        notes = notes + [
            "A level whose count is hidden for this role is left out of its bar, so that bar adds to less "
            "than 100%; its label says how many levels are hidden."
        ]
    fig = go.Figure()
    for i, level in enumerate(LEVELS):
        part = frame.filter(pl.col("concern_level") == level)
        fig.add_bar(
            name=data.LEVEL_LABELS[level],
            y=[bar_label[g] for g in part[by]],
            x=part["plotted"].to_list(),
            orientation="h",
            marker_color=ORDERED[i],
            marker_pattern_shape=PATTERNS[i],
            text=[fmt_pct(v, decimals=0) if v is not None else "*" for v in part["plotted"]],
            textposition="inside",
            customdata=part["shown"].to_list(),
            hovertemplate="%{y}: %{x:.1%} (%{customdata} cases)<extra>" + data.LEVEL_LABELS[level] + "</extra>",
        )
    fig.update_layout(barmode="stack")
    fig.update_xaxes(tickformat=".0%", range=[0, 1])
    style(
        fig,
        title=title,
        x_title="Share of assessed cases (%)",
        y_title=y_title,
        height=max(300, 90 + 28 * frame[by].n_unique()),
    )
    table = frame.select(
        pl.col(by).replace_strict(labels).alias(y_title),
        pl.col(by).replace_strict(totals, default="*").alias("Assessed cases of the group (n)"),
        pl.col("concern_level").replace_strict(data.LEVEL_LABELS).alias(data.DIMENSION_LABELS["concern_level"]),
        pl.col("shown").alias("Assessed cases"),
        table_number("plotted", "share").alias("Share of the group's assessed cases"),
    )
    chart_with_table(
        ctx,
        fig,
        table,
        stem=f"concern_levels_by_{by}_{year}",
        footnotes=notes,
        key=key,
        how="Each bar is the assessed cases of one group split by their level of concern (low < "
        "moderate < high < imminent); cases without a level yet are left out. Shares add to 100%.",
        section="Levels of concern (`metrics/concern.py`)",
    )


# The district (or chosen schools) distribution.
dist = overall.select(pl.lit("all").alias("group"), "concern_level", "n", "share")
st.markdown(
    f"Of **{fmt_int(overall['n'].sum())} assessed cases**, "
    + ", ".join(
        f"{fmt_pct(r['share'], decimals=0)} were rated {r['concern_level']}" for r in overall.iter_rows(named=True)
    )
    + "."
    if not suppress
    else (
        f"Of the assessed cases, {fmt_pct(high_share, decimals=0)} were rated high or imminent."
        if (high_share := released_high_share(release, year)) is not None
        else "The share of assessed cases rated high or imminent is withheld: a count it depends on is hidden "
        "for this role."
    )
)
stacked(
    dist,
    "group",
    {"all": "All chosen schools"},
    f"Assessed BTAM cases by level of concern, {where}",
    "Population",
    "assessed_cases",
    f"levels_all_{year}",
    "levels_all",
)

# By school or group.
if dimension == "school":
    part = levels.filter((pl.col("scope") != "district") & (pl.col("dimension") == "all")).select(
        pl.col("scope").alias("school"), "concern_level", "n", "share"
    )
    labels = {s: names.get(s, s) for s in part["school"].unique().to_list()}
    if part.height:
        stacked(
            part,
            "school",
            labels,
            f"Assessed BTAM cases by level of concern and school, {year}",
            "School",
            "assessed_cases",
            "levels_by_school",
            "levels_school",
        )
else:
    part = levels.filter((pl.col("scope") == "district") & (pl.col("dimension") == dimension)).select(
        pl.col("group").alias(dimension), "concern_level", "n", "share"
    )
    labels = {g: data.group_label(dimension, g) for g in part[dimension].unique().to_list()}
    if part.height:
        stacked(
            part,
            dimension,
            labels,
            f"Assessed BTAM cases of students by level of concern and {data.DIMENSION_LABELS[dimension].lower()}, "
            f"{where}",
            data.DIMENSION_LABELS[dimension],
            "assessed_student_cases",
            f"levels_by_{dimension}",
            "levels_group",
        )
    else:
        st.info("No assessed case about an enrolled student in this selection.")

# The test, in words.
tests = data.concern_level_tests(ctx.cache_key, year, school_ids)
test = tests.filter((pl.col("scope") == "district") & (pl.col("dimension") == dimension))
st.subheader("Does the level of concern differ between groups?")
what = "schools" if dimension == "school" else data.DIMENSION_LABELS[dimension].lower() + " groups"
alpha = DEFAULT_SETTINGS.alpha
found = None if test.is_empty() or test["p_value"][0] is None else test.row(0, named=True)
withheld = None
if release is not None:  # every cell of the group x level table must be published, or the statistic gives it back
    released = released_level_test(
        found, release.tables.get("levels_by_school" if dimension == "school" else f"levels_by_{dimension}")
    )
    found, withheld = released.row, released.reason
if withheld:
    st.write(f"The test is {withheld}.")
elif found is None:
    st.write("Test not run: there are too few groups or levels with cases here to compare.")
else:
    r = found
    method = METHODS.get(r["method"], r["method"].replace("_", " "))
    if r["p_value"] < alpha:
        st.markdown(
            f"**Yes, probably.** The mix of levels differs between {what} more than chance alone would "
            f"easily produce ({p_text(r['p_value'])}, {method}, {fmt_int(r['n'])} cases). This does not say "
            "why: look at the groups above and at how the teams rate concern."
        )
    else:
        st.markdown(
            f"**No clear difference.** The mix of levels across {what} is within what chance would produce "
            f"({p_text(r['p_value'])}, {method}, {fmt_int(r['n'])} cases)."
        )
    why = (
        "Pearson's chi-square is used when every expected count is at least 5; otherwise Fisher's exact test "
        "(two groups, two levels) or a Monte Carlo test with a fixed seed. It treats the levels as unordered."
    )
    st.caption(f"Method: {method}. χ² = {nf.fmt_decimal(r['statistic'])} with {r['df']} degrees of freedom. {why}")
    # The ordinal test uses the order low < moderate < high < imminent: are some groups rated higher?
    if r["ordinal_p_value"] is None:
        st.markdown("**Rated higher or lower?** Ordinal test not run: every case here is at one level.")
    else:
        higher = r["ordinal_p_value"] < alpha
        st.markdown(
            (
                f"**Rated higher or lower: yes, probably.** Some {what} are rated further up the scale than others"
                if higher
                else f"**Rated higher or lower: no clear difference** in how far up the scale {what} are rated"
            )
            + f" ({p_text(r['ordinal_p_value'])}, ordinal test of mean level scores, {fmt_int(r['n'])} cases)."
        )
        st.caption(
            f"Ordinal test: row mean scores (levels scored low 1 to imminent 4; for two groups the "
            f"linear-by-linear association test), χ² = {nf.fmt_decimal(r['ordinal_statistic'])} with {r['ordinal_df']} "
            "degrees of freedom. The unit is the assessed case: a student with two cases counts twice."
        )
