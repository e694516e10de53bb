"""Plans as objects: partial fixed plans, plan/hires.yaml frozen and re-run, a fixed plan checked
before any solve (exit 2 with the row's line), and a hiring model without a plan diagnosed."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from test_supply import flat_forecast, scenario

from engine.errors import InputError
from engine.plan.hiring_diagnosis import family_sentences
from engine.plan.supply import build_problem, funnel_demand, lead_array, plan_supply
from engine.scenario.load import load_scenario

MARGIN_PLAN = {"objective": "margin", "cases": ["base"], "arr_ops_rule": False, "mip_gap": 1e-6}
GROWING = yaml.safe_load("""
- {name: SDR, kind: sdr, ramp: [1.0], attrition_per_year: 0.0, cost_per_month: 3000,
   hiring_lead_time_months: 1, headcount_start: 0, hours_per_month: 100, selling_share: 1.0, max_hires_per_month: 3}
- {name: AE, kind: ae, ramp: [1.0], attrition_per_year: 0.0, cost_per_month: 4000,
   hiring_lead_time_months: 1, headcount_start: 1, hours_per_month: 100, selling_share: 1.0, max_hires_per_month: 3}
""")
"""Two roles that start too small for 100 leads a month (100 SDR hours, 200 AE hours needed) and pay for themselves."""


def _hires(out) -> dict[tuple[str, str], int]:
    plan = out.tables["plan/hiring.csv"]
    hit = plan[plan["hires"] > 0]
    return {(m, r): int(h) for m, r, h in zip(hit["month"], hit["role"], hit["hires"], strict=True)}


def _frozen(tmp_path: Path, hires_yaml: str, name: str = "frozen", **plan) -> object:
    folder = tmp_path / name
    folder.mkdir()
    return scenario(folder, roles=GROWING, plan={**MARGIN_PLAN, **plan, "fixed_hires": yaml.safe_load(hires_yaml)})


def test_hires_yaml_freezes_the_plan(tmp_path: Path) -> None:
    """Optimise, take plan/hires.yaml into the scenario, re-run: the same hires and headcount."""
    first = plan_supply(scenario(tmp_path, roles=GROWING, plan=MARGIN_PLAN), flat_forecast())
    assert first.summary["mode"] == "optimise" and _hires(first)
    text = first.texts["plan/hires.yaml"]
    rows = yaml.safe_load(text)
    assert {r["role"] for r in rows} == {"SDR", "AE"}
    assert all(set(r) == {"month", "role", "hires"} for r in rows)
    again = plan_supply(_frozen(tmp_path, text), flat_forecast())
    assert again.summary["mode"] == "evaluate"
    assert _hires(again) == _hires(first)
    a, b = first.tables["plan/hiring.csv"], again.tables["plan/hiring.csv"]
    assert b["headcount"].to_numpy() == pytest.approx(a["headcount"].to_numpy())
    assert again.summary["objective"] == pytest.approx(first.summary["objective"], rel=1e-9)


def test_partial_plan_optimises_the_roles_it_does_not_name(tmp_path: Path) -> None:
    """Fix AE at the optimiser's AE hires: the best SDR plan under it is the optimum again (the
    optimum is feasible for the restricted model, which cannot beat it), and SDR still hires."""
    best = plan_supply(scenario(tmp_path, roles=GROWING, plan=MARGIN_PLAN), flat_forecast())
    ae_rows = [r for r in yaml.safe_load(best.texts["plan/hires.yaml"]) if r["role"] == "AE"]
    partial = plan_supply(_frozen(tmp_path, yaml.safe_dump(ae_rows)), flat_forecast())
    assert partial.summary["mode"] == "partial"
    assert partial.summary["objective"] == pytest.approx(best.summary["objective"], rel=1e-6)
    sdr = {k: v for k, v in _hires(partial).items() if k[1] == "SDR"}
    assert sum(sdr.values()) == sum(v for k, v in _hires(best).items() if k[1] == "SDR") > 0
    closed = plan_supply(_frozen(tmp_path, yaml.safe_dump(ae_rows), "closed", other_roles="no_hires"),
                         flat_forecast())
    assert closed.summary["mode"] == "evaluate"
    assert not any(role == "SDR" for _, role in _hires(closed))
    assert closed.summary["objective"] < partial.summary["objective"]


FIXED_TEXT = """\
name: fixed plan checks
horizon: {{start: 2027-01, months: 6}}
roles:
  - {{name: AE, kind: ae, ramp: [1.0], cost_per_month: 10000, attrition_per_year: 0.0,
     hiring_lead_time_months: 2, max_hires_per_month: 2, headcount_start: 4, min_headcount: 3, max_headcount: 7}}
  - {{name: SDR, kind: sdr, ramp: [1.0], cost_per_month: 5000, attrition_per_year: 0.0,
     hiring_lead_time_months: 1, max_hires_per_month: 3, headcount_start: 2}}
plan:
  budget_per_month: {budget}
  fixed_hires:
    - {{month: {month}, role: AE, hires: {hires}}}
    - {{month: 2027-04, role: SDR, hires: 1}}
