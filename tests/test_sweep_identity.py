"""Sweep results keyed by content (issue 21): --resume reruns points whose inputs changed, one
spec per folder, one writer at a time, and --out refuses folders that are not sweep folders."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sweep_fixtures import DEMAND, MMC, UNITS, write

from engine.batch.points import plan_sweep
from engine.batch.store import LOCK_FILE, sweep_lock
from engine.batch.sweep import run_sweep
from engine.cli import main
from engine.errors import InputError

GRID = """\
name: identity
base: base.yaml
vary:
  demand.baseline.0.leads_per_month: [50, 100]
set: {demand.annual_growth: 0.0}
metrics: [demand.totals.base]
"""


def _setup(folder: Path, grid: str = GRID) -> Path:
    write(folder, "base.yaml", DEMAND)
    return write(folder, "s.yaml", grid)


def _totals(out: Path) -> dict[float, float]:
    frame = pd.read_parquet(out / "results.parquet")
    return dict(zip(frame["demand.baseline.0.leads_per_month"], frame["demand.totals.base"], strict=True))


def test_resume_after_changing_the_sweep_reruns_every_changed_point(tmp_path: Path) -> None:
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    first = run_sweep(sweep, out, progress=False)
    assert first.ran == 2 and _totals(out) == {50: 600.0, 100: 1200.0}  # 12 flat months
    same = run_sweep(sweep, out, resume=True, progress=False)
    assert (same.skipped, same.changed, same.ran) == (2, 0, 0)
    write(tmp_path, "s.yaml", GRID.replace("annual_growth: 0.0", "annual_growth: 0.5"))
    changed = run_sweep(sweep, out, resume=True, progress=False)
    assert (changed.skipped, changed.changed, changed.ran) == (0, 2, 2)
    assert "2 rerun as their inputs changed" in str(changed)
    growth = sum(1.5 ** (m / 12) for m in range(12))
    assert _totals(out) == pytest.approx({50: 50 * growth, 100: 100 * growth}, rel=1e-9)
    plan = json.loads((out / "sweep.json").read_text())
    assert all(p["content_key"] for p in plan["points"]) and len(plan["spec_key"]) == 16


def test_resume_after_editing_the_base_scenario_reruns(tmp_path: Path) -> None:
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    run_sweep(sweep, out, progress=False)
    write(tmp_path, "base.yaml", DEMAND.replace("annual_growth: 0.1", "annual_growth: 0.1\n  uncertainty_cv: 0.3"))
    again = run_sweep(sweep, out, resume=True, progress=False)
    assert (again.skipped, again.changed, again.ran) == (0, 2, 2)


def test_resume_drops_points_no_longer_in_the_sweep(tmp_path: Path) -> None:
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    run_sweep(sweep, out, progress=False)
    write(tmp_path, "s.yaml", GRID.replace("[50, 100]", "[50]"))
    again = run_sweep(sweep, out, resume=True, progress=False)
    assert (again.total, again.skipped, again.ran) == (1, 1, 0)
    assert len(list((out / "points").glob("*.parquet"))) == 1 and list(_totals(out)) == [50]


def test_content_key_covers_replications_seed_and_data_files(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MMC)
    sim = write(tmp_path, "sim.yaml", "base: base.yaml\nvary: {roles.Agent.headcount_start: [5, 6]}\n"
                "replications: 2\nseed: 1\nmetrics: [simulation.totals.tickets.p50]\n")
    keys = plan_sweep(sim).keys
    write(tmp_path, "sim.yaml", sim.read_text().replace("replications: 2", "replications: 3"))
    more = plan_sweep(sim).keys
    write(tmp_path, "sim.yaml", sim.read_text().replace("seed: 1", "seed: 2"))
    reseeded = plan_sweep(sim).keys
    assert keys.keys() == more.keys() == reseeded.keys()  # same point ids
    assert all(len({keys[p], more[p], reseeded[p]}) == 3 for p in keys)
    units = write(tmp_path, "units.csv", UNITS)
    write(tmp_path, "terr.yaml", "name: t\nterritory: {units: units.csv, territories: 2}\n")
    terr = write(tmp_path, "t.yaml", "base: terr.yaml\nvary: {territory.territories: [2, 3]}\n"
                 "metrics: [territory.objective]\n")
    before = plan_sweep(terr).keys
    units.write_text(UNITS.replace("F,5,6", "F,5,7"))
    after = plan_sweep(terr).keys
    assert before.keys() == after.keys() and all(before[p] != after[p] for p in before)


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path, capsys) -> None:
    sweep = _setup(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pathlib import Path; from engine.batch.store import sweep_lock\n"
        f"with sweep_lock(Path({str(out)!r}), 'other-spec'):\n"
        "    print('locked', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        code = main(["sweep", str(sweep), "--out", str(out), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2
        assert f"{out}: --out: another sweep is writing this folder (pid {holder.pid}, spec other-spec)" in err
        assert not (out / "points").exists() and not (out / "sweep.json").exists()
    finally:
        holder.kill()
        holder.wait()
    time.sleep(0.05)
    assert main(["sweep", str(sweep), "--out", str(out), "--quiet"]) == 0  # lock released on kill
    assert (out / LOCK_FILE).exists() and (out / "results.parquet").exists()


def test_the_lock_is_exclusive_in_one_process_too(tmp_path: Path) -> None:
    with sweep_lock(tmp_path, "a"), pytest.raises(InputError, match="another sweep"), sweep_lock(tmp_path, "b"):
        pass


def test_sweep_out_must_be_a_sweep_folder(tmp_path: Path, capsys) -> None:
    sweep = _setup(tmp_path)
    users = tmp_path / "mine"
    users.mkdir()
    (users / "notes.txt").write_text("keep")
    assert main(["sweep", str(sweep), "--out", str(users), "--quiet"]) == 2
    assert "exists and is not a sweep folder" in capsys.readouterr().err
    assert [p.name for p in users.iterdir()] == ["notes.txt"]
    assert main(["sweep", str(sweep), "--out", str(tmp_path), "--quiet"]) == 2
    assert "holds the input file" in capsys.readouterr().err


def test_a_non_finite_varied_value_is_refused_before_any_point_runs(tmp_path: Path, capsys) -> None:
    sweep = _setup(tmp_path, GRID.replace("[50, 100]", "[50, .inf]"))
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{sweep}:4: vary.demand.baseline.0.leads_per_month: value inf gives " in err
    assert "not a finite number" in err and not (tmp_path / "out").exists()
