"""Plain-data model of the lead flow: `SimConfig` and its parts, built once from the scenario.

The event loop reads only these frozen dataclasses of numbers and arrays, never the scenario, so
tests can build small models (an M/M/c queue, a one-stage funnel) directly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.calendar import month_range, month_start_hours
from engine.scenario.model import Scenario
from engine.scenario.shocks import attrition_factor, hiring_cap_factor, price_factor
from engine.simulation.dists import Dist, from_schema
from engine.simulation.worktime import WEEK_H, WorkCalendar

HOURS_PER_YEAR = 8766.0


@dataclass(frozen=True)
class RoleSpec:
    """A team of reps (or support agents) over the horizon."""

    name: str
    kind: str
    headcount_start: int
    """Reps at hour 0, fully ramped."""
    hires: tuple[int, ...]
    """Reps who start at each month start (one entry per horizon month)."""
    ramp: tuple[float, ...] = ()
    """Speed share by month of tenure (month 1 first), 1.0 after; a rep at x works at x speed."""
    attrition_per_hour: float = 0.0
    """Hazard of leaving (per hour): -ln(1 - attrition_per_year) / 8766."""
    lead_time_months: int = 0
    """Months from a leave to the start of its backfill (backfill `leavers`)."""
    work_scale: float = 1.0
    """Open calendar hours a rep spends per hour of item work (open hours / selling hours), on
    average over the horizon; `SimConfig.month_work_factor` makes it exact month by month."""
    attrition_factor: tuple[float, ...] | None = None
    """Multiplier on the attrition hazard by month (shocks); None = 1 throughout."""
    hiring_factor: tuple[float, ...] | None = None
    """Multiplier on recruiting by month (0 during a hiring freeze); None = 1 throughout."""


@dataclass(frozen=True)
class StageSpec:
    """A funnel stage: conversion and mean work per segment, buyer delay, team per segment x region."""

    name: str
    conversion: np.ndarray
    """Conversion share by segment."""
    work_hours: np.ndarray
    """Mean work hours per item by segment."""
    duration_h: Dist
    """Wall hours from the end of the work to the outcome."""
    team: np.ndarray
    """Role index working the stage, by segment x region (default routing)."""


@dataclass(frozen=True)
class TierSpec:
    name: str
    tickets_per_customer_month: float
    aht_s: float
    """Mean handle time (seconds, exponential)."""
    within_s: float
    """Answer-time threshold of the SLA (seconds)."""
    target: float
    priority: int
    customers_start: int


@dataclass(frozen=True)
class SupportSpec:
    tiers: tuple[TierSpec, ...]
    segment_tier: np.ndarray
    """Tier index of customers won in each segment."""
    churn_per_month: float
    shrinkage: float
    role: int
    """Index of the support role in `SimConfig.roles`."""
    agents: np.ndarray | None = None
    """Agents on the floor per month (staffing plan); None = role headcount x (1 - shrinkage)."""
    week_pattern: np.ndarray | None = None
    """168 relative ticket arrival weights by hour of the week (Monday 00:00 first, 0 = closed);
    None = tickets spread over the calendar's open hours."""
    hourly_agents: np.ndarray | None = None
    """Agents on the phone per month x week hour (T x 168) from the staffing plan, with a pattern."""
    week_offset_h: float = 0.0
    """Hours from Monday 00:00 to the horizon start (places the pattern on the clock)."""


