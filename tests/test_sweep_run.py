"""Running sweeps: results against closed forms, a failing point, backends that agree, the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_fixtures import DEMAND, MMC, UNITS, write

from engine.batch.points import plan_sweep
from engine.batch.sweep import execute_sweep, run_sweep
from reports.sweep_report import sweep_report_html

GRID = """\
name: demand <grid> "test"
base: base.yaml
vary:
  demand.baseline.0.leads_per_month: [50, 100, 200]
  demand.annual_growth: {from: 0.0, to: 0.4, steps: 3}
metrics: [demand.totals.base, demand.totals.low]
"""


def _demand_total(leads: float, growth: float) -> float:
    """Base-case leads over 12 months with flat seasonality: sum of leads x (1+g)^(m/12)."""
    return float(sum(leads * (1 + growth) ** (m / 12) for m in range(12)))


def test_grid_results_match_the_closed_form(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", GRID)
    summary = run_sweep(sweep, tmp_path / "out", progress=False, render_sweep=sweep_report_html)
    assert (summary.total, summary.ok, summary.failed, summary.ran) == (9, 9, 0, 9)
    frame = pd.read_parquet(tmp_path / "out" / "results.parquet")
    assert list(frame["point_id"]) == sorted(frame["point_id"])
    assert len(list((tmp_path / "out" / "points").glob("*.parquet"))) == 9
    for row in frame.itertuples(index=False):
        leads, growth = row[2], row[3]
        assert row.status == "ok"
        assert row[7] == pytest.approx(_demand_total(leads, growth), rel=1e-9)
        assert row[8] < row[7]  # the low case lies below the base case
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "demand &lt;grid&gt; &quot;test&quot;" in html and "<grid>" not in html
    assert html.count("Plotly.newPlot") >= 2 and 'id="points"' in html
    assert "cdn.plot.ly" not in html.split("<script>", 2)[1][:200]


def test_a_vanishing_data_file_fails_its_point_only(tmp_path: Path) -> None:
    write(tmp_path, "units_a.csv", UNITS)
    doomed = write(tmp_path, "units_b.csv", UNITS)
    write(tmp_path, "base.yaml", "name: territories\nterritory: {units: units_a.csv, territories: 2}\n")
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  territory.units: [units_a.csv, units_b.csv]
metrics: [territory.objective, territory.status]
""")
    plan = plan_sweep(sweep)  # both files exist when the sweep is checked
    doomed.unlink()
    summary = execute_sweep(plan, tmp_path / "out", keep_runs=True, progress=False)
    frame = pd.read_parquet(tmp_path / "out" / "results.parquet").set_index("territory.units")
    runs = tmp_path / "out" / "runs"
    assert (runs / frame.loc["units_a.csv", "point_id"] / "summary.json").exists()
    assert not (runs / frame.loc["units_b.csv", "point_id"]).exists()
    assert (summary.ok, summary.failed) == (1, 1)
    assert frame.loc["units_a.csv", "status"] == "ok"
    assert frame.loc["units_a.csv", "territory.objective"] == pytest.approx(4.0)
    bad = frame.loc["units_b.csv"]
    assert bad["status"] == "failed" and "units_b.csv" in bad["error"]
    assert pd.isna(bad["territory.objective"])


@pytest.mark.slow  # reason: the same sweep in-process, in a process pool and on a Dask LocalCluster
def test_workers_and_dask_give_identical_results(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", MMC)
    sweep = write(tmp_path, "s.yaml", """\
base: base.yaml
vary:
  support.tiers.0.tickets_per_customer_month: {dist: uniform, params: {low: 10, high: 25}}
  roles.Agent.headcount_start: [5, 6]
method: random
samples: 5
replications: 1
metrics: [simulation.totals.sla_attainment.p50, simulation.totals.tickets.p50]
""")
    frames = []
    for name, kwargs in (("one", {}), ("pool", {"workers": 2}), ("dask", {"workers": 2, "dask": "local"})):
        summary = run_sweep(sweep, tmp_path / name, progress=False, **kwargs)
        assert summary.failed == 0
        frames.append(pd.read_parquet(tmp_path / name / "results.parquet").drop(columns="run_s"))
    pd.testing.assert_frame_equal(frames[0], frames[1])
    pd.testing.assert_frame_equal(frames[0], frames[2])
    sla = frames[0]["simulation.totals.sla_attainment.p50"]
    assert np.isfinite(sla).all() and sla.nunique() == len(sla)
