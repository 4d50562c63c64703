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
from pipelines.snapshots import DATE_GROUPS, ExportDateRule

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
    export_dates: dict[str, ExportDateRule] = field(default_factory=dict)  # entity (or "*") -> where files carry it

    def mode_for(self, entity: str) -> str:
        """Whether the profile's files of `entity` are full snapshots of their scope or increments (default)."""
        return self.modes.get(entity, self.modes.get("*", "increment"))

    def export_date_for(self, entity: str) -> ExportDateRule | None:
        """Where the files of `entity` carry their export date (snapshots.py); None: their modified time."""
        return self.export_dates.get(entity, self.export_dates.get("*"))

    def export_date_column(self, entity: str) -> str | None:
        """The header (normalised) of the column that gives the export date of `entity`'s files, if any."""
        rule = self.export_date_for(entity)
        return _norm(rule.column) if rule is not None and rule.column is not None else None

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
    export_dates = _export_date_rules(path, raw.get("export_date", {}), raw.get("entities", {}))
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
        export_dates=export_dates,
    )


EXPORT_DATE_KEYS = ("file_name", "column")


def _export_date_rules(path: Path, given: object, entities: dict) -> dict[str, ExportDateRule]:
    """export_date for every entity ({"file_name": REGEX} or {"column": HEADER}, as "*") or per entity
    ({"btam_cases": {...}, ...}); an entity not named falls back to its files' modified times."""
    form = '{"file_name": REGEX} or {"column": HEADER}, for every entity or per entity ({"btam_cases": ...})'
    if not isinstance(given, dict):
        raise ProfileError(f"profile {path}: export_date must be {form}")
    unknown = sorted(set(given) - set(EXPORT_DATE_KEYS) - set(ENTITIES))
    if unknown:
        raise ProfileError(
            f"profile {path}: export_date has unknown key(s) {', '.join(map(repr, unknown))}; give {form}, "
            f"with entities among {', '.join(ENTITIES)}"
        )
    if set(given) & set(EXPORT_DATE_KEYS) and set(given) & set(ENTITIES):
        raise ProfileError(
            f"profile {path}: export_date mixes the form for every entity ({', '.join(k for k in EXPORT_DATE_KEYS if k in given)}) "
            f"with the form per entity ({', '.join(sorted(set(given) & set(ENTITIES)))}); give {form}"
        )
    if not given:
        return {}
    if set(given) <= set(EXPORT_DATE_KEYS):
        return {"*": _export_date_rule(path, "export_date", given, list(ENTITIES), entities)}
    return {
        entity: _export_date_rule(path, f"export_date.{entity}", spec, [entity], entities)
        for entity, spec in given.items()
    }


def _export_date_rule(path: Path, where: str, spec: object, applies_to: list[str], entities: dict) -> ExportDateRule:
    """One export_date rule, `where` being its place in the profile: a name pattern or a column, not both,
    and never a column the profile stores (it would be stored as data and read as the export date)."""
    if not isinstance(spec, dict) or len(spec) != 1 or not set(spec) <= set(EXPORT_DATE_KEYS):
        given = ", ".join(map(repr, spec)) if isinstance(spec, dict) else type(spec).__name__
        raise ProfileError(
            f'profile {path}: {where} must be {{"file_name": REGEX}} or {{"column": HEADER}}, one of the two '
            f"(given: {given or 'nothing'})"
        )
    if "file_name" in spec:
        return ExportDateRule(file_name=_export_date_pattern(path, spec["file_name"], where))
    column = spec["column"]
    if not isinstance(column, str) or not column.strip():
        raise ProfileError(f"profile {path}: {where}.column must be the header of a column of the file, as text")
    for entity in applies_to:
        renames = {_norm(src) for src in entities.get(entity, {}).get("rename", {})}
        if _norm(column) in renames or _norm(column).replace(" ", "_") in ENTITIES[entity].column_names:
            raise ProfileError(
                f"profile {path}: {where}.column {column!r} is a column {entity} stores; the export date is "
                "read from a column outside the interchange"
            )
    return ExportDateRule(column=column)


def _export_date_pattern(path: Path, text: object, where: str) -> re.Pattern[str]:
    """The profile's file-name pattern of export dates, checked to name a year, a month and a day."""
    wrong = f"profile {path}: {where}.file_name must be a regular expression with groups (?P<year>...), (?P<month>...) and (?P<day>...)"
    if not isinstance(text, str):
        raise ProfileError(wrong)
    try:
        pattern = re.compile(text)
    except re.error as exc:
        raise ProfileError(f"{wrong}: {exc}") from exc
    if not set(DATE_GROUPS) <= set(pattern.groupindex):
        raise ProfileError(wrong)
    return pattern
