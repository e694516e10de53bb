"""Sweeps for analysts: default metrics, common random numbers by default, results.csv equal to the
Parquet store, Pareto directions honoured, metric-vs-value charts with bands, every error at once."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sweep_fixtures import PLANNED, write

from engine.batch.metrics import default_metrics, resolve
from engine.batch.points import plan_sweep
from engine.batch.spec import read_sweep
from engine.batch.sweep import run_sweep
from engine.errors import InputError
from engine.run import RunOptions, run_scenario
from engine.scenario.load import load_scenario
from reports.sweep_report import pareto_front, pareto_html, sweep_report_html

SCALE = """\
name: lead volume
base: base.yaml
vary:
  demand.scale: [1.0, 2.5]
replications: 2
seed: 9
"""


def test_default_metrics_crn_and_results_csv(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", PLANNED)
    sweep = write(tmp_path, "s.yaml", SCALE)
    plan = plan_sweep(sweep)
    assert plan.metrics == default_metrics(load_scenario(base).scenario) == [
        "operating_margin", "revenue", "win_rate", "hires"]  # no support section: no SLA
    assert {p.seed for p in plan.points} == {9}  # common random numbers: the sweep seed everywhere
    run_sweep(sweep, tmp_path / "out", progress=False, render_sweep=sweep_report_html)
    frame = pd.read_parquet(tmp_path / "out" / "results.parquet")
    csv = pd.read_csv(tmp_path / "out" / "results.csv", float_precision="round_trip")
    assert list(csv.columns) == list(frame.columns)
    assert "win_rate:p10" in frame.columns and "win_rate:p90" in frame.columns
    pd.testing.assert_frame_equal(csv, frame, check_dtype=False)
    # the sweep's numbers are the run's numbers: the same scenario and seed through `salesops run`
    run = run_scenario(base, tmp_path / "run", RunOptions(seed=9, replications=2, overrides=("demand.scale=2.5",)))
    summary = json.loads((run / "summary.json").read_text())
    row = frame[frame["demand.scale"] == 2.5].iloc[0]
    assert row["win_rate"] == summary["simulation"]["totals"]["win_rate"]["p50"]
    assert row["win_rate:p10"] <= row["win_rate"] <= row["win_rate:p90"]
    assert row["hires"] == summary["headline"]["base"]["hires"]
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Win rate (won / leads), simulated median (share) against Lead volume multiplier" in html
    assert "p10-p90 over replications" in html
    assert "simulation.totals" not in html.split("<body>", 1)[1].split('id="points"', 1)[0]  # labels, not paths


def test_per_point_seeds_stay_an_option(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", PLANNED)
    plan = plan_sweep(write(tmp_path, "s.yaml", SCALE + "common_random_numbers: false\n"))
    assert len({p.seed for p in plan.points}) == 2


def test_pareto_front_honours_directions() -> None:
    cost = np.array([1.0, 2.0, 3.0, 2.5, 4.0])
    margin = np.array([5.0, 7.0, 6.0, 8.0, 9.0])
    # minimise cost, maximise margin: 0, 1, 3 and 4 are trade-offs; 2 is beaten by 3 (cheaper, more margin)
    assert pareto_front(cost, margin, "min", "max").tolist() == [0, 1, 3, 4]
    # maximise both: only 4 (highest on both)
    assert pareto_front(cost, margin, "max", "max").tolist() == [4]
    # minimise both: only 0
    assert pareto_front(cost, margin, "min", "min").tolist() == [0]
    frame = pd.DataFrame({"point_id": list("abcde"), "status": ["ok"] * 5, "cost": cost, "margin": margin})
    info = {"cost": {"label": "People cost", "direction": "min"}, "margin": {"label": "Margin", "direction": "max"}}
    html = pareto_html(frame, ["margin", "cost"], "p", info)
    assert "better is higher Margin and lower People cost" in html
    front = json.loads(html.split("var f=", 1)[1].split(";Plotly", 1)[0])["data"][1]
    assert sorted(front["text"]) == ["a", "b", "d", "e"]
    assert "objectives" in pareto_html(frame, ["margin", "cost"], "p", {})  # no direction: says how


def test_objective_directions_reach_the_report(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", PLANNED)
    sweep = write(tmp_path, "s.yaml", SCALE + "metrics: [hires, won]\nobjectives: {won: max, hires: min}\n")
    plan = plan_sweep(sweep)
    assert plan.metrics == ["hires", "won"]
    run_sweep(sweep, tmp_path / "out", progress=False, render_sweep=sweep_report_html)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "better is higher Deals won" in html and "lower Hires" in html


def test_every_error_of_a_sweep_at_once(tmp_path: Path) -> None:
    sweep = write(tmp_path, "s.yaml", """\
