"""The simulation stage end to end on the scale-up example: contract, determinism, plans, support."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.calendar import month_range, month_start_hours
from engine.scenario.load import load_scenario
from engine.simulation.config import SimConfig, SupportSpec, TierSpec, config_from_scenario
from engine.simulation.stage import simulate
from engine.simulation.tickets import serve_tickets
from engine.simulation.worktime import WorkCalendar

ROOT = Path(__file__).resolve().parents[1]
SCALEUP = ROOT / "scenarios" / "scaleup.yaml"
LEAD_COLUMNS = ["replication", "lead_id", "segment", "region", "territory", "score", "arrived_h",
                "first_contact_h", "rep_id", "stage_reached", "won", "revenue", "closed_h"]


@pytest.fixture(scope="module")
def loaded():
    return load_scenario(SCALEUP, ["horizon.months=6"])


def forecast(loaded, scale: float = 1.0) -> pd.DataFrame:
    """A hand-built forecast: baseline x seasonality, no growth, all three cases."""
    s = loaded.scenario
    rows = [(m, b.segment, b.region, case, b.leads_per_month * s.demand.seasonality[int(m[5:]) - 1] * scale * f)
            for m in month_range(s.horizon.start, s.horizon.months) for b in s.demand.baseline
            for case, f in (("low", 0.8), ("base", 1.0), ("high", 1.2))]
    return pd.DataFrame(rows, columns=["month", "segment", "region", "case", "leads"])


def hiring_plan(loaded, extra_sdr: int) -> pd.DataFrame:
    s = loaded.scenario
    rows = []
    for i, m in enumerate(month_range(s.horizon.start, s.horizon.months)):
        for role in s.roles:
            hires = extra_sdr if (role.name == "SDR" and i == 0) else 0
            rows.append((m, role.name, hires, role.headcount_start + hires))
    return pd.DataFrame(rows, columns=["month", "role", "hires", "headcount"])


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    return buf.getvalue()


def test_outputs_follow_the_contract(loaded) -> None:
    out = simulate(loaded, forecast(loaded), None, None, None, None, replications=2, seed=1)
    leads, monthly = out.tables["sim/leads.parquet"], out.tables["sim/monthly.csv"]
    assert out.name == "simulation"
    assert list(leads.columns) == LEAD_COLUMNS
    assert list(monthly.columns) == ["replication", "month", "metric", "value"]
    metrics = set(monthly["metric"])
    for name in ["leads", "contacted", "qualified", "opportunities", "won", "revenue", "dropped",
                 "first_response_h_mean", "utilisation:SDR", "utilisation:AE", "tickets",
                 "sla_attainment", "ticket_wait_s_mean", "headcount:AE", "headcount:Support"]:
        assert name in metrics, name
    assert set(out.summary["totals"]) >= {"won", "revenue", "sla_attainment", "dropped"}
    q = out.summary["monthly"]["leads"]["2027-01"]
    assert q["p10"] <= q["p50"] <= q["p90"]
    # internal coherence of each lead's timeline
    assert (leads["first_contact_h"].dropna() >= leads.loc[leads["first_contact_h"].notna(), "arrived_h"]).all()
    done = leads["closed_h"].notna()
    assert (leads.loc[done, "closed_h"] >= leads.loc[done, "arrived_h"]).all()
    assert (leads["revenue"][~leads["won"]] == 0).all() and (leads["revenue"][leads["won"]] > 0).all()
    assert (leads.loc[leads["won"], "stage_reached"] == "close").all()
    assert leads["score"].between(0, 1).all()
    # monthly lead counts are those of the leads table
    per_month = monthly[(monthly["metric"] == "leads")].groupby("replication")["value"].sum()
    assert per_month.tolist() == leads.groupby("replication").size().tolist()


def test_same_seed_same_bytes_for_any_worker_count(loaded) -> None:
    fc = forecast(loaded, 0.5)
    a = simulate(loaded, fc, None, None, None, None, replications=3, seed=42, workers=1)
    b = simulate(loaded, fc, None, None, None, None, replications=3, seed=42, workers=2)
    c = simulate(loaded, fc, None, None, None, None, replications=3, seed=43, workers=1)
    assert parquet_bytes(a.tables["sim/leads.parquet"]) == parquet_bytes(b.tables["sim/leads.parquet"])
    assert a.tables["sim/monthly.csv"].to_csv() == b.tables["sim/monthly.csv"].to_csv()
    assert parquet_bytes(a.tables["sim/leads.parquet"]) != parquet_bytes(c.tables["sim/leads.parquet"])


def test_common_random_numbers_across_plans(loaded) -> None:
    """Two hiring plans under one seed see the same leads; more SDRs answer them sooner."""
    fc = forecast(loaded)
    a = simulate(loaded, fc, hiring_plan(loaded, 0), None, None, None, replications=1, seed=9)
    b = simulate(loaded, fc, hiring_plan(loaded, 6), None, None, None, replications=1, seed=9)
    la, lb = a.tables["sim/leads.parquet"], b.tables["sim/leads.parquet"]
    for col in ["segment", "region", "score", "arrived_h"]:
        pd.testing.assert_series_equal(la[col], lb[col])
    delay = lambda f: (f["first_contact_h"] - f["arrived_h"]).mean()  # noqa: E731
    assert delay(lb) < delay(la)
    heads = b.tables["sim/monthly.csv"].query("metric == 'headcount:SDR' and month == '2027-01'")
    assert heads["value"].iloc[0] >= 5 + 6 - 2  # start + hires, allowing for a couple of leavers


def test_allocation_routes_leads_to_the_planned_team(loaded) -> None:
    """Leads the allocation gives to a second SDR team are contacted by that team's reps."""
    data = loaded.resolved | {}
    data = {**data, "roles": data["roles"] + [{**data["roles"][0], "name": "SDR-NA", "headcount_start": 4}]}
    from engine.scenario.model import Scenario

    scenario = Scenario.model_validate(data)
    fc = forecast(loaded)
    alloc = fc[fc["case"] == "base"].assign(team=lambda f: np.where(f["region"] == "NA", "SDR-NA", "SDR"))
    cfg = config_from_scenario(scenario, fc, allocation=alloc[["month", "segment", "region", "team", "leads"]])
    from engine.simulation.replications import leads_frame, run_replications

    leads = leads_frame(cfg, run_replications(cfg, 1, seed=2))
    contact_only = leads[leads["stage_reached"].isin(["contact", "qualify"]) & leads["rep_id"].notna()]
    team = contact_only["rep_id"].astype(str).str.rsplit("-", n=1).str[0]
    assert (team[contact_only["region"] == "NA"] == "SDR-NA").all()
    assert (team[contact_only["region"] == "EMEA"] == "SDR").all()


