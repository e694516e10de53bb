"""Which leads a short-staffed team works: the best-scored first, as the simulation does.

When lead scores shift conversion (`simulation.scoring.logit_per_score` != 0) and queues are
served best score first (`scoring.priority`), a team that can work only part of its leads works
the top of the score distribution and leaves the lowest-scored ones to wait until dropped. Those
leads convert worse than average, so the share of wins kept is larger than the share of leads
worked. A fluid plan that treats unworked leads as a random sample understates the revenue of any
plan short of capacity (the scale-up hand plan of issue 17: 12.8 M planned against 16.8 M
simulated, +31 %).

Per segment, the score distribution (Beta, shifted by lead sources exactly as the simulation
draws it) is cut into equal-weight points sorted best first. For the top share c of leads:

* hours[r](c): share of role r's work hours they need (later stages count only for the leads
  that reach them, with the score-dependent conversions of `engine.simulation.score_odds`);
* won(c): share of the segment's wins they bring.

A team whose binding role can give a share h of the hours its leads need works the top
c = hours^-1(h) of the leads and keeps won(c) of the wins. Without triage both curves are the
diagonal and this reduces to the random-sample fluid plan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit, logit

from engine.scenario.model import Scenario
from engine.simulation.score_odds import GRID_POINTS, beta_score_grid, stage_offsets


@dataclass(frozen=True)
class Triage:
    """Cumulative curves over the best-first lead share `share` (N points from 1/N to 1)."""

    share: np.ndarray
    """Share of leads worked, best score first (N,)."""
    hours: dict[str, np.ndarray]
    """Role -> share of the role's work hours those leads need (segments x N)."""
    won: np.ndarray
    """Share of the wins those leads bring (segments x N)."""

    def worked_share(self, segment: np.ndarray, role: str, hours_share: np.ndarray) -> np.ndarray:
        """Share of the leads worked, element by element, when `role` gives `hours_share` of the
        hours its leads need (`segment`: segment index of each element)."""
        out = np.clip(hours_share, 0.0, 1.0)
        curve = self.hours.get(role)
        if curve is None:
            return out
        short = hours_share < 1.0
        for g in np.unique(segment[short]):
            mine = short & (segment == g)
            out[mine] = np.interp(hours_share[mine], np.r_[0.0, curve[g]], np.r_[0.0, self.share])
        return out

    def won_share(self, segment: np.ndarray, worked: np.ndarray) -> np.ndarray:
        """Share of the wins kept, element by element, when the best `worked` share of the leads of
        segment `segment` is worked."""
        out = np.empty(len(worked))
        for g in np.unique(segment):
            mine = segment == g
            out[mine] = np.interp(worked[mine], np.r_[0.0, self.share], np.r_[0.0, self.won[g]])
        return out


def _weighted_points(grid: np.ndarray, shifts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Equal-weight quantile points of the mixture of `grid` + each source's shift (kept in 0-1)."""
    points = np.clip(grid[None, :] + shifts[:, None], 1e-6, 1.0 - 1e-6).ravel()
    w = np.repeat(weights / weights.sum(), grid.size) / grid.size
    order = np.argsort(points, kind="stable")
    cdf = np.cumsum(w[order]) - 0.5 * w[order]
    q = (np.arange(GRID_POINTS) + 0.5) / GRID_POINTS
    return np.interp(q, cdf, points[order])


def triage_curves(s: Scenario) -> Triage | None:
    """The curves of scenario `s`, or None when the team does not triage by score (no simulation
    section, FIFO queues or scores that do not shift conversion)."""
    sim = s.simulation
    if sim is None or s.funnel is None or not s.segments:
        return None
    scoring = sim.scoring
    if not scoring.priority or scoring.logit_per_score == 0.0:
        return None
    beta = scoring.logit_per_score
    shifts = np.array([src.score_shift for src in sim.sources] or [0.0], dtype=float)
    weights = np.array([src.share for src in sim.sources] or [1.0], dtype=float)
    stages = s.funnel.stages
    roles = list(dict.fromkeys(st.role for st in stages))
    share = (np.arange(GRID_POINTS) + 1.0) / GRID_POINTS
    hours = {r: np.zeros((len(s.segments), GRID_POINTS)) for r in roles}
    won = np.zeros((len(s.segments), GRID_POINTS))
    for g, seg in enumerate(s.segments):
        mean = scoring.mean[seg.name] if isinstance(scoring.mean, dict) else scoring.mean
        points = _weighted_points(beta_score_grid(mean, scoring.concentration), shifts, weights)
        points = np.sort(points)[::-1]  # best score first
        p = np.array([st.conversion_for(seg.name) for st in stages])
        offsets = stage_offsets(p, beta * (points - mean))
        reach = np.ones(GRID_POINTS)
        work = {r: np.zeros(GRID_POINTS) for r in roles}
        for k, st in enumerate(stages):
            work[st.role] += reach * st.work_hours_for(seg.name)
            inner = 0.0 < p[k] < 1.0
            step = expit(logit(p[k]) + beta * (points - mean) + offsets[k]) if inner else p[k]
            reach = reach * step
        for r in roles:
            total = work[r].sum()
            hours[r][g] = np.cumsum(work[r]) / total if total > 0 else share
        won[g] = np.cumsum(reach) / reach.sum() if reach.sum() > 0 else share
    return Triage(share, hours, won)
