"""SWEEP.yaml validation (every problem with its line, before anything runs) and point generation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sweep_fixtures import DEMAND, write

from engine.batch.points import generate_values, plan_sweep, point_id, point_seed
from engine.batch.spec import read_sweep
from engine.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def _problems(path: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        plan_sweep(path)
    return [p.format() for p in info.value.problems]


def test_bad_values_are_reported_at_their_vary_line(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  demand.baseline.0.leads_per_month:
    - 50
    - -3
  demand.anual_growth: {from: 0.0, to: 0.4, steps: 3}
  demand.seasonality: [[1, 2]]
metrics: [demand.totals.base, simulaton.totals.won.p50, simulation.totals.won.p50]
""")
    lines = _problems(sweep)
    f = str(sweep)
    assert any(x.startswith(f"{f}:5: vary.demand.baseline.0.leads_per_month: value -3") and "out of range" in x
               for x in lines), lines
    growth = [x for x in lines if "anual_growth" in x]
    assert len(growth) == 1 and growth[0].startswith(f"{f}:6: vary.demand.anual_growth:"), growth
    assert "did you mean 'annual_growth'" in growth[0] and "2 other values" in growth[0]
    assert any(x.startswith(f"{f}:7: vary.demand.seasonality:") and "12 items" in x for x in lines)
    assert any(x.startswith(f"{f}:8: metrics.1:") and "did you mean 'simulation'" in x for x in lines)
    assert any(x.startswith(f"{f}:8: metrics.2:") and "no simulation section" in x for x in lines)
    assert len(lines) == 5, lines


def test_schema_and_method_problems(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  demand.annual_growth: {dist: normal, params: {mean: 0.1}}
  demand.uncertainty_cv: {from: 0.1, steps: 2}
metrics: [demand.totals.base]
replicatons: 2
""")
    lines = _problems(sweep)
    f = str(sweep)
    assert f"{f}:3: vary.demand.annual_growth.params.sd: required field is missing (a value)" in lines
    assert f"{f}:4: vary.demand.uncertainty_cv.to: required field is missing (a value)" in lines
    assert any(x.startswith(f"{f}:6: replicatons: unknown key") and "replications" in x for x in lines)
    grid = write(tmp_path, "g.yaml", """\
base: missing.yaml
vary:
  demand.annual_growth: {dist: uniform, params: {low: 0, high: 1}}
samples: 4
metrics: [demand.totals.base]
""")
    lines = _problems(grid)
    assert any(x.startswith(f"{grid}:1: base: base scenario not found") for x in lines)
    assert any(x.startswith(f"{grid}:3: vary.demand.annual_growth: a grid cannot vary") for x in lines)
    assert any(x.startswith(f"{grid}:4: samples:") for x in lines)


def test_cli_exits_2_with_one_line_per_problem(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", "base: base.yaml\nvary:\n  demand.annual_growth: [-5]\n"
                                      "metrics: [demand.totals.base]\n")
    done = subprocess.run([sys.executable, "-m", "engine.batch.sweep", str(sweep), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{sweep}:3: vary.demand.annual_growth: value -5")
    assert not (tmp_path / "o").exists()


def test_grid_is_the_full_product_with_stable_ids(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  demand.baseline.0.leads_per_month: [50, 100]
  demand.annual_growth: {from: 0.0, to: 0.4, steps: 3}
metrics: [demand.totals.base]
""")
    values = generate_values(read_sweep(sweep))
    assert len(values) == 6
    assert {(v["demand.baseline.0.leads_per_month"], v["demand.annual_growth"]) for v in values} == {
        (a, b) for a in (50, 100) for b in (0.0, 0.2, 0.4)}
    ids = [point_id(v) for v in values]
    assert len(set(ids)) == 6
    reordered = {k: values[0][k] for k in reversed(list(values[0]))}
    assert point_id(reordered) == ids[0]
    assert point_seed(3, ids[0]) == point_seed(3, ids[0]) != point_seed(4, ids[0])


def test_lhs_stratifies_every_axis(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  demand.annual_growth: {dist: uniform, params: {low: 0.0, high: 1.0}}
  demand.uncertainty_cv: {dist: triangular, params: {low: 0.0, mode: 0.1, high: 0.3}}
method: lhs
samples: 10
seed: 5
metrics: [demand.totals.base]
""")
    spec = read_sweep(sweep)
    values = generate_values(spec)
    growth = np.array([v["demand.annual_growth"] for v in values])
    # Latin hypercube: exactly one draw in each tenth of the uniform range.
    assert sorted(np.floor(growth * 10).astype(int).tolist()) == list(range(10))
    cv = np.array([v["demand.uncertainty_cv"] for v in values])
    # Triangular(0, 0.1, 0.3) CDF F(x) = x^2 / (0.3 * 0.1) below the mode: strata by CDF value.
    cdf = np.where(cv <= 0.1, cv**2 / 0.03, 1 - (0.3 - cv) ** 2 / (0.3 * 0.2))
    assert sorted(np.floor(cdf * 10).astype(int).tolist()) == list(range(10))
    assert generate_values(read_sweep(sweep)) == values
