"""A sweep killed with SIGKILL part way, resumed: every point exactly once, results identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sweep_fixtures import DEMAND, UNITS, write

from engine.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
SWEEP = """\
name: kill me
base: base.yaml
vary:
  territory.territories: [1, 2, 3, 4]
  demand.annual_growth: {from: 0.0, to: 0.3, steps: 4}
metrics: [territory.objective, demand.totals.base]
"""


def _scenario(folder: Path) -> Path:
    write(folder, "units.csv", UNITS)
    write(folder, "base.yaml", DEMAND + "territory: {units: units.csv, territories: 2}\n")
    return write(folder, "s.yaml", SWEEP)


def _start(sweep: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.sweep", str(sweep), "--out", str(out), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _kill_after(proc: subprocess.Popen, points: Path, n: int, timeout_s: float = 120.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        if points.exists() and len(list(points.glob("*.parquet"))) >= n:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return len(list(points.glob("*.parquet")))
        time.sleep(0.01)
    raise AssertionError(f"the sweep ended (rc {proc.poll()}) before {n} points were written: "
                         f"{proc.stderr.read().decode() if proc.stderr else ''}")


def test_sigkill_then_resume_runs_each_point_once(tmp_path: Path) -> None:
    sweep = _scenario(tmp_path)
    out = tmp_path / "killed"
    proc = _start(sweep, out, "--quiet")
    written = _kill_after(proc, out / "points", 3)
    assert proc.returncode == -signal.SIGKILL
    assert 3 <= written < 16, written
    assert not (out / "results.parquet").exists()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}

    summary = run_sweep(sweep, out, resume=True, progress=False)
    assert (summary.total, summary.skipped, summary.ran) == (16, written, 16 - written)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}
    assert all(after[name] == stamp for name, stamp in before.items())  # nothing re-run
    assert len(after) == 16 and not list((out / "points").glob(".*"))

    clean = run_sweep(sweep, tmp_path / "clean", progress=False)
    assert clean.ran == 16
    resumed = pd.read_parquet(out / "results.parquet").drop(columns="run_s")
    reference = pd.read_parquet(tmp_path / "clean" / "results.parquet").drop(columns="run_s")
    assert resumed["point_id"].is_unique and len(resumed) == 16
    pd.testing.assert_frame_equal(resumed, reference)
    assert (resumed["status"] == "ok").all()
