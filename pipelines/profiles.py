"""Mapping profiles: how one source system's export becomes the interchange format.

Profiles are JSON data in data_contracts/profiles/ (format in its README.md), so
a district adds its own without writing code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.interchange import ENTITIES

PROFILES_DIR = Path(__file__).resolve().parent.parent / "data_contracts" / "profiles"
ISO_DATE = "%Y-%m-%d"


class ProfileError(ValueError):
    """A profile that cannot be used; the message says which key is wrong."""


def _norm(text: str) -> str:
    return text.strip().lower()


@dataclass(frozen=True)
class Profile:
    name: str
    files: dict[str, str] = field(default_factory=dict)
    date_formats: tuple[str, ...] = (ISO_DATE,)
    true_words: tuple[str, ...] = ("y",)
    false_words: tuple[str, ...] = ("n",)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    entities: dict[str, dict] = field(default_factory=dict)

    def entity_for(self, file_name: str) -> str | None:
        """Entity of a file from its name stem: interchange names first, then the profile's prefixes."""
        stem = _norm(Path(file_name).name.split(".")[0])
        candidates = {name: name for name in ENTITIES}
        candidates.update({_norm(prefix): entity for prefix, entity in self.files.items()})
        matches = [prefix for prefix in candidates if stem == prefix or stem.startswith(prefix)]
        if not matches:
            return None
        return candidates[max(matches, key=len)]

    def renames(self, entity: str) -> dict[str, str]:
        """Source column (normalised) -> interchange column."""
        rename = self.entities.get(entity, {}).get("rename", {})
        return {_norm(src): dst for src, dst in rename.items()}

    def sheet_for(self, entity: str) -> str | None:
        """The Excel sheet the profile names for an entity's workbooks, if any."""
        return self.entities.get(entity, {}).get("sheet")

    def crosswalk(self, entity: str, column: str) -> dict[str, str]:
        """Source label (normalised) -> interchange code, entity-specific entries winning."""
        merged = {_norm(k): v for k, v in self.values.get(column, {}).items()}
        specific = self.entities.get(entity, {}).get("values", {}).get(column, {})
        merged.update({_norm(k): v for k, v in specific.items()})
        return merged


def load_profile(name_or_path: str) -> Profile:
    """A profile by name (data_contracts/profiles/NAME.json) or by path to a JSON file."""
    path = Path(name_or_path)
    if path.suffix != ".json":
        path = PROFILES_DIR / f"{name_or_path}.json"
    if not path.exists():
        known = sorted(p.stem for p in PROFILES_DIR.glob("*.json"))
        raise ProfileError(
            f"profile {name_or_path!r} not found; known profiles: {', '.join(known)}, or give the path of a .json file"
        )
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ProfileError(f"profile {path}: not valid JSON at line {exc.lineno}: {exc.msg}") from exc
    for entity in list(raw.get("files", {}).values()) + list(raw.get("entities", {})):
        if entity not in ENTITIES:
            raise ProfileError(f"profile {path}: unknown entity {entity!r}; entities are {', '.join(ENTITIES)}")
    for entity, spec in raw.get("entities", {}).items():
        sheet = spec.get("sheet")
        if sheet is not None and (not isinstance(sheet, str) or not sheet.strip()):
            raise ProfileError(f"profile {path}: {entity}.sheet must be the name of a sheet, as text")
        for src, dst in spec.get("rename", {}).items():
            if dst not in ENTITIES[entity].column_names:
                raise ProfileError(
                    f"profile {path}: {entity}.rename maps {src!r} to {dst!r}, which is not a column of {entity}"
                )
    formats = tuple(raw.get("date_formats", [])) + (ISO_DATE,)
    booleans = raw.get("booleans", {})
    return Profile(
        name=raw.get("name", path.stem),
        files=dict(raw.get("files", {})),
        date_formats=tuple(dict.fromkeys(formats)),
        true_words=tuple(dict.fromkeys([_norm(w) for w in booleans.get("true", [])] + ["y"])),
        false_words=tuple(dict.fromkeys([_norm(w) for w in booleans.get("false", [])] + ["n"])),
        values={col: dict(m) for col, m in raw.get("values", {}).items()},
        entities=dict(raw.get("entities", {})),
    )
