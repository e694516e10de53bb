"""Sampling, medians and maximum-likelihood fits of the scenario's positive distributions.

A `Distribution` (engine/schema/core.py) is given by kind, mean and coefficient of variation;
these helpers translate that to numpy / scipy parameters. Units are whatever the caller's
quantity is (days, currency).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from engine.scenario.schema.core import Distribution


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """(mu, sigma) of the underlying normal of a lognormal with this mean and cv."""
    sigma2 = math.log1p(cv * cv)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def sample(dist: Distribution, n: int, rng: np.random.Generator) -> np.ndarray:
    """`n` draws of `dist`."""
    if dist.kind == "fixed" or (dist.kind != "exponential" and dist.cv == 0):
        return np.full(n, dist.mean)
    if dist.kind == "exponential":
        return rng.exponential(dist.mean, n)
    if dist.kind == "lognormal":
        mu, sigma = lognormal_params(dist.mean, dist.cv)
        return rng.lognormal(mu, sigma, n)
    shape = 1.0 / (dist.cv * dist.cv)
    return rng.gamma(shape, dist.mean / shape, n)


def median(dist: Distribution) -> float:
    """Median of `dist`."""
    if dist.kind == "fixed" or (dist.kind != "exponential" and dist.cv == 0):
        return dist.mean
    if dist.kind == "exponential":
        return dist.mean * math.log(2)
    if dist.kind == "lognormal":
        return math.exp(lognormal_params(dist.mean, dist.cv)[0])
    shape = 1.0 / (dist.cv * dist.cv)
    return float(stats.gamma.median(shape, scale=dist.mean / shape))


@dataclass(frozen=True)
class Fit:
    """A fitted family: kind, mean, cv, log-likelihood, AIC and median."""

    kind: str
    mean: float
    cv: float
    loglik: float
    aic: float
    median: float

    def distribution(self) -> Distribution:
        return Distribution(kind=self.kind, mean=self.mean,
                            cv=1.0 if self.kind == "exponential" else self.cv)


def fit_families(x: np.ndarray) -> list[Fit]:
    """MLE fits (location 0) of exponential, lognormal and gamma to positive data, best AIC first."""
    x = np.asarray(x, dtype=float)
    x = x[np.isfinite(x) & (x > 0)]
    if len(x) < 2:
        raise ValueError("need at least two positive values to fit a distribution")
    fits = []
    scale = float(x.mean())
    ll = float(stats.expon.logpdf(x, scale=scale).sum())
    fits.append(Fit("exponential", scale, 1.0, ll, 2 * 1 - 2 * ll, scale * math.log(2)))
    logs = np.log(x)
    mu, sigma = float(logs.mean()), float(logs.std())
    if sigma > 0:
        ll = float(stats.lognorm.logpdf(x, sigma, scale=math.exp(mu)).sum())
        fits.append(Fit("lognormal", math.exp(mu + sigma**2 / 2), math.sqrt(math.expm1(sigma**2)),
                        ll, 2 * 2 - 2 * ll, math.exp(mu)))
    shape, _, gscale = stats.gamma.fit(x, floc=0)
    ll = float(stats.gamma.logpdf(x, shape, scale=gscale).sum())
    fits.append(Fit("gamma", shape * gscale, 1 / math.sqrt(shape), ll, 2 * 2 - 2 * ll,
                    float(stats.gamma.median(shape, scale=gscale))))
    return sorted(fits, key=lambda f: f.aic)
