"""Plain-language names of the interchange spec's group codes that every reader shares: the pages
(ui/page_data.py) and the board report (reports/labels.py) word the rest for their own readers."""

from __future__ import annotations

RACE_NAMES = {
    "hi": "Hispanic or Latino",
    "am": "American Indian or Alaska Native",
    "as": "Asian",
    "bl": "Black or African American",
    "pi": "Native Hawaiian or Pacific Islander",
    "wh": "White",
    "mu": "Two or more races",
}
SEX_NAMES = {"f": "Female", "m": "Male", "x": "Nonbinary"}
YES_NO_NAMES = {
    "english_learner": {"y": "English learners", "n": "Not English learners"},
    "econ_disadvantaged": {"y": "Economically disadvantaged", "n": "Not economically disadvantaged"},
}
