"""Roles and school scope: who sees case rows, who gets suppressed aggregates."""

from __future__ import annotations

import pytest

from access.roles import (
    Viewer,
    filter_school_ids,
    may_download_rows,
    may_load,
    may_manage_users,
    may_read_audit_log,
    may_see_case_rows,
    must_suppress,
    viewer,
)

ADMIN = viewer("admin")
DISTRICT = viewer("district")
COORD_A = viewer("coordinator", ["a"])
BOARD = viewer("board")


def test_board_is_always_suppressed_and_cannot_be_built_otherwise():
    assert BOARD.suppressed
    with pytest.raises(ValueError, match="always suppressed"):
        Viewer("board", None, suppressed=False)


def test_coordinator_needs_schools_and_others_cannot_be_scoped():
    with pytest.raises(ValueError, match="at least one school"):
        viewer("coordinator", [])
    with pytest.raises(ValueError, match="only coordinators"):
        Viewer("district", frozenset({"a"}))
    with pytest.raises(ValueError, match="unknown role"):
        viewer("superuser")


def test_case_rows_follow_school_scope():
    assert may_see_case_rows(ADMIN, "b") and may_see_case_rows(DISTRICT, "b")
    assert may_see_case_rows(COORD_A, "a")
    assert not may_see_case_rows(COORD_A, "b")
    assert not may_see_case_rows(BOARD, "a")
    assert not may_see_case_rows(viewer("district", preview_public=True), "a")


def test_suppression_by_role_and_scope():
    assert must_suppress(BOARD, ["a"]) and must_suppress(BOARD, None)
    assert not must_suppress(DISTRICT, None) and not must_suppress(ADMIN, ["b"])
    assert not must_suppress(COORD_A, ["a"])
    assert must_suppress(COORD_A, None), "district-wide aggregates come suppressed to a coordinator"
    assert must_suppress(COORD_A, ["b"])
    assert must_suppress(COORD_A, ["a", "b"])
    assert must_suppress(COORD_A, [])


def test_downloads_of_rows():
    assert may_download_rows(ADMIN) and may_download_rows(DISTRICT) and may_download_rows(COORD_A)
    assert not may_download_rows(BOARD)


def test_admin_only_actions():
    assert may_manage_users(ADMIN) and may_load(ADMIN) and may_read_audit_log(ADMIN)
    for v in (DISTRICT, COORD_A, BOARD):
        assert not (may_manage_users(v) or may_load(v) or may_read_audit_log(v))


def test_a_coordinator_asking_for_another_school_gets_nothing():
    assert filter_school_ids(COORD_A, ["b"]) == frozenset()
    assert filter_school_ids(COORD_A, ["a", "b"]) == frozenset({"a"})
    assert filter_school_ids(COORD_A, None) == frozenset({"a"})
    assert filter_school_ids(COORD_A, ["a' or '1'='1"]) == frozenset()


def test_district_filters_pass_through():
    assert filter_school_ids(DISTRICT, None) is None
    assert filter_school_ids(DISTRICT, ["b"]) == frozenset({"b"})


def test_cache_keys_differ_whenever_what_may_be_seen_differs():
    keys = {
        v.cache_key()
        for v in (
            ADMIN,
            DISTRICT,
            COORD_A,
            viewer("coordinator", ["b"]),
            viewer("coordinator", ["a", "b"]),
            BOARD,
            viewer("district", preview_public=True),
        )
    }
    assert len(keys) == 7
    assert viewer("coordinator", ["b", "a"]).cache_key() == viewer("coordinator", ["a", "b"]).cache_key()


def test_board_filters_are_always_district_wide():
    """Different school selections are different releases; the board gets one: the whole district."""
    from access.filters import FilterOptions, School, parse
    from access.roles import may_choose_schools, viewer

    options = FilterOptions(("2024-25",), (School("A", "Alder", "high"), School("B", "Birch", "middle")))
    board = viewer("board")
    assert not may_choose_schools(board)
    chosen = parse({"year": "2024-25", "schools": "A", "level": "high"}, options, board)
    assert chosen.school_ids == () and chosen.school_level is None and chosen.school_year == "2024-25"
    district = parse({"year": "2024-25", "schools": "A"}, options, viewer("district"))
    assert district.school_ids == ("A",)
