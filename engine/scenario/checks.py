"""Meaning checks that span sections, run after schema validation.

Each `check_*` function looks at one concern and returns the problems it finds, naming the
offending item and what was expected; `check_scenario` collects them all into one list.
"""

from __future__ import annotations

from collections.abc import Iterable

from engine.errors import InputError, Problem
from engine.safe_files import require_regular_file
from engine.scenario.fixed_hires import check_fixed_hires
from engine.scenario.loaded import LoadedScenario
from engine.scenario.model import Scenario
from engine.scenario.origins import At, Origin, PathKey, origin_of
from engine.scenario.shocks import check_shocks

MAX_TICKETS_PER_MONTH = 1_000_000
"""Largest ticket volume of one support tier at the start (tickets a month): the simulation
follows every ticket, and the Erlang formulas stop at 100,000 Erlangs."""


def _at_factory(origins: dict[PathKey, Origin], file: str) -> At:
    def at(path: PathKey, message: str, expected: str | None = None) -> Problem:
        origin_file, line = origin_of(origins, path, file)
        return Problem(origin_file, line, ".".join(str(p) for p in path), message, expected)

    return at


def _repeats(names: Iterable[str]) -> list[tuple[int, str]]:
    """(index, name) of every occurrence of a name that already appeared earlier in the list."""
    seen: set[str] = set()
    out = []
    for index, name in enumerate(names):
        if name in seen:
            out.append((index, name))
        seen.add(name)
    return out


def check_unique_names(s: Scenario, at: At) -> list[Problem]:
    out = []
    for section, items in (("segments", s.segments), ("regions", s.regions), ("roles", s.roles)):
        for index, dup in _repeats(item.name for item in items):
            out.append(at((section, index, "name"), f"duplicate name '{dup}'", "unique names"))
    if s.funnel:
        for index, dup in _repeats(st.name for st in s.funnel.stages):
            out.append(at(("funnel", "stages", index, "name"), f"duplicate stage '{dup}'", "unique stage names"))
    return out


def _unknown(kind: str, name: str, known: list[str]) -> tuple[str, str]:
    return f"unknown {kind} '{name}'", f"one of: {', '.join(known) or '(none defined)'}"


def check_demand_references(s: Scenario, at: At) -> list[Problem]:
    if s.demand is None:
        return []
    segments, regions = [g.name for g in s.segments], [r.name for r in s.regions]
    out = []
    for i, row in enumerate(s.demand.baseline):
        if row.segment not in segments:
            out.append(at(("demand", "baseline", i, "segment"), *_unknown("segment", row.segment, segments)))
        if row.region not in regions:
            out.append(at(("demand", "baseline", i, "region"), *_unknown("region", row.region, regions)))
    return out


def check_funnel_references(s: Scenario, at: At) -> list[Problem]:
    if s.funnel is None:
        return []
    roles, segments = [r.name for r in s.roles], [g.name for g in s.segments]
    out = []
    for i, stage in enumerate(s.funnel.stages):
        if stage.role not in roles:
            out.append(at(("funnel", "stages", i, "role"), *_unknown("role", stage.role, roles)))
        for field in ("conversion", "work_hours"):
            value = getattr(stage, field)
            if not isinstance(value, dict):
                continue
            for key in value:
                if key not in segments:
                    out.append(at(("funnel", "stages", i, field, key), *_unknown("segment", key, segments)))
            missing = [g for g in segments if g not in value]
            if missing:
                out.append(at(("funnel", "stages", i, field), f"no value for segment(s) {', '.join(missing)}",
                              "one value per segment, or a single number"))
    return out


