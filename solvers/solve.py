"""Shared solve helper: every planning model is solved through `solve()` and gets a `SolveResult`.

The solver layer never raises on a non-optimal outcome (infeasible, time limit, ...): it reports
status, objective, bound and gap, loads a solution when one exists, and the caller decides.
Uses Pyomo's `pyomo.contrib.solver` HiGHS interface (highspy), which supports
`raise_exception_on_nonoptimal_result=False` and `load_solutions=False` (Pyomo issues #2920, #3130).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import asdict, dataclass
from enum import StrEnum

import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.common.results import Results, SolutionStatus, TerminationCondition
from pyomo.contrib.solver.common.util import NoDualsError, NoReducedCostsError
from pyomo.contrib.solver.solvers.highs import Highs


class Status(StrEnum):
    """Outcome of a solve, as reported in manifest.json and summary.json."""

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"  # stopped (time limit, iteration limit) with an incumbent
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    NO_SOLUTION = "no_solution"  # stopped before any incumbent was found
    ERROR = "error"


@dataclass(frozen=True)
class SolveResult:
    """What a solve produced. Times in seconds; `gap` is relative, |obj - bound| / max(|obj|, 1e-9)."""

    status: Status
    termination: str
    objective: float | None
    bound: float | None
    gap: float | None
    build_s: float
    solve_s: float
    solver: str = "highs"

    @property
    def has_solution(self) -> bool:
        return self.status in (Status.OPTIMAL, Status.FEASIBLE)

    def as_dict(self) -> dict:
        out = asdict(self)
        out["status"] = str(self.status)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in out.items()}


_SCOPED_OPTIONS: ContextVar[dict | None] = ContextVar("scoped_highs_options", default=None)


@contextlib.contextmanager
def solver_defaults(**options: object) -> Iterator[None]:
    """HiGHS options applied to every `solve` inside the block, below each call's own `options`.

    A planning stage that makes many solves (territory design: start plan, reduced and full
    models, column generation) sets e.g. `mip_max_nodes` once for all of them this way; options
    of `None` are left out. Nested blocks add to (and override) the outer block's options.
    """
    merged = {**(_SCOPED_OPTIONS.get() or {}), **{k: v for k, v in options.items() if v is not None}}
    token = _SCOPED_OPTIONS.set(merged)
    try:
        yield
    finally:
        _SCOPED_OPTIONS.reset(token)


_TIME_LIMIT_STOPS: ContextVar[list[str] | None] = ContextVar("time_limit_stops", default=None)


@contextlib.contextmanager
def time_limit_stops() -> Iterator[list[str]]:
    """A list that gets the termination of every `solve` inside the block that stopped on its
    time limit (wherever the machine's speed took it; a gap or node limit stops at the same
    point everywhere). A stage whose limits are meant as backstops reports a non-empty list."""
    stops: list[str] = []
    token = _TIME_LIMIT_STOPS.set(stops)
    try:
        yield stops
    finally:
        _TIME_LIMIT_STOPS.reset(token)


def note_time_limit_stop(what: str) -> None:
    """Record in the enclosing `time_limit_stops` block (if any) that `what`, a loop of solves
    or a bound rather than one HiGHS solve, stopped on the clock."""
    stops = _TIME_LIMIT_STOPS.get()
    if stops is not None:
        stops.append(what)


class _WarmStartHighs(Highs):
    """Pyomo's HiGHS interface, handing the model's current variable values to HiGHS as a starting
    solution (`Highs.setSolution`, sparse form) just before it runs. The Pyomo interface has no
    warm-start option; HiGHS checks the start itself and ignores it when infeasible, so a start can
    only give the branch and bound an incumbent, never replace the solve."""

    def _solve(self):  # noqa: ANN202 - Pyomo's Results
        cols, values = [], []
        # private maps of Pyomo 6.10's HiGHS interface (var id -> column, var id -> (var, ...));
        # without them (another Pyomo) the solve simply runs without a start
        columns = getattr(self, "_pyomo_var_to_solver_var_map", {})
        known = getattr(self, "_vars", {})
        for var_id, column in columns.items():
            value = known[var_id][0].value
            if value is not None:
                cols.append(column)
                values.append(value)
        if cols:
            self._solver_model.setSolution(len(cols), np.asarray(cols, dtype=np.int32),
                                           np.asarray(values, dtype=np.float64))
        return super()._solve()


def _import_suffixes(model: pyo.ConcreteModel) -> None:
    """Give `model` the import suffixes `dual` and `rc` (kept if present) and empty them."""
    for name in ("dual", "rc"):
        suffix = getattr(model, name, None)
        if suffix is None:
            model.add_component(name, pyo.Suffix(direction=pyo.Suffix.IMPORT))
        else:
            suffix.clear()


def _status(term: TerminationCondition, sol: SolutionStatus) -> Status:
    has_incumbent = sol in (SolutionStatus.optimal, SolutionStatus.feasible)
    if term == TerminationCondition.convergenceCriteriaSatisfied:
        return Status.OPTIMAL
    if term in (TerminationCondition.provenInfeasible, TerminationCondition.locallyInfeasible):
        return Status.INFEASIBLE
    if term == TerminationCondition.unbounded:
        return Status.UNBOUNDED
    if term == TerminationCondition.infeasibleOrUnbounded:
        return Status.INFEASIBLE
    if has_incumbent:
        return Status.FEASIBLE
    if term == TerminationCondition.error:
        return Status.ERROR
    return Status.NO_SOLUTION


def relative_gap(objective: float | None, bound: float | None) -> float | None:
    """Relative MIP gap |objective - bound| / max(|objective|, 1e-9); None when either is unknown."""
    if objective is None or bound is None or not (math.isfinite(objective) and math.isfinite(bound)):
        return None
    return abs(objective - bound) / max(abs(objective), 1e-9)


def solve(
    model: pyo.ConcreteModel,
    *,
    build_s: float = 0.0,
    time_limit_s: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = 1,
    options: dict | None = None,
    warm_start: bool = False,
    duals: bool = False,
) -> SolveResult:
    """Solve `model` with HiGHS and load the solution into it when there is one.

    `time_limit_s` (seconds) is honoured by HiGHS; `mip_gap` is the relative gap at which HiGHS may
    stop. `threads` defaults to 1 so that results are reproducible and parallel sweeps do not
    oversubscribe cores. `warm_start=True` offers the variables' current values (e.g. a heuristic
    plan, or a related model's solution) to HiGHS as a starting incumbent; the default leaves the
    solve exactly as before. `duals=True` (linear programs) also loads the row duals into the
    model's import Suffix `dual` and the reduced costs into `rc` (created when absent) after an
    optimal solve, in HiGHS's sign convention (reduced cost = c - A^T dual); the suffixes are
    left empty when the solve was not optimal or HiGHS has no valid duals (a MIP). Options set by
    an enclosing `solver_defaults` block apply too. Never raises on a non-optimal outcome.
    """
    if duals:
        _import_suffixes(model)
    solver = _WarmStartHighs() if warm_start else Highs()
    solver_options = {"random_seed": 0, "output_flag": False,
                      **(_SCOPED_OPTIONS.get() or {}), **(options or {})}
    start = time.perf_counter()
    try:
        results = solver.solve(
            model,
            load_solutions=False,
            raise_exception_on_nonoptimal_result=False,
            time_limit=time_limit_s,
            rel_gap=mip_gap,
            threads=threads,
            solver_options=solver_options,
        )
    except Exception as exc:  # noqa: BLE001 - a solver crash is reported, not propagated
        return SolveResult(Status.ERROR, f"error: {exc}", None, None, None, build_s,
                           time.perf_counter() - start)
    return _outcome(results, build_s, time.perf_counter() - start, duals)


def _outcome(results: Results, build_s: float, solve_s: float, duals: bool) -> SolveResult:
    """The `SolveResult` of HiGHS's `results`, with the solution (and with `duals`, after an
    optimal solve, the duals and reduced costs) loaded into the model when there is one."""
    status = _status(results.termination_condition, results.solution_status)
    if results.termination_condition == TerminationCondition.maxTimeLimit:
        note_time_limit_stop(results.termination_condition.name)
    objective = results.incumbent_objective if status in (Status.OPTIMAL, Status.FEASIBLE) else None
    bound = results.objective_bound
    if bound is not None and not math.isfinite(bound):
        bound = None
    if status in (Status.OPTIMAL, Status.FEASIBLE):
        results.solution_loader.load_vars()
    if duals and status == Status.OPTIMAL:
        with contextlib.suppress(NoDualsError, NoReducedCostsError):  # e.g. a MIP: suffixes stay empty
            results.solution_loader.load_import_suffixes()
    return SolveResult(
        status=status,
        termination=str(results.termination_condition.name),
        objective=objective,
        bound=bound,
        gap=relative_gap(objective, bound),
        build_s=build_s,
        solve_s=solve_s,
    )
