"""summary.json `plan_totals`: the plan's funnel counts and rates over the horizon, per demand case.

The fluid plan (engine/reconcile/fluid.py) with the same names as the simulation's totals
(engine/simulation/rates.py), so plan and simulation compare name by name:

- `leads`: forecast leads; `contacted`: leads the plan has capacity to work (coverage x leads);
  `dropped`: the rest (leads the plan leaves unworked);
- `reached_<stage>`: contacted leads x the conversions of the stages before (no lag);
- `won`: wins the plan yields inside the horizon (dated by the funnel lag, as the headline's
  revenue); `win_rate` = won / leads; `drop_rate` = dropped / leads (shares);
- `conversion_<stage>`: the stage's conversion weighted by the leads of each segment that reach it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.reconcile.context import Context


def _reached(ctx: Context, outcome: pd.DataFrame) -> tuple[dict[str, float], float]:
    """Items entering each stage and wins without the horizon cut-off (no lag)."""
    worked = outcome.groupby("segment")["worked"].sum()
    flow = worked.to_numpy(dtype=float)
    reached: dict[str, float] = {}
    for stage in ctx.scenario.funnel.stages:
        reached[stage.name] = float(flow.sum())
        flow = flow * np.array([stage.conversion_for(str(s)) for s in worked.index])
    return reached, float(flow.sum())


def _share(num: float, den: float) -> float | None:
    return num / den if den > 0 else None


def case_totals(ctx: Context, outcome: pd.DataFrame) -> dict[str, float | None]:
    """The counts and rates of the module docstring for one case's fluid outcome."""
    leads, worked = float(outcome["leads"].sum()), float(outcome["worked"].sum())
    won = float(outcome["won"].sum())
    out: dict[str, float | None] = {"leads": leads, "contacted": worked, "won": won,
                                    "dropped": leads - worked}
    reached, won_unlagged = _reached(ctx, outcome)
    out.update({f"reached_{name}": value for name, value in reached.items()})
    out["win_rate"] = _share(won, leads)
    out["drop_rate"] = _share(leads - worked, leads)
    names = list(reached)
    nexts = [reached[n] for n in names[1:]] + [won_unlagged]
    out.update({f"conversion_{name}": _share(nxt, reached[name]) for name, nxt in zip(names, nexts, strict=True)})
    return out


def plan_totals(ctx: Context) -> dict[str, dict[str, float | None]]:
    """Per demand case the plan covers (all forecast cases without a hiring plan)."""
    if ctx.scenario.funnel is None:
        return {}
    out = {}
    for case in ctx.cases:
        outcome = ctx.outcomes(case)
        if outcome is None or (ctx.hiring_all is not None and ctx.hiring(case) is None):
            continue
        out[case] = case_totals(ctx, outcome)
    return out