def check_role_references(s: Scenario, at: At) -> list[Problem]:
    segments, regions = [g.name for g in s.segments], [r.name for r in s.regions]
    working = {st.role for st in (s.funnel.stages if s.funnel else [])}
    working |= {s.support.role} if s.support else set()
    out = []
    for i, role in enumerate(s.roles):
        if role.name in working and role.selling_share == 0:
            out.append(at(("roles", i, "selling_share"), "0 leaves the role no time for the stages or "
                          "tickets it works", "a share above 0"))
        for j, name in enumerate(role.segments or []):
            if name not in segments:
                out.append(at(("roles", i, "segments", j), *_unknown("segment", name, segments)))
        for j, name in enumerate(role.regions or []):
            if name not in regions:
                out.append(at(("roles", i, "regions", j), *_unknown("region", name, regions)))
        if s.horizon and role.hiring_lead_time_months >= s.horizon.months:
            out.append(at(("roles", i, "hiring_lead_time_months"),
                          f"lead time {role.hiring_lead_time_months} months does not fit the "
                          f"{s.horizon.months}-month horizon", f"fewer than {s.horizon.months} months"))
    return out


def check_support_references(s: Scenario, at: At) -> list[Problem]:
    if s.support is None:
        return []
    out = []
    roles = {r.name: r for r in s.roles}
    if s.support.role not in roles:
        out.append(at(("support", "role"), *_unknown("role", s.support.role, list(roles))))
    elif roles[s.support.role].kind != "support":
        out.append(at(("support", "role"), f"role '{s.support.role}' is of kind "
                      f"'{roles[s.support.role].kind}'", "a role of kind support"))
    tiers = [t.name for t in s.support.tiers]
    for index, dup in _repeats(tiers):
        out.append(at(("support", "tiers", index, "name"), f"duplicate tier '{dup}'", "unique tier names"))
    for i, tier in enumerate(s.support.tiers):
        if tier.customers_start * tier.tickets_per_customer_month > MAX_TICKETS_PER_MONTH:
            out.append(at(("support", "tiers", i, "customers_start"),
                          f"{tier.customers_start:,} customers x {tier.tickets_per_customer_month:g} tickets "
                          "a month is more tickets than the engine simulates",
                          f"at most {MAX_TICKETS_PER_MONTH:,} tickets a month per tier"))
    for i, segment in enumerate(s.segments):
        if segment.support_tier not in tiers:
            out.append(at(("segments", i, "support_tier"), *_unknown("support tier", segment.support_tier, tiers)))
    return out


def check_plan_references(s: Scenario, at: At) -> list[Problem]:
    if s.plan is None:
        return []
    roles = [r.name for r in s.roles]
    out = []
    if not roles:
        out.append(at(("plan",), "a plan needs roles to hire", "a `roles` section"))
    months = set(_horizon_months(s))
    for i, hire in enumerate(s.plan.fixed_hires or []):
        if hire.role not in roles:
            out.append(at(("plan", "fixed_hires", i, "role"), *_unknown("role", hire.role, roles)))
        if months and hire.month not in months:
            out.append(at(("plan", "fixed_hires", i, "month"), f"month {hire.month} is outside the horizon",
                          f"a month from {min(months)} to {max(months)}"))
    for i, ratio in enumerate(s.plan.ratios):
        for path, name in [(("role",), ratio.role)] + [(("over", j), n) for j, n in enumerate(ratio.over)]:
            if name not in roles:
                out.append(at(("plan", "ratios", i, *path), *_unknown("role", name, roles)))
    weights = s.plan.case_weights
    if abs(weights.low + weights.base + weights.high - 1.0) > 1e-6:
        out.append(at(("plan", "case_weights"), "weights do not sum to 1", "low + base + high = 1"))
    return out


def _horizon_months(s: Scenario) -> list[str]:
    if s.horizon is None:
        return []
    from engine.calendar import month_range

    return month_range(s.horizon.start, s.horizon.months)


