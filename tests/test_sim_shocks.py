"""Named shocks in the simulation: attrition spike, hiring freeze, price change.

References are closed forms (survival under a piecewise-constant hazard, binomial intervals);
without shocks the seeded outputs are unchanged (common random numbers).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
from scipy import stats
from test_sim_queueing import BOUNDS, MONTHS, make_config

from engine.simulation.dists import Dist
from engine.simulation.replications import leads_frame, run_replications

ONE_STAGE = [(0.0, 1.0, Dist("fixed", 0.0))]


def _heads(cfg, seed: int) -> tuple[np.ndarray, np.ndarray]:
    monthly = run_replications(cfg, 1, seed=seed)[0].monthly
    heads = monthly.query("metric == 'headcount:Rep'")["value"].to_numpy()
    leavers = monthly.query("metric == 'leavers:Rep'")["value"].to_numpy()
    return heads, leavers


def test_attrition_spike_follows_the_shocked_hazard() -> None:
    """30 %/year, tripled in months 4-6: survival to month 12 is 0.7 ** ((12 + 2 x 3) / 12)-ish,
    exactly exp(-h x (hours + 2 x shocked hours)); 2,000 reps, binomial 99 % interval."""
    base = make_config(1.0, ONE_STAGE, reps=2000, attrition_per_year=0.3)
    factor = tuple(3.0 if 3 <= m <= 5 else 1.0 for m in range(MONTHS))
    cfg = replace(base, roles=(replace(base.roles[0], attrition_factor=factor),))
    heads, _ = _heads(cfg, seed=5)
    hazard = base.roles[0].attrition_per_hour
    exposure = BOUNDS[12] + 2.0 * (BOUNDS[6] - BOUNDS[3])
    lo, hi = stats.binom.ppf([0.005, 0.995], 2000, math.exp(-hazard * exposure))
    assert lo <= heads[11] <= hi, f"{heads[11]:.0f} left, expected [{lo:.0f}, {hi:.0f}]"
    plain, _ = _heads(base, seed=5)
    assert heads[2] == plain[2], "before the spike the same draws give the same leavers"
    assert heads[11] < plain[11]


def test_hiring_freeze_postpones_backfills() -> None:
    """Backfill `leavers` with a 1-month lead time and a freeze in months 3-6: nobody starts in
    the freeze; the backfills due then all start in month 7."""
    base = make_config(1.0, ONE_STAGE, reps=500, attrition_per_year=0.3)
    freeze = tuple(0.0 if 2 <= m <= 5 else 1.0 for m in range(MONTHS))
    role = replace(base.roles[0], lead_time_months=1, hiring_factor=freeze)
    heads, leavers = _heads(replace(base, backfill="leavers", roles=(role,)), seed=6)
    starts = np.diff(np.concatenate([[500], heads])) + leavers
    assert (starts[2:6] == 0).all(), starts
    assert starts[6] == leavers[0:5].sum(), (starts, leavers)  # leaves of months 1-5 start in month 7
    assert starts[7] == leavers[5]


def test_price_change_scales_deals_of_leads_arriving_while_active() -> None:
    """Fixed deal 1,000, price +10 % from month 7: revenue per won lead is 1,000 then 1,100."""
    base = make_config(8.0, [(0.5, 0.1, Dist("fixed", 1.0))], reps=50)
    factor = np.array([[1.0] * 6 + [1.1] * 6])
    leads = leads_frame(replace(base, price_factor=factor), run_replications(replace(base, price_factor=factor), 1, 3))
    won = leads[leads["won"]]
    early = won["arrived_h"] < BOUNDS[6]
    assert np.allclose(won.loc[early, "revenue"], 1000.0)
    assert np.allclose(won.loc[~early, "revenue"], 1100.0)
    assert early.any() and (~early).any()
