"""A sweep killed with SIGKILL part way, resumed: every point exactly once, results identical."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from sweep_fixtures import MMC, write

from engine.batch.sweep import run_sweep

REPO = Path(__file__).resolve().parents[1]
SWEEP = """\
name: kill me
base: base.yaml
vary:
  support.tiers.0.tickets_per_customer_month: [10, 17, 24]
  roles.Agent.headcount_start: {from: 5, to: 7, steps: 3, integer: true}
replications: 1
seed: 3
common_random_numbers: false
metrics: [simulation.totals.sla_attainment.p50, simulation.totals.tickets.p50]
"""


def _scenario(folder: Path) -> Path:
    write(folder, "base.yaml", MMC)
    return write(folder, "s.yaml", SWEEP)


def _start(sweep: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", "sweep", str(sweep), "--out", str(out), *extra],
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
    written = _kill_after(proc, out / "points", 2)
    assert proc.returncode == -signal.SIGKILL
    assert 2 <= written < 9, written
    assert not (out / "results.parquet").exists()
    before = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}

    summary = run_sweep(sweep, out, resume=True, progress=False)
    assert (summary.total, summary.skipped, summary.ran) == (9, written, 9 - written)
    after = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.parquet")}
    assert all(after[name] == stamp for name, stamp in before.items())  # nothing re-run
    assert len(after) == 9 and not list((out / "points").glob(".*"))

    clean = run_sweep(sweep, tmp_path / "clean", progress=False)
    assert clean.ran == 9
    resumed = pd.read_parquet(out / "results.parquet").drop(columns="run_s")
    reference = pd.read_parquet(tmp_path / "clean" / "results.parquet").drop(columns="run_s")
    assert resumed["point_id"].is_unique and len(resumed) == 9
    pd.testing.assert_frame_equal(resumed, reference)
    assert (resumed["status"] == "ok").all()
    assert resumed["seed"].nunique() == 9  # per-point seeds: a hash of the sweep seed and point id
