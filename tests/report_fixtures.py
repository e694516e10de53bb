"""Hand-built stage outputs for the report tests: small, fast, with numbers a test can work out.

`tiny_scenario()` is one segment, one region, one funnel role (SDR), 4 months, so its fluid
arithmetic can be done by hand: work per lead 0.5 h (contact) + 0.5 x 1 h (qualify) = 1 h;
won share 0.5 x 0.2 = 0.1; deal 1,000 EUR; stage durations sum to 0 days (no lag).
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from engine.scenario.load import LoadedScenario, load_scenario
from engine.stage import DemandOut, SimulationOut, StageOutput, SupplyOut, TerritoryOut

MONTHS = ["2027-01", "2027-02", "2027-03", "2027-04"]
LEADS = [100.0, 100.0, 200.0, 100.0]
"""Base-case leads per month; low = 0.8x, high = 1.2x."""
CAPACITY = [120.0, 120.0, 120.0, 120.0]
"""SDR capacity hours per month in the plan."""

TINY = """\
name: {name}
company: {{name: Tiny Co, currency: EUR}}
horizon: {{start: 2027-01, months: 4}}
segments:
  - name: {segment}
    deal_size: {{kind: fixed, mean: 1000}}
    gross_margin: 0.5
regions:
  - name: EU
demand:
  baseline:
    - {{segment: {segment}, region: EU, leads_per_month: 100}}
funnel:
  speed_to_lead: {{kind: exponential, half_life_hours: 10, floor: 0.5}}
  stages:
    - {{name: contact, role: SDR, conversion: 0.5, work_hours: 0.5, duration_days: {{kind: fixed, mean: 0.0001}}}}
    - {{name: qualify, role: SDR, conversion: 0.2, work_hours: 1.0, duration_days: {{kind: fixed, mean: 0.0001}}}}
roles:
  - {{name: SDR, kind: sdr, cost_per_month: 5000, headcount_start: 1, ramp: [0.5, 1.0],
     attrition_per_year: 0.0, hiring_lead_time_months: 1, max_hires_per_month: 2,
     hours_per_month: 160, selling_share: 0.75}}
plan: {{cases: [low, base, high]}}
simulation: {{replications: 5, seed: 1, case: base, scoring: {{logit_per_score: 0}}}}
"""


def tiny_scenario(tmp: Path, name: str = "Tiny", segment: str = "SMB") -> LoadedScenario:
    """Write and load the tiny scenario (name and segment may hold hostile text)."""
    path = tmp / "tiny.yaml"
    quote = lambda s: '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'  # noqa: E731
    path.write_text(textwrap.dedent(TINY.format(name=quote(name), segment=quote(segment))),
                    encoding="utf-8")
    return load_scenario(path, [])


def forecast_frame(segment: str = "SMB") -> pd.DataFrame:
    base = np.array(LEADS)
    rows = [pd.DataFrame({"month": MONTHS, "segment": segment, "region": "EU", "case": case,
                          "leads": base * k}) for case, k in (("low", 0.8), ("base", 1.0), ("high", 1.2))]
    return pd.concat(rows, ignore_index=True)


def hiring_frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Plan for every case: 1 SDR at 120 h/month (0.75 x 160); need = leads x 1 h."""
    cases = []
    for case, k in (("low", 0.8), ("base", 1.0), ("high", 1.2)):
        need = np.array(LEADS) * k
        cap = np.array(CAPACITY)
        cases.append(pd.DataFrame({
            "case": case, "decided_month": MONTHS, "month": MONTHS, "role": "SDR", "hires": 0,
            "headcount": 1.0, "effective_capacity": 1.0, "cost": 5000.0, "capacity_hours": cap,
            "required_hours": need, "shortfall_hours": np.maximum(need - cap, 0)}))
    all_cases = pd.concat(cases, ignore_index=True)
    base = all_cases[all_cases["case"] == "base"].reset_index(drop=True)
    return all_cases, base


