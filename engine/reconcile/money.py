"""The money model, defined once for the plan and the simulation (docs/money.md).

Per month, in the scenario currency:

* revenue = bookings: first-year contract value of the deals won (closed) in the month;
* gross_margin = sum over segments of revenue x the segment's `gross_margin` share;
* people_cost = sum over roles of cost_per_month x people employed in the month (FTE)
  + commission_rate x the bookings the role works on
  + (accelerator - 1) x commission_rate x the part of those bookings above quota_per_month x
  ramped people (only for roles with a quota and an accelerator above 1);
* operating_margin = gross_margin - people_cost.

The plan feeds it the fluid plan's revenue (engine.reconcile.fluid) and the hiring plan's
headcount and ramped people; the simulation feeds it each replication's won deals and the people
it employed (`fte:<role>`, `effective:<role>` in sim/monthly.csv). Penalty prices of the hiring
MILP (uncovered hours, Support value, budget overrun) are never part of these figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.scenario.model import Scenario

FIGURES = ("revenue", "gross_margin", "people_cost", "operating_margin")
"""The P&L figures, in the order the reports show them."""


@dataclass(frozen=True)
class MoneyModel:
    """Prices of scenario `s`: segments G, roles R (currency per month unless stated)."""

    segments: tuple[str, ...]
    gross_margin: np.ndarray
    """G: gross margin share of revenue."""
    roles: tuple[str, ...]
    cost_per_month: np.ndarray
    """R: fully loaded base cost per person-month."""
    commission_rate: np.ndarray
    """R: share of the bookings credited to the role paid as commission."""
    quota_per_month: np.ndarray
    """R: bookings per ramped person-month above which the accelerator applies."""
    accelerator: np.ndarray
    """R: commission multiplier above quota (1 = none)."""
    credited: np.ndarray
    """R x G: 1 where the role works a funnel stage of the segment (earns commission on it)."""


def money_model(s: Scenario) -> MoneyModel:
    """The money model of a scenario."""
    stage_roles = {st.role for st in s.funnel.stages} if s.funnel is not None else set()
    roles = s.roles
    credited = np.array([[1.0 if r.name in stage_roles else 0.0 for _ in s.segments] for r in roles])
    return MoneyModel(
        segments=tuple(g.name for g in s.segments),
        gross_margin=np.array([g.gross_margin for g in s.segments], dtype=float),
        roles=tuple(r.name for r in roles),
        cost_per_month=np.array([r.cost_per_month for r in roles], dtype=float),
        commission_rate=np.array([r.commission_rate for r in roles], dtype=float),
        quota_per_month=np.array([r.quota_per_month for r in roles], dtype=float),
        accelerator=np.array([r.accelerator for r in roles], dtype=float),
        credited=credited.reshape(len(roles), len(s.segments)))


def people_cost_by_role(m: MoneyModel, revenue: np.ndarray, people: np.ndarray,
                        effective: np.ndarray) -> np.ndarray:
    """R x T people cost (currency): base cost + commission + accelerator above quota.

    `revenue`: T x G bookings by month and segment; `people`: R x T people employed (FTE);
    `effective`: R x T ramped people (quota capacity)."""
    booked = m.credited @ np.asarray(revenue, float).T  # R x T bookings each role works on
    base = m.cost_per_month[:, None] * people
    pay = m.commission_rate[:, None] * booked
    accel = (m.commission_rate > 0) & (m.accelerator > 1) & (m.quota_per_month > 0)
    above = np.maximum(booked - m.quota_per_month[:, None] * effective, 0.0)
    pay = pay + np.where(accel[:, None], (m.accelerator - 1.0)[:, None] * m.commission_rate[:, None] * above, 0.0)
    return base + pay


def pnl(m: MoneyModel, revenue: np.ndarray, people: np.ndarray, effective: np.ndarray) -> dict[str, np.ndarray]:
    """Monthly P&L (each T, currency) from T x G revenue and R x T people / ramped people."""
    revenue = np.asarray(revenue, float)
    gross = revenue @ m.gross_margin
    cost = people_cost_by_role(m, revenue, people, effective).sum(axis=0)
    return {"revenue": revenue.sum(axis=1), "gross_margin": gross, "people_cost": cost,
            "operating_margin": gross - cost}


def revenue_grid(frame: pd.DataFrame, months: list[str], segments: tuple[str, ...],
                 value: str = "revenue") -> np.ndarray:
    """T x G grid of `value` summed by month and segment (months and segments not listed drop out)."""
    grid = np.zeros((len(months), len(segments)))
    t = pd.Index(months).get_indexer(frame["month"].astype(str))
    g = pd.Index(list(segments)).get_indexer(frame["segment"].astype(str))
    keep = (t >= 0) & (g >= 0)
    np.add.at(grid, (t[keep], g[keep]), frame[value].to_numpy(float)[keep])
    return grid


def role_grid(frame: pd.DataFrame, months: list[str], roles: tuple[str, ...], value: str) -> np.ndarray:
    """R x T grid of `value` by role and month from a frame with role, month columns."""
    grid = np.zeros((len(roles), len(months)))
    r = pd.Index(list(roles)).get_indexer(frame["role"].astype(str))
    t = pd.Index(months).get_indexer(frame["month"].astype(str))
    keep = (r >= 0) & (t >= 0)
    np.add.at(grid, (r[keep], t[keep]), frame[value].to_numpy(float)[keep])
    return grid


def plan_pnl(m: MoneyModel, outcomes: pd.DataFrame, plan: pd.DataFrame | None,
             months: list[str]) -> dict[str, np.ndarray]:
    """Monthly P&L of a plan: the fluid outcome's revenue (month, segment, revenue) and the hiring
    plan's headcount and effective_capacity (month, role). Without a hiring plan the plan has no
    people, so its people cost and operating margin are unknown (NaN), not the commission alone:
    commission and the accelerator above quota are pay of the people who book the deals, and
    with no people known there is neither base pay nor a quota to set the accelerator against."""
    revenue = revenue_grid(outcomes, months, m.segments)
    if plan is None or plan.empty:
        zeros = np.zeros((len(m.roles), len(months)))
        out = pnl(m, revenue, zeros, zeros)
        out["people_cost"] = out["operating_margin"] = np.full(len(months), np.nan)
        return out
    return pnl(m, revenue, role_grid(plan, months, m.roles, "headcount"),
               role_grid(plan, months, m.roles, "effective_capacity"))


def simulated_pnl(m: MoneyModel, leads: pd.DataFrame, monthly: pd.DataFrame,
                  month_of_hour) -> pd.DataFrame:  # noqa: ANN001 - hours -> month labels
    """Per replication and month: the P&L figures as rows replication, month, metric, value.

    `leads`: sim/leads rows (replication, segment, won, revenue, closed_h); `monthly`: sim/monthly
    rows with `fte:<role>` and `effective:<role>`; `month_of_hour(hours) -> labels` ('' outside)."""
    months = sorted(monthly["month"].astype(str).unique())
    won = leads[leads["won"].fillna(False).astype(bool)]
    won = won.assign(month=month_of_hour(won["closed_h"].to_numpy(float)))
    frames = []
    for rep, rows in monthly.groupby("replication", sort=True):
        wide = rows.pivot_table(index="metric", columns="month", values="value", aggfunc="sum")
        wide = wide.reindex(columns=months).fillna(0.0)
        people = np.vstack([wide.loc[f"fte:{r}"] if f"fte:{r}" in wide.index else np.zeros(len(months))
                            for r in m.roles])
        effective = np.vstack([wide.loc[f"effective:{r}"] if f"effective:{r}" in wide.index
                               else np.zeros(len(months)) for r in m.roles])
        figures = pnl(m, revenue_grid(won[won["replication"] == rep], months, m.segments), people, effective)
        for name in FIGURES[1:]:  # revenue is already a simulated metric, by the same definition
            frames.append(pd.DataFrame({"replication": rep, "month": months, "metric": name,
                                        "value": figures[name]}))
    if not frames:
        return pd.DataFrame(columns=["replication", "month", "metric", "value"])
    return pd.concat(frames, ignore_index=True)


GLOSSARY = (
    # key in summary.json headline.<case>, unit, definition, source files
    ("revenue", "currency", "Bookings: first-year contract value of the deals won (closed) within "
     "the horizon. Plan: the fluid plan's wins (leads the plan's capacity works x funnel conversions, "
     "best-scored leads first when the team triages by score) x mean deal size.",
     "reconciliation.csv (company, revenue, planned)"),
    ("gross_margin", "currency", "Revenue x each segment's gross_margin share.",
     "reconciliation.csv (company, gross_margin, planned)"),
    ("people_cost", "currency", "Base cost (cost_per_month x people employed) + commission on the "
     "bookings the role works on + accelerator above quota x ramped people.",
     "plan/hiring.csv (cost), reconciliation.csv (company, cost, planned)"),
    ("operating_margin", "currency", "gross_margin - people_cost. No penalty price of the hiring "
     "optimiser is part of it (those are in summary.json hiring.penalties).",
     "reconciliation.csv (company, operating_margin, planned)"),
    ("sla", "share", "Plan: mean over months of the Erlang C service level of the planned agents "
     "on all tickets pooled, against the threshold of the binding tier (the one whose target needs "
     "the most agents). Simulated: share of all tickets over the horizon answered within their own "
     "tier's threshold. Each tier against its own target: reconciliation.csv tier:<name> rows.",
     "plan/staffing.csv (service_level), sim/monthly.csv (sla_attainment)"),
    ("hires", "people", "People who start over the horizon in the plan.", "plan/hiring.csv (hires)"),
    ("shortfall_hours", "hours", "Sum over months and roles of max(hours needed - capacity hours, 0).",
     "plan/hiring_cases.csv (shortfall_hours), reconciliation.csv (capacity rows)"),
    ("uncovered_leads", "leads", "Forecast leads the plan's capacity does not work.",
     "reconciliation.csv (company, demand: forecast - planned)"),
    ("sim_<figure>_p10|p50|p90", "as the figure", "The same figure in the simulation: 10th, 50th and "
     "90th percentile over replications of the horizon total (or share).",
     "summary.json simulation.totals, sim/monthly.csv (per replication and month)"),
)
"""Every headline figure: what it is, its unit and where it is written (report and docs/money.md)."""
