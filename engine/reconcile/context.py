"""What reconciliation reads from the stage outputs, gathered once, every piece optional.

Stages may be absent (a territory-only scenario has no forecast, a plan-only scenario has no
simulation), and a stage may not carry every frame; each field is None when it is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from engine.calendar import month_range
from engine.reconcile import fluid
from engine.reconcile import quantiles as simstats
from engine.scenario.load import LoadedScenario
from engine.scenario.model import Scenario
from engine.stage import StageOutput


def _frame(stage: StageOutput | None, key: str, table: str | None = None) -> pd.DataFrame | None:
    if stage is None:
        return None
    value = getattr(stage.result, key, None)
    if isinstance(value, pd.DataFrame):
        return value
    if table is not None and isinstance(stage.tables.get(table), pd.DataFrame):
        return stage.tables[table]
    return None


def _for_case(frame: pd.DataFrame | None, case: str, own_case: str) -> pd.DataFrame | None:
    """Rows of `case` when the frame has a case column; a frame without one holds `own_case` only."""
    if frame is None:
        return None
    if "case" not in frame.columns:
        return frame if case == own_case else None
    rows = frame[frame["case"].astype(str) == case]
    return rows if not rows.empty else None


def _str_cols(frame: pd.DataFrame | None, cols: tuple[str, ...]) -> pd.DataFrame | None:
    if frame is None:
        return None
    frame = frame.copy()
    for col in cols:
        if col in frame.columns:
            frame[col] = frame[col].astype(str)
    return frame


@dataclass
class Context:
    """Inputs of reconciliation. Money in the scenario currency, hours, months `YYYY-MM`."""

    scenario: Scenario
    months: list[str]
    case: str
    """Demand case the simulation ran (and the table reconciles): low, base or high."""
    cases: list[str]
    forecast_all: pd.DataFrame | None
    """month, segment, region, case, leads (every case)."""
    rates: fluid.FunnelRates | None
    hiring_all: pd.DataFrame | None
    """month, role, hires, headcount, effective_capacity, cost, maybe case."""
    capacity_all: pd.DataFrame | None
    """month, role, capacity_hours, maybe case."""
    staffing_all: pd.DataFrame | None
    allocation: pd.DataFrame | None
    territories: pd.DataFrame | None
    sim_monthly: pd.DataFrame | None
    sim_leads: pd.DataFrame | None
    replications: np.ndarray
    stage_summaries: dict[str, dict]

    @cached_property
    def _sim_cube(self) -> tuple[np.ndarray, list[str]] | None:
        m = self.sim_monthly
        if m is None or m.empty or not self.months:
            return None
        return simstats.cube(m["replication"].to_numpy(), m["month"].to_numpy(dtype=object),
                             m["metric"].to_numpy(dtype=object), m["value"].to_numpy(dtype=float),
                             self.replications, self.months, flow=False)

    def sim_series(self, metric: str) -> np.ndarray | None:
        """Simulated monthly metric as a replication x month array (NaN where not recorded)."""
        packed = self._sim_cube
        if packed is None or metric not in packed[1]:
            return None
        return packed[0][:, :, packed[1].index(metric)]

    def sim_metrics(self) -> list[str]:
        return [] if self._sim_cube is None else list(self._sim_cube[1])

    def forecast(self, case: str | None = None) -> pd.DataFrame | None:
        return _for_case(self.forecast_all, case or self.case, self.case)

    def hiring(self, case: str | None = None) -> pd.DataFrame | None:
        return _for_case(self.hiring_all, case or self.case, self.case)

    def capacity(self, case: str | None = None) -> pd.DataFrame | None:
        return _for_case(self.capacity_all, case or self.case, self.case)

    def staffing(self, case: str | None = None) -> pd.DataFrame | None:
        return _for_case(self.staffing_all, case or self.case, self.case)

    def _cached(self, key: tuple[str, str], make: Callable[[], pd.DataFrame | None]
                ) -> pd.DataFrame | None:
        """Memo per (kind, case): reports ask for the same case's frames many times."""
        store = self.__dict__.setdefault("_memo", {})
        if key not in store:
            store[key] = make()
        return store[key]

    def required(self, case: str | None = None) -> pd.DataFrame | None:
        return self._cached(("required", case or self.case), lambda: self._required(case))

    def coverage(self, case: str | None = None) -> pd.DataFrame | None:
        return self._cached(("coverage", case or self.case), lambda: self._coverage(case))

    def outcomes(self, case: str | None = None) -> pd.DataFrame | None:
        """Fluid plan outcome by month x segment x region (see engine.reconcile.fluid.planned_outcomes)."""
        return self._cached(("outcomes", case or self.case), lambda: self._outcomes(case))

    def hours_shares(self, case: str | None = None) -> pd.DataFrame | None:
        """Per month and funnel role: min(1, capacity / hours needed) (see fluid.hours_shares)."""
        req, cap = self.required(case), self.capacity(case)
        if req is None or cap is None or self.rates is None:
            return None
        return fluid.hours_shares(req, cap, self.rates.roles)

    def _required(self, case: str | None = None) -> pd.DataFrame | None:
        """Hours each role needs per month for the case's forecast: month, role, hours.

        The supply stage's own `required_hours` when it has them (the MILP's numbers: stage timing,
        support hours from Erlang C); else the fluid funnel arithmetic of `engine.reconcile.fluid`.
        """
        plan = self.hiring(case)
        if plan is not None and "required_hours" in plan.columns:
            rows = plan[["month", "role", "required_hours"]].rename(columns={"required_hours": "hours"})
            need = rows.groupby("role")["hours"].transform("sum")
            return rows[need > 0].astype({"hours": float}).reset_index(drop=True)
        f = self.forecast(case)
        if f is None or self.rates is None:
            return None
        return fluid.required_hours(f, self.rates)

    def _coverage(self, case: str | None = None) -> pd.DataFrame | None:
        req, cap = self.required(case), self.capacity(case)
        if req is None or cap is None or self.rates is None:
            return None
        return fluid.coverage(req, cap, self.rates.roles)

    def _outcomes(self, case: str | None = None) -> pd.DataFrame | None:
        f = self.forecast(case)
        if f is None or self.rates is None:
            return None
        return fluid.outcomes_with_capacity(f, self.rates, self.required(case), self.capacity(case))


