"""The Process audit page's figures as a suppressed viewer (the board) may see them: each district indicator's
numerator and denominator as the release prints them, its share as the release publishes it (null when a count
is hidden or the rate is coded), and a status mark only when released figures decide it: on or off target needs
the published share ("off target" over a `<10` says which end of 1-9 it is), "no cases" and "too few cases" need
only the published case count. The rule per statistic is in docs/PRIVACY.md ("Derived statistics")."""

from __future__ import annotations

import polars as pl

from access.suppression import SuppressedRelease
from figures.derived import audit_key

WITHHELD = "withheld"


def released_status(status: str, denominator: int | None, share: float | None) -> str:
    """The status a suppressed viewer may see: one that follows from released figures, else 'withheld'."""
    if share is not None or (denominator is not None and status in ("not_applicable", "too_few")):
        return status
    return WITHHELD


def released_audit_rows(district: pl.DataFrame, release: SuppressedRelease) -> tuple[pl.DataFrame, list[str]]:
    """District process-audit rows of one year with `num` and `den` (printed counts), `shown_value` (the
    published share) and `status` as the release allows, and the release's footnotes of those counts."""
    nums, dens, vals, marks, notes = [], [], [], [], []
    for r in district.iter_rows(named=True):
        key = audit_key(r)
        t = release[f"audit_district_{key}"]
        share = t.published[f"{key}_num_rate"][0]
        nums.append(t.display[f"{key}_num"][0])
        dens.append(t.display[f"{key}_den"][0])
        vals.append(share)
        marks.append(released_status(r["status"], t.published[f"{key}_den"][0], share))
        notes += list(t.footnotes.values())
    shown = district.with_columns(
        pl.Series("num", nums, dtype=pl.String),
        pl.Series("den", dens, dtype=pl.String),
        pl.Series("shown_value", vals, dtype=pl.Float64),
        pl.Series("status", marks, dtype=pl.String),
    )
    return shown, notes
