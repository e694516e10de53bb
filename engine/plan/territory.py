"""Territory design and lead allocation stages: scenario section + data files -> solver -> result."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError, Problem
from engine.plan.territory_boundaries import Boundaries, component_problem, load_boundaries
from engine.plan.territory_files import Units, complete_distances, euclidean, load_pairs, load_units
from engine.safe_files import require_regular_file
from engine.scenario.schema.territory import LOCK_WORDS, TerritorySection
from engine.stage import StageOutput, TerritoryOut
from solvers.territory.design import (
    Balance,
    SolveOptions,
    TerritoryProblem,
    TerritoryResult,
    design_territories,
)

SECTION = "territory"


def _resolve(scenario_dir: Path, rel: str) -> Path:
    p = Path(rel)
    return p if p.is_absolute() else scenario_dir / p


def _data_file(scenario_dir: Path, rel: str, field: str, source: str) -> Path:
    """The path of a territory data file, refused unless it is a regular file (a FIFO would block)."""
    return require_regular_file(_resolve(scenario_dir, rel), f"{SECTION}.{field}", source=source,
                                expected="a CSV file")


def load_territory_problem(section: TerritorySection, scenario_dir: Path,
                           source: str = "scenario") -> TerritoryProblem:
    """Read the data files of `section` and turn them into a solver instance; `source` names
    the scenario file in problems about the section itself."""
    return load_territory_inputs(section, scenario_dir, source)[0]


def load_territory_inputs(section: TerritorySection, scenario_dir: Path,
                          source: str = "scenario") -> tuple[TerritoryProblem, tuple[str, ...]]:
    """The solver instance and the boundary file's notes (islands, multi-part units, links)."""
    geo = None
    if section.boundaries is not None:
        geo = load_boundaries(_data_file(scenario_dir, section.boundaries, "boundaries", source), section.boundary_id,
                              section.border_rule, section.link_islands)
    units = load_units(_data_file(scenario_dir, section.units, "units", source),
                       need_coords=section.distances is None and geo is None)
    ids = units.frame["id"]
    order = None
    if geo is not None:
        order = _shape_rows(geo, ids, units.file)
        units = replace(units, coords=np.column_stack([geo.x[order], geo.y[order]]))
    if section.distances is not None:
        dpath = _data_file(scenario_dir, section.distances, "distances", source)
        a, b, d = load_pairs(dpath, ids, with_distance=True)
        dist = complete_distances(len(ids), a, b, d, str(dpath))
    else:
        dist = euclidean(units.coords)
    adjacency = None
    if section.contiguity:
        adjacency, file = _adjacency(section, scenario_dir, ids, geo, order)
        found = component_problem(file, ids.to_numpy(dtype=object), adjacency, section.territories,
                                  f"{SECTION}.territories")
        if found is not None:
            raise InputError([found])
    return _problem(section, units, dist, adjacency, source), (() if geo is None else geo.notes)


def _shape_rows(geo: Boundaries, ids: pd.Series, units_file: str) -> np.ndarray:
    """Row of the boundary file holding each unit (every unit needs a shape)."""
    rows = pd.Index(geo.ids).get_indexer(ids.to_numpy(dtype=object))
    missing = ids.to_numpy(dtype=object)[rows < 0]
    if len(missing):
        raise InputError([Problem(units_file, int(r) + 2, "id", f"no shape for unit {u!r} in {geo.file}",
                                  "every unit id also in the boundary file's id column")
                          for r, u in zip(np.flatnonzero(rows < 0)[:20], missing[:20], strict=True)])
    return rows


def _adjacency(section: TerritorySection, scenario_dir: Path, ids: pd.Series, geo: Boundaries | None,
               order: np.ndarray | None) -> tuple[np.ndarray, str]:
    """Border graph as unit-position pairs, from the adjacency CSV or else the boundary file,
    and the file it came from."""
    if section.adjacency is not None:
        path = _data_file(scenario_dir, section.adjacency, "adjacency", "scenario")
        a, b, _ = load_pairs(path, ids, with_distance=False)
        return np.column_stack([a, b]), str(path)
    position = np.full(geo.n, -1)
    position[order] = np.arange(len(order))
    pairs = position[geo.edges]
    return pairs[(pairs >= 0).all(axis=1)], geo.file


