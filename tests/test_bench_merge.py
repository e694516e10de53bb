"""`make bench` merges the per-topic result files into a marked block of RESULTS.md and leaves
the hand-written sections (each issue's measured targets) alone."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import run_all  # noqa: E402


def test_merge_keeps_hand_written_sections(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "a.md").write_text("# Topic A\n\nfigure 1\n")
    (tmp_path / "RESULTS.md").write_text("# Benchmark results\n\n## Issue 20\n\nmeasured by hand\n")
    monkeypatch.setattr(run_all, "HERE", tmp_path)
    run_all.merge()
    first = (tmp_path / "RESULTS.md").read_text()
    assert "## Issue 20\n\nmeasured by hand" in first and "## Topic A" in first and "figure 1" in first
    (tmp_path / "results" / "a.md").write_text("# Topic A\n\nfigure 2\n")
    with (tmp_path / "RESULTS.md").open("a") as f:
        f.write("\n## Issue 21\n\nlater, by hand\n")
    run_all.merge()
    second = (tmp_path / "RESULTS.md").read_text()
    assert "figure 2" in second and "figure 1" not in second
    assert "measured by hand" in second and "later, by hand" in second
    assert second.count(run_all.BEGIN) == 1 and second.count(run_all.END) == 1
