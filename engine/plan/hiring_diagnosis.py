"""Why the hiring model has no plan: plain sentences for the hiring summary's `diagnosis`.

Checks first (a fixed plan beyond a cap, before its lead time, outside the headcount bounds or
the budget; `plan.backfill: replace` on roles whose fixed hires do not replace their leavers);
when no check explains a proven infeasibility, the constraint families the model holds, softest
first, with the one to relax. A solve that stopped before finding any plan says which limit to
raise.
"""

from __future__ import annotations

import numpy as np

from engine.errors import Problem
from engine.scenario.fixed_hires import check_fixed_hires
from engine.scenario.model import Scenario
from engine.scenario.origins import PathKey
from solvers.hiring_model import HiringProblem

BACKFILL_SLACK = 1.0 - 1e-6
"""The model lets cumulative hires trail the lagged leavers by less than one person."""


def _sentence(path: PathKey, message: str, expected: str | None = None) -> Problem:
    return Problem("", None, ".".join(str(p) for p in path), message, expected)


def fixed_plan_sentences(s: Scenario) -> list[str]:
    """The fixed plan's problems (those `salesops validate` reports) as sentences."""
    return [f"{p.path}: {p.message}" + (f" ({p.expected})" if p.expected else "")
            for p in check_fixed_hires(s, _sentence)]


def _fixed_headcount(p: HiringProblem, k: int) -> np.ndarray:
    """Headcount per month of role k under its fixed hires (the model's balance rows)."""
    stay = 1.0 - p.attrition[k]
    out = np.zeros(len(p.months))
    people = float(p.headcount_start[k])
    for t, hires in enumerate(p.fixed_hires[k]):  # a stock recursion over months
        people = (people if t == 0 else stay[t] * people) + hires
        out[t] = people
    return out


def backfill_sentences(p: HiringProblem) -> list[str]:
    """Fixed roles whose hires fall a whole person behind the leavers `backfill: replace` must
    replace (each leaver of month t replaced by month t + lead time)."""
    if not p.backfill or p.fixed_hires is None:
        return []
    out = []
    for k in np.flatnonzero(~np.isnan(p.fixed_hires).any(axis=1)).tolist():
        hc = _fixed_headcount(p, k)
        lag = int(p.lead_time[k])
        due = np.zeros(len(p.months))  # leavers whose replacement must start in month t
        first = 1 + lag
        if first < len(p.months):
            due[first:] = p.attrition[k, 1 : len(p.months) - lag] * hc[: len(p.months) - first]
        behind = np.cumsum(due) - np.cumsum(p.fixed_hires[k])
        short = behind >= BACKFILL_SLACK
        if short.any():
            t = int(np.argmax(short))
            out.append(f"plan.backfill: replace asks {p.roles[k]} to replace every expected leaver "
                       f"{lag} month{'' if lag == 1 else 's'} after they leave, but its fixed hires are {behind[t]:.1f} people "
                       f"behind the leavers by {p.months[t]}: add {p.roles[k]} hires to the fixed plan "
                       "or set plan.backfill=optimise")
    return out


def _families(p: HiringProblem) -> list[tuple[str, str]]:
    """(hard constraint family present, how to relax it), softest first."""
    fams = []
    if p.backfill:
        fams.append(("backfill of every leaver", "set plan.backfill=optimise"))
    if p.fixed_hires is not None:
        fams.append(("fixed hires", "free some roles from plan.fixed_hires"))
    if (p.min_headcount > 0).any():
        fams.append(("minimum headcount", "lower roles.min_headcount"))
    if np.isfinite(p.max_headcount).any():
        fams.append(("maximum headcount", "raise roles.max_headcount"))
    fams.append(("hires per month", "raise roles.max_hires_per_month or shorten a hiring freeze"))
    fams.append(("hiring lead times and the headcount balance", "start the horizon later"))
    return fams


def family_sentences(p: HiringProblem) -> list[str]:
    """No check explains the infeasibility: the hard families present and the softest to relax."""
    fams = _families(p)
    soft = ["demand coverage", "budget" if p.budget_per_month is not None else "",
            "ratios" if p.ratios else "", "ops floors" if p.people_floors else ""]
    return [f"The solver proved the hiring model infeasible and no check found why. Hard constraint "
            f"families present, softest first: {', '.join(name for name, _ in fams)} (priced, so never "
            f"the cause: {', '.join(x for x in soft if x)}).",
            f"Relax the softest first: {fams[0][1]}."]


def diagnose_hiring(s: Scenario, p: HiringProblem, status: str) -> list[str]:
    """Sentences that explain a hiring solve without a plan (`status`: the solve's status)."""
    if status in ("no_solution", "error"):
        return [f"The solver stopped without any plan (status {status}) within plan.time_limit_s = "
                f"{p.time_limit_s:g} s and plan.max_nodes = {p.max_nodes}: raise them or loosen "
                f"plan.mip_gap = {p.mip_gap:g}."]
    found = fixed_plan_sentences(s) + backfill_sentences(p)
    return found or family_sentences(p)
