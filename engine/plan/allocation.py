"""Lead allocation stage: forecast + teams + hiring-plan capacity -> plan/allocation.csv.

One source of truth for capacity (DESIGN.md): a team's hours come from its role's planned
capacity hours, and the hours a lead costs a team come from the funnel: the work hours of the
stages the team's role works, each weighted by the chance a lead reaches that stage.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import InputError, Problem
from engine.scenario.schema.allocation import AllocationSection, Team
from engine.stage import AllocationOut, StageOutput, SupplyOut
from solvers.allocation import AllocationProblem, AllocationResult, DelayBand, allocate_leads

SECTION = "allocation"


def _default_teams(scenario) -> list[Team]:  # noqa: ANN001 - engine.scenario.model.Scenario
    worked = {st.role for st in scenario.funnel.stages}
    return [Team(name=r.name, role=r.name, regions=r.regions, segments=r.segments)
            for r in scenario.roles if r.name in worked]


def lead_economics(scenario, team: Team, segment: str) -> tuple[float, float]:  # noqa: ANN001
    """(hours per lead for the team's role, expected revenue per lead with the team's affinity)."""
    reach, hours = 1.0, 0.0
    for st in scenario.funnel.stages:
        if st.role == team.role:
            hours += reach * st.work_hours_for(segment)
        reach *= st.conversion_for(segment)
    deal = next(g.deal_size.mean for g in scenario.segments if g.name == segment)
    return hours, reach * deal * team.affinity.get(segment, 1.0)


def _check(scenario, teams: list[Team]) -> None:  # noqa: ANN001
    roles = {r.name for r in scenario.roles}
    segments = {g.name for g in scenario.segments}
    regions = {r.name for r in scenario.regions}
    problems = []
    for k, t in enumerate(teams):
        where = f"{SECTION}.teams.{k}"
        if t.role not in roles:
            problems.append(Problem(SECTION, None, f"{where}.role", f"unknown role {t.role!r}",
                                    "a `roles` name"))
        for name in (*(t.segments or []), *t.affinity):
            if name not in segments:
                problems.append(Problem(SECTION, None, f"{where}.segments", f"unknown segment {name!r}",
                                        "a `segments` name"))
        for name in t.regions or []:
            if name not in regions:
                problems.append(Problem(SECTION, None, f"{where}.regions", f"unknown region {name!r}",
                                        "a `regions` name"))
    if problems:
        raise InputError(problems)


def run_allocation(section: AllocationSection, scenario, forecast: pd.DataFrame,  # noqa: ANN001
                   capacity_hours: pd.DataFrame | None) -> AllocationResult:
    """Allocate `forecast` (month, segment, region, case, leads) for `section.case` to teams.

    `capacity_hours` (month, role, capacity_hours; hours per month) is the hiring plan's; teams
    with `capacity_hours_per_month` use that instead.
    """
    teams = section.teams or _default_teams(scenario)
    _check(scenario, teams)
    leads = forecast[forecast["case"] == section.case][["month", "segment", "region", "leads"]]
    months = sorted(leads["month"].unique())
    rows, caps, homes = [], [], []
    for t in teams:
        role = next(r for r in scenario.roles if r.name == t.role)
        for g in t.segments or role.segments or [s.name for s in scenario.segments]:
            hours, value = lead_economics(scenario, t, g)
            if hours > 0:
                rows.append({"team": t.name, "segment": g, "hours_per_lead": hours, "value_per_lead": value})
        for r in t.regions or [r.name for r in scenario.regions]:
            homes.append({"team": t.name, "region": r})
        caps.append(_team_capacity(t, months, capacity_hours))
    if any(c is None for c in caps):
        missing = [t.name for t, c in zip(teams, caps, strict=True) if c is None]
        raise InputError.single(SECTION, f"{SECTION}.teams", f"no capacity for teams {missing}",
                                "capacity_hours_per_month, or a `plan` section giving the role's hours")
    problem = AllocationProblem(
        leads=leads.reset_index(drop=True), capacity=pd.concat(caps, ignore_index=True),
        team_segment=pd.DataFrame(rows, columns=["team", "segment", "hours_per_lead", "value_per_lead"]),
        home=pd.DataFrame(homes, columns=["team", "region"]),
        overflow_cost=section.overflow_cost_per_lead, unmet_penalty=section.unmet_penalty_per_lead,
        delay_bands=tuple(DelayBand(b.from_utilisation, b.cost_per_hour) for b in section.delay_bands))
    return allocate_leads(problem, time_limit_s=section.time_limit_s)


def _team_capacity(team: Team, months: list[str], capacity_hours: pd.DataFrame | None) -> pd.DataFrame | None:
    if team.capacity_hours_per_month is not None:
        hours = np.full(len(months), team.capacity_hours_per_month)
    elif capacity_hours is not None:
        by = capacity_hours[capacity_hours["role"] == team.role].groupby("month")["capacity_hours"].sum()
        hours = team.share_of_role * by.reindex(months).fillna(0.0).to_numpy(float)
    else:
        return None
    return pd.DataFrame({"month": months, "team": team.name, "capacity_hours": hours})


def allocation_stage(loaded, forecast: pd.DataFrame, supply: StageOutput[SupplyOut] | None) -> StageOutput:  # noqa: ANN001
    """Stage wrapper for the run orchestrator: plan/allocation.csv and the summary object."""
    s = loaded.scenario
    capacity = supply.result.capacity_hours if supply is not None and supply.result is not None else None
    result = run_allocation(s.allocation, s, forecast, capacity)
    tables = {"plan/allocation.csv": result.allocation} if result.solve.has_solution else {}
    return StageOutput(name="allocation", tables=tables, summary=result.summary,
                       solves={"allocation": result.solve},
                       result=AllocationOut(result.allocation if result.solve.has_solution else None, result))
