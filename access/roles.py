"""Who may see what: roles, school scope, and the rules the data layer enforces.

FERPA lets school officials see education records only where they have a
legitimate educational interest (34 CFR 99.31(a)(1)); anything public must be
de-identified (99.31(b)(1)). The rules are plain functions of a `Viewer`, so
queries, downloads, exports and reports ask the same questions, and every
cache key carries `viewer.cache_key()` so one role never receives another
role's cached result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ADMIN, DISTRICT, COORDINATOR, BOARD = "admin", "district", "coordinator", "board"
ROLES = (ADMIN, DISTRICT, COORDINATOR, BOARD)


@dataclass(frozen=True)
class Viewer:
    """The role and school scope a request runs under.

    school_ids None means every school (admin, district, board); a coordinator
    always has a non-empty set. suppressed True means every aggregate this
    viewer receives is suppressed and no case-level row is shown: always for the
    board, and for anyone previewing the public view.
    """

    role: str
    school_ids: frozenset[str] | None = None
    suppressed: bool = False

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"unknown role {self.role!r}; roles are {', '.join(ROLES)}")
        if self.school_ids is not None:
            ids = frozenset(str(s) for s in self.school_ids)
            object.__setattr__(self, "school_ids", ids)
        if self.role == COORDINATOR and not self.school_ids:
            raise ValueError("a coordinator needs at least one school_id")
        if self.role != COORDINATOR and self.school_ids is not None:
            raise ValueError(f"only coordinators are scoped to schools; a {self.role} sees every school")
        if self.role == BOARD and not self.suppressed:
            raise ValueError("the board view is always suppressed")

    def cache_key(self) -> str:
        """A string that differs whenever what this viewer may receive differs."""
        schools = ",".join(sorted(self.school_ids)) if self.school_ids is not None else "*"
        return f"{self.role}|{schools}|{'suppressed' if self.suppressed else 'exact'}"


def viewer(role: str, school_ids: Iterable[str] | None = None, *, preview_public: bool = False) -> Viewer:
    """The usual viewer of a role: the board is suppressed, others unless previewing the public view."""
    ids = frozenset(school_ids) if school_ids is not None else None
    return Viewer(role, ids, suppressed=role == BOARD or preview_public)


def may_see_case_rows(v: Viewer, school_id: str) -> bool:
    """Case-level rows of one school: district staff, and coordinators of that school."""
    if v.suppressed or v.role == BOARD:
        return False
    if v.role in (ADMIN, DISTRICT):
        return True
    return str(school_id) in (v.school_ids or frozenset())


def must_suppress(v: Viewer, scope: Iterable[str] | None) -> bool:
    """Whether an aggregate over these schools (None: the whole district) is suppressed for this viewer.

    Coordinators see their own schools' aggregates exactly; district-wide
    aggregates and other schools' come to them suppressed.
    """
    if v.suppressed or v.role == BOARD:
        return True
    if v.role in (ADMIN, DISTRICT):
        return False
    if scope is None:
        return True
    requested = frozenset(str(s) for s in scope)
    return not requested or not requested <= (v.school_ids or frozenset())


def may_download_rows(v: Viewer) -> bool:
    """Row-level downloads (always further limited to filter_school_ids)."""
    return not v.suppressed and v.role in (ADMIN, DISTRICT, COORDINATOR)


def may_manage_users(v: Viewer) -> bool:
    return v.role == ADMIN and not v.suppressed


def may_load(v: Viewer) -> bool:
    return v.role == ADMIN and not v.suppressed


def may_read_audit_log(v: Viewer) -> bool:
    return v.role == ADMIN and not v.suppressed


def filter_school_ids(v: Viewer, requested: Iterable[str] | None) -> frozenset[str] | None:
    """The schools a query may touch. None means every school.

    A coordinator gets the intersection of what they asked for and their own
    schools, so asking for another school yields the empty set: nothing.
    """
    wanted = None if requested is None else frozenset(str(s) for s in requested)
    if v.role != COORDINATOR:
        return wanted
    own = v.school_ids or frozenset()
    return own if wanted is None else wanted & own


def may_choose_schools(v: Viewer) -> bool:
    """Board views are district-wide only: comparing suppressed releases for different school
    selections ({A, B, C} against {A, B}) could recover a hidden school's small counts."""
    return v.role != BOARD
