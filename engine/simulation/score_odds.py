"""Keep the funnel's configured conversions when lead scores shift conversion odds.

A score s moves every stage's log-odds by beta x (s - mean score). Because the same lead carries
its score through all stages, leads that pass stage 1 score higher on average, and the won share
would drift above the product of the configured conversions (and above what the hiring MILP
plans with). Each stage therefore gets a log-odds offset c[g, k], solved in stage order, so that
among the items of segment g that reach stage k the average conversion is the configured p[g, k]:

    E[ prod_{j<=k} sigmoid(logit p_j + beta (s - m) + c_j) ] = prod_{j<=k} p_j.

The plan and the simulation then share one funnel; scores only re-order who converts.
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats
from scipy.special import expit, logit

GRID_POINTS = 2001
"""Quantile grid size used to integrate over the Beta score distribution."""


def beta_score_grid(mean: float, concentration: float) -> np.ndarray:
    """Equal-weight quantile points of Beta(mean * c, (1 - mean) * c) (a score distribution)."""
    q = (np.arange(GRID_POINTS) + 0.5) / GRID_POINTS
    return stats.beta.ppf(q, mean * concentration, (1.0 - mean) * concentration)


def _reach_excess(c: float, base: np.ndarray, reach: np.ndarray, target: float) -> float:
    return float(np.mean(reach * expit(base + c))) - target


def stage_offsets(p: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """Log-odds offsets per stage for one segment.

    `p` holds the configured conversions of the stages (K,); `shift` the log-odds shift of each
    point of the score distribution (N,), equally weighted. Stages with p of 0 or 1 get offset 0.
    """
    offsets = np.zeros(len(p))
    reach = np.ones_like(shift)  # probability each score point reaches the current stage
    target_reach = 1.0
    for k, pk in enumerate(p):
        if 0.0 < pk < 1.0:
            base = logit(pk) + shift
            offsets[k] = optimize.brentq(_reach_excess, -30.0, 30.0, xtol=1e-10,
                                         args=(base, reach, target_reach * pk))
            reach = reach * expit(base + offsets[k])
        else:
            reach = reach * pk
        target_reach *= pk
        if target_reach <= 0.0:
            break
    return offsets


def conversion_offsets(p: np.ndarray, score_mean: np.ndarray, concentration: float,
                       logit_per_score: float) -> np.ndarray:
    """Offsets (segments x stages) for the default Beta scoring rule."""
    out = np.zeros_like(p, dtype=float)
    for g in range(p.shape[0]):
        grid = beta_score_grid(float(score_mean[g]), concentration)
        out[g] = stage_offsets(p[g], logit_per_score * (grid - score_mean[g]))
    return out


def empirical_offsets(p: np.ndarray, segment: np.ndarray, score: np.ndarray, score_mean: np.ndarray,
                      logit_per_score: float) -> np.ndarray:
    """Offsets from drawn scores (for a fitted scoring model whose distribution is not Beta)."""
    out = np.zeros_like(p, dtype=float)
    for g in range(p.shape[0]):
        s = score[segment == g]
        if len(s):
            out[g] = stage_offsets(p[g], logit_per_score * (s - score_mean[g]))
    return out
