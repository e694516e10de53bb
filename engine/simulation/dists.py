"""Positive random quantities that know their mean and variance (after Ciw's distribution objects).

Each is given by its mean and coefficient of variation (cv = standard deviation / mean), so tests
can compare simulated moments with the analytic ones and scenario distributions map one to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Kind = Literal["exponential", "lognormal", "gamma", "fixed"]


@dataclass(frozen=True)
class Dist:
    """A positive distribution by family, mean and cv (exponential forces cv 1, fixed cv 0)."""

    kind: Kind
    mean: float
    cv: float = 1.0

    @property
    def effective_cv(self) -> float:
        """The cv the samples actually have."""
        if self.kind == "exponential":
            return 1.0
        if self.kind == "fixed":
            return 0.0
        return self.cv

    @property
    def variance(self) -> float:
        return (self.mean * self.effective_cv) ** 2

    def scaled(self, factor: float) -> Dist:
        """The same shape with the mean multiplied by `factor` (e.g. days -> hours)."""
        return Dist(self.kind, self.mean * factor, self.cv)

    def sample(self, rng: np.random.Generator, size: int | tuple[int, ...]) -> np.ndarray:
        """`size` independent draws (float64)."""
        cv = self.effective_cv
        if cv == 0.0:
            return np.full(size, self.mean)
        if self.kind == "exponential":
            return rng.exponential(self.mean, size)
        if self.kind == "gamma":
            shape = 1.0 / cv**2
            return rng.gamma(shape, self.mean / shape, size)
        sigma2 = np.log1p(cv**2)
        return rng.lognormal(np.log(self.mean) - sigma2 / 2.0, np.sqrt(sigma2), size)


def from_schema(dist: object, factor: float = 1.0) -> Dist:
    """A `Dist` from a scenario `Distribution` (kind, mean, cv), its mean scaled by `factor`."""
    return Dist(dist.kind, float(dist.mean) * factor, float(dist.cv))  # type: ignore[attr-defined]