def test_speed_to_lead_discount(loaded) -> None:
    """Leads that wait for the first contact convert at p x (floor + (1-floor) 0.5^(delay/half-life))."""
    s = loaded.scenario
    fc = forecast(loaded)
    cfg = config_from_scenario(s, fc)
    from dataclasses import replace

    from engine.simulation.replications import leads_frame, run_replications

    cfg = replace(cfg, logit_per_score=0.0, attrition=False)
    leads = leads_frame(cfg, run_replications(cfg, 2, seed=4))
    worked = leads[leads["first_contact_h"].notna() & (leads["closed_h"].notna() | leads["stage_reached"].ne("contact"))]
    worked = worked[worked["arrived_h"] < cfg.month_start_h[-2]]
    delay = (worked["first_contact_h"] - worked["arrived_h"]).to_numpy()
    stl = s.funnel.speed_to_lead
    p = s.funnel.stages[0].conversion * (stl.floor + (1 - stl.floor) * 0.5 ** (delay / stl.half_life_hours))
    passed = (worked["stage_reached"] != "contact").to_numpy()
    expected, sd = p.sum(), math.sqrt((p * (1 - p)).sum())
    assert delay.max() > stl.half_life_hours, "no lead waited long enough for the test to bite"
    z = (passed.sum() - expected) / sd
    assert abs(z) < stats.norm.ppf(0.995), f"{passed.sum()} passed contact, expected {expected:.0f} (z={z:.2f})"


def _erlang_c_wait(c: int, lam: float, mu: float) -> float:
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top) / (c * mu - lam)


def test_support_queue_matches_erlang_c() -> None:
    """Two tiers with one handle time, constant agents, 24/7: overall mean wait is Erlang C's."""
    months = 12
    bounds = np.array(month_start_hours("2027-01", months))
    tiers = (TierSpec("gold", 0, 360.0, 20.0, 0.8, 0, 0), TierSpec("std", 0, 360.0, 20.0, 0.8, 1, 0))
    cfg = SimConfig(months=tuple(month_range("2027-01", months)), month_start_h=bounds,
                    calendar=WorkCalendar.always_open(), segments=(), regions=(), leads=np.zeros((months, 0, 0)),
                    deal_size=(), stages=(), roles=(),
                    support=SupportSpec(tiers, np.array([], dtype=int), 0.0, 0.0, 0, np.full(months, 4)))
    rng = np.random.default_rng(8)
    lam, mu, c = 32.0, 10.0, 4  # per hour: 80 % busy
    means = []
    for _ in range(6):
        t = np.cumsum(rng.exponential(1 / lam, int(lam * bounds[4] * 1.1)))
        t = t[t < bounds[4]]
        tier = rng.integers(0, 2, len(t))
        start = serve_tickets(cfg, cfg.support.agents, t, tier, rng.exponential(1 / mu, len(t)))
        means.append(np.mean((start - t)[t > bounds[1]]))
    means = np.array(means)
    half = stats.t.ppf(0.995, len(means) - 1) * means.std(ddof=1) / math.sqrt(len(means))
    assert abs(means.mean() - _erlang_c_wait(c, lam, mu)) <= half


def test_allocation_team_that_slices_a_role_routes_to_that_role(loaded) -> None:
    """A team named in `allocation.teams` (e.g. `SDR North`, a regional slice of SDR) sends its
    leads to its role: the routing shares equal those of an allocation that names the role."""
    from engine.scenario.model import Scenario

    teams = [{"name": "SDR North", "role": "SDR", "regions": ["NA"]},
             {"name": "SDR South", "role": "SDR", "regions": ["EMEA"]}]
    scenario = Scenario.model_validate({**loaded.resolved, "allocation": {"teams": teams}})
    fc = forecast(loaded)
    base = fc[fc["case"] == "base"][["month", "segment", "region", "leads"]]
    sliced = base.assign(team=np.where(base["region"] == "NA", "SDR North", "SDR South"))
    by_role = base.assign(team="SDR")
    cfg_sliced = config_from_scenario(scenario, fc, allocation=sliced)
    cfg_role = config_from_scenario(scenario, fc, allocation=by_role)
    sdr = [r.name for r in cfg_role.roles].index("SDR")
    assert cfg_sliced.allocation[..., sdr].min() == 1.0
    np.testing.assert_array_equal(cfg_sliced.allocation, cfg_role.allocation)
