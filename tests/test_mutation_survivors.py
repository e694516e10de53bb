"""Values that `make mutation` showed no test checked, each against an outside reference (hand
arithmetic or a closed form). Each test names the mutant it kills; docs/development-mutation.md
has the run they came from.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from sweep_fixtures import MMC, write

from engine.plan.demand import forecast_series, lognormal_quantiles
from engine.plan.supply import _shift, capacity_hours_per_person
from engine.scenario.load import load_scenario
from solvers.erlang import asa, erlang_b, erlang_c, service_level
from solvers.hiring_model import (
    HiringProblem,
    _variable_pay_terms,
    lost_margin,
    ramp_deficit,
    revenue_per_hour,
    start_stock,
)


def test_sales_capacity_is_its_selling_share_even_with_a_support_team(tmp_path: Path) -> None:
    """Kills engine.plan.supply.x_capacity_hours_per_person__mutmut_2 (`and` -> `or`: with a
    support section every role got the support team's on-phone hours). By hand: a rep with 160 h
    a month and a 75 % selling share sells 120 h; an agent with 160 h and 30 % shrinkage is on
    the phone 112 h."""
    text = (MMC.replace("headcount_start: 1, attrition_per_year: 0,",
                        "headcount_start: 1, attrition_per_year: 0, hours_per_month: 160, selling_share: 0.75,")
               .replace("headcount_start: 5, attrition_per_year: 0,",
                        "headcount_start: 5, attrition_per_year: 0, hours_per_month: 160,")
               .replace("shrinkage: 0\n", "shrinkage: 0.3\n"))
    s = load_scenario(write(tmp_path, "s.yaml", text)).scenario
    roles = {role.name: role for role in s.roles}
    assert capacity_hours_per_person(s, roles["Rep"]) == pytest.approx(120.0)
    assert capacity_hours_per_person(s, roles["Agent"]) == pytest.approx(112.0)


def test_erlang_b_and_c_with_no_load_never_block_or_wait() -> None:
    """Kills solvers.erlang.x_erlang_b__mutmut_5 (the recursion started at n = 0, which divides
    0 by 0 for a month without tickets). Closed form: with no offered load nobody is blocked and
    nobody waits, B = C = 0."""
    assert erlang_b(5, 0.0) == 0.0
    assert erlang_c(5, 0.0, 360.0) == 0.0
    # and a hand-computed case: B(2, 1) = (1/2) / (1 + 1 + 1/2) = 0.2
    assert erlang_b(2, 1.0) == pytest.approx(0.2, abs=1e-12)


def _erlang_c_closed_form(agents: int, load: float) -> float:
    """P(wait) in M/M/c from the textbook sum: (A^c/c! x c/(c-A)) / (sum_{k<c} A^k/k! + that)."""
    tail = load**agents / math.factorial(agents) * agents / (agents - load)
    return tail / (sum(load**k / math.factorial(k) for k in range(agents)) + tail)


def test_erlang_at_exactly_one_erlang_of_load() -> None:
    """Kills the `load == 0` -> `load == 1` mutants of erlang_c, service_level and asa: 10 tickets
    an hour of 360 s is exactly 1 erlang (`salesops erlang --arrivals-per-hour 10 --aht-seconds
    360`). With 2 agents: C = 1/3, ASA = C x 360 / (2 - 1) = 120 s, SL(20 s) = 1 - C e^(-20/360)."""
    c = _erlang_c_closed_form(2, 1.0)
    assert c == pytest.approx(1 / 3, abs=1e-12)
    assert erlang_c(2, 10.0, 360.0) == pytest.approx(c, abs=1e-12)
    assert asa(2, 10.0, 360.0) == pytest.approx(120.0, abs=1e-9)
    assert service_level(2, 10.0, 360.0, 20.0) == pytest.approx(1 - c * math.exp(-20 / 360), abs=1e-12)


def test_erlang_without_tickets_and_at_saturation() -> None:
    """Kills asa/service_level mutants on the no-load and saturated branches: a month without
    tickets answers everyone at once (SL 1, ASA 0 s); agents equal to the load never catch up
    (ASA infinite, SL 0), which must not divide by zero."""
    assert service_level(3, 0.0, 360.0, 20.0) == 1.0
    assert asa(3, 0.0, 360.0) == 0.0
    assert asa(2, 20.0, 360.0) == math.inf  # 20 x 360 s / 3600 = 2 erlangs on 2 agents
    assert service_level(2, 20.0, 360.0, 20.0) == 0.0


@pytest.mark.parametrize("call", [lambda: erlang_c(-1, 10.0, 360.0), lambda: asa(-1, 10.0, 360.0),
                                  lambda: service_level(-2, 10.0, 360.0, 20.0),
                                  lambda: service_level(2, 10.0, 360.0, -5.0)])
def test_erlang_rejects_negative_agents_and_thresholds(call) -> None:
    """Kills the `_check(...)` argument mutants: a negative number of agents, or a negative answer-time threshold,
    is an error, not a service level."""
    with pytest.raises(ValueError):
        call()


def test_lognormal_quantiles_of_small_and_zero_means() -> None:
    """Kills lognormal_quantiles mutants on the clip and the zero branch (a segment forecast at
    under one lead a month). Reference: scipy's lognormal with mean m and coefficient of variation
    v has s = sqrt(log(1 + v^2)) and scale m / sqrt(1 + v^2)."""
    mean, cv = np.array([0.5, 0.0, 3.0]), np.array([0.4, 0.4, 0.4])
    s = math.sqrt(math.log(1 + 0.4**2))
    for q in (0.1, 0.5, 0.9):
        got = lognormal_quantiles(mean, cv, q)
        for i in (0, 2):
            expected = stats.lognorm(s, scale=mean[i] / math.sqrt(1 + 0.4**2)).ppf(q)
            assert got[i] == pytest.approx(expected, rel=1e-9)
        assert got[1] == 0.0


def test_shift_moves_a_monthly_series_later_by_hand() -> None:
    """Kills engine.plan.supply.x__shift__mutmut_15 (`and` -> `or`: a lag beyond the horizon,
    e.g. a sales cycle longer than a short plan, crashed instead of pushing the wins out)."""
    values = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(_shift(values, 0.5), [0.5, 1.5, 2.5])
    np.testing.assert_allclose(_shift(values, 1.0), [0.0, 1.0, 2.0])
    np.testing.assert_allclose(_shift(values, 3.5), [0.0, 0.0, 0.0])


def _hiring(required: np.ndarray, **overrides) -> HiringProblem:
    """A hiring problem with one demand case, 100 capacity hours a person and no pay or attrition
    unless `overrides` say otherwise (the fields are those of solvers.hiring.HiringProblem)."""
    s, r, t = required.shape
    args = dict(
        roles=tuple(f"R{i}" for i in range(r)), months=tuple(f"2027-{m + 1:02d}" for m in range(t)),
        cases=("base",), case_weights=np.ones(1), lead_time=np.zeros(r, int), ramp=((1.0,),) * r,
        attrition_per_month=np.zeros(r), cost_per_month=np.full(r, 1000.0),
        capacity_hours_per_person=np.full(r, 100.0), headcount_start=np.zeros(r, int),
        max_hires_per_month=np.full(r, 50), min_headcount=np.zeros(r, int), max_headcount=np.full(r, np.inf),
        commission_rate=np.zeros(r), quota_per_month=np.zeros(r), accelerator=np.ones(r),
        required_hours=required, value_per_hour=np.full(required.shape, 50.0), bookings=np.zeros(required.shape),
        gross_margin=np.zeros((s, t)), objective="cost")
    args.update(overrides)
    return HiringProblem(**args)


def test_starting_headcount_leaves_at_the_monthly_attrition_rate() -> None:
    """Kills start_stock mutants (1 + attrition; a first month of 2): 10 people at 5 % a month
    are 10, 9.5, 9.025, 8.57375 at the start of months 1-4 (attrition from month 2 on)."""
    p = _hiring(np.full((1, 1, 4), 100.0), headcount_start=np.array([10]), attrition_per_month=np.array([0.05]))
    np.testing.assert_allclose(start_stock(p)[0], 10 * 0.95 ** np.arange(4), rtol=1e-12)


def test_ramp_deficit_keeps_only_the_cohort_that_stayed() -> None:
    """Kills ramp_deficit mutants (survival product divided, skipped, taken two tenures back;
    1 + attrition): ramp 25/50/75/100 % with 10 % monthly attrition; a cohort j months into its
    ramp is missing (1 - ramp[j]) x 0.9^j of a person per hire in every month it exists."""
    p = _hiring(np.full((1, 1, 6), 100.0), ramp=((0.25, 0.5, 0.75, 1.0),), attrition_per_month=np.array([0.1]))
    deficit = ramp_deficit(p)[0]
    for j, share in enumerate((0.25, 0.5, 0.75, 1.0)):
        np.testing.assert_allclose(deficit[j, j:], (1 - share) * 0.9**j, rtol=1e-12, atol=1e-15)


def test_commission_terms_per_booked_hour_by_hand() -> None:
    """Kills revenue_per_hour / _variable_pay_terms mutants (uncovered hours earning commission;
    work under one hour a month not counted): bookings of 100,000 over 400 h are 250 an hour, over
    half an hour 200,000 an hour, over no hours 0; at 10 % commission an uncovered hour takes 25
    off the pay, and full coverage pays 10,000."""
    required = np.array([[[400.0, 0.5, 0.0]]])
    p = _hiring(required, bookings=np.full((1, 1, 3), 100_000.0), commission_rate=np.array([0.1]))
    np.testing.assert_allclose(revenue_per_hour(p)[0, 0], [250.0, 200_000.0, 0.0])
    per_uncovered_hour, full_pay = _variable_pay_terms(p)
    np.testing.assert_allclose(per_uncovered_hour[0, 0], [-25.0, -20_000.0, 0.0])
    np.testing.assert_allclose(full_pay[0, 0], [10_000.0] * 3)


def test_lost_margin_per_month_by_hand() -> None:
    """Kills lost_margin's axis mutants: 50 an hour on uncovered hours R0 (1, 2), R1 (3, 1),
    R2 (5, 7) over two months. Summed over roles: 450, 500. When R0 and R1 work the same deals
    (margin objective, deal roles) a lost deal counts once, at the larger of the two: 400, 450."""
    short = np.array([[[1.0, 2.0], [3.0, 1.0], [5.0, 7.0]]])
    p = _hiring(np.full((1, 3, 2), 100.0))
    np.testing.assert_allclose(lost_margin(p, short), [[450.0, 500.0]])
    shared = _hiring(np.full((1, 3, 2), 100.0), objective="margin", deal_roles=(0, 1))
    np.testing.assert_allclose(lost_margin(shared, short), [[400.0, 450.0]])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_long_history_trend_is_damped(seed: int) -> None:
    """Kills engine.plan.demand.x__fit_ets_log__mutmut_10 (an undamped trend, which extrapolates
    a growth spurt for ever). Reference: in a damped-trend model the trend added in step h is
    phi^h times the last one, with statsmodels' phi in [0.8, 0.98]; so the log growth over the
    third forecast year is well under the first year's (0.63-0.77 here), while an undamped trend
    grows exactly as much every year (ratio 1). 48 months growing 30 % a year."""
    rng = np.random.default_rng(seed)
    t = np.arange(48)
    y = rng.poisson(200 * 1.3 ** (t / 12) * rng.lognormal(0, 0.03, 48)).astype(float)
    fc = forecast_series(y, "2023-01", 36, np.ones(12), 0.1)
    z = np.log1p(fc.base)
    first_year, third_year = z[11] - z[0], z[35] - z[24]  # same calendar months: seasonality cancels
    assert first_year > 0
    assert 0.5 < third_year / first_year < 0.9
