"""The benchmark harness works and produces every figure (speed itself belongs to bench/, not to tests)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_quick_benchmark_produces_every_figure(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    results = json.loads((tmp_path / "bench.json").read_text())["results"]
    assert len(results) == 1
    figures = results[0]
    assert [e["entity"] for e in figures["entities"]] == [
        "schools",
        "enrollment",
        "btam_cases",
        "case_actions",
        "case_reviews",
        "discipline_actions",
    ]
    for entity in figures["entities"]:
        assert entity["raw_duckdb_s"] > 0 and entity["loader_s"] > 0 and entity["ratio"] > 0
        assert 0 <= entity["validation_share"] <= 1
    assert figures["loader_peak_rss_mb"] > 0 and figures["metrics_all_s"] > 0
    pages = {p["page"] for p in figures["pages"]}
    assert {"overview", "equity", "time_to_intervention", "process_audit"} <= pages
    assert all(p["warm_p95_ms"] >= p["warm_p50_ms"] > 0 for p in figures["pages"])
    assert "| students/yr | entity |" in done.stdout
