"""Turn a sweep file into its points: values, stable ids, seeds, and a validated scenario each.

Every point's scenario is validated before any point runs; a problem caused by a varied value is
reported at the line of its `vary` key in the sweep file (exit 2, as for scenarios).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats
from scipy.stats import qmc

from engine.batch.identity import content_key
from engine.batch.metrics import MetricRef, default_metrics, resolve
from engine.batch.spec import SweepFile, check_metrics, read_sweep
from engine.errors import InputError, Problem
from engine.scenario.load import LoadedScenario, apply_override, load_scenario
from engine.scenario.schema.sweep import (
    LognormalDist,
    NormalDist,
    Range,
    TriangularDist,
    UniformDist,
)

RESERVED_COLUMNS = ("point_id", "seed", "status", "error", "run_s")
"""Columns of the results store besides the varied paths and the metrics."""
_U_EPS = 1e-12


@dataclass(frozen=True)
class SweepPoint:
    """One variant: the varied values (path -> value), its stable id and its simulation seed."""

    point_id: str
    values: dict[str, Any]
    seed: int | None
    overrides: tuple[str, ...]
    """`--set` strings that make this point from the base scenario (incl. seed and replications)."""


@dataclass(frozen=True)
class SweepPlan:
    """A validated sweep: its file, the points in generation order, each point's resolved scenario."""

    sweep: SweepFile
    points: list[SweepPoint]
    resolved: dict[str, dict]
    """point id -> scenario data after extends and overrides (what the workers validate and run)."""
    keys: dict[str, str] = field(default_factory=dict)
    """point id -> content key: a hash of everything its results depend on (engine.batch.identity)."""
    metric_refs: tuple[MetricRef, ...] = ()
    """The metrics collected: the sweep's own (plus objectives), or the headline set."""

    @property
    def vary(self) -> list[str]:
        return list(self.sweep.spec.vary)

    @property
    def metrics(self) -> list[str]:
        return [ref.name for ref in self.metric_refs]

    @property
    def metric_columns(self) -> dict[str, str]:
        """Results column -> summary.json path: each metric, and `<metric>:p10` / `<metric>:p90`
        beside a simulated one (its band over replications)."""
        out = {}
        for ref in self.metric_refs:
            out[ref.name] = ref.path
            band = ref.band()
            if band is not None:
                out[f"{ref.name}:p10"], out[f"{ref.name}:p90"] = band
        return out