@dataclass(frozen=True)
class SimConfig:
    """Everything one replication needs, as plain numbers and arrays (hours, months, currency)."""

    months: tuple[str, ...]
    month_start_h: np.ndarray
    """Hour of each month start, plus the horizon end (months + 1 values)."""
    calendar: WorkCalendar
    segments: tuple[str, ...]
    regions: tuple[str, ...]
    leads: np.ndarray
    """Expected new leads by month x segment x region."""
    deal_size: tuple[Dist, ...]
    """First-year contract value by segment (currency)."""
    stages: tuple[StageSpec, ...]
    roles: tuple[RoleSpec, ...]
    score_mean: np.ndarray = field(default_factory=lambda: np.array([0.5]))
    """Mean Beta score by segment (one value broadcasts)."""
    score_concentration: float = 4.0
    logit_per_score: float = 0.0
    score_priority: bool = True
    work_time: Dist = Dist("exponential", 1.0)
    """Work-time multiplier around a stage's mean (mean 1)."""
    speed_half_life_h: float | None = None
    """Half-life (hours) of the above-floor first-stage conversion; None = no delay effect."""
    speed_floor: float = 1.0
    max_open: int | None = None
    """Cap on items a rep holds after the first stage (None = no cap)."""
    wait_limit_h: float = math.inf
    """Unowned items waiting longer than this (hours) are dropped."""
    routing: str = "least_loaded"
    attrition: bool = True
    backfill: str = "plan"
    allocation: np.ndarray | None = None
    """Share of leads routed to each role by month x segment x region x role (None = default)."""
    territories: tuple[str, ...] = ()
    territory_p: np.ndarray | None = None
    """Probability of each territory for a lead (None = territory is the region)."""
    support: SupportSpec | None = None
    price_factor: np.ndarray | None = None
    """Deal-size multiplier by segment x month (price-change shocks); None = 1 throughout."""
    sources: tuple[str, ...] = ()
    """Lead source names (empty = one unnamed source)."""
    source_p: np.ndarray | None = None
    """Probability of each source for a new lead."""
    source_shift: np.ndarray | None = None
    """Score shift of each source (added to the lead's score, kept inside 0-1)."""
    month_work_factor: np.ndarray | None = None
    """Per month: the month's open hours over the horizon's mean open hours per month (None = 1).
    Work started in a month is scaled by it, so a fully busy rep delivers the plan's capacity hours
    in every month, short February and long March alike (the plan's capacity per month is fixed)."""

    @property
    def horizon_h(self) -> float:
        return float(self.month_start_h[-1])


def _first_weekday(s: Scenario) -> int:
    """Weekday of the horizon's first day (0 = Monday)."""
    return pd.Period(s.horizon.start, freq="M").start_time.weekday()


def _calendar(s: Scenario) -> WorkCalendar:
    cal = s.simulation.calendar if s.simulation else None
    if cal is None or cal.kind == "24/7":
        return WorkCalendar.always_open()
    first_weekday = _first_weekday(s)
    return WorkCalendar.business(cal.weekdays, cal.day_start_hour, cal.day_end_hour, first_weekday)


def _per_segment(value: dict[str, float] | float, segments: list[str], what: str = "value") -> np.ndarray:
    if isinstance(value, dict) and set(segments) - set(value):
        raise ValueError(f"{what}: no value for segment(s) {sorted(set(segments) - set(value))}")
    return np.array([value[g] if isinstance(value, dict) else value for g in segments], dtype=float)


def _lead_volume(forecast: pd.DataFrame, case: str, months: list[str], segments: list[str],
                 regions: list[str]) -> np.ndarray:
    frame = forecast
    if "case" in frame.columns:
        frame = frame[frame["case"].astype(str) == case]
        if frame.empty:
            raise ValueError(f"forecast has no rows for demand case '{case}'")
    out = np.zeros((len(months), len(segments), len(regions)))
    m = pd.Index(months).get_indexer(frame["month"].astype(str))
    g = pd.Index(segments).get_indexer(frame["segment"].astype(str))
    r = pd.Index(regions).get_indexer(frame["region"].astype(str))
    keep = (m >= 0) & (g >= 0) & (r >= 0)
    np.add.at(out, (m[keep], g[keep], r[keep]), frame["leads"].to_numpy(float)[keep])
    return out


def _covers(role, segment: str, region: str) -> bool:
    return (role.segments is None or segment in role.segments) and (
        role.regions is None or region in role.regions)


def _default_team(s: Scenario, role_name: str, segments: list[str], regions: list[str]) -> np.ndarray:
    """The stage's role where it covers the lead, else the first role of its kind that does."""
    names = [r.name for r in s.roles]
    own = s.role(role_name)
    same_kind = [r for r in s.roles if r.kind == own.kind]
    team = np.full((len(segments), len(regions)), names.index(role_name), dtype=np.int64)
    for gi, g in enumerate(segments):
        for ri, reg in enumerate(regions):
            if not _covers(own, g, reg):
                match = next((r for r in same_kind if _covers(r, g, reg)), own)
                team[gi, ri] = names.index(match.name)
    return team


def _hires(hiring: pd.DataFrame | None, role: str, months: list[str]) -> tuple[int, ...]:
    if hiring is None:
        return (0,) * len(months)
    rows = hiring[hiring["role"].astype(str) == role]
    by_month = rows.groupby(rows["month"].astype(str))["hires"].sum()
    return tuple(int(round(float(by_month.get(m, 0.0)))) for m in months)