"""
ROW_LINE = 11
"""Line of the first fixed_hires row in FIXED_TEXT."""


def _problems(tmp_path: Path, month: str = "2027-03", hires: int = 1, budget: float = 1e6) -> list:
    path = tmp_path / "fixed.yaml"
    path.write_text(FIXED_TEXT.format(month=month, hires=hires, budget=budget))
    try:
        load_scenario(path)
    except InputError as exc:
        return [(p.line, p.path, p.message) for p in exc.problems]
    return []


def test_a_plan_that_can_be_carried_out_passes(tmp_path: Path) -> None:
    assert _problems(tmp_path) == []


def test_hires_before_the_lead_time_are_named_with_their_line(tmp_path: Path) -> None:
    (line, path, message), = _problems(tmp_path, month="2027-02")
    assert (line, path) == (ROW_LINE, "plan.fixed_hires.0.month")
    assert "lead time" in message and "2027-02" in message


def test_hires_above_the_monthly_cap(tmp_path: Path) -> None:
    (line, path, message), = _problems(tmp_path, hires=3)
    assert (line, path) == (ROW_LINE, "plan.fixed_hires.0.hires")
    assert "above the cap of 2" in message


def test_headcount_cap_and_budget(tmp_path: Path) -> None:
    """4 + 2 AEs = 6 <= 7 is fine; the budget: 6 AEs x 10,000 + 3 SDRs x 5,000 = 75,000 from
    2027-04 (the SDR row), 60,000 + 10,000 = 70,000 in March (the AE row)."""
    assert _problems(tmp_path, hires=2, budget=75_000) == []
    (line, path, message), = _problems(tmp_path, hires=2, budget=74_999)
    assert (line, path) == (ROW_LINE + 1, "plan.fixed_hires.1.hires")
    assert "75,000 in 2027-04" in message
    (_, path, message), = _problems(tmp_path, hires=2, budget=69_999)
    assert path == "plan.fixed_hires.0.hires" and "2027-03" in message
    text = FIXED_TEXT.replace("max_headcount: 7", "max_headcount: 5")
    (tmp_path / "fixed.yaml").write_text(text.format(month="2027-03", hires=2, budget=1e6))
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "fixed.yaml")
    (problem,) = err.value.problems
    assert (problem.line, problem.path) == (ROW_LINE, "plan.fixed_hires.0.hires")
    assert "reaches 6.0 in 2027-03, above its cap of 5" in problem.message


def test_minimum_headcount_under_a_fixed_plan_with_attrition(tmp_path: Path) -> None:
    """AE 4 people at 50 %/year leave (monthly 1 - 0.5^(1/12) = 5.61 %): 4 x 0.9439^t < 3 first
    at t = ceil(ln 0.75 / ln 0.9439) = 5, i.e. 2027-06; no AE hire fixed (the row hires 0)."""
    text = FIXED_TEXT.replace("cost_per_month: 10000, attrition_per_year: 0.0",
                              "cost_per_month: 10000, attrition_per_year: 0.5")
    (tmp_path / "fixed.yaml").write_text(text.format(month="2027-03", hires=0, budget=1e6))
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "fixed.yaml")
    (problem,) = err.value.problems
    t = math.ceil(math.log(0.75) / math.log(0.5 ** (1 / 12)))
    assert t == 5 and f"2027-0{t + 1}" in problem.message and "below its minimum of 3" in problem.message


def test_backfill_on_a_fixed_plan_is_infeasible_and_says_why(tmp_path: Path) -> None:
    """12 people at 40 %/year, no hires, backfill with lead time 0: the leavers to replace by
    month t are 12 (1 - (1 - m)^t); a whole person is due first at t = ceil(ln(11/12) / ln(1 - m))."""
    roles = [{"name": "SDR", "kind": "sdr", "ramp": [1.0], "attrition_per_year": 0.4, "cost_per_month": 3000,
              "hiring_lead_time_months": 0, "headcount_start": 12, "hours_per_month": 100, "selling_share": 1.0}]
    s = scenario(tmp_path, roles=roles, funnel=None, plan={**MARGIN_PLAN, "backfill": "replace",
                                                           "fixed_hires": [{"month": "2027-01", "role": "SDR", "hires": 0}]})
    out = plan_supply(s, flat_forecast())
    assert out.summary["status"] == "infeasible"
    assert "plan/hiring.csv" not in out.tables and "plan/hires.yaml" not in out.texts
    (sentence,) = out.summary["diagnosis"]
    m = 1 - 0.6 ** (1 / 12)
    t = math.ceil(math.log(11 / 12) / math.log(1 - m))
    assert "plan.backfill" in sentence and "SDR" in sentence and f"by 2027-{t + 1:02d}" in sentence


def test_infeasible_without_a_check_names_the_families(tmp_path: Path) -> None:
    """An optimised role that must hold 5 people from month 0 but starts with 0 and may hire 1 a
    month: no check of a fixed plan applies; the diagnosis lists the hard families, softest first."""
    roles = [{"name": "SDR", "kind": "sdr", "ramp": [1.0], "attrition_per_year": 0.0, "cost_per_month": 3000,
              "hiring_lead_time_months": 0, "headcount_start": 0, "min_headcount": 5, "max_hires_per_month": 1,
              "hours_per_month": 100, "selling_share": 1.0}]
    s = scenario(tmp_path, roles=roles, funnel=None, plan=MARGIN_PLAN)
    out = plan_supply(s, flat_forecast())
    assert out.summary["status"] == "infeasible"
    first, relax = out.summary["diagnosis"]
    assert "no check found why" in first and first.index("minimum headcount") < first.index("hires per month")
    assert relax == "Relax the softest first: lower roles.min_headcount."
    months = [f"2027-{i:02d}" for i in range(1, 13)]
    problem = build_problem(s.scenario, s.scenario.plan, months,
                            funnel_demand(s.scenario, lead_array(s.scenario, flat_forecast(), ["base"], months)),
                            None)
    assert family_sentences(problem) == out.summary["diagnosis"]
    assert np.isinf(problem.max_headcount).all()
