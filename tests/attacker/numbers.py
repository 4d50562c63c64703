"""What a shown string says about the number behind it.

A shown figure is rounded, so it says the true value lies in an interval: "12%" is 11.5-12.5 per cent,
"2.0 times" is 1.95-2.05, "1,234" is exactly 1234. A label says a range ("<10" is 1-9) or nothing ("*",
"–", "n/a", "withheld"). Every parse keeps the half-width of its last shown digit, which is what the
program turns into an interval constraint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MINUS = "\u2212"
DASHES = "\u2013\u2014"
NUMBER = re.compile(r"(?<![\w.])[-+\u2212]?\d[\d,]*(?:\.\d+)?")


@dataclass(frozen=True)
class Shown:
    """The interval a shown figure puts its true value in; `exact` when nothing was rounded away."""

    low: float
    high: float
    exact: bool

    @property
    def value(self) -> float:
        return (self.low + self.high) / 2


def _clean(text: str) -> str:
    return text.strip().replace(MINUS, "-").replace("\u00a0", " ")


def parse_decimal(token: str) -> Shown:
    """A decimal as printed: its interval is +- half of its last digit ("2.0" -> 1.95-2.05; "12" -> 11.5-12.5)."""
    token = _clean(token).replace(",", "")
    digits = len(token.split(".")[1]) if "." in token else 0
    half = 0.5 * 10.0**-digits
    value = float(token)
    return Shown(value - half, value + half, exact=False)


def parse_count(text: str, *, threshold: int = 10) -> Shown | None:
    """A shown count: "1,234" is exactly 1234, "<10" is 1 to threshold-1, anything else ("*", "–") says nothing."""
    text = _clean(text)
    if re.fullmatch(r"\d[\d,]*", text):
        value = float(text.replace(",", ""))
        return Shown(value, value, exact=True)
    if text == f"<{threshold}":
        return Shown(1, threshold - 1, exact=False)
    return None


def parse_share(text: str) -> Shown | None:
    """A shown percentage as a fraction: "12%" -> 0.115-0.125; "<=5%" -> 0-0.05; ">=95%" -> 0.95-1."""
    text = _clean(text).replace(" ", "")
    coded = re.fullmatch(r"(<=|≤|>=|≥)(\d+(?:\.\d+)?)%", text)
    if coded:
        edge = float(coded.group(2)) / 100
        return Shown(0.0, edge, False) if coded.group(1) in ("<=", "≤") else Shown(edge, 1.0, False)
    plain = re.fullmatch(r"[-+]?\d+(?:\.\d+)?%", text)
    if not plain:
        return None
    shown = parse_decimal(text[:-1])
    return Shown(max(shown.low, 0.0) / 100, shown.high / 100, exact=False)


def numbers_in(text: str) -> list[Shown]:
    """Every plain number in a sentence, in order, each with its rounding interval (percent signs kept as %)."""
    found = []
    for match in NUMBER.finditer(_clean(text)):
        token = match.group(0)
        if "," in token and not re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", token):
            continue
        found.append(parse_decimal(token) if "." in token else parse_integer(token))
    return found


def parse_integer(token: str) -> Shown:
    value = float(_clean(token).replace(",", ""))
    return Shown(value, value, exact=True)


def parse_interval(text: str) -> tuple[Shown, Shown] | None:
    """A printed interval "1.3–3.3" or "(1.3-3.3)" as its two rounded ends."""
    match = re.search(r"(-?\d+(?:\.\d+)?)\s*[" + DASHES + r"-]\s*(-?\d+(?:\.\d+)?)", _clean(text))
    if not match:
        return None
    return parse_decimal(match.group(1)), parse_decimal(match.group(2))
