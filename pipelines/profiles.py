"""Mapping profiles: how one source system's export becomes the interchange format.

Profiles are JSON data in data_contracts/profiles/ (format in its README.md), so
a district adds its own without writing code.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.interchange import ENTITIES
from pipelines.snapshots import DATE_GROUPS

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
    modes: dict[str, str] = field(default_factory=dict)  # entity -> snapshot or increment ("*": every entity)
    export_date_in_name: re.Pattern[str] | None = None  # where file names carry the export date (snapshots.py)

    def mode_for(self, entity: str) -> str:
        """Whether the profile's files of `entity` are full snapshots of their scope or increments (default)."""
        return self.modes.get(entity, self.modes.get("*", "increment"))

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

    def drops(self, entity: str) -> set[str]:
        """Source columns (normalised) the profile drops at the door for an entity: read, never checked or
        stored. For columns a district has judged safe to discard that would otherwise refuse the file."""
        return {_norm(c) for c in self.entities.get(entity, {}).get("drop", [])}

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
        drop = spec.get("drop", [])
        if not isinstance(drop, list) or not all(isinstance(c, str) and c.strip() for c in drop):
            raise ProfileError(f"profile {path}: {entity}.drop must be a list of column names")
        if set(map(_norm, drop)) & set(ENTITIES[entity].column_names):
            raise ProfileError(f"profile {path}: {entity}.drop names an interchange column; drop only other columns")
        sheet = spec.get("sheet")
        if sheet is not None and (not isinstance(sheet, str) or not sheet.strip()):
            raise ProfileError(f"profile {path}: {entity}.sheet must be the name of a sheet, as text")
        for src, dst in spec.get("rename", {}).items():
            if dst not in ENTITIES[entity].column_names:
                raise ProfileError(
                    f"profile {path}: {entity}.rename maps {src!r} to {dst!r}, which is not a column of {entity}"
                )
    mode = raw.get("mode", {})
    modes = {"*": mode} if isinstance(mode, str) else dict(mode)
    for entity, value in modes.items():
        if entity != "*" and entity not in ENTITIES or value not in ("snapshot", "increment"):
            raise ProfileError(
                f'profile {path}: mode {entity}={value!r}; give "snapshot" or "increment", for every file or per entity'
            )
    export_date = raw.get("export_date", {})
    if not isinstance(export_date, dict) or set(export_date) - {"file_name"}:
        raise ProfileError(f'profile {path}: export_date must be {{"file_name": REGEX}}')
    name_pattern = _export_date_pattern(path, export_date.get("file_name"))
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
        modes=modes,
        export_date_in_name=name_pattern,
    )


def _export_date_pattern(path: Path, text: object) -> re.Pattern[str] | None:
    """The profile's file-name pattern of export dates, checked to name a year, a month and a day."""
    if text is None:
        return None
    wrong = f"profile {path}: export_date.file_name must be a regular expression with groups (?P<year>...), (?P<month>...) and (?P<day>...)"
    if not isinstance(text, str):
        raise ProfileError(wrong)
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise ProfileError(f"{wrong}: {exc}") from exc
    if not set(DATE_GROUPS) <= set(pattern.groupindex):
        raise ProfileError(wrong)
    return pattern
