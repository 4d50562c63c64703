"""Checks of a web upload before it reaches the loader, worded for the web form (the loader's own messages name
command-line options such as --entity, which a web user does not have)."""

from __future__ import annotations

from pathlib import Path

from data_contracts.interchange import ENTITIES
from pipelines.loader import DATA_SUFFIXES
from pipelines.profiles import load_profile


def unnamed_files(names: list[str], profile: str, entity: str | None) -> str | None:
    """The web form's words for uploads whose entity the loader cannot tell from the name (the command line's
    message names --entity, which a web user does not have); None when every file's entity is known."""
    if entity is not None:
        return None
    try:
        known = load_profile(profile)
    except Exception:  # an unreadable profile is reported by the loader itself, with its reason
        return None
    unknown = [n for n in names if Path(n).suffix.lower() in DATA_SUFFIXES and known.entity_for(n) is None]
    if not unknown:
        return None
    return (
        f"Cannot tell which entity {'this file holds' if len(unknown) == 1 else 'these files hold'}: "
        f"{', '.join(unknown)}. Rename {'it' if len(unknown) == 1 else 'each'} after its entity "
        f"({', '.join(ENTITIES)}), choose the entity under *What the files hold* (when every file uploaded holds "
        f"the same one), or ask for the file name to be added to the profile *{profile}*. Nothing was loaded."
    )
