"""The audit log for administrators: who logged in, loaded, exported, downloaded; filtered by event, user, date.

The log (access/audit_log.py) holds no student-level values, only counts and
filters, so the whole of it may be shown to an administrator. The chain check
says whether any line was edited, removed or inserted since it was written.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from access import audit_log
from access.roles import ADMIN
from ui.context import page_context
from ui.text import fmt_count

ctx = page_context()
if ctx.viewer.role != ADMIN:
    st.error("The audit log is for administrators only.")
    st.stop()

st.title("Audit log")
check = audit_log.verify()
if check.ok:
    st.success(
        f"The chain of {fmt_count(check.events)} events is unbroken: no line was edited, removed or inserted. "
        f"Head {check.head[:16]}… (keep it elsewhere to detect cut-off events: `pipelines audit --verify`).",
        icon=":material/verified:",
    )
else:
    st.error(f"The audit log was changed after it was written: {check.problem}.", icon=":material/gpp_bad:")

events = audit_log.read_frame()
left, middle, right = st.columns(3)
chosen_events = left.multiselect("Event", audit_log.EVENTS, key="audit_events", placeholder="Every event")
users = sorted(u for u in events["user"].unique().to_list() if u)
chosen_users = middle.multiselect("User", users, key="audit_users", placeholder="Every user")
today = dt.datetime.now(dt.UTC).date()
dates = right.date_input("Dates (UTC)", value=(today - dt.timedelta(days=30), today), key="audit_dates")

shown = events
if chosen_events:
    shown = shown.filter(pl.col("event").is_in(chosen_events))
if chosen_users:
    shown = shown.filter(pl.col("user").is_in(chosen_users))
if isinstance(dates, tuple) and len(dates) == 2:
    first, last = dates
    day = pl.col("time").str.slice(0, 10)
    shown = shown.filter((day >= first.isoformat()) & (day <= last.isoformat()))

st.caption(f"{fmt_count(shown.height)} of {fmt_count(events.height)} events, newest first.")
if shown.is_empty():
    st.info("No event matches these filters.")
else:
    st.dataframe(shown.reverse(), hide_index=True, width="stretch")
