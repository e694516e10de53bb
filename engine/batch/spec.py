"""Read and check a SWEEP.yaml: schema, method, base file and metrics, each problem with its line."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from engine.errors import InputError, Problem
from engine.safe_files import MAX_YAML_BYTES, require_regular_file
from engine.scenario.origins import Origin, PathKey, origin_of, read_yaml
from engine.scenario.schema.sweep import SweepSpec

_TAGS = {"values", "range", "distribution", "uniform", "normal", "lognormal", "triangular"}
"""Union-branch labels pydantic puts into error locations under `vary.<path>`."""

SUMMARY_ROOTS = {
    "scenario": None, "currency": None, "headline": None, "reconciliation": None, "shocks": None,
    "data": ("data",), "demand": ("demand", "data"), "territory": ("territory",),
    "hiring": ("plan",), "allocation": ("allocation",), "simulation": ("simulation",),
    "plan_totals": ("demand", "data"), "staffing": ("plan",),
}
"""Top-level keys of summary.json and the scenario sections that switch each one on."""


@dataclass(frozen=True)
class SweepFile:
    """A schema-valid sweep with where it came from."""

    spec: SweepSpec
    path: Path
    base: Path
    origins: dict[PathKey, Origin]

    def line(self, *key: str | int) -> int | None:
        """Line of `key` in the sweep file (or of its nearest ancestor)."""
        return origin_of(self.origins, key, str(self.path))[1]

    def problem(self, key: tuple[str | int, ...], message: str, expected: str | None = None) -> Problem:
        """A Problem at `key` of the sweep file; `vary` keys keep their dotted name whole."""
        return Problem(str(self.path), self.line(*key), ".".join(str(k) for k in key), message, expected)


def _clean(loc: tuple) -> tuple:
    if len(loc) >= 2 and loc[0] == "vary":
        return tuple(p for i, p in enumerate(loc) if i < 2 or p not in _TAGS)
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))


def _problems(exc: ValidationError, path: Path, origins: dict[PathKey, Origin]) -> list[Problem]:
    out = []
    for err in exc.errors(include_url=False):
        loc = _clean(tuple(err["loc"]))
        given = err.get("input")
        got = "" if isinstance(given, dict | list) or err["type"] == "missing" else f" (got {given!r})"
        message = err["msg"].removeprefix("Value error, ")
        expected = None
        if err["type"] == "extra_forbidden":
            message, expected = f"unknown key '{loc[-1]}'", _fields_hint(loc)
        elif err["type"] == "missing":
            message, expected = "required field is missing", "a value"
        line = origin_of(origins, loc, str(path))[1]
        out.append(Problem(str(path), line, ".".join(str(p) for p in loc), message + got, expected))
    return out


def _fields_hint(loc: tuple) -> str:
    if len(loc) == 1:
        allowed = list(SweepSpec.model_fields)
        close = difflib.get_close_matches(str(loc[0]), allowed, n=1, cutoff=0.6)
        return f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(allowed)}"
    return "a list of values, a range {from, to, steps} or a distribution {dist, params}"


def read_sweep(path: str | Path) -> SweepFile:
    """Read SWEEP.yaml, validate its schema, method rules and base file; raises InputError with lines.

    Metrics are checked with the base scenario (`check_metrics`), by the sweep planner."""
    path = Path(path)
    doc = read_yaml(path)
    if not isinstance(doc.data, dict):
        raise InputError.single(str(path), "<root>", "the file is not a mapping",
                                "a YAML mapping with base, vary and metrics", line=1)
    try:
        spec = SweepSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise InputError(_problems(exc, path, doc.origins) + _raw_checks(doc.data, path, doc.origins)) from None
    base = Path(spec.base) if Path(spec.base).is_absolute() else path.parent / spec.base
    sweep = SweepFile(spec, path, base, doc.origins)
    problems = check_method(sweep) + check_base(sweep)
    if problems:
        names = check_metrics(spec.metrics, sweep) + check_metrics(list(spec.objectives), sweep, key="objectives")
        raise InputError(problems + names)
    return sweep


def _raw_checks(data: dict, path: Path, origins: dict[PathKey, Origin]) -> list[Problem]:
    """What can be checked of a sweep whose schema is invalid, so that every problem is reported
    at once: the base file exists, metric and objective names are known."""
    shell = SweepFile(SweepSpec.model_construct(), path, path, origins)
    out = []
    base = data.get("base")
    if isinstance(base, str):
        target = Path(base) if Path(base).is_absolute() else path.parent / base
        if not target.exists():
            out.append(shell.problem(("base",), f"base scenario not found: {base}",
                                     "a scenario file path relative to the sweep file"))
    metrics = data.get("metrics")
    if isinstance(metrics, list) and all(isinstance(m, str) for m in metrics):
        out += check_metrics(metrics, shell)
    objectives = data.get("objectives")
    if isinstance(objectives, dict) and all(isinstance(m, str) for m in objectives):
        out += check_metrics(list(objectives), shell, key="objectives")
    return out


def check_method(sweep: SweepFile) -> list[Problem]:
    """`samples` goes with random / lhs; a grid varies lists and ranges only."""
    spec, out = sweep.spec, []
    if spec.method == "grid":
        if spec.samples is not None:
            out.append(sweep.problem(("samples",), "`samples` is not used by method grid",
                                     "remove it, or use method random or lhs"))
        for key in spec.vary:
            if spec.axis_kind(key) == "distribution":
                out.append(sweep.problem(("vary", key), "a grid cannot vary over a distribution",
                                         "a list or a range, or method random / lhs"))
    elif spec.samples is None:
        out.append(sweep.problem(("method",), f"method {spec.method} needs `samples`",
                                 "samples: the number of points to draw"))
    return out


def check_base(sweep: SweepFile) -> list[Problem]:
    if not sweep.base.exists():
        return [sweep.problem(("base",), f"base scenario not found: {sweep.spec.base}",
                              "a scenario file path relative to the sweep file")]
    try:
        require_regular_file(sweep.base, "base", max_bytes=MAX_YAML_BYTES, source=str(sweep.path),
                             line=sweep.line("base"), expected="a scenario YAML file")
    except InputError as exc:
        return exc.problems
    return []


def check_metrics(metrics: list[str], sweep: SweepFile | None, scenario: Any = None,
                  where: str = "--until", key: str = "metrics") -> list[Problem]:
    """Each metric is a dotted path whose first key summary.json has (for the sections present)."""
    from engine.batch.metrics import resolve

    out = []
    for i, metric in enumerate(metrics):
        path = resolve(metric).path if isinstance(metric, str) else ""
        parts = [p for p in path.split(".") if p]
        root = parts[0] if parts else ""
        problem = _metric_problem(path, root, scenario)
        if problem is None:
            continue
        message, expected = problem
        if sweep is not None:
            at = ("metrics", i) if key == "metrics" else (key, metric)
            out.append(sweep.problem(at, f"{metric!r}: {message}", expected))
        else:
            out.append(Problem(where, None, metric, message, expected))
    return out


def _metric_problem(metric: str, root: str, scenario: Any) -> tuple[str, str] | None:
    if not root or metric.startswith(".") or metric.endswith(".") or ".." in metric:
        return "not a dotted path", "keys separated by dots, e.g. headline.base.operating_margin"
    if root not in SUMMARY_ROOTS:
        from engine.batch.metrics import CATALOGUE

        names = [m.name for m in CATALOGUE if "<" not in m.name]
        close = difflib.get_close_matches(root, [*names, *SUMMARY_ROOTS], n=1, cutoff=0.6)
        hint = (f"did you mean '{close[0]}'?" if close else
                "a name `salesops metrics` lists, or a dotted path into summary.json")
        return f"neither a metric name nor a key of summary.json: '{root}'", hint
    sections = SUMMARY_ROOTS[root]
    if scenario is not None and sections and all(getattr(scenario, s, None) is None for s in sections):
        return (f"the base scenario has no {' or '.join(sections)} section, so summary.json has "
                f"no '{root}'"), "a metric of a stage the scenario runs"
    return None
