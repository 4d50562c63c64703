"""Our Aalen-Johansen cumulative incidence against lifelines' AalenJohansenFitter (a test-only check).

lifelines cannot take tied event times: it jitters them by up to `jitter_level` (events only, censorings stay).
Splitting a tie of events into distinct times leaves the Aalen-Johansen estimate after the tie unchanged (each
event of the day takes E(t-)/n off the event-free share, in whatever order), so the two agree at every day once
the jittered events of that day are all past. A case censored on a day is still at risk on it in our
convention; it is handed to lifelines half a day later so that it is at risk for the events it ties with.
Every duration is handed over one day later (lifelines' curve starts at 0; a jittered day-0 event would not).

lifelines 0.30.3 declares pandas<3 while the project pins pandas 3.1.1, so it is not in requirements.txt; it
runs with the pinned pandas (see requirements.txt's test-only note). Without it this file is skipped.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from metrics.competing_risks import CLOSED_UNSERVED, OPEN, SERVED, aalen_johansen

lifelines = pytest.importorskip("lifelines", reason="lifelines (test only) is not installed")

CODE = {OPEN: 0, SERVED: 1, CLOSED_UNSERVED: 2}


def _lifelines_cif(days, outcomes, seed):
    from lifelines import AalenJohansenFitter

    # one day later for all (a jittered day-0 event would be negative and lifelines' curve starts at 0)
    durations = np.array([d + 1.5 if o == OPEN else d + 1 for d, o in zip(days, outcomes)], dtype=float)
    events = np.array([CODE[o] for o in outcomes])
    fitter = AalenJohansenFitter(jitter_level=1e-4, seed=seed, calculate_variance=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tie warning is why the durations are jittered
        fitter.fit(durations, events, event_of_interest=1)
    cif = fitter.cumulative_density_.iloc[:, 0]
    return lambda day: float(cif[cif.index <= day + 1.25].iloc[-1])


TABLES = {
    # issue 15's toy case: four closed unserved on day 2, three served on day 5, three on day 20
    "toy": ([2] * 4 + [5] * 3 + [20] * 3, [CLOSED_UNSERVED] * 4 + [SERVED] * 6),
    # both kinds of event and a censoring on the same day, twice
    "mixed ties": (
        [0, 1, 1, 1, 3, 3, 3, 3, 4, 7, 7, 9],
        [SERVED, SERVED, CLOSED_UNSERVED, OPEN, SERVED, SERVED, CLOSED_UNSERVED, OPEN, OPEN, SERVED, OPEN, SERVED],
    ),
}


@pytest.mark.parametrize("name", [*TABLES, "random-1", "random-2", "random-3"])
def test_cumulative_incidence_matches_lifelines(name):
    if name in TABLES:
        days, outcomes = TABLES[name]
    else:
        rng = np.random.default_rng(int(name[-1]))
        days = rng.integers(0, 30, 150).tolist()  # heavy ties: 150 cases on 30 days
        outcomes = rng.choice([SERVED, CLOSED_UNSERVED, OPEN], 150, p=[0.6, 0.2, 0.2]).tolist()
    ours = aalen_johansen([float(d) for d in days], outcomes, min_cases=1)
    theirs = _lifelines_cif(days, outcomes, seed=7)
    curve = ours.curve
    assert curve.height == len(set(days))
    for day, cif in zip(curve["days"].to_list(), curve["cumulative_incidence"].to_list()):
        assert cif == pytest.approx(theirs(day), abs=1e-12), f"day {day}"
    assert ours.ever_served == pytest.approx(theirs(max(days)), abs=1e-12)
