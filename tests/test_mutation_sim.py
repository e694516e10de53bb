"""The simulation's arithmetic against hand computations: working time, distributions, score odds,
the scenario -> simulation inputs (capacity, attrition), the lead-flow loop's work times, ramp,
conversion and speed-to-lead, the monthly metrics, the support queue and the Monte Carlo quantiles.

Fast tests (each well under 2 s) written for `make mutation` (docs/development-mutation.md): each
compares a value with an outside reference (hand arithmetic, a closed form, the lead's own random
draws replayed by hand) with the tolerance stated next to it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats
from scipy.special import expit, logit

from engine.calendar import month_start_hours
from engine.reconcile.money import (
    MoneyModel,
    people_cost_by_role,
    plan_pnl,
    revenue_grid,
    role_grid,
    simulated_pnl,
)
from engine.reconcile.quantiles import (
    cube,
    cube_quantiles,
    month_index_of_hours,
    pack,
    ticket_weighted_sla,
)
from engine.scenario.load import load_scenario
from engine.simulation.arrivals import draw_leads, spawn_streams
from engine.simulation.config import (
    RoleSpec,
    SimConfig,
    StageSpec,
    SupportSpec,
    TierSpec,
    config_from_scenario,
)
from engine.simulation.dists import Dist
from engine.simulation.leadflow import NOT_HIRED, FunnelResult, run_funnel
from engine.simulation.metrics import available_open_hours, employed_people, headcount, month_labels
from engine.simulation.rates import funnel_totals, per_replication, quantiles, replication_totals
from engine.simulation.replications import run_replications
from engine.simulation.score_odds import beta_score_grid, conversion_offsets, stage_offsets
from engine.simulation.tickets import agents_per_month, customer_months, serve_tickets
from engine.simulation.worktime import WorkCalendar

BOUNDS = np.array(month_start_hours("2027-01", 4))
"""Jan, Feb, Mar, Apr 2027: 744, 672, 744, 720 hours."""
MONTHS = ("2027-01", "2027-02", "2027-03", "2027-04")


def _config(stages: list[tuple[float, float]], roles: tuple[RoleSpec, ...], rate_per_h: float = 1.0,
            teams: list[int] | None = None, **kw) -> SimConfig:
    """One segment and region, 24/7; stages as (conversion, mean work hours), no buyer delay."""
    teams = teams or [0] * len(stages)
    return SimConfig(
        months=MONTHS, month_start_h=BOUNDS, calendar=WorkCalendar.always_open(), segments=("S",),
        regions=("R",), leads=(rate_per_h * np.diff(BOUNDS)).reshape(4, 1, 1),
        deal_size=(Dist("fixed", 1000.0),),
        stages=tuple(StageSpec(f"s{k}", np.array([p]), np.array([w]), Dist("fixed", 0.0),
                               np.full((1, 1), teams[k], dtype=np.int64)) for k, (p, w) in enumerate(stages)),
        roles=roles, score_priority=False, **kw)


def _rep(**kw) -> RoleSpec:
    return RoleSpec(**({"name": "Rep", "kind": "sdr", "headcount_start": 1, "hires": (0, 0, 0, 0)} | kw))


# -- working time ----------------------------------------------------------------------------

def test_business_calendar_open_hours_by_hand() -> None:
    """Mon-Fri 9-17 from a Wednesday: 8 open hours a day, 40 a week, counted by hand."""
    cal = WorkCalendar.business([0, 1, 2, 3, 4], 9, 17, first_weekday=2)
    assert cal.open_per_week == 40.0
    wed10, sat10, mon930 = 10.0, 3 * 24 + 10.0, 5 * 24 + 9.5
    np.testing.assert_allclose(cal.open_hours(np.array([0.0, 9.0, wed10, 17.0, sat10, mon930, 168 + 10.0])),
                               [0, 0, 1, 8, 24, 24.5, 41])
    # inverse: the earliest wall time with w open hours behind it (a job ending at a close ends there)
    np.testing.assert_allclose(cal.wall_time(np.array([1.0, 8.0, 23.5, 24.5, 41.0])),
                               [wed10, 17.0, 2 * 24 + 16.5, mon930, 168 + 10.0])


@pytest.mark.parametrize("weeks", [0, 3])
def test_scalar_calendar_by_hand(weeks: int) -> None:
    """The event loop's calendar: in its unrolled table (week 0) and past it (week 3, the formula)."""
    cal = WorkCalendar.business([0, 1, 2, 3, 4], 9, 17, first_weekday=2).scalar(0.0)
    w0, h0 = 40.0 * weeks, 168.0 * weeks
    assert cal.work_at(h0 + 10.0) == pytest.approx(w0 + 1.0)
    assert cal.work_at(h0 + 3 * 24 + 10.0) == pytest.approx(w0 + 24.0)
    assert cal.work_at(h0 + 5 * 24 + 9.5) == pytest.approx(w0 + 24.5)
    assert cal.wall_at(w0 + 1.0) == pytest.approx(h0 + 10.0)
    assert cal.wall_at(w0 + 8.0) == pytest.approx(h0 + 17.0)  # ends at Wednesday's close
    assert cal.wall_at(w0 + 24.0) == pytest.approx(h0 + 2 * 24 + 17.0)  # Friday's close, not Monday
    assert cal.wall_at(w0 + 24.5) == pytest.approx(h0 + 5 * 24 + 9.5)
    assert cal.finish(h0 + 16.0, 2.0) == pytest.approx(h0 + 24 + 10.0)  # 1 h Wed, 1 h Thu
    assert cal.finish(h0 + 10.0, 2.0) == pytest.approx(h0 + 12.0)
    assert cal.next_open(h0 + 10.0) == pytest.approx(h0 + 10.0)
    assert cal.next_open(h0 + 18.0) == pytest.approx(h0 + 24 + 9.0)
    assert cal.next_open(h0 + 3 * 24 + 10.0) == pytest.approx(h0 + 5 * 24 + 9.0)  # Saturday -> Monday
    assert cal.next_open(h0 + 4 * 24 + 17.0) == pytest.approx(h0 + 5 * 24 + 9.0)  # Sunday 17:00


