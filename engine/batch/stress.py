"""Stress search: how far one scenario value can move before a metric breaks a limit.

    stress_search("scenarios/scaleup.yaml", vary="demand.scale", lo=1, hi=3,
                  until="simulation.win_rate.p50 < 0.02", replications=5)

The plan is frozen by default: solved once on the scenario as given (or read from a run folder),
then each probe re-forecasts demand and simulates that same plan. `replan=True` runs the whole
pipeline at each probe instead (the optimiser may hire its way out). Every probe simulates the
same replication seeds (common random numbers), so two probes differ by the varied value more
than by sampling noise.

At a probe the metric has one value per replication; the deciding figure is the quantile the
metric names (p50 unless it says p10 / p90; plan figures have one value). Its 95 % interval is a
percentile bootstrap over replications, so it never leaves the range of the replications' values
(a count stays >= 0, a share within [0, 1]). Bisection assumes one crossing between `lo` (ok) and
`hi` (broken). The breaking point is interpolated between the last ok and the first broken probe;
its interval runs from the highest probe whose whole interval is on the ok side to the lowest
probe whose whole interval is on the broken side (the values where the replications cannot tell).
"""

from __future__ import annotations

import math
import operator
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from engine.batch.frozen import FrozenPlan, forecast_outputs, plan_outputs, read_plan, solve_plan
from engine.batch.metrics import MetricRef, resolve, value_at
from engine.errors import InputError, Problem
from engine.scenario.load import LoadedScenario, load_scenario

if TYPE_CHECKING:
    from engine.stage import StageOutput

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
_UNTIL = re.compile(r"^\s*(?P<metric>[A-Za-z_][\w:.\-]*)\s*(?P<op><=|>=|<|>)\s*(?P<value>\S+)\s*$")
BOOTSTRAP_DRAWS = 2000
LEVEL = 0.95


@dataclass(frozen=True)
class Until:
    """`METRIC OP VALUE`: the condition under which the scenario counts as broken."""

    metric: str
    op: str
    value: float
    ref: MetricRef | None = None

    def broken(self, x: float) -> bool:
        return OPS[self.op](x, self.value)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_until(text: str, scenario: object | None = None) -> Until:
    """Parse `METRIC OP VALUE` (OP one of < <= > >=, METRIC a catalogue name or a summary.json
    path); InputError naming `--until` otherwise."""
    from engine.batch.spec import check_metrics

    match = _UNTIL.match(text or "")
    if match is None:
        raise InputError.single("--until", text, "not a condition",
                                "METRIC OP VALUE, e.g. 'simulation.win_rate.p50 < 0.02'")
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
    case = getattr(getattr(scenario, "simulation", None), "case", None) or "base"
    return Until(match["metric"], match["op"], value, resolve(match["metric"], case))


@dataclass(frozen=True)
class Probe:
    """One evaluated value of the varied path. Metric figures in the metric's unit."""

    x: float
    value: float | None
    """The deciding figure: the metric's quantile over replications (or its single value)."""
    low: float | None
    high: float | None
    """95 % bootstrap interval of `value` over replications (equal to it with one value)."""
    p10: float | None
    p50: float | None
    p90: float | None
    """Quantiles of the metric's replication values."""
    values: tuple[float, ...]
    broken: bool
    sure: bool
    """The whole interval is on the side `broken` says."""
    hires: float | None
    """Total hires of the plan this probe simulated (people)."""
    headcount: dict[str, list[float]]
    """That plan's headcount by role and month (people)."""
    seconds: float


