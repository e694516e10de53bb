"""Named shocks as per-month factors: pure functions the forecast, supply and simulation stages call.

Every function takes the scenario and the planning months (`YYYY-MM` strings, in order) and
returns one dimensionless factor per month (a numpy array aligned with `months`). A scenario
without shocks gives all ones, so calling these unconditionally changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.calendar import month_range
from engine.errors import Problem
from engine.scenario.schema.shocks import AttritionSpike, DemandShock, HiringFreeze, PriceChange

if TYPE_CHECKING:
    from engine.scenario.model import Scenario
    from engine.scenario.origins import At


def _shocks(scenario: Scenario, kind: type) -> list[Any]:
    return [s for s in scenario.shocks if isinstance(s, kind)]


def active(shock: Any, months: Sequence[str]) -> np.ndarray:
    """Boolean mask of the months in which `shock` is active (`YYYY-MM` compares as text)."""
    m = np.asarray(months, dtype=object)
    last = shock.to_month or "9999-12"
    return np.array([shock.from_month <= x <= last for x in m], dtype=bool)


def _factor(shocks: list[Any], months: Sequence[str], value: Any) -> np.ndarray:
    out = np.ones(len(months), dtype=float)
    for shock in shocks:
        out[active(shock, months)] *= value(shock)
    return out


def _matches(scope: str | None, name: str | None) -> bool:
    """A shock scoped to `scope` (None = everything) applies to `name` (None = only unscoped shocks)."""
    return scope is None or scope == name


def demand_factor(scenario: Scenario, months: Sequence[str], segment: str | None = None,
                  region: str | None = None) -> np.ndarray:
    """Multiplier on leads per month for `segment` x `region`, one per month.

    A shock scoped to a segment or region applies only when that name is asked for.
    """
    shocks = [s for s in _shocks(scenario, DemandShock)
              if _matches(s.segment, segment) and _matches(s.region, region)]
    return _factor(shocks, months, lambda s: s.factor)


def price_factor(scenario: Scenario, months: Sequence[str], segment: str | None = None) -> np.ndarray:
    """Multiplier on the deal size of deals won in each month for `segment`."""
    shocks = [s for s in _shocks(scenario, PriceChange) if _matches(s.segment, segment)]
    return _factor(shocks, months, lambda s: s.factor)


def hiring_cap_factor(scenario: Scenario, role: str, months: Sequence[str]) -> np.ndarray:
    """Multiplier on a role's hires that may start in each month: 0 during a freeze, else 1."""
    shocks = [s for s in _shocks(scenario, HiringFreeze) if _matches(s.role, role)]
    return _factor(shocks, months, lambda s: 0.0)


def attrition_factor(scenario: Scenario, role: str, months: Sequence[str]) -> np.ndarray:
    """Multiplier on a role's attrition rate in each month (spikes compound)."""
    shocks = [s for s in _shocks(scenario, AttritionSpike) if _matches(s.role, role)]
    return _factor(shocks, months, lambda s: s.factor)


def leave_hour(start_h: float, unit_draw: float, hazard_per_hour: float, factor: np.ndarray,
               month_start_h: np.ndarray) -> float:
    """Hour at which a person who starts at `start_h` leaves, under a monthly attrition factor.

    `unit_draw` is one Exp(1) draw; the hazard in month m is `hazard_per_hour x factor[m]` (per
    hour), and the plain hazard after the horizon (`month_start_h` holds the T + 1 month bounds,
    hours). Inverts the cumulative hazard, so with all factors 1 this is
    `start_h + unit_draw / hazard_per_hour`, and the same draw is used shocked or not (common
    random numbers). Returns inf when the hazard is 0.
    """
    if hazard_per_hour <= 0:
        return math.inf
    left, t = unit_draw, start_h
    m = int(np.searchsorted(month_start_h, start_h, side="right")) - 1
    for k in range(max(m, 0), len(factor)):
        end = float(month_start_h[k + 1])
        if end <= t:
            continue
        rate = hazard_per_hour * float(factor[k])
        if rate > 0 and left <= rate * (end - t):
            return t + left / rate
        left -= rate * (end - t)
        t = end
    return t + left / hazard_per_hour


def first_hiring_month(scenario: Scenario, role: str, months: Sequence[str], from_index: int) -> int | None:
    """The first month index >= `from_index` in which `role` may start people (not frozen);
    None when frozen to the end of the horizon. For backfills that fall into a freeze."""
    open_ = np.flatnonzero(hiring_cap_factor(scenario, role, months)[from_index:] > 0)
    return int(open_[0]) + from_index if len(open_) else None


def apply_demand_shocks(forecast: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """A copy of a forecast frame (month, segment, region, case, leads) with demand shocks applied.

    Every case is scaled by the same factor; leads stay in leads per month.
    """
    shocks = _shocks(scenario, DemandShock)
    if not shocks:
        return forecast
    out = forecast.copy()
    months = out["month"].astype(str).to_numpy()
    factor = np.ones(len(out), dtype=float)
    for shock in shocks:
        mask = active(shock, months)
        if shock.segment is not None:
            mask &= out["segment"].astype(str).to_numpy() == shock.segment
        if shock.region is not None:
            mask &= out["region"].astype(str).to_numpy() == shock.region
        factor[mask] *= shock.factor
    out["leads"] = out["leads"].to_numpy(dtype=float) * factor
    return out


def check_shocks(s: Scenario, at: At) -> list[Problem]:
    """Roles, segments and regions named by shocks exist (a meaning check for engine/checks.py)."""
    known = {"role": [r.name for r in s.roles], "segment": [g.name for g in s.segments],
             "region": [r.name for r in s.regions]}
    out = []
    for i, shock in enumerate(s.shocks):
        for field, names in known.items():
            value = getattr(shock, field, None)
            if value is not None and value not in names:
                out.append(at(("shocks", i, field), f"unknown {field} '{value}'",
                              f"one of: {', '.join(names) or '(none defined)'}"))
        out += _outside_horizon(s, i, shock, at)
    return out


def _outside_horizon(s: Scenario, i: int, shock: Any, at: At) -> list[Problem]:
    """A shock whose window misses the horizon altogether would silently do nothing."""
    horizon = getattr(s, "horizon", None)
    if horizon is None:
        return []
    months = month_range(horizon.start, horizon.months)
    first, last = months[0], months[-1]
    span = f"a month of the horizon, {first} to {last}"
    if shock.from_month > last:
        return [at(("shocks", i, "from_month"), f"{shock.from_month} is after the horizon ends", span)]
    if shock.to_month is not None and shock.to_month < first:
        return [at(("shocks", i, "to_month"), f"{shock.to_month} is before the horizon starts", span)]
    return []


def shock_summary(scenario: Scenario) -> list[dict[str, Any]]:
    """The scenario's shocks as plain dicts, for summary.json and reports."""
    return [s.model_dump(mode="json", exclude_none=True) for s in scenario.shocks]