def test_always_open_calendar_is_the_clock() -> None:
    cal = WorkCalendar.always_open()
    scalar = cal.scalar(100.0)
    assert cal.open_per_week == 168.0
    np.testing.assert_allclose(cal.open_hours(np.array([0.0, 5.5, 400.0])), [0.0, 5.5, 400.0])
    assert scalar.work_at(7.25) == 7.25 and scalar.wall_at(7.25) == 7.25
    assert scalar.finish(3.0, 2.5) == 5.5 and scalar.next_open(3.0) == 3.0


# -- distributions ---------------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "cv", "true_cv"), [("gamma", 0.5, 0.5), ("lognormal", 0.8, 0.8),
                                                    ("exponential", 0.3, 1.0), ("fixed", 0.7, 0.0)])
def test_samples_have_the_stated_mean_and_cv(kind: str, cv: float, true_cv: float) -> None:
    """200,000 draws: mean within 1 % and standard deviation within 3 % of mean x cv (closed form);
    exponential has cv 1 and fixed cv 0 whatever the cv field says."""
    d = Dist(kind, 3.0, cv).scaled(24.0)  # days -> hours
    assert d.mean == 72.0 and d.effective_cv == true_cv
    assert d.variance == pytest.approx((72.0 * true_cv) ** 2)
    x = d.sample(np.random.default_rng(1), 200_000)
    assert x.mean() == pytest.approx(72.0, rel=0.01)
    assert x.std() == pytest.approx(72.0 * true_cv, rel=0.03, abs=1e-9)
    assert (x > 0).all()


# -- score odds ------------------------------------------------------------------------------

def test_stage_offsets_keep_each_stage_conversion() -> None:
    """With a score shift, the offsets make the mean reach of stage k equal the product of the
    configured conversions (replayed here with expit; 1e-8); no shift -> offsets 0; stages with
    p = 1 or 0 keep offset 0 and the stages after a 0 stay at 0."""
    shift = 3.0 * (np.linspace(0.01, 0.99, 401) - 0.5)
    p = np.array([0.5, 1.0, 0.2, 0.4])
    c = stage_offsets(p, shift)
    assert c[1] == 0.0
    reach = np.ones_like(shift)
    for k in range(len(p)):
        step = expit(logit(p[k]) + shift + c[k]) if 0 < p[k] < 1 else p[k]
        reach = reach * step
        assert reach.mean() == pytest.approx(np.prod(p[: k + 1]), abs=1e-8)
    np.testing.assert_allclose(stage_offsets(p, np.zeros(7)), 0.0, atol=1e-8)
    np.testing.assert_array_equal(stage_offsets(np.array([0.5, 0.0, 0.4]), shift)[1:], [0.0, 0.0])


def test_beta_conversion_offsets_against_quadrature() -> None:
    """One stage, Beta(0.3 x 6, 0.7 x 6) scores, beta = 2: E[expit(logit p + 2 (s - 0.3) + c)]
    over the Beta density (scipy quad) equals p within 1e-4."""
    p = np.array([[0.25]])
    (c,) = conversion_offsets(p, np.array([0.3]), 6.0, 2.0)[0]
    density = stats.beta(0.3 * 6.0, 0.7 * 6.0)
    mean, _ = integrate.quad(lambda s: density.pdf(s) * expit(logit(0.25) + 2.0 * (s - 0.3) + c), 0, 1)
    assert mean == pytest.approx(0.25, abs=1e-4)
    # two segments x three stages: each segment's offsets are its own one-segment offsets
    p3 = np.array([[0.25, 0.5, 0.4], [0.6, 0.3, 0.9]])
    both = conversion_offsets(p3, np.array([0.3, 0.6]), 6.0, 2.0)
    for g, mean in enumerate((0.3, 0.6)):
        np.testing.assert_allclose(both[g], conversion_offsets(p3[g:g + 1], np.array([mean]), 6.0, 2.0)[0])
    assert both.shape == (2, 3) and np.all(both[:, 0] != 0.0)
    grid = beta_score_grid(0.3, 6.0)
    assert grid.mean() == pytest.approx(0.3, abs=1e-3) and np.median(grid) == pytest.approx(density.median(), abs=1e-3)


# -- scenario -> simulation inputs -----------------------------------------------------------

SCENARIO = """\
name: two roles
horizon: {start: 2027-01, months: 4}
segments:
  - {name: SMB, deal_size: {kind: fixed, mean: 1000}}
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 100}]
funnel:
  stages:
    - {name: contact, role: SDR, conversion: 0.5, work_hours: 1.0, duration_days: {kind: fixed, mean: 1}}
    - {name: close, role: AE, conversion: 0.5, work_hours: 2.0, duration_days: {kind: fixed, mean: 1}}
roles:
  - {name: SDR, kind: sdr, cost_per_month: 5000, headcount_start: 3, ramp: [1.0],
     attrition_per_year: 0.0, hours_per_month: 150, selling_share: 1.0}
  - {name: AE, kind: ae, cost_per_month: 9000, headcount_start: 2, ramp: [0.5, 1.0],
     attrition_per_year: 0.3, hours_per_month: 160, selling_share: 0.5, hiring_lead_time_months: 2}
  - {name: Ops, kind: ops, cost_per_month: 4000, attrition_per_year: 1.0, selling_share: 0.0}
  - {name: Tiny, kind: ops, cost_per_month: 4000, hours_per_month: 1.0, selling_share: 0.5}
shocks:
  - {kind: attrition_spike, factor: 2.0, from_month: 2027-02, to_month: 2027-03, role: AE}
  - {kind: hiring_freeze, from_month: 2027-04, role: AE}
simulation:
  replications: 1
  calendar: {kind: business, day_start_hour: 9, day_end_hour: 18}
"""


