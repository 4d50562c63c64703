"""Peer benchmarks from CRDC school counts: the peer rule and the peers' pooled risks, by hand.

The file holds, in NV, the test district 3200001 (schools A and B of tests/crdc_files.py: 360 + 310
students, 2 schools) and four more districts built here; the OR school of crdc_files is never a peer.
"""

from __future__ import annotations

import duckdb
import pytest

from access.benchmarks import NoCrdcDistrict, PeerLevelNotCompared, PeerRule, peer_benchmarks, peer_districts
from pipelines.reference.crdc import import_crdc
from tests.crdc_files import SCHOOLS, write_crdc_file, write_level_file

YEAR = "2021-22"
DISTRICT = "3200001"


def school(lea: str, sch: str, cells: dict) -> dict:
    return {
        "keys": {
            "LEA_STATE": "NV",
            "LEA_NAME": f"District {lea}",
            "LEAID": lea,
            "SCHID": sch,
            "SCH_NAME": f"School {lea}-{sch}",
            "COMBOKEY": lea + sch,
            "JJ": "No",
        },
        "cells": cells,
    }


PEER_1 = school(
    "3200002",
    "00001",
    {  # 500 students, one school
        "SCH_ENR_BL_M": 50,
        "SCH_ENR_BL_F": 50,
        "SCH_ENR_WH_M": 200,
        "SCH_ENR_WH_F": 200,
        "SCH_DISCWODIS_ISS_BL_M": 10,
        "SCH_DISCWDIS_ISS_IDEA_BL_F": 2,
        "SCH_DISCWODIS_ISS_WH_M": 8,
        "SCH_DISCWODIS_SINGOOS_BL_M": 5,
        "SCH_DISCWODIS_EXPWE_WH_F": 1,
        "SCH_DISCWODIS_REF_BL_M": 1,
        "SCH_DISCWODIS_ARR_WH_M": 2,
    },
)
PEER_2A = school(
    "3200003",
    "00001",
    {  # 300 students
        "SCH_ENR_BL_M": 20,
        "SCH_ENR_BL_F": 10,
        "SCH_ENR_HI_M": 100,
        "SCH_ENR_HI_F": 170,
        "SCH_DISCWODIS_ISS_BL_M": 3,
        "SCH_DISCWODIS_ISS_HI_F": 4,
        "SCH_DISCWODIS_MULTOOS_HI_M": 2,
    },
)
PEER_2B = school(
    "3200003",
    "00002",
    {  # 400 students; a reserve code in ISS leaves it out of iss only
        "SCH_ENR_WH_M": 200,
        "SCH_ENR_WH_F": 200,
        "SCH_DISCWODIS_ISS_WH_M": -9,
        "SCH_DISCWODIS_SINGOOS_WH_F": 6,
    },
)
TOO_BIG = school("3200004", "00001", {"SCH_ENR_WH_M": 1500, "SCH_ENR_WH_F": 1500, "SCH_DISCWODIS_ISS_WH_M": 100})
TOO_SMALL = school("3200005", "00001", {"SCH_ENR_BL_M": 50, "SCH_ENR_BL_F": 50, "SCH_DISCWODIS_ISS_BL_M": 40})


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("peers")
    path = write_crdc_file(folder / "CRDC_2021-22.csv", (*SCHOOLS, PEER_1, PEER_2A, PEER_2B, TOO_BIG, TOO_SMALL))
    import_crdc(folder / "w.duckdb", [path], state="NV")
    connection = duckdb.connect(str(folder / "w.duckdb"), read_only=True)
    yield connection
    connection.close()


def by_race(frame, outcome: str) -> dict[str, tuple[int, int]]:
    rows = frame.filter(frame["outcome"] == outcome).select("race_ethnicity", "n", "k").rows()
    return {race: (n, k) for race, n, k in rows if n}


def test_peers_are_same_state_districts_within_half_again_of_size_and_school_count(con):
    sizes = peer_districts(con, DISTRICT, YEAR)
    # the district: 360 + 310 = 670 students, 2 schools -> peers have 335..1005 students and 1..3 schools
    assert dict(sizes.select("lea_id", "students").rows()) == {
        "3200001": 670,
        "3200002": 500,
        "3200003": 700,
        "3200004": 3000,
        "3200005": 100,
    }
    assert sorted(sizes.filter(sizes["is_peer"])["lea_id"].to_list()) == ["3200002", "3200003"]
    narrow = peer_districts(con, DISTRICT, YEAR, PeerRule(enrollment_ratio=0.2))  # 536..804
    assert narrow.filter(narrow["is_peer"])["lea_id"].to_list() == ["3200003"]


def test_pooled_peer_risks_by_race_are_the_hand_computed_sums(con):
    frame = peer_benchmarks(con, DISTRICT, YEAR, PeerRule(min_peers=2))
    # iss: school 3200003-00002 reported -9 and is left out; bl: 100 + 30 enrolled, 10 + 2 + 3 with ISS
    assert by_race(frame, "iss") == {"bl": (130, 15), "wh": (400, 8), "hi": (270, 4)}
    # oss_or_expulsion: every peer school; wh: 400 + 400 enrolled, EXPWE 1 + SINGOOS 6
    assert by_race(frame, "oss_or_expulsion") == {"bl": (130, 5), "wh": (800, 7), "hi": (270, 2)}
    assert by_race(frame, "law_enforcement") == {"bl": (130, 1), "wh": (800, 2), "hi": (270, 0)}
    iss = frame.filter(frame["outcome"] == "iss").row(0, named=True)
    assert (iss["schools_used"], iss["schools_excluded"], iss["districts_used"]) == (2, 1, 2)
    assert iss["crdc_school_year"] == YEAR and iss["peer_districts"] == 2 and "same state" in iss["peer_rule"]
    bl = frame.filter((frame["outcome"] == "iss") & (frame["race_ethnicity"] == "bl")).row(0, named=True)
    assert bl["risk"] == pytest.approx(15 / 130)