def check_stage_prerequisites(s: Scenario, at: At) -> list[Problem]:
    out = []
    needs_horizon = [k for k in ("demand", "data", "plan", "support", "simulation") if getattr(s, k) is not None]
    if needs_horizon and s.horizon is None:
        out.append(at((needs_horizon[0],), f"section '{needs_horizon[0]}' needs a planning horizon",
                      "a `horizon` section with start (YYYY-MM) and months"))
    if s.simulation is not None:
        if s.funnel is None:
            out.append(at(("simulation",), "the simulation needs a funnel", "a `funnel` section"))
        if s.demand is None and s.data is None:
            out.append(at(("simulation",), "the simulation needs demand", "a `demand` or `data` section"))
    if s.funnel is not None and not s.segments:
        out.append(at(("funnel",), "the funnel needs segments", "a `segments` list"))
    if s.demand is not None and (not s.segments or not s.regions):
        out.append(at(("demand",), "demand needs segments and regions", "`segments` and `regions` lists"))
    return out


def check_data_files(loaded: LoadedScenario, at: At) -> list[Problem]:
    s = loaded.scenario
    out = []
    files: list[tuple[PathKey, str | None]] = []
    if s.territory is not None:
        files += [(("territory", "units"), s.territory.units),
                  (("territory", "distances"), s.territory.distances),
                  (("territory", "boundaries"), s.territory.boundaries)]
    if s.data is not None:
        files += [(("data", "crm_dir"), s.data.crm_dir), (("data", "mapping"), s.data.mapping)]
    for path, value in files:
        if value is None:
            continue
        target = loaded.resolve_path(value)
        if not target.exists():
            out.append(at(path, f"file not found: {value}", "a path relative to the scenario file"))
        elif path[-1] == "crm_dir" and not target.is_dir():
            out.append(at(path, f"{value} is not a folder", "the folder of the CRM export"))
        elif path[-1] != "crm_dir":
            try:
                require_regular_file(target, "")
            except InputError as exc:
                out.append(at(path, exc.problems[0].message, "a regular file"))
    return out


def check_simulation(s: Scenario, at: At) -> list[Problem]:
    if s.simulation is None:
        return []
    out = []
    cal = s.simulation.calendar
    if cal.kind == "business":
        if cal.day_end_hour <= cal.day_start_hour:
            out.append(at(("simulation", "calendar", "day_end_hour"),
                          f"the working day ends ({cal.day_end_hour}) before it starts ({cal.day_start_hour})",
                          "day_end_hour > day_start_hour"))
        if not cal.weekdays:
            out.append(at(("simulation", "calendar", "weekdays"), "no working weekday", "at least one of 0-6"))
        for i, day in enumerate(cal.weekdays):
            if not 0 <= day <= 6:
                out.append(at(("simulation", "calendar", "weekdays", i), f"weekday {day} does not exist",
                              "0 (Monday) to 6 (Sunday)"))
    for index, dup in _repeats(src.name for src in s.simulation.sources):
        out.append(at(("simulation", "sources", index, "name"), f"duplicate source '{dup}'", "unique source names"))
    means = s.simulation.scoring.mean
    if isinstance(means, dict):
        segments = [g.name for g in s.segments]
        for key in means:
            if key not in segments:
                out.append(at(("simulation", "scoring", "mean", key), *_unknown("segment", key, segments)))
        missing = [g for g in segments if g not in means]
        if missing:
            out.append(at(("simulation", "scoring", "mean"), f"no value for segment(s) {', '.join(missing)}",
                          "one value per segment, or a single number"))
    return out


SCENARIO_CHECKS = (check_unique_names, check_demand_references, check_funnel_references,
                   check_role_references, check_support_references, check_plan_references,
                   check_stage_prerequisites, check_simulation, check_fixed_hires)


def check_scenario(loaded: LoadedScenario, origins: dict[PathKey, Origin]) -> list[Problem]:
    """All meaning problems of a validated scenario, in section order."""
    at = _at_factory(origins, str(loaded.path))
    problems: list[Problem] = []
    for check in SCENARIO_CHECKS:
        problems += check(loaded.scenario, at)
    problems += check_data_files(loaded, at)
    problems += check_shocks(loaded.scenario, at)
    return problems
