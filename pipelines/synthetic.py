"""Which files the demo generator made: `load --synthetic` takes only those.

A warehouse marked synthetic runs without login (anyone may pick Administrator), so the mark must never
land on a district's real exports. The generator (`pipelines demo`) writes synthetic_manifest.json beside
its files with the SHA-256 of each; `load --synthetic` refuses any file that no manifest in its folder or
the folders above it (up to the demo's root) lists with that hash. A guard against mistakes and misuse
of a flag, not against someone who forges a manifest on the server.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

MANIFEST = "synthetic_manifest.json"
LEVELS = 3  # a file's folder and two above it (the demo's vendor/ export sits one level down)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: str | Path) -> Path:
    """List every file the generator wrote under `folder` (run right after it wrote them)."""
    root = Path(folder)
    files = {
        str(p.relative_to(root)): _sha256(p) for p in sorted(root.rglob("*")) if p.is_file() and p.name != MANIFEST
    }
    target = root / MANIFEST
    target.write_text(json.dumps({"generator": "pipelines demo", "files": files}, indent=1, sort_keys=True))
    return target


def _listed(path: Path) -> bool:
    digest = None
    for folder in list(path.resolve().parents)[:LEVELS]:
        manifest = folder / MANIFEST
        if not manifest.is_file():
            continue
        try:
            files = json.loads(manifest.read_text()).get("files", {})
        except (json.JSONDecodeError, AttributeError):
            continue
        relative = str(path.resolve().relative_to(folder))
        digest = digest or _sha256(path)
        if files.get(relative) == digest:
            return True
    return False


def not_generated(paths: list[str | Path]) -> list[Path]:
    """The files among `paths` (files or folders) that the demo generator did not make, or changed since."""
    found: list[Path] = []
    for given in map(Path, paths):
        candidates = sorted(p for p in given.rglob("*") if p.is_file()) if given.is_dir() else [given]
        found += [p for p in candidates if p.name != MANIFEST and p.exists() and not _listed(p)]
    return found