def _month_work_factor(cal: WorkCalendar, bounds: np.ndarray) -> np.ndarray | None:
    per_month = np.diff(cal.open_hours(bounds))
    mean = float(per_month.mean()) if per_month.size else 0.0
    return per_month / mean if mean > 0 else None


def _roles(s: Scenario, hiring: pd.DataFrame | None, months: list[str], cal: WorkCalendar,
           bounds: np.ndarray) -> tuple[RoleSpec, ...]:
    open_per_month = float(np.diff(cal.open_hours(bounds)).mean())
    out = []
    for role in s.roles:
        capacity = role.capacity_hours_per_person()
        out.append(RoleSpec(
            name=role.name, kind=role.kind, headcount_start=role.headcount_start,
            hires=_hires(hiring, role.name, months), ramp=tuple(role.ramp),
            attrition_per_hour=-math.log1p(-min(role.attrition_per_year, 0.999999)) / HOURS_PER_YEAR,
            lead_time_months=role.hiring_lead_time_months,
            work_scale=open_per_month / capacity if capacity > 0 else math.inf,
            attrition_factor=_unless_ones(attrition_factor(s, role.name, months)),
            hiring_factor=_unless_ones(hiring_cap_factor(s, role.name, months))))
    return tuple(out)


def _sources(sim) -> dict:  # noqa: ANN001 - the scenario's Simulation section or None
    if sim is None or not sim.sources:
        return {}
    weight = np.array([src.share for src in sim.sources], dtype=float)
    return {"sources": tuple(src.name for src in sim.sources), "source_p": weight / weight.sum(),
            "source_shift": np.array([src.score_shift for src in sim.sources], dtype=float)}


def _unless_ones(factor: np.ndarray) -> tuple[float, ...] | None:
    """A per-month factor as a tuple, or None when it is 1 in every month (no shock)."""
    return None if np.all(factor == 1.0) else tuple(float(x) for x in factor)


def _price_factor(s: Scenario, months: list[str]) -> np.ndarray | None:
    factor = np.array([price_factor(s, months, g.name) for g in s.segments])
    return None if np.all(factor == 1.0) else factor


def _team_roles(s: Scenario) -> dict[str, str]:
    """Allocation team -> the role it draws on. A team that is a regional slice of a role (e.g.
    `AE EMEA`) sends its leads to that role's reps, who serve the slice's share of the work."""
    teams = s.allocation.teams if s.allocation is not None else None
    return {team.name: team.role for team in teams or ()}


def _allocation(allocation: pd.DataFrame | None, months: list[str], segments: list[str],
                regions: list[str], roles: list[str], team_roles: dict[str, str]) -> np.ndarray | None:
    if allocation is None or allocation.empty:
        return None
    allocation = allocation.assign(team=allocation["team"].astype(str).map(lambda t: team_roles.get(t, t)))
    unknown = sorted(set(allocation["team"].astype(str)) - set(roles))
    if unknown:
        raise ValueError(f"allocation teams {unknown} are not role names (expected one of {roles})")
    out = np.zeros((len(months), len(segments), len(regions), len(roles)))
    idx = [pd.Index(v).get_indexer(allocation[c].astype(str)) for v, c in
           ((months, "month"), (segments, "segment"), (regions, "region"), (roles, "team"))]
    keep = np.all([i >= 0 for i in idx], axis=0)
    np.add.at(out, tuple(i[keep] for i in idx), allocation["leads"].to_numpy(float)[keep])
    total = out.sum(axis=-1, keepdims=True)
    return np.divide(out, total, out=np.zeros_like(out), where=total > 0)


def _territories(territories: pd.DataFrame | None) -> tuple[tuple[str, ...], np.ndarray | None]:
    if territories is None or territories.empty:
        return (), None
    weight = territories["workload"] if "workload" in territories.columns else pd.Series(
        1.0, index=territories.index)
    by = weight.astype(float).groupby(territories["territory"].astype(str)).sum().sort_index()
    return tuple(by.index), (by / by.sum()).to_numpy()


def _hourly(frame: pd.DataFrame | None, months: list[str]) -> np.ndarray | None:
    """Month x week-hour agents (T x 168) from a plan/staffing_hourly.csv frame."""
    if frame is None or frame.empty:
        return None
    out = np.zeros((len(months), int(WEEK_H)), dtype=np.int64)
    row = pd.Index(months).get_indexer(frame["month"].astype(str))
    keep = row >= 0
    out[row[keep], frame["week_hour"].to_numpy(int)[keep]] = frame["planned_agents"].to_numpy(int)[keep]
    return out