def test_role_speed_and_attrition_from_the_scenario(tmp_path: Path) -> None:
    """A 9-18 weekday calendar over Jan-Apr 2027 opens 9 h x (21, 20, 23, 22) weekdays (numpy's
    business-day count): a rep's open hours per capacity hour are the mean open hours (193.5)
    over the role's capacity (150 h; 160 x 0.5 = 80 h); each month's work factor is its open
    hours over that mean; the hourly leave hazard is -ln(1 - 0.3) / 8766 (1e-12 relative), for
    100 %/year capped at -ln(1e-6) / 8766; a role with no selling hours never finishes work (inf);
    hires per month come from the hiring plan (rounded), shocks become per-month factors."""
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO)
    s = load_scenario(path).scenario
    forecast = pd.DataFrame({"month": list(MONTHS), "segment": "SMB", "region": "EU", "case": "base",
                             "leads": 100.0})
    hiring = pd.DataFrame({"role": ["AE", "AE", "AE", "SDR"], "month": ["2027-02", "2027-02", "2027-04", "2027-03"],
                           "hires": [1.0, 1.0, 1.4, 0.0]})
    cfg = config_from_scenario(s, forecast, hiring=hiring)
    days = np.array([np.busday_count(f"2027-{m:02d}", f"2027-{m + 1:02d}") for m in range(1, 5)])
    assert days.tolist() == [21, 20, 23, 22]
    open_h = 9.0 * days
    sdr, ae, ops, tiny = cfg.roles
    assert [(r.name, r.kind) for r in cfg.roles] == [("SDR", "sdr"), ("AE", "ae"), ("Ops", "ops"), ("Tiny", "ops")]
    assert (sdr.hires, ae.hires) == ((0, 0, 0, 0), (0, 2, 0, 1))
    assert (ae.attrition_factor, ae.hiring_factor) == ((1.0, 2.0, 2.0, 1.0), (1.0, 1.0, 1.0, 0.0))
    assert (sdr.attrition_factor, sdr.hiring_factor) == (None, None)
    assert ops.attrition_per_hour == pytest.approx(-math.log(1e-6) / 8766.0, rel=1e-9)
    assert ops.work_scale == math.inf
    assert tiny.work_scale == pytest.approx(open_h.mean() / 0.5, rel=1e-12)
    assert sdr.work_scale == pytest.approx(open_h.mean() / 150.0, rel=1e-12)
    assert ae.work_scale == pytest.approx(open_h.mean() / 80.0, rel=1e-12)
    np.testing.assert_allclose(cfg.month_work_factor, open_h / open_h.mean(), rtol=1e-12)
    assert sdr.attrition_per_hour == 0.0
    assert ae.attrition_per_hour == pytest.approx(-math.log(0.7) / 8766.0, rel=1e-12)
    assert (ae.lead_time_months, ae.ramp, ae.headcount_start) == (2, (0.5, 1.0), 2)
    np.testing.assert_allclose(cfg.leads[:, 0, 0], 100.0)


# -- lead flow: work times, ramp, conversion, speed-to-lead ----------------------------------

def test_work_time_follows_ramp_and_month_factor_lead_by_lead() -> None:
    """One rep hired in February (ramp 0.5 then 0.8), work scaled by each month's factor: every
    lead's work takes work_open_h x factor[m] / ramp[tenure] hours from first contact (1e-9 h),
    nobody is contacted before the hire, and busy hours and handled items per month add up."""
    factor = np.array([1.2, 0.9, 1.1, 0.8])
    cfg = _config([(0.0, 1.5)], (_rep(headcount_start=0, hires=(0, 1, 0, 0), ramp=(0.5, 0.8)),),
                  rate_per_h=0.3, month_work_factor=factor)
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(4)))
    f = run_funnel(cfg, leads, np.random.SeedSequence(5))
    done = np.isfinite(f.closed_h)
    assert done.sum() > 200 and np.nanmin(f.first_contact_h) >= BOUNDS[1]
    assert (f.rep_start_h.tolist(), f.rep_start_month.tolist()) == ([BOUNDS[1]], [1])
    m = np.searchsorted(BOUNDS, f.first_contact_h[done], side="right") - 1
    speed = np.array([1.0, 0.5, 0.8, 1.0])[m]  # tenure month 0 in Feb, 1 in Mar, full from Apr
    work = leads.work_open_h[done, 0] * factor[m] / speed
    np.testing.assert_allclose(f.closed_h[done] - f.first_contact_h[done], work, atol=1e-9)
    started = np.isfinite(f.first_contact_h)
    ms = np.searchsorted(BOUNDS, f.first_contact_h[started], side="right") - 1
    busy = np.bincount(ms, weights=leads.work_open_h[started, 0] * factor[ms] / np.array([1, .5, .8, 1.])[ms],
                       minlength=4)
    np.testing.assert_allclose(f.busy_open_h[0], busy, rtol=1e-12)
    np.testing.assert_array_equal(f.handled[0], np.bincount(ms, minlength=4))


def test_reps_there_at_the_start_work_at_full_speed_and_january_hires_ramp() -> None:
    """Ramp 0.5 then 0.8: the rep there at hour 0 works at full speed from the start; the rep
    hired on 1 January at 0.5 in January and 0.8 in February (each lead's work replayed, 1e-9 h)."""
    cfg = _config([(0.0, 1.0)], (_rep(headcount_start=1, hires=(1, 0, 0, 0), ramp=(0.5, 0.8)),), rate_per_h=0.5)
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(21)))
    f = run_funnel(cfg, leads, np.random.SeedSequence(22))
    assert f.rep_start_month.tolist() == [NOT_HIRED, 0]
    done = np.isfinite(f.closed_h)
    m = np.searchsorted(BOUNDS, f.first_contact_h[done], side="right") - 1
    speed = np.where(f.rep[done] == 0, 1.0, np.array([0.5, 0.8, 1.0, 1.0])[m])
    assert (f.rep[done] == 0).sum() > 100 and ((f.rep[done] == 1) & (m < 2)).sum() > 100
    np.testing.assert_allclose(f.closed_h[done] - f.first_contact_h[done], leads.work_open_h[done, 0] / speed,
                               atol=1e-9)


