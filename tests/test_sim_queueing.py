"""The simulation against queueing theory and probability: Erlang C, Little's law, funnel products.

Every reference is computed here from its closed form, independently of the engine's code.
Tolerances are stated per test; the seeds are fixed, so each check is deterministic.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from engine.calendar import month_start_hours
from engine.simulation.config import RoleSpec, SimConfig, StageSpec
from engine.simulation.dists import Dist
from engine.simulation.replications import leads_frame, run_replications
from engine.simulation.worktime import WorkCalendar

MONTHS = 12
BOUNDS = np.array(month_start_hours("2027-01", MONTHS))
MONTH_H = np.diff(BOUNDS)


def make_config(rate_per_h: float, stages: list[tuple[float, float, Dist]], reps: int,
                hires: tuple[int, ...] | None = None, ramp: tuple[float, ...] = (),
                attrition_per_year: float = 0.0, work: Dist = Dist("exponential", 1.0)) -> SimConfig:
    """One segment and region, 24/7, one role working every stage; stages as (conversion, mean work h, delay)."""
    return SimConfig(
        months=tuple(f"2027-{m:02d}" for m in range(1, MONTHS + 1)), month_start_h=BOUNDS,
        calendar=WorkCalendar.always_open(), segments=("S",), regions=("R",),
        leads=(rate_per_h * MONTH_H).reshape(MONTHS, 1, 1), deal_size=(Dist("fixed", 1000.0),),
        stages=tuple(StageSpec(f"s{k}", np.array([p]), np.array([w]), d, np.zeros((1, 1), dtype=np.int64))
                     for k, (p, w, d) in enumerate(stages)),
        roles=(RoleSpec("Rep", "sdr", headcount_start=reps, hires=hires or (0,) * MONTHS, ramp=ramp,
                        attrition_per_hour=-math.log1p(-attrition_per_year) / 8766.0),),
        logit_per_score=0.0, score_priority=False, work_time=work)


def erlang_c(c: int, lam: float, mu: float) -> tuple[float, float]:
    """P(wait > 0) and mean wait of M/M/c (closed form)."""
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait, p_wait / (c * mu - lam)


def ci99(values: np.ndarray) -> tuple[float, float]:
    """99 % t confidence interval of the mean of independent replications."""
    half = stats.t.ppf(0.995, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return values.mean() - half, values.mean() + half


@pytest.mark.parametrize(("c", "utilisation"), [(2, 0.5), (3, 0.75), (3, 0.9)])
def test_one_stage_matches_erlang_c(c: int, utilisation: float) -> None:
    mu = 1.0
    lam = utilisation * c * mu
    cfg = make_config(lam, [(0.0, 1.0 / mu, Dist("fixed", 0.0))], reps=c)
    leads = leads_frame(cfg, run_replications(cfg, 12, seed=100 + c))
    steady = leads[leads["arrived_h"] > BOUNDS[1]]  # first month is warm-up
    wait = steady["first_contact_h"] - steady["arrived_h"]
    by_rep = pd.DataFrame({"rep": steady["replication"], "wait": wait, "waited": wait > 1e-12})
    means = by_rep.groupby("rep").mean()
    p_wait, mean_wait = erlang_c(c, lam, mu)
    lo, hi = ci99(means["wait"].to_numpy())
    assert lo <= mean_wait <= hi, f"Erlang C mean wait {mean_wait:.4f} h outside 99% CI [{lo:.4f}, {hi:.4f}]"
    lo, hi = ci99(means["waited"].to_numpy())
    assert lo <= p_wait <= hi, f"Erlang C P(wait>0) {p_wait:.4f} outside 99% CI [{lo:.4f}, {hi:.4f}]"


STAGES = [(0.6, 0.5, Dist("exponential", 24.0)), (0.5, 1.0, Dist("lognormal", 48.0, 0.5)),
          (0.4, 2.0, Dist("gamma", 72.0, 0.7)), (0.7, 0.25, Dist("fixed", 24.0))]


def test_unlimited_capacity_won_share_and_cycle_time() -> None:
    """No queue, no delay effect: P(won) = product of conversions, cycle = sum of stage means."""
    cfg = make_config(8.0, STAGES, reps=300)  # about 14 busy on average: nobody ever waits
    leads = leads_frame(cfg, run_replications(cfg, 1, seed=7))
    early = leads[leads["arrived_h"] < BOUNDS[9]]  # every outcome lands well inside the horizon
    assert (early["first_contact_h"] == early["arrived_h"]).all(), "a lead waited despite unlimited reps"
    n, won = len(early), int(early["won"].sum())
    p = math.prod(s[0] for s in STAGES)
    lo, hi = stats.binom.ppf([0.005, 0.995], n, p)
    assert lo <= won <= hi, f"{won} won of {n}, expected {n * p:.0f} in [{lo:.0f}, {hi:.0f}]"
    cycle = (early["closed_h"] - early["arrived_h"])[early["won"]].to_numpy()
    mean = sum(w + d.mean for _, w, d in STAGES)
    var = sum(w**2 + d.variance for _, w, d in STAGES)  # exponential work: variance = mean^2
    half = stats.norm.ppf(0.995) * math.sqrt(var / len(cycle))
    assert abs(cycle.mean() - mean) <= half, f"mean cycle {cycle.mean():.2f} h vs {mean:.2f} +- {half:.2f}"


def test_littles_law_multi_stage() -> None:
    """Time-average leads in the system (sampled on a grid) = arrival rate x mean time in system."""
    cfg = make_config(6.0, STAGES, reps=12)  # about 87 % busy
    leads = leads_frame(cfg, run_replications(cfg, 1, seed=11))
    t1, t2 = BOUNDS[2], BOUNDS[8]
    arrived, closed = leads["arrived_h"].to_numpy(), leads["closed_h"].to_numpy()
    grid = np.linspace(t1, t2, 4001)
    in_system = [(arrived <= t) & ~(closed <= t) for t in grid]
    big_l = float(np.mean([s.sum() for s in in_system]))
    window = (arrived >= t1) & (arrived < t2)
    lam = window.sum() / (t2 - t1)
    sojourn = closed[window] - arrived[window]
    assert np.isfinite(sojourn).all(), "a lead of the window did not finish before the horizon end"
    big_w = float(sojourn.mean())
    assert big_l == pytest.approx(lam * big_w, rel=0.03), f"L={big_l:.2f}, lambda*W={lam * big_w:.2f}"
    assert (leads["first_contact_h"] > leads["arrived_h"] + 1e-9).any(), "reps never queued: weak test"


def test_ramp_handled_volume_by_tenure() -> None:
    """Reps hired in month 3 into an overloaded queue handle ramp[j] x full volume in tenure month j."""
    ramp = (0.25, 0.5, 0.75)
    hires = (0, 0, 5) + (0,) * (MONTHS - 3)
    cfg = make_config(6.0, [(0.0, 1.0, Dist("fixed", 0.0))], reps=0, hires=hires, ramp=ramp,
                      work=Dist("fixed", 1.0))
    monthly = run_replications(cfg, 1, seed=3)[0].monthly
    handled = monthly[monthly["metric"] == "handled:Rep"]["value"].to_numpy()
    expected = 5 * MONTH_H * np.array([0, 0, *ramp] + [1.0] * (MONTHS - 5))
    assert handled[:2].sum() == 0
    np.testing.assert_allclose(handled[2:], expected[2:], rtol=0.03,
                               err_msg="handled volume does not follow the ramp (3 % tolerance)")


def test_attrition_matches_annual_rate() -> None:
    """2,000 reps at 30 %/year: the survivors after 12 months are Binomial(2000, 0.7)."""
    cfg = make_config(1.0, [(0.0, 1.0, Dist("fixed", 0.0))], reps=2000, attrition_per_year=0.3)
    monthly = run_replications(cfg, 1, seed=5)[0].monthly
    heads = monthly[monthly["metric"] == "headcount:Rep"]["value"].to_numpy()
    survive = 0.7 ** (BOUNDS[12] / 8766.0)
    lo, hi = stats.binom.ppf([0.005, 0.995], 2000, survive)
    assert lo <= heads[11] <= hi, f"{heads[11]:.0f} left of 2000, expected [{lo:.0f}, {hi:.0f}]"
    leavers = monthly[monthly["metric"] == "leavers:Rep"]["value"].sum()
    assert leavers + heads[11] == 2000


def test_open_item_cap_limits_throughput() -> None:
    """An AE holding at most 2 items, each held 100.1 h, starts 2 x month hours / 100.1 items a month."""
    from dataclasses import replace

    base = make_config(1.0, [(1.0, 0.01, Dist("fixed", 0.0)), (0.0, 0.1, Dist("fixed", 100.0))], reps=50,
                       work=Dist("fixed", 1.0))
    team = [np.zeros((1, 1), dtype=np.int64), np.ones((1, 1), dtype=np.int64)]
    cfg = replace(base, max_open=2, stages=tuple(replace(s, team=t) for s, t in zip(base.stages, team, strict=True)),
                  roles=(base.roles[0], replace(base.roles[0], name="AE", kind="ae", headcount_start=1)))
    monthly = run_replications(cfg, 1, seed=1)[0].monthly
    handled = monthly[monthly["metric"] == "handled:AE"]["value"].to_numpy()
    np.testing.assert_allclose(handled[1:], 2 * MONTH_H[1:] / 100.1, atol=2.5)


def test_unattended_leads_are_dropped_after_the_wait_limit() -> None:
    from dataclasses import replace

    cfg = replace(make_config(2.0, [(0.5, 1.0, Dist("fixed", 0.0))], reps=0), wait_limit_h=100.0)
    result = run_replications(cfg, 1, seed=1)[0]
    leads = leads_frame(cfg, [result])
    expect = leads["arrived_h"] + 100.0 <= BOUNDS[-1]
    np.testing.assert_allclose(leads["closed_h"][expect], leads["arrived_h"][expect] + 100.0)
    assert leads["first_contact_h"].isna().all() and not leads["won"].any()
    dropped = result.monthly.query("metric == 'dropped'")["value"].sum()
    assert dropped == expect.sum()


@pytest.mark.parametrize("routing", ["round_robin", "least_loaded"])
def test_idle_reps_share_the_work(routing: str) -> None:
    """At low load both rules spread leads evenly over 10 reps (each within 15 % of a tenth)."""
    from dataclasses import replace

    cfg = replace(make_config(1.0, [(0.0, 0.2, Dist("fixed", 0.0))], reps=10), routing=routing,
                  month_start_h=BOUNDS[:4], months=tuple(f"2027-{m:02d}" for m in range(1, 4)),
                  leads=np.full((3, 1, 1), 1.0 * MONTH_H[0]))
    leads = leads_frame(cfg, run_replications(cfg, 1, seed=1))
    share = leads["rep_id"].value_counts(normalize=True)
    assert len(share) == 10 and share.between(0.085, 0.115).all(), share.to_dict()


def test_leavers_are_backfilled_after_the_lead_time() -> None:
    """Backfill `leavers`, lead time 1 month: a leave in month j starts a hire at month j + 2."""
    from dataclasses import replace

    base = make_config(1.0, [(0.0, 1.0, Dist("fixed", 0.0))], reps=500, attrition_per_year=0.3)
    cfg = replace(base, backfill="leavers", roles=(replace(base.roles[0], lead_time_months=1),))
    monthly = run_replications(cfg, 1, seed=6)[0].monthly
    heads = monthly.query("metric == 'headcount:Rep'")["value"].to_numpy()
    leavers = monthly.query("metric == 'leavers:Rep'")["value"].to_numpy()
    assert leavers.sum() > 100
    np.testing.assert_array_equal(np.diff(heads)[1:], leavers[:-2] - leavers[2:])
    assert heads[0] == 500 - leavers[0] and heads[1] == 500 - leavers[0] - leavers[1]


def test_scores_reorder_conversions_without_changing_the_funnel() -> None:
    """With scores shifting log-odds (beta = 3), the won share is still the product of the
    configured conversions and each stage converts its configured share of the items that reach
    it (binomial 99 % intervals); high scorers win more often than low scorers."""
    import dataclasses

    cfg = dataclasses.replace(make_config(8.0, STAGES, reps=300), logit_per_score=3.0,
                              score_mean=np.array([0.4]), score_concentration=3.0)
    leads = leads_frame(cfg, run_replications(cfg, 1, seed=11))
    early = leads[leads["arrived_h"] < BOUNDS[9]]
    reached = len(early)
    for k, (p, _, _) in enumerate(STAGES):
        passed = int((early["stage_reached"].cat.codes > k).sum()) if k < len(STAGES) - 1 else int(early["won"].sum())
        lo, hi = stats.binom.ppf([0.005, 0.995], reached, p)
        assert lo <= passed <= hi, f"stage {k}: {passed} of {reached} passed, expected ~{reached * p:.0f}"
        reached = passed
    n, won = len(early), int(early["won"].sum())
    lo, hi = stats.binom.ppf([0.005, 0.995], n, math.prod(s[0] for s in STAGES))
    assert lo <= won <= hi
    top = early["score"] >= early["score"].median()
    assert early.loc[top, "won"].mean() > 1.5 * early.loc[~top, "won"].mean()


def test_lead_sources_are_drawn_by_weight_and_shift_scores() -> None:
    """Sources weighted 7:3, the second scoring +0.3: each source's share of leads is inside its
    binomial 99 % interval, the shifted source wins more often, and the overall won share is still
    the product of the configured conversions (binomial 99 %)."""
    import dataclasses

    cfg = dataclasses.replace(make_config(8.0, STAGES, reps=300), logit_per_score=3.0,
                              sources=("inbound", "referral"), source_p=np.array([0.7, 0.3]),
                              source_shift=np.array([0.0, 0.3]))
    result = run_replications(cfg, 1, seed=13)[0]
    monthly = result.monthly.groupby("metric")["value"].sum()
    n = monthly["leads"]
    assert monthly["leads:source:inbound"] + monthly["leads:source:referral"] == n
    lo, hi = stats.binom.ppf([0.005, 0.995], n, 0.3)
    assert lo <= monthly["leads:source:referral"] <= hi
    rate = {s: monthly[f"won:source:{s}"] / monthly[f"leads:source:{s}"] for s in ("inbound", "referral")}
    assert rate["referral"] > 1.3 * rate["inbound"], rate
    leads = leads_frame(cfg, [result])
    early = leads[leads["arrived_h"] < BOUNDS[9]]
    lo, hi = stats.binom.ppf([0.005, 0.995], len(early), math.prod(s[0] for s in STAGES))
    assert lo <= early["won"].sum() <= hi