def _problem(section: TerritorySection, units: Units, dist: np.ndarray,
             adjacency: np.ndarray | None, source: str) -> TerritoryProblem:
    f = units.frame
    ids = f["id"].to_numpy(dtype=object)
    index = pd.Index(ids)
    problems: list[Problem] = []
    here = source
    current_names = f["current_territory"].astype(str).to_numpy(dtype=object)
    labels: tuple[str, ...] = ()
    fixed = None
    if section.centres is not None:
        labels = tuple(section.centres)
        fixed = index.get_indexer(list(section.centres.values()))
        for name, pos in zip(labels, fixed, strict=True):
            if pos < 0:
                problems.append(Problem(here, None, f"{SECTION}.centres.{name}",
                                        f"unknown unit {section.centres[name]!r}", "an id from the units file"))
    elif (current_names != "").any():
        labels = tuple(sorted(set(current_names[current_names != ""])))
    current = None
    if labels and (current_names != "").any():
        current = np.array([labels.index(c) if c in labels else -1 for c in current_names], dtype=np.int64)
    pinned, avoid = _locks(section, f, labels, problems, source)
    measures = {c: f[c].to_numpy(float) for c in f.columns
                if c not in ("id", "workload", "potential", "current_territory", "lock")}
    balance = tuple(Balance(m, t) for m, t in section.balance_tolerances().items())
    for b in balance:
        if b.measure not in ("workload", "potential", "accounts") and b.measure not in measures:
            problems.append(Problem(here, None, f"{SECTION}.balance.{b.measure}", "unknown measure",
                                    "workload, potential, accounts or a numeric units column"))
    needs_current = section.max_disruption is not None or (pinned >= 0).any() or avoid.any()
    if needs_current and fixed is None:
        if current is None:
            problems.append(Problem(here, None, f"{SECTION}.max_disruption",
                                    "disruption and locks need current territories",
                                    "a current_territory column in the units file"))
        elif len(labels) != section.territories:
            problems.append(Problem(here, None, f"{SECTION}.territories",
                                    f"{section.territories} territories but {len(labels)} current ones",
                                    "as many territories as current territories when using "
                                    "disruption or locks (territories keep their names)"))
    pairs = {}
    for kind in ("together", "apart"):
        rows = getattr(section, kind)
        pos = index.get_indexer([u for pair in rows for u in pair]).reshape(-1, 2) if rows else \
            np.empty((0, 2), dtype=np.int64)
        for k in np.argwhere(pos < 0):
            problems.append(Problem(here, None, f"{SECTION}.{kind}.{k[0]}",
                                    f"unknown unit {rows[k[0]][k[1]]!r}", "an id from the units file"))
        pairs[kind] = pos
    if problems:
        raise InputError(problems)
    weight = {"workload": f["workload"], "potential": f["potential"],
              "unit": pd.Series(np.ones(len(f)))}[section.compactness_weight].to_numpy(float)
    return TerritoryProblem(
        unit_ids=ids, distance=dist, weight=weight, workload=f["workload"].to_numpy(float),
        potential=f["potential"].to_numpy(float), p=section.territories, measures=measures,
        capacity=section.capacity, balance=balance, labels=labels, current=current,
        fixed_centres=fixed, max_disruption=section.max_disruption,
        disruption_measure=section.disruption_measure, pinned=pinned, avoid_current=avoid,
        together=pairs["together"], apart=pairs["apart"], adjacency=adjacency)


def _locks(section: TerritorySection, f: pd.DataFrame, labels: tuple[str, ...],
           problems: list[Problem], source: str) -> tuple[np.ndarray, np.ndarray]:
    """Pinned territory index per unit (-1 free) and the "any but current" flags."""
    locks = f["lock"].astype(str).to_numpy(dtype=object).copy()
    rows = {u: r for r, u in enumerate(f["id"])}
    for unit, value in section.locks.items():
        if unit not in rows:
            problems.append(Problem(source, None, f"{SECTION}.locks.{unit}", "unknown unit",
                                    "an id from the units file"))
            continue
        locks[rows[unit]] = value
    pinned = np.full(len(f), -1, dtype=np.int64)
    avoid = np.zeros(len(f), dtype=bool)
    current = f["current_territory"].astype(str).to_numpy(dtype=object)
    for r, value in enumerate(locks):
        target = current[r] if value == "keep" else value
        if value in ("", "free"):
            continue
        if value == "move":
            avoid[r] = True
        elif target in labels:
            pinned[r] = labels.index(target)
        else:
            where = f"{SECTION}.locks.{f['id'].iloc[r]}"
            problems.append(Problem(source, None, where, f"lock {value!r} names no territory",
                                    f"one of {', '.join(LOCK_WORDS)} or a territory name"))
    return pinned, avoid


def run_territory(section: TerritorySection, scenario_dir: Path, source: str = "scenario") -> TerritoryResult:
    """Load the data of `section` (paths relative to `scenario_dir`), solve, return the result.
    `source` (the scenario file) is named in problems about the section's own fields."""
    problem, notes = load_territory_inputs(section, scenario_dir, source)
    options = SolveOptions(time_limit_s=section.time_limit_s, mip_gap=section.mip_gap,
                           alternatives=section.alternatives,
                           alternative_tolerance=section.alternatives_within,
                           max_candidates=section.max_candidates, max_nodes=section.max_nodes)
    result = design_territories(problem, options)
    if notes:
        result.summary["boundary_notes"] = list(notes)
    return result


def territory_stage(loaded) -> StageOutput:  # noqa: ANN001 - engine.scenario.load.LoadedScenario
    """Stage wrapper for the run orchestrator: plan/territories.csv and the summary object."""
    result = run_territory(loaded.scenario.territory, loaded.directory, str(loaded.path))
    tables = {}
    if result.solve.has_solution:
        tables["plan/territories.csv"] = result.assignments
        for k, alt in enumerate(result.alternatives, start=1):
            tables[f"plan/territories_alternative_{k}.csv"] = alt.assignments
    return StageOutput(name="territory", tables=tables, summary=result.summary,
                       solves={"territory": result.solve},
                       result=TerritoryOut(result.assignments if result.solve.has_solution else None, result))