def point_id(values: dict[str, Any]) -> str:
    """12 hex digits of sha256 over the varied values (canonical JSON, keys sorted)."""
    text = json.dumps(values, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def point_seed(sweep_seed: int, pid: str) -> int:
    """Simulation seed of a point: a hash of the sweep seed and the point id, below 2**31."""
    digest = hashlib.sha256(f"{sweep_seed}/{pid}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % (2**31)


def yaml_value(value: Any) -> str:
    """`value` as the YAML text of a `--set` override; parsing it back gives `value` exactly."""
    text = yaml.safe_dump(value, default_flow_style=True, width=math.inf, allow_unicode=True)
    text = text.removesuffix("\n").removesuffix("\n...").strip()
    return text


def _from_unit(axis: Any, u: float) -> Any:
    """The value of `axis` at quantile `u` in (0, 1): a level of a list or range, or a draw."""
    u = min(max(u, _U_EPS), 1 - _U_EPS)
    if isinstance(axis, list | Range):
        levels = axis if isinstance(axis, list) else axis.levels()
        return levels[min(int(u * len(levels)), len(levels) - 1)]
    value = _ppf(axis, u)
    return int(round(value)) if axis.integer else value


def _ppf(axis: Any, u: float) -> float:
    p = axis.params
    if isinstance(axis, UniformDist):
        return float(p.low + u * (p.high - p.low))
    if isinstance(axis, NormalDist):
        return float(stats.norm.ppf(u, loc=p.mean, scale=p.sd))
    if isinstance(axis, LognormalDist):
        sigma2 = math.log1p(p.cv**2)
        return float(math.exp(math.log(p.mean) - sigma2 / 2 + math.sqrt(sigma2) * stats.norm.ppf(u)))
    if isinstance(axis, TriangularDist):
        width = p.high - p.low
        return float(stats.triang.ppf(u, c=(p.mode - p.low) / width, loc=p.low, scale=width))
    raise TypeError(f"unknown axis {axis!r}")


def generate_values(sweep: SweepFile) -> list[dict[str, Any]]:
    """The varied values of every point, in generation order (duplicates removed)."""
    spec = sweep.spec
    keys = list(spec.vary)
    if spec.method == "grid":
        axes = [a if isinstance(a, list) else a.levels() for a in spec.vary.values()]
        rows = [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*axes)]
    else:
        rng = np.random.default_rng(spec.seed)
        n = spec.samples or 0
        if spec.method == "lhs":
            unit = qmc.LatinHypercube(d=len(keys), rng=rng).random(n)
        else:
            unit = rng.random((n, len(keys)))
        rows = [{k: _from_unit(spec.vary[k], float(unit[i, j])) for j, k in enumerate(keys)}
                for i in range(n)]
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(point_id(row), row)
    return list(seen.values())


def _index_path(data: Any, dotted: str) -> str:
    """`roles.AE.cost` -> `roles.1.cost`: list steps given by name become indices."""
    out, node = [], data
    for part in [p for p in dotted.split(".") if p]:
        if isinstance(node, list):
            idx = next((i for i, item in enumerate(node) if isinstance(item, dict)
                        and str(item.get("name")) == part), None)
            if idx is None and part.lstrip("-").isdigit():
                idx = int(part) % max(len(node), 1)
            out.append(str(idx) if idx is not None else part)
            node = node[idx] if idx is not None and idx < len(node) else None
        else:
            out.append(part)
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(out)


def _related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def _blame(sweep: SweepFile, base_data: dict, values: dict[str, Any],
           problems: list[Problem]) -> list[Problem]:
    """Re-address a point's scenario problems to the `vary` keys whose values caused them."""
    fixed = {k: _index_path(base_data, k) for k in sweep.spec.set}
    indexed = {k: _index_path(base_data, k) for k in values}
    out = []
    for p in problems:
        culprits = [k for k, ix in indexed.items() if _related(p.path, ix) or _related(p.path, k)]
        setters = [k for k, ix in fixed.items() if _related(p.path, ix) or _related(p.path, k)]
        out += [Problem(str(sweep.path), sweep.line("set", k), f"set.{k}", f"gives {p.path}: {p.message}",
                        p.expected) for k in setters if not culprits]
        if not culprits and not setters:
            out.append(p)
            continue
        for key in culprits:
            line = _value_line(sweep, key, values[key])
            out.append(Problem(str(sweep.path), line, f"vary.{key}",
                               f"{VALUE_MARK}{values[key]!r} gives {p.path}: {p.message}", p.expected))
    return out


VALUE_MARK = "value "


def _merge_values(problems: list[Problem]) -> list[Problem]:
    """One line per distinct problem: the same failure at several values of one key is
    reported once, naming the first value and how many others fail the same way."""
    groups: dict[tuple, list[Problem]] = {}
    for p in problems:
        if p.message.startswith(VALUE_MARK) and " gives " in p.message:
            rest = p.message.split(" gives ", 1)[1]
            key = (p.file, p.path, rest, p.expected)
        else:
            key = (p.file, p.line, p.path, p.message, p.expected)
        groups.setdefault(key, []).append(p)
    out = []
    for members in groups.values():
        first = members[0]
        others = len({m.message for m in members}) - 1
        if others:
            first = Problem(first.file, first.line, first.path,
                            first.message.replace(" gives ", f" (and {others} other value"
                                                  f"{'s' if others > 1 else ''}) gives ", 1), first.expected)
        out.append(first)
    return out


def _value_line(sweep: SweepFile, key: str, value: Any) -> int | None:
    axis = sweep.spec.vary[key]
    if isinstance(axis, list) and value in axis:
        return sweep.line("vary", key, axis.index(value))
    return sweep.line("vary", key)


def _overrides(fixed: dict[str, Any], spec_values: dict[str, Any], sim_overrides: list[str]) -> tuple[str, ...]:
    return tuple([f"{k}={yaml_value(v)}" for k, v in {**fixed, **spec_values}.items()] + sim_overrides)


def _sim_overrides(sweep: SweepFile, base: LoadedScenario, seed: int | None) -> list[str]:
    if base.scenario.simulation is None:
        return []
    out = [] if seed is None else [f"simulation.seed={seed}"]
    if sweep.spec.replications is not None:
        out.append(f"simulation.replications={sweep.spec.replications}")
    return out


def _fast_validate(base: LoadedScenario, overrides: tuple[str, ...]) -> LoadedScenario | None:
    """Validate a point from the base data in memory; None when anything is wrong (then the
    slow path re-reads the file so that every problem gets its line)."""
    from pydantic import ValidationError

    from engine.scenario.checks import check_scenario
    from engine.scenario.load import parse_override
    from engine.scenario.model import Scenario

    data = copy.deepcopy(base.resolved)
    try:
        for text in overrides:
            apply_override(data, *parse_override(text))
        scenario = Scenario.model_validate(data)
    except (InputError, ValidationError):
        return None
    loaded = LoadedScenario(scenario, base.path, data, list(overrides))
    return None if check_scenario(loaded, {}) else loaded


def _check_roundtrip(sweep: SweepFile, values: dict[str, Any]) -> list[Problem]:
    out = []
    for key, value in values.items():
        if yaml.safe_load(yaml_value(value)) != value:
            out.append(Problem(str(sweep.path), _value_line(sweep, key, value), f"vary.{key}",
                               f"value {value!r} does not survive a YAML round trip",
                               "a number, string, boolean, list or mapping"))
    return out


def plan_sweep(sweep_file: str | Path) -> SweepPlan:
    """Read, check and expand a sweep file; every point's scenario is validated up front.

    Raises InputError (one Problem per line, deduplicated) before any point runs.
    """
    sweep = read_sweep(sweep_file)
    base = load_scenario(sweep.base)
    spec = sweep.spec
    problems = check_metrics(spec.metrics, sweep, base.scenario)
    problems += check_metrics(list(spec.objectives), sweep, base.scenario, key="objectives")
    problems += [sweep.problem(("metrics", i), f"{m!r} is also a varied path or a reserved column",
                               "distinct names")
                 for i, m in enumerate(spec.metrics) if m in spec.vary or m in RESERVED_COLUMNS]
    refs = _metric_refs(sweep, base)
    fixed = dict(spec.set)
    if spec.freeze_plan and not problems:
        fixed.update(frozen_hires(sweep, base))
    points, resolved, keys = [], {}, {}
    digests: dict[Path, str] = {}
    for values in generate_values(sweep):
        pid = point_id(values)
        seed = _point_seed(sweep, base, pid)
        overrides = _overrides(fixed, values, _sim_overrides(sweep, base, seed))
        bad = _check_roundtrip(sweep, values)
        loaded = None if bad else _fast_validate(base, overrides)
        if loaded is None and not bad:
            try:
                loaded = load_scenario(sweep.base, list(overrides))
            except InputError as exc:
                bad = _blame(sweep, base.resolved, values, exc.problems)
        problems += bad
        if loaded is not None:
            points.append(SweepPoint(pid, values, seed, overrides))
            resolved[pid] = loaded.resolved
            keys[pid] = content_key(loaded.resolved, [r.name for r in refs], sweep.base.parent, digests)
    unique = _merge_values(list(dict.fromkeys(problems)))
    if unique:
        raise InputError(unique)
    return SweepPlan(sweep, points, resolved, keys, refs)


def frozen_hires(sweep: SweepFile, base: LoadedScenario) -> dict[str, Any]:
    """`{"plan.fixed_hires": [...]}`: the hires of the base scenario's plan (with the sweep's
    `set`), solved once here; an empty dict when the scenario has no hiring plan. NoFeasiblePlan (exit 3)
    when the plan has no feasible solution."""
    from engine.batch.frozen import solve_plan

    if base.scenario.plan is None:
        return {}
    # only the hires are kept, and valuing the binding limits re-solves after they are found
    overrides = [f"{k}={yaml_value(v)}" for k, v in sweep.spec.set.items()] + ["plan.what_binds=false"]
    plan = solve_plan(load_scenario(sweep.base, overrides))
    plan.require_feasible(f"sweep {sweep.path}")
    hiring = plan.frame("hiring", "hiring")
    if hiring is None:
        return {}
    rows = hiring[hiring["hires"] > 0].sort_values(["month", "role"], kind="stable")
    # a role the plan does not hire into must hire nobody at a point either (not be re-optimised)
    return {"plan.fixed_hires": [{"month": str(m), "role": str(r), "hires": int(round(h))}
                                 for m, r, h in rows[["month", "role", "hires"]].itertuples(index=False)],
            "plan.other_roles": "no_hires"}


def _metric_refs(sweep: SweepFile, base: LoadedScenario) -> tuple[MetricRef, ...]:
    spec = sweep.spec
    names = list(spec.metrics) or default_metrics(base.scenario)
    names += [m for m in spec.objectives if m not in names]
    sim = base.scenario.simulation
    return tuple(resolve(m, sim.case if sim is not None else "base") for m in names)


def _point_seed(sweep: SweepFile, base: LoadedScenario, pid: str) -> int | None:
    if base.scenario.simulation is None:
        return None
    spec = sweep.spec
    return spec.seed if spec.common_random_numbers else point_seed(spec.seed, pid)
