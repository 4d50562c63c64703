"""Building every mart and metric: the export of all metric families, timed in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def export_seconds(db: Path, out: Path) -> float:
    """Wall seconds of `python -m pipelines export` (every metric family, every scope)."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipelines", "export", "--db", str(db), "--out", str(out)],
        cwd=REPO,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start