def test_each_stage_takes_its_own_work_time() -> None:
    """Stage 2 (3 h mean) is worked by a team of 100 idle AEs, so it starts on entry: each lead's
    stage-2 work is its own stage-2 draw (1e-9 h), not another stage's; a lead enters stage 2 its
    stage-1 work plus the 5-hour buyer delay after its first contact."""
    roles = (_rep(headcount_start=3), _rep(name="AE", kind="ae", headcount_start=100))
    cfg = _config([(1.0, 1.0), (0.0, 3.0)], roles, rate_per_h=0.5, teams=[0, 1])
    cfg = replace(cfg, stages=(replace(cfg.stages[0], duration_h=Dist("fixed", 5.0)), cfg.stages[1]))
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(31)))
    f = run_funnel(cfg, leads, np.random.SeedSequence(32))
    done = np.isfinite(f.closed_h) & (f.stage_reached == 1)
    assert done.sum() > 1000
    np.testing.assert_allclose(f.entered_h[done, 1] - f.first_contact_h[done], leads.work_open_h[done, 0] + 5.0,
                               atol=1e-9)
    np.testing.assert_allclose(f.closed_h[done] - f.entered_h[done, 1], leads.work_open_h[done, 1], atol=1e-9)


def test_the_first_rep_releases_items_after_their_outcome() -> None:
    """The cap on open items binds for rep number 0 too: one AE (the first rep hired) holding at
    most 2 items, each held 0.1 h of work + 100 h of buyer delay, starts 2 x month hours / 100.1
    items a month (within 2.5 items), as in test_sim_queueing's cap test."""
    roles = (_rep(name="AE", kind="ae"), _rep(headcount_start=50))
    cfg = _config([(1.0, 0.01), (0.0, 0.1)], roles, teams=[1, 0], work_time=Dist("fixed", 1.0), max_open=2)
    cfg = replace(cfg, stages=(cfg.stages[0], replace(cfg.stages[1], duration_h=Dist("fixed", 100.0))))
    (rep,) = run_replications(cfg, 1, seed=1)
    handled = rep.monthly.query("metric == 'handled:AE'")["value"].to_numpy()
    np.testing.assert_allclose(handled[1:], 2 * np.diff(BOUNDS)[1:] / 100.1, atol=2.5)


def test_conversion_and_speed_to_lead_replayed_from_the_draws() -> None:
    """Two stages, one busy rep (so first contact waits): a lead enters stage 2 exactly when its
    uniform draw is below p1 x (floor + (1 - floor) x 0.5 ** (wait / half-life)), and wins
    exactly when it then draws below p2 (the lead's own draws replayed by hand)."""
    cfg = _config([(0.6, 0.6), (0.5, 0.3)], (_rep(),), rate_per_h=1.0,
                  speed_half_life_h=2.0, speed_floor=0.3, work_time=Dist("exponential", 1.0))
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(7)))
    f = run_funnel(cfg, leads, np.random.SeedSequence(8))
    wait = f.first_contact_h - leads.arrived_h
    first_done = np.isfinite(f.entered_h[:, 1]) | (np.isfinite(f.closed_h) & (f.stage_reached == 0))
    assert first_done.sum() > 500 and np.nanmax(wait) > 4.0, "no leads waited: weak test"
    p1 = leads.p_convert[:, 0] * (0.3 + 0.7 * 0.5 ** (wait / 2.0))
    advanced = np.isfinite(f.entered_h[:, 1])
    np.testing.assert_array_equal(advanced[first_done], (leads.u_convert[:, 0] < p1)[first_done])
    closed2 = advanced & np.isfinite(f.closed_h)
    assert closed2.sum() > 100
    np.testing.assert_array_equal(f.won[closed2], (leads.u_convert[:, 1] < 0.5)[closed2])
    assert not f.won[~advanced].any()


def test_work_scale_multiplies_each_roles_work() -> None:
    """Fixed work time: each stage's open hours are its mean work x its role's work_scale (exact);
    deal sizes follow the price factor of their arrival month."""
    roles = (_rep(work_scale=1.0), _rep(name="AE", kind="ae", work_scale=2.5))
    price = np.array([[1.0, 1.1, 1.2, 1.3]])
    cfg = _config([(0.5, 0.4), (0.5, 2.0)], roles, teams=[0, 1], work_time=Dist("fixed", 1.0),
                  price_factor=price)
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(2)))
    np.testing.assert_allclose(leads.work_open_h[:, 0], 0.4)
    np.testing.assert_allclose(leads.work_open_h[:, 1], 5.0)
    month = np.searchsorted(BOUNDS, leads.arrived_h, side="right") - 1
    np.testing.assert_allclose(leads.deal_size, 1000.0 * price[0, month])
    # Poisson arrivals: 2,880 expected leads, within 4 standard deviations
    assert abs(leads.n - BOUNDS[-1]) < 4 * math.sqrt(BOUNDS[-1])
    assert (leads.arrived_h >= 0).all() and (leads.arrived_h < BOUNDS[-1]).all()


def test_shocked_attrition_doubles_the_hazard() -> None:
    """2,000 reps at 30 %/year with the hazard doubled every month: after 4 months the survivors
    are Binomial(2000, 0.7 ** (2 x 2880 / 8766)) (99.9 % interval)."""
    hazard = -math.log(0.7) / 8766.0
    cfg = _config([(0.0, 1.0)], (_rep(headcount_start=2000, attrition_per_hour=hazard,
                                      attrition_factor=(2.0,) * 4),), rate_per_h=0.1)
    (rep,) = run_replications(cfg, 1, seed=3)
    heads = rep.monthly.query("metric == 'headcount:Rep'")["value"].to_numpy()
    lo, hi = stats.binom.ppf([0.0005, 0.9995], 2000, 0.7 ** (2 * BOUNDS[-1] / 8766.0))
    assert lo <= heads[-1] <= hi, (heads[-1], lo, hi)


def test_backfill_waits_for_the_end_of_a_hiring_freeze() -> None:
    """Backfill `leavers` with lead time 0 starts each replacement the month after the leave; a
    freeze in March postpones February's replacements to April: headcount changes by starts -
    leavers, month by month (exact)."""
    hazard = -math.log(0.5) / 8766.0
    cfg = _config([(0.0, 1.0)], (_rep(headcount_start=1000, attrition_per_hour=hazard,
                                      hiring_factor=(1.0, 1.0, 0.0, 1.0)),), rate_per_h=0.1,
                  backfill="leavers")
    (rep,) = run_replications(cfg, 1, seed=2)
    m = rep.monthly
    heads = m.query("metric == 'headcount:Rep'")["value"].to_numpy()
    leavers = m.query("metric == 'leavers:Rep'")["value"].to_numpy()
    starts = np.array([0.0, leavers[0], 0.0, leavers[1] + leavers[2]])
    assert leavers[1] > 20
    np.testing.assert_array_equal(heads, 1000 + np.cumsum(starts - leavers))