def sim_monthly(replications: int = 5, seed: int = 3) -> pd.DataFrame:
    """Simulated monthly metrics: wins a fixed share below the fluid plan, with noise."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(replications):
        for i, m in enumerate(MONTHS):
            leads = LEADS[i] + rng.normal(0, 3)
            worked = min(leads, CAPACITY[i])
            won = 0.1 * worked * 0.8 + rng.normal(0, 0.5)
            metrics = {"leads": leads, "contacted": worked, "won": won, "revenue": won * 1000,
                       "reached:qualify": worked * 0.5, "dropped": max(leads - worked, 0),
                       "first_response_h_mean": 5 + rng.normal(0, 0.5) + i,
                       "utilisation:SDR": min(worked / CAPACITY[i], 1.0) - 0.02,
                       "headcount:SDR": 1.0}
            rows += [{"replication": r, "month": m, "metric": k, "value": float(v)}
                     for k, v in metrics.items()]
    return pd.DataFrame(rows)


def sim_leads(monthly: pd.DataFrame, segment: str = "SMB") -> pd.DataFrame:
    """One lead row per simulated arrival (count rounded), won leads matching the won counts."""
    from engine.calendar import month_start_hours

    bounds = month_start_hours("2027-01", 4)
    rows = []
    for (rep, month), part in monthly.groupby(["replication", "month"]):
        v = part.set_index("metric")["value"]
        i = MONTHS.index(month)
        n, w = int(round(v["leads"])), int(round(v["won"]))
        t = np.linspace(bounds[i] + 1, bounds[i + 1] - 1, n)
        rows.append(pd.DataFrame({
            "replication": rep, "lead_id": np.arange(n), "segment": segment, "region": "EU",
            "territory": "T1", "arrived_h": t, "won": np.arange(n) < w,
            "revenue": np.where(np.arange(n) < w, 1000.0, 0.0), "closed_h": t + 0.5}))
    return pd.concat(rows, ignore_index=True)


def tiny_outputs(segment: str = "SMB", with_sim: bool = True) -> dict[str, StageOutput]:
    forecast = forecast_frame(segment)
    all_cases, base = hiring_frames()
    outs = {
        "demand": StageOutput("demand", tables={"demand/forecast.csv": forecast},
                              result=DemandOut(forecast)),
        "hiring": StageOutput("hiring", tables={"plan/hiring.csv": base,
                                                "plan/hiring_cases.csv": all_cases},
                              result=SupplyOut(hiring=base)),
    }
    if with_sim:
        monthly = sim_monthly()
        outs["simulation"] = StageOutput("simulation", result=SimulationOut(monthly,
                                                                            sim_leads(monthly, segment)))
    return outs


def territory_outputs() -> tuple[StageOutput, pd.DataFrame]:
    """Three territories over 9 units on a grid; T1 carries twice the workload of the others."""
    units = pd.DataFrame({"id": [f"u{i}" for i in range(9)], "x": [0, 1, 2] * 3,
                          "y": [0] * 3 + [1] * 3 + [2] * 3,
                          "workload": [2, 2, 2, 1, 1, 1, 1, 1, 1.0], "potential": [1.0] * 9})
    terr = pd.DataFrame({"unit_id": units["id"], "territory": ["T1"] * 3 + ["T2"] * 3 + ["T3"] * 3,
                         "center_unit_id": ["u1"] * 3 + ["u4"] * 3 + ["u7"] * 3,
                         "workload": units["workload"], "potential": units["potential"]})
    return StageOutput("territory", tables={"plan/territories.csv": terr},
                       result=TerritoryOut(terr)), units


REPO = Path(__file__).resolve().parents[1]
EXAMPLE_OVERRIDES = ("plan.time_limit_s=5", "plan.mip_gap=0.02")
"""Example scenarios run with a short solver limit in tests (the report, not the optimum, is tested)."""
_RUNS: dict[tuple[str, tuple[str, ...]], Path] = {}
_RUN_ROOT: list[Path] = []


def example_run(scenario: str, *overrides: str, replications: int = 2) -> Path:
    """Run an example scenario once per test session (cached) and return its run folder."""
    import tempfile

    from engine.run import RunOptions, run_scenario
    from engine.scenario.load import load_scenario
    from reports.render import write_reports

    key = (scenario, overrides)
    if key not in _RUNS:
        if not _RUN_ROOT:
            _RUN_ROOT.append(Path(tempfile.mkdtemp(prefix="report-runs-")))
        out = _RUN_ROOT[0] / f"run{len(_RUNS)}-{Path(scenario).stem}"
        path = REPO / "scenarios" / scenario
        has_plan = load_scenario(path, []).scenario.plan is not None  # an override would add one
        options = RunOptions(replications=replications,
                             overrides=(*(EXAMPLE_OVERRIDES if has_plan else ()), *overrides))
        run_scenario(path, out, options, render=write_reports)
        _RUNS[key] = out
    return _RUNS[key]
