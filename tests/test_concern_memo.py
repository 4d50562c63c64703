"""The Monte Carlo counts of the concern-level test are drawn once per process and margins: a repeated
request gives the very same p-values without drawing again, in this process or with the helper."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from metrics import concern
from metrics.config import MetricSettings

LEVELS = ("low", "moderate", "high", "imminent")


def _sparse_counts(tests: int, seed: int) -> pl.DataFrame:
    """Small tables (a school's few cases): nearly all go to the Monte Carlo branch."""
    rng = np.random.default_rng(seed)
    rows = [(f"S{t}", g, lvl, int(rng.integers(0, 4))) for t in range(tests) for g in ("a", "b", "c") for lvl in LEVELS]
    return pl.DataFrame(
        rows, orient="row", schema={"scope": pl.String, "group": pl.String, "concern_level": pl.String, "n": pl.Int64}
    )


def test_a_repeated_request_reuses_the_drawn_counts_and_gives_the_same_p_values(monkeypatch):
    counts = _sparse_counts(40, 1)
    settings = MetricSettings(permutations=400)
    concern.clear_monte_carlo_memo()
    first = concern.concern_independence_table(counts, ["scope"], "group", settings)
    assert (first["method"] == "monte_carlo").sum() > 10

    def no_drawing(*args):
        raise AssertionError("drew again")

    monkeypatch.setattr(concern, "_drawn_counts", no_drawing)
    assert concern.concern_independence_table(counts, ["scope"], "group", settings).equals(first)
    # another seed or number of draws is another request
    with pytest.raises(AssertionError, match="drew again"):
        concern.concern_independence_table(counts, ["scope"], "group", MetricSettings(permutations=401))


def test_the_helper_process_and_the_memo_agree_with_drawing_here(monkeypatch):
    counts = _sparse_counts(60, 2)
    settings = MetricSettings(permutations=300)
    concern.clear_monte_carlo_memo()
    alone = concern.concern_independence_table(counts, ["scope"], "group", settings)
    concern.clear_monte_carlo_memo()
    monkeypatch.setattr(concern, "_PARALLEL_FROM", 2)
    shared = concern.concern_independence_table(counts, ["scope"], "group", settings)
    assert shared.equals(alone)
    assert concern.concern_independence_table(counts, ["scope"], "group", settings).equals(alone)


def test_a_full_memo_is_cleared_not_grown(monkeypatch):
    monkeypatch.setattr(concern, "_MEMO_MAX", 5)
    concern.clear_monte_carlo_memo()
    counts = _sparse_counts(20, 3)
    settings = MetricSettings(permutations=200)
    first = concern.concern_independence_table(counts, ["scope"], "group", settings)
    assert len(concern._MEMO) <= max(5, (first["method"] == "monte_carlo").sum())
    assert concern.concern_independence_table(counts, ["scope"], "group", settings).equals(first)