def test_leavers_stop_working_and_hand_back_their_follow_ups() -> None:
    """Ten overloaded reps (two 1-hour stages, both theirs) leaving at 99.9 %/year over two months:
    no rep starts work after leaving (stage-2 work starts 1 h before the close), no follow-up a
    leaver held is lost, and each month
    the team starts work for as many hours as its reps were employed (saturated: within one
    item per rep of the hours counted here from the start and leave hours)."""
    hazard = -math.log(0.001) / 8766.0
    base = _config([(1.0, 1.0), (0.0, 1.0)], (_rep(headcount_start=10, attrition_per_hour=hazard,
                                                   hires=(0, 0)),), rate_per_h=12.0, work_time=Dist("fixed", 1.0))
    cfg = replace(base, months=MONTHS[:2], month_start_h=BOUNDS[:3], leads=base.leads[:2])
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(11)))
    f = run_funnel(cfg, leads, np.random.SeedSequence(12))
    assert 3 <= (f.rep_leave_h < BOUNDS[2]).sum() <= 9
    assert f.rep_name == [f"Rep-{k}" for k in range(1, 11)] and (f.rep_start_h == 0.0).all()
    done2 = (f.stage_reached == 1) & np.isfinite(f.closed_h)
    assert done2.sum() > 1000
    assert (f.rep_leave_h[f.rep[done2]] > f.closed_h[done2] - 1.0 + 1e-9).all(), "a leaver kept working"
    # follow-ups go first (later stage first), so every lead entering stage 2 over 2 h before the
    # end is closed, those a leaver held included
    entered2 = f.entered_h[:, 1] < BOUNDS[2] - 2.0
    assert np.isfinite(f.closed_h[entered2]).all(), "a handed-back follow-up was lost"
    lo, hi = BOUNDS[:2], BOUNDS[1:3]
    employed = np.clip(np.minimum(f.rep_leave_h[:, None], hi) - np.maximum(f.rep_start_h[:, None], lo), 0, None)
    np.testing.assert_allclose(f.busy_open_h[0], employed.sum(axis=0), atol=10.0)


# -- monthly metrics -------------------------------------------------------------------------

def _funnel(start: list[float], leave: list[float], start_month: list[int], role: list[int]) -> FunnelResult:
    none = np.array([])
    return FunnelResult(none, none, none, none.reshape(0, 1), none, none, none, np.array(role), [],
                        np.array(start), np.array(leave), np.zeros((2, 4)), np.zeros((2, 4)),
                        np.array(start_month))


