"""Issue 16: a page's own selections live in the URL beside year, schools and level, so a shared link opens the
same view; a value the page does not offer is ignored, never an error (AppTest on the small demo warehouse)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def demo_db(demo_warehouse) -> Path:
    return demo_warehouse(students=5000)


def test_a_link_opens_the_equity_page_on_its_outcome_and_groups(start):
    at = start("equity", demo_role="district", params={"outcome": "iss", "groups": "disability_status"})
    assert not at.exception
    assert at.selectbox(key="equity_outcome").value == "iss"
    assert at.selectbox(key="equity_dimension").value == "disability_status"
    assert "iss" in str(at.query_params["outcome"])


def test_a_choice_on_the_page_is_written_to_the_url(start):
    at = start("concern_levels", demo_role="district")
    assert "by" not in at.query_params  # the default leaves the link short
    at.selectbox(key="levels_dimension").select("race_ethnicity").run()
    assert not at.exception
    assert str(at.query_params["by"]).strip("[]'\"") == "race_ethnicity"
    at.selectbox(key="levels_dimension").select("school").run()
    assert "by" not in at.query_params


@pytest.mark.parametrize(
    "page, params, key, default",
    [
        ("equity", {"outcome": "'; drop table x", "groups": "nonsense"}, "equity_outcome", "btam_referral"),
        ("discipline_outcomes", {"outcome": "x" * 500}, "discipline_outcome", "case_exclusionary"),
        ("time_to_intervention", {"by": "student_id"}, "tti_dimension", "concern_level"),
        ("case_volumes", {"by": "secret"}, "volumes_breakdown", "report_source"),
    ],
)
def test_a_value_the_page_does_not_offer_is_ignored(start, page, params, key, default):
    at = start(page, demo_role="district", params=params)
    assert not at.exception, page
    widget = at.selectbox(key=key) if page != "case_volumes" else at.radio(key=key)
    assert widget.value == default


def test_the_board_s_link_keeps_its_choice_of_published_groups(start):
    at = start("discipline_outcomes", demo_role="board", params={"groups": "disability_status"})
    assert not at.exception
    assert at.selectbox(key="discipline_dimension").value == "disability_status"
    at = start("discipline_outcomes", demo_role="board", params={"groups": "sex"})  # not published for it
    assert at.selectbox(key="discipline_dimension").value != "sex"
