"""Small-cell suppression: primary, complementary, across tables, top/bottom coding."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from access.release_cells import ReleaseError
from access.suppression import CountTable, SuppressionSettings, suppress_release, suppress_table


def oss_by_race(rows, name="oss_by_race", filters=None):
    frame = pl.DataFrame(rows, schema=["race", "enrolled", "oss"], orient="row")
    return CountTable(name, frame, ("race",), ("oss",), "enrolled", filters or {})


def column(table, frame, name):
    return dict(zip(getattr(table, frame)[table.dimensions[0]], getattr(table, frame)[name]))


def test_worked_example_oss_by_race():
    # Worked example "Small-cell suppression, students with one or more OSS, by race"
    # (project worked examples, computed by hand): the as row is hidden whole (8 enrolled),
    # 9 (bl) and 3 (mu) become <10 with their rates hidden, and the enrolled column's one
    # hidden cell forces the next smallest enrolled cell (mu, 22) to be hidden as well.
    table = suppress_table(
        oss_by_race([("hi", 120, 14), ("bl", 48, 9), ("wh", 210, 11), ("as", 8, 0), ("mu", 22, 3), ("total", 408, 37)])
    )
    assert column(table, "display", "enrolled") == {
        "hi": "120",
        "bl": "48",
        "wh": "210",
        "as": "*",
        "mu": "*",
        "total": "408",
    }
    assert column(table, "display", "oss") == {
        "hi": "14",
        "bl": "<10",
        "wh": "11",
        "as": "*",
        "mu": "<10",
        "total": "37",
    }
    assert column(table, "display", "oss_rate") == {
        "hi": "11.7%",
        "bl": "*",
        "wh": "5.2%",
        "as": "*",
        "mu": "*",
        "total": "9.1%",
    }
    assert column(table, "reason", "enrolled") == {
        "hi": None,
        "bl": None,
        "wh": None,
        "as": "group_below_min_n",
        "mu": "complementary",
        "total": None,
    }
    assert column(table, "reason", "oss") == {
        "hi": None,
        "bl": "small_count",
        "wh": None,
        "as": "group_below_min_n",
        "mu": "small_count",
        "total": None,
    }
    assert column(table, "hidden", "oss") == {
        "hi": False,
        "bl": True,
        "wh": False,
        "as": True,
        "mu": True,
        "total": False,
    }
    assert column(table, "published", "enrolled")["mu"] is None
    assert column(table, "published", "oss_rate")["hi"] == pytest.approx(14 / 120)
    assert set(table.footnotes) == {"group_below_min_n", "small_count", "complementary", "count_hidden"}


def test_a_single_hidden_cell_in_a_relation_gets_a_complement():
    table = suppress_table(oss_by_race([("hi", 50, 4), ("bl", 60, 20), ("wh", 70, 30), ("total", 180, 54)]))
    oss = column(table, "display", "oss")
    assert oss["hi"] == "<10"
    assert oss["bl"] == "*", "the next smallest count is the complement"
    assert column(table, "reason", "oss")["bl"] == "complementary"


def test_every_relation_holds_no_or_at_least_two_hidden_cells():
    rng = np.random.default_rng(7)
    for _ in range(30):
        n = rng.integers(0, 40, 5)
        x = rng.binomial(n, 0.3)
        rows = [(r, int(a), int(b)) for r, a, b in zip("abcde", n, x)] + [("total", int(n.sum()), int(x.sum()))]
        release = suppress_release([oss_by_race(rows)])
        for relation in release.relations:
            hidden = sum(c in release.cell_reasons for c in relation.cells)
            assert hidden == 0 or hidden >= 2


def two_way_table(cells, name="race_by_disability"):
    """cells[(race, disability)] = (enrolled, oss); margins are added."""
    races = sorted({r for r, _ in cells})
    dis = sorted({d for _, d in cells})
    rows = []
    for r in races + ["total"]:
        for d in dis + ["total"]:
            picked = [v for (rr, dd), v in cells.items() if r in (rr, "total") and d in (dd, "total")]
            rows.append((r, d, sum(v[0] for v in picked), sum(v[1] for v in picked)))
    frame = pl.DataFrame(rows, schema=["race", "disability", "enrolled", "oss"], orient="row")
    return CountTable(name, frame, ("race", "disability"), ("oss",), "enrolled")


def test_two_way_table_hides_a_rectangle_around_a_small_cell():
    cells = {("bl", "idea"): (30, 4), ("bl", "none"): (200, 25), ("wh", "idea"): (40, 12), ("wh", "none"): (300, 30)}
    table = suppress_table(two_way_table(cells))
    shown = {(r, d): v for r, d, v in table.display.select("race", "disability", "oss").rows()}
    assert shown[("bl", "idea")] == "<10"
    assert shown[("bl", "none")] == "*" and shown[("wh", "idea")] == "*" and shown[("wh", "none")] == "*"
    assert shown[("total", "total")] == "71"


def test_a_cell_hidden_in_one_table_is_hidden_in_every_table_of_the_release():
    cells = {("bl", "idea"): (30, 4), ("bl", "none"): (200, 25), ("wh", "idea"): (40, 12), ("wh", "none"): (300, 30)}
    by_race = oss_by_race([("bl", 230, 29), ("wh", 340, 42), ("total", 570, 71)], name="by_race")
    release = suppress_release([by_race, two_way_table(cells)])
    two_way = release["race_by_disability"].display
    margins = {r: v for r, d, v in two_way.select("race", "disability", "oss").rows() if d == "total"}
    one_way = column(release["by_race"], "display", "oss")
    assert one_way == {r: margins[r] for r in one_way}


def test_disability_groups_summing_to_all_students_link_tables_through_the_total():
    by_race = oss_by_race([("bl", 100, 20), ("wh", 300, 40), ("total", 400, 60)], name="by_race")
    frame = pl.DataFrame(
        [("idea", 60, 5), ("section_504_only", 40, 15), ("none", 300, 40), ("total", 400, 60)],
        schema=["disability", "enrolled", "oss"],
        orient="row",
    )
    by_disability = CountTable("by_disability", frame, ("disability",), ("oss",), "enrolled")
    release = suppress_release([by_race, by_disability])
    dis = column(release["by_disability"], "display", "oss")
    assert dis["idea"] == "<10" and dis["section_504_only"] == "*"
    assert column(release["by_race"], "display", "oss")["total"] == dis["total"] == "60"


def test_relations_found_by_combining_tables_are_protected():
    # two schools by race, and the district by race: the district row is the sum of the schools'
    school_a = oss_by_race([("bl", 40, 5), ("wh", 60, 20), ("total", 100, 25)], "a", {"school_id": "a"})
    school_b = oss_by_race([("bl", 50, 15), ("wh", 80, 22), ("total", 130, 37)], "b", {"school_id": "b"})
    by_school = CountTable(
        "by_school",
        pl.DataFrame(
            [("a", 100, 25), ("b", 130, 37), ("total", 230, 62)], schema=["school_id", "enrolled", "oss"], orient="row"
        ),
        ("school_id",),
        ("oss",),
        "enrolled",
    )
    district = oss_by_race([("bl", 90, 20), ("wh", 140, 42), ("total", 230, 62)], "district")
    release = suppress_release([school_a, school_b, by_school, district])
    assert column(release["a"], "display", "oss")["bl"] == "<10"
    hidden_b = column(release["b"], "hidden", "oss")["bl"]
    hidden_district = column(release["district"], "hidden", "oss")["bl"]
    # bl(a) = district bl - bl(b): at least one of them must be withheld
    assert hidden_b or hidden_district


def test_small_remainder_hides_a_count_that_says_nearly_everyone():
    table = suppress_table(oss_by_race([("hi", 48, 45), ("bl", 300, 40), ("wh", 400, 40), ("total", 748, 125)]))
    assert column(table, "display", "oss")["hi"] == "*"
    assert column(table, "reason", "oss")["hi"] == "small_remainder"
    assert column(table, "display", "oss_rate")["hi"] == "*"


def test_rates_of_small_groups_are_bottom_and_top_coded():
    settings = SuppressionSettings(protect_remainder=False)
    table = suppress_table(
        oss_by_race([("hi", 50, 0), ("bl", 60, 58), ("wh", 150, 0), ("am", 40, 20), ("total", 300, 78)]), settings
    )
    rates = column(table, "display", "oss_rate")
    assert rates["hi"] == "<=5%" and rates["bl"] == ">=95%"
    assert rates["wh"] == "0.0%", "groups of 100 or more are not coded"
    assert rates["am"] == "50.0%"
    assert column(table, "reason", "oss_rate")["bl"] == "top_coded"
    assert column(table, "published", "oss_rate")["bl"] is None


def test_empty_group_has_no_rate():
    table = suppress_table(oss_by_race([("pi", 0, 0), ("bl", 60, 20), ("wh", 150, 30), ("total", 210, 50)]))
    assert column(table, "display", "oss_rate")["pi"] == "n/a"
    assert column(table, "display", "enrolled")["pi"] == "0"
    assert column(table, "hidden", "oss_rate")["pi"] is False


def test_thresholds_are_settings():
    settings = SuppressionSettings(min_n=5, count_threshold=5)
    table = suppress_table(oss_by_race([("hi", 30, 4), ("bl", 40, 7), ("wh", 60, 12), ("total", 130, 23)]), settings)
    assert column(table, "display", "oss") == {"hi": "<5", "bl": "*", "wh": "12", "total": "23"}


def test_count_table_without_denominator():
    frame = pl.DataFrame(
        [("low", 40), ("moderate", 12), ("high", 3), ("imminent", 0), ("total", 55)],
        schema=["concern_level", "cases"],
        orient="row",
    )
    table = suppress_table(CountTable("cases_by_level", frame, ("concern_level",), ("cases",)))
    shown = column(table, "display", "cases")
    assert shown["high"] == "<10" and shown["moderate"] == "*" and shown["imminent"] == "0"
    assert "cases_rate" not in table.display.columns


def test_large_counts_are_formatted_with_thousands_separators():
    table = suppress_table(oss_by_race([("hi", 12000, 1500), ("wh", 30000, 2000), ("total", 42000, 3500)]))
    assert column(table, "display", "enrolled")["total"] == "42,000"
    assert column(table, "published", "enrolled")["total"] == 42000


def test_groups_that_do_not_add_to_the_total_are_refused_with_where():
    with pytest.raises(ReleaseError, match="race groups add to 100, the total row says 110"):
        suppress_table(oss_by_race([("hi", 40, 5), ("wh", 60, 20), ("total", 110, 25)]))


def test_a_numerator_above_its_group_size_is_refused():
    with pytest.raises(ReleaseError, match="row 1: oss \\(41\\) is more than enrolled"):
        suppress_table(oss_by_race([("hi", 40, 41), ("wh", 60, 20), ("total", 100, 61)]))


def test_one_cell_with_two_values_in_one_release_is_refused():
    a = oss_by_race([("hi", 40, 15), ("wh", 60, 20), ("total", 100, 35)], "a")
    b = oss_by_race([("hi", 41, 15), ("wh", 59, 20), ("total", 100, 35)], "b")
    with pytest.raises(ReleaseError, match="must agree with itself"):
        suppress_release([a, b])


def test_non_integer_counts_are_refused():
    frame = pl.DataFrame({"race": ["hi", "total"], "enrolled": [1.5, 1.5], "oss": [1, 1]})
    with pytest.raises(ReleaseError, match="whole counts"):
        suppress_table(CountTable("t", frame, ("race",), ("oss",), "enrolled"))


def test_state_size_counts_beside_small_ones_are_suppressed_without_solver_failure():
    """A state's groups run to millions beside groups of a few students; small groups are still hidden
    with their complements, and the attacker's integer program solves at that scale."""
    table = suppress_table(
        oss_by_race(
            [
                ("hi", 1_250_000, 61_337),
                ("bl", 480_113, 40_009),
                ("wh", 1_210_004, 30_011),
                ("as", 8, 0),
                ("pi", 7, 3),
                ("mu", 122_000, 3_001),
                ("total", 3_062_132, 134_361),
            ]
        )
    )
    shown = column(table, "display", "enrolled")
    assert shown["as"] == "*" and shown["pi"] == "*"
    assert sum(1 for v in column(table, "hidden", "enrolled").values() if v) >= 2