@dataclass(frozen=True)
class StressResult:
    scenario: str
    vary: str
    until: str
    limit: float
    label: str
    """The metric's label (catalogue), for sentences and charts."""
    lo: float
    hi: float
    frozen: bool
    plan_source: str
    status: str
    """`found` (a crossing in [lo, hi]), `broken_at_lo` or `not_broken` (no crossing)."""
    last_ok: float | None
    first_broken: float | None
    estimate: float | None
    """Breaking point: the limit's crossing interpolated between last_ok and first_broken."""
    interval: tuple[float | None, float | None]
    """Breaking-point interval (see the module docstring); None where no probe is sure."""
    tolerance: float
    replications: int
    seed: int
    probes: list[Probe] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return self.text()

    def sentence(self) -> str:
        """The answer in one sentence."""
        plan = "the plan frozen" if self.frozen else "the plan re-optimised at each probe"
        hires = self.probes[0].hires if self.probes else None
        if self.frozen and hires is not None:
            plan += f" ({hires:g} hires)"
        tail = f"with {plan}, {self.replications} replication{'s' if self.replications != 1 else ''} per probe"
        if self.status == "found":
            low, high = (f"{v:.4g}" if v is not None else "?" for v in self.interval)
            words = {"<": "falls below", "<=": "falls to", ">": "rises above", ">=": "rises to"}
            op = self.until.rsplit(" ", 2)[1]
            return (f"{self.vary} can reach about {self.estimate:.4g} (interval {low} to {high}) before "
                    f"{self.label} {words[op]} {self.limit:g}; {tail}.")
        if self.status == "broken_at_lo":
            return f"Already broken at {self.vary} = {self.lo:g} ({self.until}); {tail}."
        return f"Not broken up to {self.vary} = {self.hi:g} ({self.until}); {tail}."

    def table_rows(self) -> list[list[str]]:
        """One row per probe, in increasing order of the varied value."""
        rows = []
        for p in sorted(self.probes, key=lambda p: p.x):
            rows.append([f"{p.x:.6g}", "broken" if p.broken else "ok", "yes" if p.sure else "no",
                         *(_num(v) for v in (p.value, p.low, p.high, p.p10, p.p50, p.p90)),
                         _num(p.hires)])
        return rows

    def text(self) -> str:
        """The sentence and the probe table, for the terminal."""
        header = ["value", "status", "sure", "metric", "95% low", "95% high", "p10", "p50", "p90", "hires"]
        rows = [header, *self.table_rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(cell.rjust(w) for cell, w in zip(r, widths, strict=True)) for r in rows]
        return "\n".join([self.sentence(), *lines])


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def bootstrap_interval(values: np.ndarray, q: float, seed: int, level: float = LEVEL,
                       draws: int = BOOTSTRAP_DRAWS) -> tuple[float, float]:
    """Percentile-bootstrap interval of the q-th percentile (0-100) of `values`: resample the
    replications with replacement. Every resampled percentile lies within [min, max] of `values`,
    so the interval never leaves the metric's range."""
    if len(values) == 1:
        return float(values[0]), float(values[0])
    rng = np.random.default_rng(seed)
    picks = values[rng.integers(0, len(values), size=(draws, len(values)))]
    stats = np.percentile(picks, q, axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(stats, [tail, 100 - tail])
    return float(low), float(high)


def summarise_probe(x: float, values: np.ndarray, until: Until, seed: int, plan: FrozenPlan | None,
                    seconds: float = 0.0) -> Probe:
    """Deciding figure, interval, quantiles and decision of one probe's replication values."""
    values = values[np.isfinite(values)]
    hires, heads = (plan.hires(), plan.headcount()) if plan is not None else (None, {})
    if values.size == 0:
        return Probe(x, None, None, None, None, None, None, (), False, False, hires, heads, seconds)
    q = {"p10": 10, "p90": 90}.get((until.ref.quantile if until.ref else None) or "p50", 50)
    value = float(np.percentile(values, q))
    low, high = bootstrap_interval(values, q, seed)
    p10, p50, p90 = (float(v) for v in np.percentile(values, [10, 50, 90]))
    broken = until.broken(value)
    sure = all(until.broken(v) == broken for v in (low, high))
    return Probe(x, value, low, high, p10, p50, p90, tuple(float(v) for v in values), broken, sure,
                 hires, heads, seconds)


class _Evaluator:
    """Runs one probe: the scenario at `vary = x`, its forecast, the plan, the simulation."""

    def __init__(self, source: Path, base_overrides: list[str], vary: str, until: Until, plan: FrozenPlan | None,
                 replications: int, seed: int, workers: int):
        self.source, self.base_overrides, self.vary, self.until = source, base_overrides, vary, until
        self.plan, self.replications, self.seed, self.workers = plan, replications, seed, workers

    def _loaded(self, x: float) -> LoadedScenario:
        from engine.batch.points import yaml_value

        overrides = [*self.base_overrides, f"{self.vary}={yaml_value(x)}",
                     f"simulation.seed={self.seed}", f"simulation.replications={self.replications}"]
        return load_scenario(self.source, overrides)

    def _outputs(self, loaded: LoadedScenario) -> tuple[LoadedScenario, dict[str, StageOutput], FrozenPlan]:
        from engine.simulation.stage import simulate

        loaded, outputs = forecast_outputs(loaded)
        forecast = outputs["demand"].result.forecast if "demand" in outputs else None
        plan = self.plan or FrozenPlan(plan_outputs(loaded, forecast), "re-optimised")
        outputs.update(plan.outputs)
        if forecast is not None:
            outputs["simulation"] = simulate(
                loaded, forecast, plan.frame("hiring", "hiring"), plan.frame("hiring", "staffing"),
                plan.frame("allocation", "allocation"), plan.frame("territory", "territories"),
                replications=self.replications, seed=self.seed, workers=self.workers,
                staffing_hourly=plan.frame("hiring", "staffing_hourly"))
        return loaded, outputs, plan

    def __call__(self, x: float) -> Probe:
        start = time.perf_counter()
        loaded, outputs, plan = self._outputs(self._loaded(x))
        values = self._values(loaded, outputs)
        return summarise_probe(x, values, self.until, self.seed, plan, time.perf_counter() - start)

    def _values(self, loaded: LoadedScenario, outputs: dict[str, StageOutput]) -> np.ndarray:
        from engine.simulation.rates import per_replication

        ref = self.until.ref or resolve(self.until.metric)
        sim = outputs.get("simulation")
        if ref.total is not None and sim is not None:
            series = per_replication(sim.result.monthly, ref.total)
            if series is not None:
                return series.to_numpy(dtype=float)
        value = value_at(_summary(loaded, outputs), ref.path)
        if value is None or isinstance(value, bool) or not isinstance(value, int | float):
            raise InputError.single("--until", self.until.metric,
                                    f"{ref.path} is absent from summary.json or not a number",
                                    "a metric `salesops metrics` lists, for a stage the scenario runs")
        return np.array([float(value)])


def _summary(loaded: LoadedScenario, outputs: dict[str, StageOutput]) -> dict:
    """summary.json data of a probe (reconciliation included), as `salesops run` writes it."""
    from engine.reconcile.stage import reconcile
    from engine.run import RunResult, summary_of
    from engine.runfolder.write import jsonable

    outputs = {**outputs, "reconciliation": reconcile(loaded, outputs)}
    return jsonable(summary_of(RunResult(loaded, outputs)))


def _check(source: Path, vary: str, lo: float, hi: float, replications: int | None,
           overrides: list[str]) -> LoadedScenario:
    from engine.batch.points import yaml_value

    problems: list[Problem] = []
    if replications is not None and replications < 1:
        problems.append(Problem("--replications", None, "replications", f"{replications} runs", "at least 1"))
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo == hi:
        problems.append(Problem("--from/--to", None, vary, f"interval [{lo}, {hi}]", "two different finite numbers"))
    base = load_scenario(source, overrides)
    if base.scenario.simulation is None:
        problems.append(Problem(str(source), None, "simulation", "the scenario has no simulation section",
                                "a `simulation` section: the stress search runs simulated replications"))
    for x in (lo, hi):
        try:
            load_scenario(source, [*overrides, f"{vary}={yaml_value(x)}"])
        except InputError as exc:
            problems += [Problem("--vary", None, vary, f"value {x:g} gives {p.path}: {p.message}", p.expected)
                         for p in exc.problems]
    if problems:
        raise InputError(list(dict.fromkeys(problems)))
    return base


def stress_search(scenario: str | Path, vary: str, lo: float, hi: float, until: str,
                  replications: int | None = None, seed: int | None = None, tolerance: float | None = None,
                  workers: int = 1, max_probes: int = 40, replan: bool = False,
                  progress: Callable[[Probe], None] | None = None) -> StressResult:
    """Bisect `vary` between `lo` (expected ok) and `hi` (expected broken) for the first value
    where `until` holds. `scenario`: a scenario file or a run folder (its plan is frozen, its
    resolved scenario varied). `tolerance`: final bracket width in the unit of `vary` (default
    |hi - lo| / 16). `replications` / `seed` default to the scenario's simulation section;
    `workers` processes run the replications. Raises InputError (exit 2) on bad input and
    NoFeasiblePlan (exit 3) when the plan to freeze has no feasible solution."""
    path = Path(scenario)
    if path.is_dir():
        loaded, plan = read_plan(path)
        source = loaded.path
    else:
        source, plan = path, None
    base = _check(source, vary, lo, hi, replications, [])
    cond = parse_until(until, base.scenario)
    replications = replications if replications is not None else base.scenario.simulation.replications
    seed = seed if seed is not None else base.scenario.simulation.seed
    if not replan and plan is None:
        plan = solve_plan(base)
    if plan is not None:
        plan.require_feasible(f"stress {scenario}")
    tol = abs(hi - lo) / 16 if tolerance is None else abs(tolerance)
    evaluate = _Evaluator(source, [], vary, cond, None if replan else plan, replications, seed, workers)
    probes = _bisect(evaluate, lo, hi, tol, max_probes, progress)
    return _result(str(scenario), vary, cond, lo, hi, not replan, plan, tol, replications, seed, probes)


def _bisect(evaluate: Callable[[float], Probe], lo: float, hi: float, tol: float, max_probes: int,
            progress: Callable[[Probe], None] | None) -> list[Probe]:
    probes: list[Probe] = []

    def probe(x: float) -> Probe:
        p = evaluate(x)
        probes.append(p)
        if progress is not None:
            progress(p)
        return p

    ok, bad = probe(lo), probe(hi)
    if ok.broken or not bad.broken:
        return probes
    while abs(bad.x - ok.x) > tol and len(probes) < max_probes:
        mid = probe((ok.x + bad.x) / 2)
        ok, bad = (ok, mid) if mid.broken else (mid, bad)
    return probes


def breaking_interval(probes: list[Probe], last_ok: float, first_broken: float) -> tuple[float | None, float | None]:
    """From the highest surely-ok probe to the lowest surely-broken one, in the direction from
    `last_ok` to `first_broken` (either may lie above the other)."""
    sign = 1.0 if first_broken > last_ok else -1.0
    sure_ok = [p.x for p in probes if p.sure and not p.broken and sign * p.x <= sign * first_broken]
    sure_bad = [p.x for p in probes if p.sure and p.broken and sign * p.x >= sign * last_ok]
    low = max(sure_ok, key=lambda v: sign * v) if sure_ok else None
    high = min(sure_bad, key=lambda v: sign * v) if sure_bad else None
    return low, high


def _crossing(ok: Probe, bad: Probe, limit: float) -> float:
    if ok.value is None or bad.value is None or ok.value == bad.value:
        return (ok.x + bad.x) / 2
    t = min(max((limit - ok.value) / (bad.value - ok.value), 0.0), 1.0)
    return ok.x + t * (bad.x - ok.x)


def _result(scenario: str, vary: str, cond: Until, lo: float, hi: float, frozen: bool, plan: FrozenPlan | None,
            tol: float, replications: int, seed: int, probes: list[Probe]) -> StressResult:
    first, last = probes[0], probes[1]
    oks = [p for p in probes if not p.broken]
    bads = [p for p in probes if p.broken]
    label = cond.ref.label if cond.ref else cond.metric
    source = plan.source if frozen and plan is not None else "re-optimised at each probe"
    if frozen and plan is not None and not plan.outputs:
        source = "none to freeze: the scenario has no planning section (its starting headcount is simulated)"
    common = (scenario, vary, str(cond), cond.value, label, lo, hi, frozen, source)
    if first.broken:
        return StressResult(*common, "broken_at_lo", None, lo, None, (None, None), tol, replications, seed, probes)
    if not last.broken:
        return StressResult(*common, "not_broken", hi, None, None, (None, None), tol, replications, seed, probes)
    ok = min(oks, key=lambda p: abs(p.x - hi))
    bad = min(bads, key=lambda p: abs(p.x - lo))
    interval = breaking_interval(probes, ok.x, bad.x)
    return StressResult(*common, "found", ok.x, bad.x, _crossing(ok, bad, cond.value), interval, tol,
                        replications, seed, probes)
