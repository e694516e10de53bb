"""The fluid view of a plan: what the funnel yields when capacity is a flow, with no queues.

This is the arithmetic a capacity MILP rests on, recomputed from the scenario so reconciliation can
say what the plan *assumed* and compare it with what the simulation *saw*:

* work per lead of role r in segment s (hours) = sum over r's stages k of
  reach_k(s) x work_hours_k(s), where reach_k is the product of the conversions before stage k;
* hours needed in a month = sum over segment x region of forecast leads x work per lead;
* coverage of role r = min(1, capacity_r / hours needed_r), applied role by role in funnel order
  (a role downstream of an under-staffed role only sees the leads that got through);
* won deals = leads x product of all conversions x coverage; revenue = won x mean deal size
  (currency); the response delay is zero (fluid), so speed-to-lead costs nothing;
* wins land `lag` months after the leads arrive, lag = sum of mean stage durations / 30.44 days,
  spread linearly over the two whole months around it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.reconcile.triage import Triage, triage_curves
from engine.scenario.model import Scenario

DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class FunnelRates:
    """Per-segment funnel arithmetic: work hours per lead by role, won share and deal value."""

    work_per_lead: pd.DataFrame
    """index segment, columns role: role hours per arriving lead (hours/lead)."""
    won_share: pd.Series
    """index segment: share of arriving leads won when every lead is worked at once."""
    deal_value: pd.Series
    """index segment: mean first-year contract value of a won deal (currency)."""
    gross_margin: pd.Series
    """index segment: gross margin share of revenue."""
    roles: tuple[str, ...]
    """Funnel roles in the order their first stage appears."""
    lag_months: float
    """Mean months from lead arrival to a won deal."""
    triage: Triage | None = None
    """Best-scored-first curves when a short team triages leads by score (engine.reconcile.triage)."""


def funnel_rates(scenario: Scenario) -> FunnelRates | None:
    """Funnel arithmetic of the scenario, or None without a funnel or segments."""
    funnel = scenario.funnel
    segments = [s.name for s in scenario.segments]
    if funnel is None or not segments:
        return None
    roles: list[str] = []
    for stage in funnel.stages:
        if stage.role not in roles:
            roles.append(stage.role)
    work = pd.DataFrame(0.0, index=pd.Index(segments, name="segment"), columns=roles)
    won = pd.Series(1.0, index=work.index)
    for stage in funnel.stages:
        work[stage.role] += won * np.array([stage.work_hours_for(s) for s in segments])
        won = won * np.array([stage.conversion_for(s) for s in segments])
    value = pd.Series([s.deal_size.mean for s in scenario.segments], index=work.index)
    margin = pd.Series([s.gross_margin for s in scenario.segments], index=work.index)
    lag = sum(stage.duration_days.mean for stage in funnel.stages) / DAYS_PER_MONTH
    return FunnelRates(work, won, value, margin, tuple(roles), float(lag), triage_curves(scenario))


def required_hours(forecast: pd.DataFrame, rates: FunnelRates) -> pd.DataFrame:
    """Hours each funnel role needs per month to work every forecast lead: month, role, hours."""
    work = rates.work_per_lead.reindex(forecast["segment"].astype(str)).fillna(0.0).to_numpy()
    hours = work * forecast["leads"].to_numpy(dtype=float)[:, None]
    frame = pd.DataFrame(hours, columns=list(rates.roles))
    frame["month"] = forecast["month"].astype(str).to_numpy()
    long = frame.groupby("month").sum().reset_index().melt(id_vars="month", var_name="role",
                                                            value_name="hours")
    return long


def coverage(required: pd.DataFrame, capacity: pd.DataFrame, roles: tuple[str, ...]) -> pd.DataFrame:
    """Share of leads each month the plan works end to end (index month, column per role + total).

    `required`: month, role, hours; `capacity`: month, role, capacity_hours. A role without
    capacity rows is not limiting (coverage 1).
    """
    req = required.groupby(["month", "role"])["hours"].sum().unstack("role")
    cap = capacity.groupby(["month", "role"])["capacity_hours"].sum().unstack("role")
    out = pd.DataFrame(index=req.index)
    through = pd.Series(1.0, index=req.index)
    for role in roles:
        if role not in cap.columns or role not in req.columns:
            out[role] = 1.0
            continue
        need = req[role] * through
        have = cap[role].reindex(req.index).fillna(0.0)
        share = np.where(need > 0, np.minimum(1.0, have / need.where(need > 0, 1.0)), 1.0)
        out[role] = share
        through = through * share
    out["total"] = through
    return out


def lagged(values: np.ndarray, lag_months: float) -> np.ndarray:
    """Shift a monthly series later by `lag_months` (fractional: split over two months)."""
    whole = int(np.floor(lag_months))
    frac = lag_months - whole
    n = len(values)
    out = np.zeros(n)
    for shift, weight in ((whole, 1 - frac), (whole + 1, frac)):
        if shift < n and weight > 0:
            out[shift:] += weight * values[: n - shift]
    return out


def hours_shares(required: pd.DataFrame, capacity: pd.DataFrame, roles: tuple[str, ...]) -> pd.DataFrame:
    """Share of the hours each role needs that its capacity gives, min(1, capacity / need), by month
    (index month, column per funnel role with capacity rows); each role against all the leads."""
    req = required.groupby(["month", "role"])["hours"].sum().unstack("role")
    cap = capacity.groupby(["month", "role"])["capacity_hours"].sum().unstack("role")
    out = pd.DataFrame(index=req.index)
    for role in roles:
        if role in cap.columns and role in req.columns:
            need, have = req[role], cap[role].reindex(req.index).fillna(0.0)
            out[role] = np.where(need > 0, np.minimum(1.0, have / need.where(need > 0, 1.0)), 1.0)
    return out


def _kept(f: pd.DataFrame, rates: FunnelRates, share: np.ndarray,
          shares: pd.DataFrame | None) -> tuple[np.ndarray, np.ndarray]:
    """Per row: share of leads worked and share of wins kept. Without triage the leads worked are a
    random sample (`share` of them); with it each role works the best-scored leads its hours reach
    and the leads worked are the best c = min over roles of hours_r^-1(shares_r)."""
    share = np.broadcast_to(np.asarray(share, float), (len(f),))
    tri = rates.triage
    if tri is None or shares is None or shares.empty:
        return share.copy(), share.copy()
    worked, kept = share.copy(), share.copy()
    seg = pd.Index(rates.won_share.index).get_indexer(f["segment"])
    by_row = shares.reindex(f["month"]).fillna(1.0).to_numpy(dtype=float)
    short = np.flatnonzero((by_row < 1.0).any(axis=1) & (seg >= 0))  # rows of short months only
    if short.size:
        per_role = [tri.worked_share(seg[short], str(r), by_row[short, j]) for j, r in enumerate(shares.columns)]
        worked[short] = np.minimum.reduce(per_role)
        kept[short] = tri.won_share(seg[short], worked[short])
    return worked, kept


def planned_outcomes(forecast: pd.DataFrame, rates: FunnelRates,
                     cover: pd.Series | None, shares: pd.DataFrame | None = None) -> pd.DataFrame:
    """Fluid outcome per month x segment x region: leads, worked, won (deals) and revenue (currency).

    `forecast`: month, segment, region, leads of one case; `cover`: share of the hours needed that
    the plan's capacity gives, by month (None = every lead); `shares`: each role's own share
    (`hours_shares`), which decides which leads are worked when the team triages by score
    (`rates.triage`). `won_full` / `revenue_full` are the same with every lead worked; won
    and revenue are dated by the arrival-to-win lag.
    """
    f = forecast[["month", "segment", "region", "leads"]].copy()
    f["month"] = f["month"].astype(str)
    f["segment"] = f["segment"].astype(str)
    f["region"] = f["region"].astype(str)
    f = f.sort_values(["segment", "region", "month"]).reset_index(drop=True)
    share = cover.reindex(f["month"]).fillna(1.0).to_numpy() if cover is not None else 1.0
    worked, kept = _kept(f, rates, share, shares)
    f["worked"] = f["leads"].to_numpy(dtype=float) * worked
    won_share = rates.won_share.reindex(f["segment"]).fillna(0.0).to_numpy()
    value = rates.deal_value.reindex(f["segment"]).fillna(0.0).to_numpy()
    won_now = f["leads"].to_numpy(dtype=float) * kept * won_share
    full_now = f["leads"].to_numpy(dtype=float) * won_share
    won = np.zeros(len(f))
    full = np.zeros(len(f))
    for _, idx in f.groupby(["segment", "region"], sort=False, dropna=False).indices.items():
        won[idx] = lagged(won_now[idx], rates.lag_months)
        full[idx] = lagged(full_now[idx], rates.lag_months)
    f["won"] = won
    f["won_full"] = full
    f["revenue"] = won * value
    f["revenue_full"] = full * value
    return f


def outcomes_with_capacity(forecast: pd.DataFrame, rates: FunnelRates, required: pd.DataFrame | None,
                           capacity: pd.DataFrame | None) -> pd.DataFrame:
    """`planned_outcomes` of one case's forecast worked with a plan's capacity (month, role,
    capacity_hours) against its hours needed (month, role, hours); every lead without either."""
    if required is None or capacity is None:
        return planned_outcomes(forecast, rates, None)
    cov = coverage(required, capacity, rates.roles)
    return planned_outcomes(forecast, rates, cov["total"], hours_shares(required, capacity, rates.roles))