def test_too_few_peers_show_no_benchmark(con):
    frame = peer_benchmarks(con, DISTRICT, YEAR)  # default min_peers = 3, only 2 qualify
    assert frame.height == 0 and "peer_rule" in frame.columns


def test_a_district_missing_from_crdc_is_named_in_the_error(con):
    with pytest.raises(NoCrdcDistrict, match="3299999"):
        peer_districts(con, "3299999", YEAR)


# -- the school-level mix (tests/crdc_files.py LEVEL_SCHOOLS, with the CRDC grade columns) -------------------------
# High-school share = students in grades 9-12, a school's students spread evenly over the grades it offers
# (KG and 1-12). By hand:
#   3200001: A 360 students K-5 (0 of 6 grades high school), B 310 students 6-12 (4 of 7)
#            -> 310 * 4/7 / 670 = 0.26439; 670 students, 2 schools -> size band 335..1005, 1..3 schools
#   3200002: 500, grades 9-12            -> 1.0       (size ok, level 0.736 away: not a peer)
#   3200003: 300 K-8 + 400 9-12          -> 400/700 = 0.571 (0.307 away: not a peer)
#   3200006: 600, K-12 (4 of 13)         -> 0.3077    (0.043 away: peer)
#   3200007: 450, ungraded only          -> unknown   (not a peer when the level is compared)
#   3200008: 400 K-5 + 400 6-12          -> 400*4/7 / 800 = 0.2857 (0.021 away: peer)
#   3200009: 700, K-12                   -> 0.3077    (peer)
#   3200004 (3000) and 3200005 (100) are outside the size band whatever their level.


@pytest.fixture(scope="module")
def level_con(tmp_path_factory):
    folder = tmp_path_factory.mktemp("levels")
    import_crdc(folder / "w.duckdb", [write_level_file(folder / "CRDC_2021-22.csv")], state="NV")
    connection = duckdb.connect(str(folder / "w.duckdb"), read_only=True)
    yield connection
    connection.close()


def test_high_school_share_comes_from_the_grades_each_school_offers(level_con):
    shares = dict(peer_districts(level_con, DISTRICT, YEAR).select("lea_id", "high_school_share").rows())
    assert shares["3200001"] == pytest.approx(310 * 4 / 7 / 670)
    assert shares["3200003"] == pytest.approx(400 / 700)
    assert shares["3200006"] == pytest.approx(4 / 13)
    assert shares["3200008"] == pytest.approx(400 * 4 / 7 / 800)
    assert shares["3200007"] is None  # ungraded only: no level


def test_level_rule_keeps_only_districts_with_a_similar_high_school_share(level_con):
    by_size = peer_districts(level_con, DISTRICT, YEAR, PeerRule(high_school_share_band=None))
    assert sorted(by_size.filter(by_size["is_peer"])["lea_id"].to_list()) == [
        "3200002",
        "3200003",
        "3200006",
        "3200007",
        "3200008",
        "3200009",
    ]
    with_level = peer_districts(level_con, DISTRICT, YEAR)
    assert sorted(with_level.filter(with_level["is_peer"])["lea_id"].to_list()) == ["3200006", "3200008", "3200009"]
    assert with_level["level_compared"].all()
    assert "high-school grades" in with_level["peer_rule"][0] and "NOT compared" not in with_level["peer_rule"][0]
    wide = peer_districts(level_con, DISTRICT, YEAR, PeerRule(high_school_share_band=0.35))  # 0.307 is inside
    assert sorted(wide.filter(wide["is_peer"])["lea_id"].to_list()) == ["3200003", "3200006", "3200008", "3200009"]


def test_level_peers_pool_to_the_hand_computed_risks(level_con):
    frame = peer_benchmarks(level_con, DISTRICT, YEAR)
    # iss, peers 3200006, 3200008, 3200009: bl enrolled 100 + 200 + 100, with ISS 6 + 2 (IDEA) + 8 + 3
    # wh enrolled 500 + 200 + 200 + 600, with ISS 10 + 3 + 12; hi enrolled 200, with ISS 4
    assert by_race(frame, "iss") == {"bl": (400, 19), "wh": (1500, 25), "hi": (200, 4)}
    assert frame["peer_districts"][0] == 3


def test_without_grade_columns_the_level_rule_says_it_was_not_applied(con):
    with pytest.warns(PeerLevelNotCompared, match="grade columns"):
        sizes = peer_districts(con, DISTRICT, YEAR)
    assert not sizes["level_compared"].any()
    assert "school level NOT compared" in sizes["peer_rule"][0] and "SCH_GRADE_" in sizes["peer_rule"][0]
    assert sorted(sizes.filter(sizes["is_peer"])["lea_id"].to_list()) == ["3200002", "3200003"]  # size rule only