def _support(s: Scenario, staffing: pd.DataFrame | None, months: list[str],
             hourly_agents: np.ndarray | None = None) -> SupportSpec | None:
    if s.support is None:
        return None
    sup = s.support
    tiers = tuple(TierSpec(t.name, t.tickets_per_customer_month, t.aht_seconds, t.within_seconds,
                           t.target, t.priority, t.customers_start) for t in sup.tiers)
    names = [t.name for t in sup.tiers]
    agents = None
    if staffing is not None and not staffing.empty:
        rows = staffing[staffing["role"].astype(str) == sup.role] if "role" in staffing else staffing
        by_month = rows.groupby(rows["month"].astype(str))["planned_agents"].sum()
        agents = np.array([int(round(float(by_month.get(m, 0.0)))) for m in months], dtype=np.int64)
    return SupportSpec(tiers=tiers, segment_tier=np.array([names.index(g.support_tier) for g in s.segments]),
                       churn_per_month=sup.monthly_churn, shrinkage=sup.shrinkage,
                       role=[r.name for r in s.roles].index(sup.role), agents=agents,
                       week_pattern=None if sup.arrival_pattern is None else np.asarray(sup.arrival_pattern, float),
                       hourly_agents=hourly_agents if sup.arrival_pattern is not None else None,
                       week_offset_h=24.0 * _first_weekday(s))


def config_from_scenario(s: Scenario, forecast: pd.DataFrame, hiring: pd.DataFrame | None = None,
                         staffing: pd.DataFrame | None = None, allocation: pd.DataFrame | None = None,
                         territories: pd.DataFrame | None = None,
                         staffing_hourly: pd.DataFrame | None = None) -> SimConfig:
    """The plain-data model of scenario `s` with the given forecast and plans (frames as in DESIGN.md;
    `staffing_hourly`: month, week_hour, planned_agents, as in plan/staffing_hourly.csv)."""
    if s.horizon is None or s.funnel is None:
        raise ValueError("the simulation needs a horizon and a funnel")
    sim = s.simulation
    months = month_range(s.horizon.start, s.horizon.months)
    bounds = np.array(month_start_hours(s.horizon.start, s.horizon.months))
    segments, regions = [g.name for g in s.segments], [r.name for r in s.regions]
    cal = _calendar(s)
    scoring, stl = sim.scoring if sim else None, s.funnel.speed_to_lead
    stages = tuple(StageSpec(
        name=st.name, conversion=_per_segment(st.conversion, segments),
        work_hours=_per_segment(st.work_hours, segments), duration_h=from_schema(st.duration_days, 24.0),
        team=_default_team(s, st.role, segments, regions)) for st in s.funnel.stages)
    names, terr_p = _territories(territories)
    return SimConfig(
        months=tuple(months), month_start_h=bounds, calendar=cal, segments=tuple(segments),
        regions=tuple(regions), leads=_lead_volume(forecast, sim.case if sim else "base", months,
                                                   segments, regions),
        deal_size=tuple(from_schema(g.deal_size) for g in s.segments), stages=stages,
        roles=_roles(s, hiring, months, cal, bounds),
        score_mean=_per_segment(scoring.mean, segments, "simulation.scoring.mean") if scoring else np.full(len(segments), 0.5),
        score_concentration=scoring.concentration if scoring else 4.0,
        logit_per_score=scoring.logit_per_score if scoring else 0.0,
        score_priority=scoring.priority if scoring else True,
        work_time=Dist(sim.work_time.kind, 1.0, sim.work_time.cv) if sim else Dist("exponential", 1.0),
        speed_half_life_h=stl.half_life_hours if stl.kind == "exponential" else None,
        speed_floor=stl.floor if stl.kind == "exponential" else 1.0,
        max_open=s.funnel.max_open_opportunities_per_rep,
        wait_limit_h=s.funnel.lead_wait_limit_hours or math.inf,
        routing=sim.routing if sim else "least_loaded",
        attrition=sim.attrition if sim else True, backfill=sim.backfill if sim else "plan",
        allocation=_allocation(allocation, months, segments, regions, [r.name for r in s.roles],
                               _team_roles(s)),
        territories=names, territory_p=terr_p, support=_support(s, staffing, months, _hourly(staffing_hourly, months)),
        price_factor=_price_factor(s, months), month_work_factor=_month_work_factor(cal, bounds),
        **_sources(sim))