name: broken
base: missing.yaml
vary:
  demand.scale: {start: 1, stop: 2, steps: 3}
metrics: [win_rat, headline.base.hires]
objectives: {revenu: max}
""")
    with pytest.raises(InputError) as info:
        read_sweep(sweep)
    lines = [p.format() for p in info.value.problems]
    text = "\n".join(lines)
    assert any(x.startswith(f"{sweep}:4: vary.demand.scale") for x in lines), text
    assert any(x.startswith(f"{sweep}:2: base") and "not found" in x for x in lines), text
    assert any(x.startswith(f"{sweep}:5: metrics.0") and "did you mean 'win_rate'" in x for x in lines), text
    assert any(x.startswith(f"{sweep}:6: objectives.revenu") and "did you mean 'revenue'" in x for x in lines), text


def test_short_names_resolve_to_summary_paths() -> None:
    assert resolve("win_rate").path == "simulation.totals.win_rate.p50"
    assert resolve("simulation.win_rate.p10").path == "simulation.totals.win_rate.p10"
    assert resolve("plan.win_rate", "high").path == "plan_totals.high.win_rate"
    assert resolve("hires").path == "headline.base.hires"
    assert resolve("reached_qualify").label.startswith("Leads reaching qualify")
    assert resolve("conversion_close").band() == ("simulation.totals.conversion_close.p10",
                                                  "simulation.totals.conversion_close.p90")
    raw = resolve("hiring.objective")
    assert raw.path == "hiring.objective" and "." not in raw.label


def test_freeze_plan_evaluates_one_plan_at_every_point(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", PLANNED)
    text = SCALE.replace("[1.0, 2.5]", "[1.0, 4.0]") + "metrics: [hires, win_rate]\n"
    frozen = write(tmp_path, "frozen.yaml", text + "freeze_plan: true\n")
    free = write(tmp_path, "free.yaml", text)
    run_sweep(frozen, tmp_path / "f", progress=False)
    run_sweep(free, tmp_path / "o", progress=False)
    f = pd.read_parquet(tmp_path / "f" / "results.parquet").set_index("demand.scale")
    o = pd.read_parquet(tmp_path / "o" / "results.parquet").set_index("demand.scale")
    assert f.loc[1.0, "hires"] == f.loc[4.0, "hires"] == o.loc[1.0, "hires"]  # the base plan, frozen
    assert o.loc[4.0, "hires"] > o.loc[1.0, "hires"]  # re-optimised: 4x the leads, more people
    assert f.loc[4.0, "win_rate"] < o.loc[4.0, "win_rate"]  # the same people cannot keep up


def test_a_frozen_plan_fixes_every_role(tmp_path: Path) -> None:
    """Roles the frozen plan hires nobody into must hire nobody at the points either: each point's
    scenario holds the plan's hires and `plan.other_roles=no_hires`, so no role is re-optimised."""
    write(tmp_path, "base.yaml", PLANNED)
    frozen = write(tmp_path, "frozen.yaml", SCALE + "freeze_plan: true\n")
    plan = plan_sweep(frozen)
    hires = []
    for point in plan.points:
        loaded = load_scenario(tmp_path / "base.yaml", list(point.overrides))
        assert loaded.scenario.plan.other_roles == "no_hires"
        hires.append(sorted(str(h) for h in loaded.scenario.plan.fixed_hires))
    assert hires[0] and all(h == hires[0] for h in hires), hires  # the same plan at every point
