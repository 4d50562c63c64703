"""The Monte Carlo null distributions of the concern-level independence test (metrics/concern.py).

Kept apart, with numpy and scipy as its only imports, so that it can also run as a helper process:
`python metrics/_montecarlo.py` reads pickled jobs on stdin and writes the pickled counts on stdout.
It is started by path, never through multiprocessing, so it never re-imports the caller's main script.
"""

from __future__ import annotations

import pickle
import sys

import numpy as np
from scipy import stats


def count_at_least(jobs: list, permutations: int, seed: int) -> list[list[float]]:
    """For each (rowsums, colsums, observed statistics): how many null statistics reach each observed one,
    with scipy.stats.monte_carlo_test's tolerance (alternative 'greater')."""
    out = []
    for rowsums, colsums, observed in jobs:
        null = null_distribution(rowsums, colsums, permutations, seed)
        out.append(
            [
                float(np.sum(null >= value - np.abs(np.finfo(np.float64).eps * 100 * value), dtype=np.float64))
                for value in observed
            ]
        )
    return out


def null_distribution(rowsums: tuple[int, ...], colsums: tuple[int, ...], permutations: int, seed: int) -> np.ndarray:
    """The Monte Carlo statistics of chi2_contingency for these margins: scipy.stats.random_table drawn
    from default_rng(seed), as scipy's _chi2_monte_carlo_method draws them."""
    rows, cols = np.array(rowsums), np.array(colsums)
    expected = (np.multiply.outer(rows.astype(np.float64), cols.astype(np.float64)) / float(rows.sum())).ravel()
    tables = stats.random_table(rows, cols, seed=np.random.default_rng(seed)).rvs(size=permutations)
    return np.sum((tables.reshape(permutations, rows.size * cols.size) - expected) ** 2 / expected, axis=-1)


if __name__ == "__main__":
    jobs_, permutations_, seed_ = pickle.load(sys.stdin.buffer)
    pickle.dump(count_at_least(jobs_, permutations_, seed_), sys.stdout.buffer)
    sys.stdout.buffer.flush()