def test_people_per_month_by_hand() -> None:
    """Jan 744 h, Feb 672 h (24/7). Rep A there all along; B starts Feb 1 (ramp 0.5 in its first
    month) and leaves at hour 1000; C leaves mid-January (hour 372); D (role 2) starts in March.
    FTE, ramped people, open hours employed and month-end headcount, worked by hand."""
    cfg = _config([(0.5, 1.0)], (_rep(ramp=(0.5,)), _rep(name="AE", kind="ae")))
    f = _funnel([0.0, 744.0, 0.0, 1416.0], [math.inf, 1000.0, 372.0, math.inf], [NOT_HIRED, 1, NOT_HIRED, 2],
                [0, 0, 0, 1])
    fte, eff = employed_people(cfg, f)
    np.testing.assert_allclose(fte, [[1.5, 1 + 256 / 672, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_allclose(eff, [[1.5, 1 + 0.5 * 256 / 672, 1, 1], [0, 0, 1, 1]])
    np.testing.assert_allclose(available_open_hours(cfg, f), [[744 + 372, 672 + 256, 744, 720], [0, 0, 744, 720]])
    np.testing.assert_array_equal(headcount(cfg, f), [[1, 1, 1, 1], [0, 0, 1, 1]])
    assert month_labels(cfg, np.array([0.0, 743.9, 744.0, BOUNDS[-1], BOUNDS[-1] + 1, -1.0])).tolist() == \
        ["2027-01", "2027-01", "2027-02", "2027-04", "", ""]


def _monthly() -> pd.DataFrame:
    """Two replications, stages a and b: rep 0 has 20 leads, 8 reach b, 4 won, 2 dropped; rep 1
    has 10 leads, 10 reach b, 1 won, 0 dropped; plus revenue and support tickets."""
    rows = {0: {"leads": (12, 8), "contacted": (10, 8), "reached:a": (12, 8), "reached:b": (5, 3),
                "won": (1, 3), "dropped": (2, 0), "revenue": (100.0, 300.0), "tickets": (10, 30),
                "sla_attainment": (0.5, 0.9)},
            1: {"leads": (6, 4), "contacted": (6, 4), "reached:a": (6, 4), "reached:b": (6, 4),
                "won": (0, 1), "dropped": (0, 0), "revenue": (0.0, 50.0), "tickets": (0, 20),
                "sla_attainment": (np.nan, 0.8)}}
    return pd.DataFrame([{"replication": r, "month": m, "metric": k, "value": float(v[i])}
                         for r, d in rows.items() for k, v in d.items() for i, m in enumerate(MONTHS[:2])])


def test_funnel_totals_are_ratios_of_each_replications_totals() -> None:
    totals = replication_totals(_monthly())
    np.testing.assert_allclose(totals["win_rate"], [4 / 20, 1 / 10])
    np.testing.assert_allclose(totals["drop_rate"], [2 / 20, 0.0])
    np.testing.assert_allclose(totals["conversion_a"], [8 / 20, 10 / 10])
    np.testing.assert_allclose(totals["conversion_b"], [4 / 8, 1 / 10])
    np.testing.assert_allclose(totals["reached_b"], [8, 10])
    out = funnel_totals(_monthly())
    # two values: p10 = lo + 0.1 (hi - lo), p50 the midpoint, p90 = lo + 0.9 (hi - lo)
    assert out["leads"] == pytest.approx({"p10": 11.0, "p50": 15.0, "p90": 19.0})
    np.testing.assert_allclose(per_replication(_monthly(), "sla_attainment"), [(5 + 27) / 40, 16 / 20])
    np.testing.assert_allclose(per_replication(_monthly(), "revenue"), [400.0, 50.0])
    assert per_replication(_monthly(), "nothing") is None
    # a replication with a single lead (won) and a single ticket (answered in time): rates of 1
    one = pd.DataFrame({"replication": 0, "month": MONTHS[0],
                        "metric": ["leads", "contacted", "reached:a", "reached:b", "won", "dropped", "tickets",
                                   "sla_attainment"], "value": [1.0, 1, 1, 1, 1, 0, 1, 1]})
    single = replication_totals(one)
    assert single[["win_rate", "conversion_a", "conversion_b"]].iloc[0].tolist() == [1.0, 1.0, 1.0]
    assert ticket_weighted_sla(one).tolist() == [1.0]


def test_quantiles_over_replications_by_hand() -> None:
    """1..11: p10 = 2, p50 = 6, p90 = 10 (linear interpolation); NaN and inf are left out."""
    assert quantiles(np.r_[np.arange(1.0, 12.0), np.nan, np.inf]) == {"p10": 2.0, "p50": 6.0, "p90": 10.0}
    assert quantiles(np.array([np.nan])) == {"p10": None, "p50": None, "p90": None}
    assert quantiles(pd.Series([4.0, 8.0])) == pytest.approx({"p10": 4.4, "p50": 6.0, "p90": 7.6})


# -- support queue ---------------------------------------------------------------------------

def _support(**kw) -> SupportSpec:
    tiers = (TierSpec("std", 2.0, 360.0, 60.0, 0.8, priority=2, customers_start=10),
             TierSpec("vip", 1.0, 360.0, 60.0, 0.8, priority=1, customers_start=0))
    return SupportSpec(**({"tiers": tiers, "segment_tier": np.array([0]), "churn_per_month": 0.1,
                           "shrinkage": 0.25, "role": 0} | kw))


def test_customer_months_by_hand() -> None:
    """10 customers, 10 % monthly churn; deals won mid-January and mid-February count half a
    month in their first month, then join the stock (churned from the next month on)."""
    cfg = _config([(0.5, 1.0)], (_rep(),), support=_support())
    out = customer_months(cfg, np.array([372.0, 744.0 + 336.0, BOUNDS[-1] + 5.0]), np.array([0, 0, 0]))
    np.testing.assert_allclose(out[:, 0], [10.5, 9.9 + 0.5, 9.81, 9.81 * 0.9])
    # a deal won at the very start of February counts all of February; one in April counts too
    late = customer_months(cfg, np.array([744.0, 2160.0 + 180.0]), np.array([0, 0]))
    np.testing.assert_allclose(late[:, 0], [10.0, 9.0 + 1.0, 9.0, 8.1 + 0.75])
    np.testing.assert_allclose(out[:, 1], 0.0)


def test_agents_from_headcount_by_hand() -> None:
    """Without a staffing plan: support people present at each month start x (1 - 0.25), rounded."""
    cfg = _config([(0.5, 1.0)], (_rep(),), support=_support())
    role = np.array([0, 0, 0, 0, 0, 1])
    start = np.array([0.0, 0.0, 0.0, 0.0, 744.0, 0.0])
    leave = np.array([np.inf, np.inf, np.inf, 700.0, 1416.0, np.inf])
    np.testing.assert_array_equal(agents_per_month(cfg, role, start, leave), np.rint([3.0, 3.0, 2.25, 2.25]))
    planned = replace(cfg, support=_support(agents=np.array([5, 6, 7, 8])))
    np.testing.assert_array_equal(agents_per_month(planned, role, start, leave), [5, 6, 7, 8])


def test_priority_queue_by_hand() -> None:
    """One agent, handle 1 h: the first ticket is served at arrival; at its end (hour 1) the VIP
    who came at 0.8 goes before the standard ticket waiting since 0.5. In February no agent: a
    ticket there is never served (NaN)."""
    cfg = _config([(0.5, 1.0)], (_rep(),), support=_support())
    start = serve_tickets(cfg, np.array([1, 0, 0, 0]), np.array([0.0, 0.5, 0.8, 800.0]),
                          np.array([0, 0, 1, 0]), np.array([1.0, 1.0, 1.0, 1.0]))
    np.testing.assert_allclose(start, [0.0, 2.0, 1.0, np.nan])


def test_support_queue_over_months_by_hand() -> None:
    """1, 2, 0 and 1 agents in Jan-Apr (24/7), handle times given: idle arrivals start at once,
    a waiting ticket starts when a month adds an agent (Feb), a March ticket waits for April,
    a ticket queued behind a job still running at the last arrival starts when it ends, and one
    whose agent frees up exactly at the horizon end (2,880 h) is never served."""
    cfg = _config([(0.5, 1.0)], (_rep(),), support=_support())
    tickets = [(0.0, 0, 1.0), (0.5, 0, 1.0), (0.8, 1, 1.0), (10.0, 0, 1.0), (743.5, 0, 2.0), (743.6, 0, 1.0),
               (1500.0, 0, 1.0), (2800.0, 0, 50.0), (2801.0, 1, 1.0), (2851.0, 0, 29.0), (2852.0, 0, 1.0)]
    t, tier, handle = (np.array(c) for c in zip(*tickets, strict=True))
    start = serve_tickets(cfg, np.array([1, 2, 0, 1]), t, tier, handle)
    np.testing.assert_allclose(start, [0, 2, 1, 10, 743.5, 744, 2160, 2800, 2850, 2851, np.nan])
    # two months, no agent in January: the ticket waits for February although nothing else happens
    two = replace(cfg, months=MONTHS[:2], month_start_h=BOUNDS[:3], leads=cfg.leads[:2])
    np.testing.assert_allclose(serve_tickets(two, np.array([0, 1]), np.array([100.0]), np.array([0]),
                                             np.array([1.0])), [744.0])
    # the last ticket waits behind a 10-hour job and starts when it ends, nothing else pending
    np.testing.assert_allclose(serve_tickets(two, np.array([0, 1]), np.array([800.0, 801.0]), np.array([0, 0]),
                                             np.array([10.0, 1.0])), [800.0, 810.0])


def test_support_queue_keeps_the_calendar_unless_there_is_a_pattern() -> None:
    """Mon-Fri 9-17 from Friday 1 January 2027: tickets at 02:00 and 03:00 start at 09:00 and
    10:00 (1 h each, one agent); with an hour-of-week arrival pattern open every hour the roster
    is the pattern's, so they start on arrival."""
    cal = WorkCalendar.business([0, 1, 2, 3, 4], 9, 17, first_weekday=4)
    cfg = replace(_config([(0.5, 1.0)], (_rep(),), support=_support()), calendar=cal)
    args = (np.array([1, 1, 1, 1]), np.array([2.0, 3.0]), np.array([0, 0]), np.array([1.0, 1.0]))
    np.testing.assert_allclose(serve_tickets(cfg, *args), [9.0, 10.0])
    patterned = replace(cfg, support=_support(week_pattern=np.ones(168), week_offset_h=96.0))
    np.testing.assert_allclose(serve_tickets(patterned, *args), [2.0, 3.0])


# -- Monte Carlo quantiles and money ---------------------------------------------------------

def test_cube_and_its_quantiles_by_hand() -> None:
    """Flows sum per cell (empty = 0), levels average (empty = NaN); the `all` row holds quantiles
    of each replication's horizon total (flows) or mean (levels)."""
    rep, month = np.array([0, 0, 0, 1, 1]), np.array(["m1", "m1", "m2", "m1", "x"])
    values = np.array([1.0, 2.0, 4.0, 10.0, 99.0])
    flow, keys = cube(rep, month, np.array(["k"] * 5), values, np.array([0, 1]), ["m1", "m2"], flow=True)
    assert keys == ["k"]
    np.testing.assert_allclose(flow[:, :, 0], [[3.0, 4.0], [10.0, 0.0]])
    level = pack(np.array([0, 0, 1]), np.array([0, 0, 1]), np.array([0, 0, 0]), np.array([2.0, 4.0, 5.0]),
                 (2, 2, 1), flow=False)
    np.testing.assert_allclose(level[:, :, 0], [[3.0, np.nan], [np.nan, 5.0]])
    q = cube_quantiles(flow, ["m1", "m2"], keys, flow=True).set_index("month")
    # totals 7 and 10: p10 = 7.3, p50 = 8.5, p90 = 9.7; month m1: 3 and 10
    np.testing.assert_allclose(q.loc["all", ["sim_p10", "sim_p50", "sim_p90"]].astype(float), [7.3, 8.5, 9.7])
    np.testing.assert_allclose(q.loc["m1", ["sim_p10", "sim_p50", "sim_p90"]].astype(float), [3.7, 6.5, 9.3])
    ql = cube_quantiles(level, ["m1", "m2"], keys, flow=False).set_index("month")
    np.testing.assert_allclose(ql.loc["all", ["sim_p10", "sim_p90"]].astype(float), [3.2, 4.8])  # means 3, 5
    # a level cell averages its finite values only (a month without tickets has NaN attainment)
    with_nan = pack(np.array([0, 0]), np.array([0, 0]), np.array([0, 0]), np.array([0.6, np.nan]), (1, 1, 1),
                    flow=False)
    assert with_nan[0, 0, 0] == pytest.approx(0.6)
    # one replication, one month, one key; and no replications at all
    single = cube_quantiles(np.full((1, 1, 1), 5.0), ["m1"], ["k"], flow=True)
    assert single["month"].tolist() == ["m1", "all"] and single["sim_p50"].tolist() == [5.0, 5.0]
    empty = cube_quantiles(np.zeros((0, 1, 1)), ["m1"], ["k"], flow=True)
    assert empty.empty and list(empty.columns) == ["month", "key", "sim_p10", "sim_p50", "sim_p90"]
    np.testing.assert_array_equal(month_index_of_hours(np.array([0.0, 744.0, 2160.0, -1.0, np.nan]), "2027-01", 3),
                                  [0, 1, -1, -1, -1])


def test_ticket_weighted_sla_by_hand() -> None:
    """Months weighted by tickets: (10 x 0.5 + 30 x 0.9) / 40 and 20 x 0.8 / 20 (the empty month
    with NaN attainment adds nothing)."""
    np.testing.assert_allclose(ticket_weighted_sla(_monthly()), [32 / 40, 0.8])
    assert ticket_weighted_sla(_monthly().query("metric != 'tickets'")) is None


MONEY = MoneyModel(segments=("SMB", "ENT"), gross_margin=np.array([0.8, 0.6]), roles=("AE", "SDR"),
                   cost_per_month=np.array([10_000.0, 5_000.0]), commission_rate=np.array([0.1, 0.02]),
                   quota_per_month=np.array([50_000.0, 0.0]), accelerator=np.array([2.0, 3.0]),
                   credited=np.array([[1.0, 1.0], [1.0, 0.0]]))


def test_people_cost_by_hand() -> None:
    """Month 1: 150k booked (100k SMB): AE 2 x 10k + 10 % x 150k + (2 - 1) x 10 % x (150k - 50k x
    1 ramped) = 45k; SDR 1 x 5k + 2 % x 100k (SMB only, no quota so no accelerator) = 7k. Month 2:
    30k booked, under the AE's quota of 2 ramped: 10k + 3k; SDR 5k + 0.6k."""
    revenue = np.array([[100_000.0, 50_000.0], [30_000.0, 0.0]])
    cost = people_cost_by_role(MONEY, revenue, np.array([[2.0, 1.0], [1.0, 1.0]]),
                               np.array([[1.0, 2.0], [1.0, 1.0]]))
    np.testing.assert_allclose(cost, [[45_000.0, 13_000.0], [7_000.0, 5_600.0]])


def test_plan_pnl_from_frames_by_hand() -> None:
    """The plan's P&L reads revenue by month x segment and headcount / ramped people by role x
    month from frames (rows of unknown months or names drop out)."""
    outcomes = pd.DataFrame({"month": ["2027-01", "2027-01", "2027-02", "2027-09"],
                             "segment": ["SMB", "ENT", "SMB", "SMB"], "revenue": [100_000.0, 50_000.0, 30_000.0, 1e9]})
    months = ["2027-01", "2027-02"]
    np.testing.assert_allclose(revenue_grid(outcomes, months, MONEY.segments), [[100_000, 50_000], [30_000, 0]])
    plan = pd.DataFrame({"month": ["2027-01", "2027-02", "2027-01", "2027-02", "2027-01"],
                         "role": ["AE", "AE", "SDR", "SDR", "CEO"], "headcount": [2.0, 1.0, 1.0, 1.0, 9.0],
                         "effective_capacity": [1.0, 2.0, 1.0, 1.0, 9.0]})
    np.testing.assert_allclose(role_grid(plan, months, MONEY.roles, "headcount"), [[2, 1], [1, 1]])
    out = plan_pnl(MONEY, outcomes, plan, months)
    np.testing.assert_allclose(out["people_cost"], [52_000.0, 18_600.0])
    np.testing.assert_allclose(out["gross_margin"], [110_000.0, 24_000.0])
    np.testing.assert_allclose(out["operating_margin"], [58_000.0, 5_400.0])
    bare = plan_pnl(MONEY, outcomes, None, months)
    np.testing.assert_allclose(bare["revenue"], [150_000.0, 30_000.0])
    np.testing.assert_allclose(bare["gross_margin"], [110_000.0, 24_000.0])
    # no hiring plan, no people: the cost is unknown, not 10 % + 10 % accelerator on every booking
    assert np.isnan(bare["people_cost"]).all() and np.isnan(bare["operating_margin"]).all()


def test_simulated_pnl_for_a_role_without_rows_by_hand() -> None:
    """One replication, one SMB deal of 10k won in January; the monthly frame has the AE's people
    (1 employed, 1 ramped) but no SDR rows: the SDR counts 0 people and earns its 2 % commission
    (200), the AE 10k base + 1k commission: people cost 11,200, gross margin 8,000. No rows at
    all give an empty frame with the sim/monthly columns."""
    leads = pd.DataFrame({"replication": [0], "segment": ["SMB"], "won": [True], "revenue": [10_000.0],
                          "closed_h": [10.0]})
    monthly = pd.DataFrame({"replication": 0, "month": "2027-01", "metric": ["fte:AE", "effective:AE"],
                            "value": [1.0, 1.0]})
    out = simulated_pnl(MONEY, leads, monthly, lambda t: np.full(len(t), "2027-01", dtype=object))
    got = out.set_index("metric")["value"]
    assert got["people_cost"] == pytest.approx(11_200.0) and got["gross_margin"] == pytest.approx(8_000.0)
    assert got["operating_margin"] == pytest.approx(-3_200.0)
    empty = simulated_pnl(MONEY, leads, monthly.iloc[0:0], lambda t: np.full(len(t), "", dtype=object))
    assert empty.empty and list(empty.columns) == ["replication", "month", "metric", "value"]


def test_leads_repeat_for_a_seed_and_the_score_hook_gets_each_lead() -> None:
    """Same seed, same leads (bit for bit: reruns and common random numbers rest on it); another
    seed, other arrival times. A scoring hook gets each lead's segment and region and the score
    stream, and its scores are the leads' scores (no beta draw in their place)."""
    cfg = _config([(0.0, 1.0)], (_rep(headcount_start=1),), rate_per_h=0.5)
    a, b = (draw_leads(cfg, spawn_streams(np.random.SeedSequence(8))) for _ in range(2))
    np.testing.assert_array_equal(a.arrived_h, b.arrived_h)
    np.testing.assert_array_equal(a.work_open_h, b.work_open_h)
    np.testing.assert_array_equal(a.score, b.score)
    other = draw_leads(cfg, spawn_streams(np.random.SeedSequence(9)))
    assert len(other.arrived_h) != len(a.arrived_h) or not np.array_equal(other.arrived_h, a.arrived_h)
    seen = {}

    def hook(segment, region, gen):
        seen.update(segment=segment.copy(), region=region.copy(), gen=gen)
        return np.full(len(segment), 0.25)

    hooked = draw_leads(cfg, spawn_streams(np.random.SeedSequence(8)), score_fn=hook)
    np.testing.assert_array_equal(hooked.score, 0.25)
    np.testing.assert_array_equal(seen["segment"], hooked.segment)
    np.testing.assert_array_equal(seen["region"], hooked.region)
    assert isinstance(seen["gen"], np.random.Generator)


def test_lead_sources_split_leads_and_shift_their_scores() -> None:
    """Three sources, shares 0.6 / 0.2 / 0.2, score shifts 0, +2 and -2 (beyond both ends): each
    lead has a source, the shares match within 4 binomial standard errors, the first source keeps
    the plain scores of the same seed, the others are clipped to 1 - 1e-6 and 1e-6."""
    base = _config([(0.0, 1.0)], (_rep(headcount_start=1),), rate_per_h=2.0)
    cfg = _config([(0.0, 1.0)], (_rep(headcount_start=1),), rate_per_h=2.0, sources=("web", "event", "list"),
                  source_p=np.array([0.6, 0.2, 0.2]), source_shift=np.array([0.0, 2.0, -2.0]))
    plain = draw_leads(base, spawn_streams(np.random.SeedSequence(12)))
    leads = draw_leads(cfg, spawn_streams(np.random.SeedSequence(12)))
    n = len(leads.arrived_h)
    assert leads.source is not None and leads.source.shape == (n,) and plain.source is None
    for k, p in enumerate((0.6, 0.2, 0.2)):
        assert abs(float((leads.source == k).mean()) - p) < 4 * math.sqrt(p * (1 - p) / n), k
    web = leads.source == 0
    np.testing.assert_array_equal(leads.score[web], plain.score[web])
    np.testing.assert_array_equal(leads.score[leads.source == 1], 1.0 - 1e-6)
    np.testing.assert_array_equal(leads.score[leads.source == 2], 1e-6)
