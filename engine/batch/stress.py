"""Stress search: the value of one scenario path at which a metric breaks a limit, by bisection.

    stress_search(scenario, vary="demand.baseline.0.leads_per_month", lo=100, hi=1000,
                  until="simulation.totals.sla_attainment.p50 < 0.8", replications=5, seed=1)

Each probe runs the whole pipeline `replications` times, one simulation replication per run with
seeds drawn from `seed` (the same seeds at every probe: common random numbers, so two probes
differ by the varied value, not by sampling noise). The metric's mean over the runs decides
whether the probe is broken; the search assumes one crossing between `lo` (ok) and `hi` (broken)
and halves the interval until it is narrower than `tolerance`. The result reports the interval
[last ok, first broken], each probe's mean and t-based 95 % interval, and how sure each side
decision was (one-sided t test of the mean against the limit).
"""

from __future__ import annotations

import contextlib
import math
import operator
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from engine.errors import InputError, Problem

if TYPE_CHECKING:
    from engine.scenario.model import Scenario

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_UNTIL = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w:.\-]*)\s*(?P<op><=|>=|<|>)\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Until:
    """`METRIC OP VALUE`: the condition under which the scenario counts as broken."""

    metric: str
    op: str
    value: float

    def broken(self, x: float) -> bool:
        return OPS[self.op](x, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_until(text: str, scenario: object | None = None) -> Until:
    """Parse `METRIC OP VALUE` (OP one of < <= > >=); InputError naming `--until` otherwise."""
    from engine.batch.spec import check_metrics

    match = _UNTIL.match(text or "")
    if match is None:
        raise InputError.single("--until", text, "not a condition",
                                "METRIC OP VALUE, e.g. 'simulation.totals.sla_attainment.p50 < 0.8'")
    try:
        value = float(match["value"])
    except ValueError:
        raise InputError.single("--until", text, f"{match['value']!r} is not a number",
                                "a number after the operator") from None
    if not math.isfinite(value):
        raise InputError.single("--until", text, "the limit is not finite", "a finite number")
    problems = check_metrics([match["metric"]], None, scenario, where="--until")
    if problems:
        raise InputError(problems)
    return Until(match["metric"], match["op"], value)


@dataclass(frozen=True)
class Probe:
    """One evaluated value of the varied path."""

    x: float
    mean: float
    """Mean of the metric over the runs (metric units)."""
    ci_low: float
    ci_high: float
    """t-based 95 % confidence interval of the mean (equal to the mean with one run)."""
    values: tuple[float, ...]
    broken: bool
    confidence: float
    """Probability-like certainty of the side decision: 1 - p of a one-sided t test of the
    mean against the limit (1.0 when all runs agree exactly, 0.5 for a coin toss)."""


@dataclass(frozen=True)
class StressResult:
    scenario: str
    vary: str
    until: str
    lo: float
    hi: float
    status: str
    """`found` (a crossing in [lo, hi]), `broken_at_lo` or `not_broken` (no crossing)."""
    last_ok: float | None
    first_broken: float | None
    confidence: float
    """Bonferroni lower bound that both bracketing decisions are right: 1 - sum of (1 - conf)."""
    tolerance: float
    replications: int
    seed: int
    probes: list[Probe] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text()

    def text(self) -> str:
        """A few lines for the terminal."""
        if self.status == "found":
            head = (f"breaking point of {self.vary} in [{self.last_ok:g}, {self.first_broken:g}]"
                    f" (confidence {self.confidence:.1%})")
        elif self.status == "broken_at_lo":
            head = f"already broken at {self.vary} = {self.lo:g}"
        else:
            head = f"not broken up to {self.vary} = {self.hi:g}"
        lines = [f"{head}; broken when {self.until}"]
        lines += [f"  {self.vary} = {p.x:<12.6g} {'broken' if p.broken else 'ok    '}  mean {p.mean:.4g}"
                  f"  95% CI [{p.ci_low:.4g}, {p.ci_high:.4g}]  sure {p.confidence:.1%}" for p in self.probes]
        return "\n".join(lines)


def replication_seeds(seed: int, replications: int) -> list[int]:
    """The simulation seed of each run: the same list at every probe (common random numbers)."""
    state = np.random.SeedSequence(seed).generate_state(replications, dtype=np.uint32)
    return [int(s) % (2**31) for s in state]


def summarise_probe(x: float, values: np.ndarray, until: Until) -> Probe:
    """Mean, 95 % t interval and decision confidence of one probe's metric values."""
    n, mean = len(values), float(np.mean(values))
    sd = float(np.std(values, ddof=1)) if n > 1 else 0.0
    se = sd / math.sqrt(n) if n > 1 else 0.0
    half = float(stats.t.ppf(0.975, n - 1)) * se if n > 1 and se > 0 else 0.0
    broken = until.broken(mean)
    if se > 0:
        confidence = float(stats.t.cdf(abs(mean - until.value) / se, n - 1))
    else:
        confidence = 1.0 if mean != until.value or until.op in ("<=", ">=") else 0.5
    return Probe(x, mean, mean - half, mean + half, tuple(float(v) for v in values), broken, confidence)


class _Evaluator:
    """Runs the pipeline at one value of the varied path, once per replication seed."""

    def __init__(self, scenario: Path, vary: str, until: Until, seeds: list[int], pool: Any = None,
                 workers: int = 1):
        self.scenario, self.vary, self.until = scenario, vary, until
        self.seeds, self.pool, self.workers = seeds, pool, workers

    def tasks(self, x: float) -> list:
        from engine.batch.points import yaml_value
        from engine.batch.worker import PointTask
        from engine.scenario.load import load_scenario

        out = []
        for i, seed in enumerate(self.seeds):
            overrides = (f"{self.vary}={yaml_value(x)}", f"simulation.seed={seed}", "simulation.replications=1")
            loaded = load_scenario(self.scenario, list(overrides))
            out.append(PointTask(f"{i:04d}", seed, {self.vary: x}, str(self.scenario.resolve()),
                                 loaded.resolved, overrides, (self.until.metric,)))
        return out

    def __call__(self, x: float) -> Probe:
        from engine.batch.backends import run_in_process, run_process_pool

        tasks = self.tasks(x)
        done = run_in_process(tasks) if self.pool is None else run_process_pool(tasks, self.workers, self.pool)
        rows = sorted(done, key=lambda r: r["point_id"])
        failed = [r for r in rows if r["status"] != "ok"]
        if failed:
            raise RuntimeError(f"the run at {self.vary} = {x:g} failed: {failed[0]['error']}")
        values = [r[self.until.metric] for r in rows]
        if any(v is None or not isinstance(v, int | float) for v in values):
            raise InputError.single("--until", self.until.metric, "not a number in summary.json",
                                    "a dotted path to a number, e.g. simulation.totals.sla_attainment.p50")
        return summarise_probe(x, np.asarray(values, dtype=float), self.until)


def _check_scenario(scenario: Path, vary: str, lo: float, hi: float, replications: int | None) -> Scenario:
    from engine.batch.points import yaml_value
    from engine.scenario.load import load_scenario

    problems: list[Problem] = []
    if replications is not None and replications < 1:
        problems.append(Problem("--replications", None, "replications", f"{replications} runs", "at least 1"))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        problems.append(Problem("--from/--to", None, vary, f"interval [{lo}, {hi}]", "two different finite numbers"))
    base = load_scenario(scenario)
    if base.scenario.simulation is None:
        problems.append(Problem(str(scenario), None, "simulation", "the scenario has no simulation section",
                                "a `simulation` section: the stress search runs simulated replications"))
    for x in (lo, hi):
        try:
            load_scenario(scenario, [f"{vary}={yaml_value(x)}"])
        except InputError as exc:
            problems += [Problem("--vary", None, vary, f"value {x:g} gives {p.path}: {p.message}", p.expected)
                         for p in exc.problems]
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return base.scenario


def stress_search(scenario: str | Path, vary: str, lo: float, hi: float, until: str,
                  replications: int | None = None, seed: int | None = None, tolerance: float | None = None,
                  workers: int = 1, max_probes: int = 40,
                  progress: Callable[[Probe], None] | None = None) -> StressResult:
    """Bisect `vary` between `lo` (expected ok) and `hi` (expected broken) for the first value
    where `until` holds. `tolerance` is the final interval width in the unit of `vary` (default
    |hi - lo| / 64). `replications` and `seed` default to the scenario's simulation section.
    Raises InputError (exit 2) on a bad path, interval or condition."""
    scenario = Path(scenario)
    base = _check_scenario(scenario, vary, lo, hi, replications)
    cond = parse_until(until, base)
    replications = replications if replications is not None else base.simulation.replications
    seed = seed if seed is not None else base.simulation.seed
    tol = abs(hi - lo) / 64 if tolerance is None else abs(tolerance)
    with contextlib.ExitStack() as stack:
        pool = None
        if workers > 1:
            from engine.batch.backends import process_pool

            pool = stack.enter_context(process_pool(workers))
        evaluate = _Evaluator(scenario, vary, cond, replication_seeds(seed, replications), pool, workers)
        return _bisect(evaluate, scenario, vary, cond, lo, hi, tol, replications, seed, max_probes, progress)


def _bisect(evaluate: Callable[[float], Probe], scenario: Path, vary: str, cond: Until, lo: float,
            hi: float, tol: float, replications: int, seed: int, max_probes: int,
            progress: Callable[[Probe], None] | None) -> StressResult:
    probes: list[Probe] = []

    def probe(x: float) -> Probe:
        p = evaluate(x)
        probes.append(p)
        if progress is not None:
            progress(p)
        return p

    first, last = probe(lo), probe(hi)
    status, ok, bad = "found", first, last
    if first.broken:
        status, ok, bad = "broken_at_lo", None, first
    elif not last.broken:
        status, ok, bad = "not_broken", last, None
    else:
        while abs(bad.x - ok.x) > tol and len(probes) < max_probes:
            mid = probe((ok.x + bad.x) / 2)
            ok, bad = (ok, mid) if mid.broken else (mid, bad)
    sure = [p.confidence for p in (ok, bad) if p is not None]
    confidence = max(0.0, 1.0 - sum(1.0 - c for c in sure))
    return StressResult(str(scenario), vary, str(cond), lo, hi, status,
                        ok.x if ok is not None else None, bad.x if bad is not None else None,
                        confidence, tol, replications, seed, probes)
