"""Leads of one replication, drawn up front in numpy: arrival times and every random attribute.

Arrivals are a non-homogeneous Poisson process per segment x region: a Poisson count per month,
placed uniformly in the month's *open* hours (so the rate is constant while the calendar is open
and zero otherwise). Each random process draws from its own stream, so two plans compared under
the same seed see the same leads, scores, conversions, work times and buyer delays.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.simulation.config import SimConfig
from engine.simulation.score_odds import conversion_offsets, empirical_offsets

ScoreFn = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]
"""Hook for a fitted scoring model: (segment index, region index, generator) -> scores in [0, 1]."""

STREAMS = ("arrivals", "score", "deal", "routing", "territory", "conversion", "work", "duration",
           "people", "tickets", "source")
"""Append new streams at the end: SeedSequence children are by position, so the others keep their draws."""


def spawn_streams(seed: np.random.SeedSequence) -> dict[str, np.random.SeedSequence]:
    """One child seed per random process, always in the same order (common random numbers)."""
    return dict(zip(STREAMS, seed.spawn(len(STREAMS)), strict=True))


@dataclass
class LeadDraws:
    """Per-lead columns sorted by arrival (n leads, k stages; [n, k] arrays are per stage)."""

    arrived_h: np.ndarray
    segment: np.ndarray
    region: np.ndarray
    territory: np.ndarray
    """Territory index (into SimConfig.territories, or the region index when there are none)."""
    score: np.ndarray
    deal_size: np.ndarray
    team: np.ndarray
    """Role index working each stage [n, k]."""
    work_open_h: np.ndarray
    """Open calendar hours of work per stage at full ramp [n, k]."""
    p_convert: np.ndarray
    """Conversion probability per stage after the score shift, before speed-to-lead [n, k]."""
    u_convert: np.ndarray
    """Uniform draw deciding each stage's outcome [n, k]."""
    delay_h: np.ndarray
    """Buyer delay after the work per stage (wall hours) [n, k]."""
    source: np.ndarray | None = None
    """Source index (into SimConfig.sources) per lead; None when the scenario has no sources."""

    @property
    def n(self) -> int:
        return len(self.arrived_h)


def beta_scores(cfg: SimConfig, segment: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Default scoring rule: Beta(mean * c, (1 - mean) * c) with the segment's mean score."""
    mean = np.broadcast_to(cfg.score_mean, (len(cfg.segments),))[segment]
    c = cfg.score_concentration
    return rng.beta(mean * c, (1.0 - mean) * c)


def _arrivals(cfg: SimConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    counts = rng.poisson(cfg.leads)
    m, g, r = (np.repeat(ix.ravel(), counts.ravel()) for ix in np.indices(cfg.leads.shape))
    w_bounds = cfg.calendar.open_hours(cfg.month_start_h)
    w = w_bounds[m] + rng.random(len(m)) * (w_bounds[m + 1] - w_bounds[m])
    t = np.minimum(cfg.calendar.wall_time(w), cfg.month_start_h[m + 1])
    order = np.argsort(t, kind="stable")
    return t[order], g[order], r[order]


def _teams(cfg: SimConfig, month: np.ndarray, g: np.ndarray, r: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    team = np.stack([st.team[g, r] for st in cfg.stages], axis=1)
    if cfg.allocation is None:
        return team
    shares = cfg.allocation[month, g, r]
    cum = np.cumsum(shares, axis=1)
    pick = (rng.random(len(g))[:, None] * cum[:, -1:] >= cum).sum(axis=1)
    allocated = cum[:, -1] > 0
    kinds = np.array([role.kind for role in cfg.roles])
    for k in range(len(cfg.stages)):
        use = allocated & (kinds[np.minimum(pick, len(kinds) - 1)] == kinds[team[:, k]])
        team[use, k] = pick[use]
    return team


def draw_leads(cfg: SimConfig, streams: dict[str, np.random.SeedSequence],
               score_fn: ScoreFn | None = None) -> LeadDraws:
    """All leads of one replication with every random attribute they will need."""
    rng = {name: np.random.default_rng(ss) for name, ss in streams.items()}
    t, g, r = _arrivals(cfg, rng["arrivals"])
    n, k = len(t), len(cfg.stages)
    month = np.clip(np.searchsorted(cfg.month_start_h, t, side="right") - 1, 0, len(cfg.months) - 1)
    score = (score_fn(g, r, rng["score"]) if score_fn else beta_scores(cfg, g, rng["score"]))
    source = None
    if cfg.source_p is not None:
        source = rng["source"].choice(len(cfg.source_p), size=len(t), p=cfg.source_p)
        score = np.clip(score + cfg.source_shift[source], 1e-6, 1.0 - 1e-6)
    deal = np.zeros(n)
    for gi, dist in enumerate(cfg.deal_size):
        mask = g == gi
        deal[mask] = dist.sample(rng["deal"], int(mask.sum()))
        if cfg.price_factor is not None:
            deal[mask] *= cfg.price_factor[gi, month[mask]]
    team = _teams(cfg, month, g, r, rng["routing"])
    if cfg.territory_p is not None:
        territory = rng["territory"].choice(len(cfg.territory_p), size=n, p=cfg.territory_p)
    else:
        territory = r.copy()
    scale = np.array([role.work_scale for role in cfg.roles])
    mean_work = np.stack([st.work_hours[g] for st in cfg.stages], axis=1)
    work = mean_work * cfg.work_time.sample(rng["work"], (n, k)) * scale[team]
    p = np.stack([st.conversion[g] for st in cfg.stages], axis=1)
    mean_score = np.broadcast_to(cfg.score_mean, (len(cfg.segments),))[g]
    if cfg.logit_per_score != 0.0:
        seg_p = np.stack([st.conversion for st in cfg.stages], axis=1)
        seg_mean = np.broadcast_to(cfg.score_mean, (len(cfg.segments),))
        empirical = score_fn is not None or source is not None  # scores no longer plain Beta draws
        offsets = (empirical_offsets(seg_p, g, score, seg_mean, cfg.logit_per_score) if empirical else
                   conversion_offsets(seg_p, seg_mean, cfg.score_concentration, cfg.logit_per_score))
        shift = (cfg.logit_per_score * (score - mean_score))[:, None] + offsets[g]
        inner = (p > 0) & (p < 1)
        logit = np.log(np.where(inner, p, 0.5) / np.where(inner, 1 - p, 0.5)) + shift
        p = np.where(inner, 1.0 / (1.0 + np.exp(-logit)), p)
    u = rng["conversion"].random((n, k))
    delay = np.stack([st.duration_h.sample(rng["duration"], n) for st in cfg.stages], axis=1)
    return LeadDraws(t, g, r, territory, score, deal, team, work, p, u, delay, source)