def _capacity_frame(scenario: Scenario, hiring: StageOutput | None) -> pd.DataFrame | None:
    """Capacity hours per month x role (and case): the hiring stage's own, else effective capacity x hours."""
    plan = _frame(hiring, "hiring_cases", "plan/hiring_cases.csv")
    if plan is not None and "capacity_hours" in plan.columns:
        keep = [c for c in ("month", "role", "case", "capacity_hours") if c in plan.columns]
        return _str_cols(plan[keep], ("month", "role", "case"))
    cap = _frame(hiring, "capacity_hours")
    if cap is not None:
        return _str_cols(cap, ("month", "role", "case"))
    if plan is None:
        plan = _frame(hiring, "hiring", "plan/hiring.csv")
    if plan is None or "effective_capacity" not in plan.columns:
        return None
    per_person = {r.name: r.capacity_hours_per_person() for r in scenario.roles}
    out = _str_cols(plan, ("month", "role", "case"))
    out["capacity_hours"] = out["effective_capacity"].astype(float) * out["role"].map(per_person)
    keep = [c for c in ("month", "role", "case", "capacity_hours") if c in out.columns]
    return out[keep]


def build_context(loaded: LoadedScenario, outputs: dict[str, StageOutput]) -> Context:
    """Gather what reconciliation needs from whichever stages ran."""
    s = loaded.scenario
    demand, hiring = outputs.get("demand"), outputs.get("hiring")
    sim = outputs.get("simulation")
    forecast = _str_cols(_frame(demand, "forecast", "demand/forecast.csv"),
                         ("month", "segment", "region", "case"))
    cases = sorted(forecast["case"].unique(), key=["low", "base", "high"].index) \
        if forecast is not None else []
    case = s.simulation.case if s.simulation is not None else "base"
    if cases and case not in cases:
        case = cases[0]
    months = month_range(s.horizon.start, s.horizon.months) if s.horizon else []
    hiring_all = _frame(hiring, "hiring_cases", "plan/hiring_cases.csv")
    if hiring_all is None:
        hiring_all = _frame(hiring, "hiring", "plan/hiring.csv")
    monthly = _str_cols(_frame(sim, "monthly", "sim/monthly.csv"), ("month", "metric"))
    leads = _frame(sim, "leads", "sim/leads.parquet")
    reps = np.unique(monthly["replication"].to_numpy()) if monthly is not None else \
        (np.unique(leads["replication"].to_numpy()) if leads is not None else np.array([], int))
    return Context(
        scenario=s, months=months, case=case, cases=cases, forecast_all=forecast,
        rates=fluid.funnel_rates(s),
        hiring_all=_str_cols(hiring_all, ("month", "role", "case")),
        capacity_all=_capacity_frame(s, hiring),
        staffing_all=_str_cols(_frame(hiring, "staffing", "plan/staffing.csv"),
                               ("month", "role", "case")),
        allocation=_str_cols(_frame(outputs.get("allocation"), "allocation", "plan/allocation.csv"),
                             ("month", "segment", "region", "team")),
        territories=_str_cols(_frame(outputs.get("territory"), "territories",
                                     "plan/territories.csv"),
                              ("unit_id", "territory", "center_unit_id")),
        sim_monthly=monthly, sim_leads=leads, replications=reps,
        stage_summaries={k: v.summary for k, v in outputs.items()},
    )
