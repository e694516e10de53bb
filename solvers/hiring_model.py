"""Hiring plan MILP: integer hires by role and start month, with ramp, attrition and demand cases.

Indices: cases s, roles r, months t. Hires h[s,r,t] (integer, people starting in month t, decided
in month t - L_r, at most cap[r,t]: 0 in a hiring freeze). Headcount is a fluid (continuous)
cohort model with monthly attrition m[r,t] (per role, or per role and month for a spike):

    hc[s,r,0] = hc0_r + h[s,r,0],   hc[s,r,t] = (1 - m[r,t]) hc[s,r,t-1] + h[s,r,t]   (balance)
    eff[s,r,t] = hc[s,r,t] - sum_j (1 - ramp_r[j]) K[r,j,t] h[s,r,t-j]              (ramp)

(the cohort that started j months ago keeps K[r,j,t] = prod_{i=t-j+1..t} (1 - m[r,i]) of its people
at ramp share ramp_r[j]; starting headcount is fully ramped; leavers in month t are
m[r,t] hc[s,r,t-1]). Demand in hours:

    cap_r eff[s,r,t] + u[s,r,t] >= req[s,r,t],   0 <= u <= req                      (coverage)

Uncovered hours u cost their lost expected margin (`value_per_hour`), so the model is never
infeasible on demand; for the funnel roles (`deal_roles`, margin mode) the deals are lost once a
month, lost[s,t] >= value[s,r,t] u[s,r,t] for each of them. Variable pay is rate x covered bookings plus (accelerator - 1) x rate x the
part above quota x eff (a convex piecewise-linear term: ex >= bookings - quota eff, ex >= 0).
Caps: hires per month, min/max headcount, budget per month (overrun allowed at a high penalty and
reported), ratios (role x max_per >= sum of `over`, shortfall at a penalty) and people floors
(the ops roles ARR calls for), with mixed-integer rounding cuts on the floors. Objective: maximise contribution margin, or minimise cost with
demand covered at a high penalty; over cases the expected value (weights) or the worst case.
Two-stage: hires decided before month `shared_months` are one variable shared by all cases.
The integer variables are cumulative hires (see `_add_cumulative`); monthly hires are their
differences. `solvers/hiring.py` solves the model and reads the plan back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from solvers.rows import add_rows, var_array
from solvers.solve import SolveResult

COST_MODE_PENALTY = 100.0
"""In `cost` mode an uncovered hour costs this many times the role's base cost per capacity hour."""
PEOPLE_PENALTY = 3.0
"""A missing person in a ratio or people floor costs this many times the role's monthly cost."""
BUDGET_PENALTY = 1000.0
"""Each currency unit over the monthly budget costs this much in the objective."""


@dataclass(frozen=True)
class RatioRule:
    """At most `max_per` people of roles `over` per person of role `role` (role indices)."""

    role: int
    over: tuple[int, ...]
    max_per: float


@dataclass(frozen=True)
class PeopleFloor:
    """At least `people[t]` people over roles `roles` in month t (e.g. the ops roles ARR calls for)."""

    roles: tuple[int, ...]
    people: np.ndarray
    label: str


@dataclass(frozen=True)
class HiringProblem:
    """Plain inputs of the hiring MILP. Arrays over roles have length R; S x R x T over cases,
    roles, months. Money in the scenario currency; hours per month; attrition per month."""

    roles: tuple[str, ...]
    months: tuple[str, ...]
    cases: tuple[str, ...]
    case_weights: np.ndarray
    lead_time: np.ndarray
    ramp: tuple[tuple[float, ...], ...]
    attrition_per_month: np.ndarray
    """Share of a role's people who leave in each month: R, or R x T (e.g. an attrition spike)."""
    cost_per_month: np.ndarray
    capacity_hours_per_person: np.ndarray
    headcount_start: np.ndarray
    max_hires_per_month: np.ndarray
    """People who may start per month: R, or R x T (e.g. 0 during a hiring freeze)."""
    min_headcount: np.ndarray
    max_headcount: np.ndarray
    commission_rate: np.ndarray
    quota_per_month: np.ndarray
    accelerator: np.ndarray
    required_hours: np.ndarray
    value_per_hour: np.ndarray
    bookings: np.ndarray
    gross_margin: np.ndarray
    """S x T expected gross margin (currency) if all demand is covered."""
    budget_per_month: np.ndarray | None = None
    ratios: tuple[RatioRule, ...] = ()
    people_floors: tuple[PeopleFloor, ...] = ()
    deal_roles: tuple[int, ...] = ()
    """Roles whose work every deal needs in turn (the funnel's). In `margin` mode their uncovered
    work loses the same deals once: lost[s,t] >= value[s,r,t] u[s,r,t] for each of them, i.e. the
    share of deals lost is the largest share short (exact for a serial funnel in steady state,
    where a stage short of work starves the later ones). Other roles' hours are priced one by one."""
    fixed_hires: np.ndarray | None = None
    """R x T hires by start month of a hand-made plan, NaN where the optimiser decides (a role the
    plan does not fix); None = optimise every role."""
    backfill: bool = False
    """True: every expected leaver is replaced, L_r months later (to within one person)."""
    objective: str = "margin"
    risk: str = "expected"
    shared_months: int = 3
    time_limit_s: float = 60.0
    mip_gap: float = 1e-3
    max_nodes: int | None = None
    """Branch-and-bound node limit per solve (HiGHS `mip_max_nodes`): unlike a time limit it stops
    at the same point on any machine, so a plan cut short is still reproducible."""

    def solver_options(self) -> dict | None:
        """Extra HiGHS options for this problem's solves."""
        return {"mip_max_nodes": int(self.max_nodes)} if self.max_nodes is not None else None

    @property
    def shape(self) -> tuple[int, int, int]:
        return len(self.cases), len(self.roles), len(self.months)

    @property
    def attrition(self) -> np.ndarray:
        """R x T monthly leaving share (a per-role input broadcast over months)."""
        return _by_role_month(self.attrition_per_month, len(self.roles), len(self.months))

    @property
    def hire_cap(self) -> np.ndarray:
        """R x T people who may start in each month (a per-role input broadcast over months)."""
        return _by_role_month(self.max_hires_per_month, len(self.roles), len(self.months))


def _by_role_month(values: np.ndarray, r: int, t: int) -> np.ndarray:
    a = np.asarray(values, float)
    return np.broadcast_to(a[:, None] if a.ndim == 1 else a, (r, t))


@dataclass(frozen=True)
class HiringResult:
    """Solved plan. `plan` has one row per case, role and month: hires (starting), decided_month,
    headcount, effective_capacity (ramped people), capacity_hours, required_hours,
    shortfall_hours, base_cost, variable_pay, cost (currency per month). `cases` holds per-case
    totals; `people_gaps` the ratio / floor shortfalls (people). `objective` is margin (maximised)
    or cost plus penalties (minimised)."""

    solve: SolveResult
    plan: pd.DataFrame
    cases: pd.DataFrame
    people_gaps: pd.DataFrame
    vss: float | None = None
    base_plan_objective: float | None = None
    extra_solves: dict[str, SolveResult] = field(default_factory=dict)
    vss_bounds: tuple[float, float] | None = None
    """(low, high): the range of the true VSS proven by the RP and EEV incumbents and bounds."""


def monthly_attrition(annual: np.ndarray | float) -> np.ndarray:
    """Monthly leaving share from an annual one: 1 - (1 - a)^(1/12)."""
    return 1.0 - (1.0 - np.asarray(annual, float)) ** (1.0 / 12.0)


def hire_ids(p: HiringProblem) -> tuple[np.ndarray, int]:
    s, r, t = p.shape
    decided = np.arange(t)[None, :] - p.lead_time[:, None]
    shared = decided < p.shared_months
    if s == 1:
        shared[:] = True
    if p.fixed_hires is not None:  # a fixed hire is the same in every case
        shared |= ~np.isnan(np.asarray(p.fixed_hires, float))
    ids = np.empty((s, r, t), dtype=np.int64)
    n_shared = int(shared.sum())
    ids[:, shared] = np.arange(n_shared)
    n_own = int((~shared).sum())
    ids[:, ~shared] = n_shared + np.arange(s * n_own).reshape(s, n_own)
    return ids, n_shared + s * n_own


def ramp_deficit(p: HiringProblem) -> np.ndarray:
    """R x J x T coefficient (1 - ramp[j]) prod_{i=t-j+1..t} (1 - m[i]) of the people of the cohort
    that started j months before month t who are missing from month t's capacity."""
    depth = max(len(r) for r in p.ramp)
    ramp = np.ones((len(p.roles), depth))
    for i, r in enumerate(p.ramp):
        ramp[i, : len(r)] = r
    stay = 1.0 - p.attrition
    keep = np.ones((len(p.roles), depth, len(p.months)))
    for j in range(1, depth):  # survival over the j months since the start, month t - j + 1 .. t
        keep[:, j, j:] = keep[:, j - 1, j:] * stay[:, 1 : stay.shape[1] - j + 1]
    return (1.0 - ramp)[:, :, None] * keep


class _Rows:
    """Triplets (row, column, coefficient) of one constraint block, gathered as numpy arrays."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.coefs: list[np.ndarray] = []

    def add(self, rows: np.ndarray, cols: np.ndarray, coefs: np.ndarray | float) -> None:
        rows = np.asarray(rows)
        self.coefs.append(np.broadcast_to(np.asarray(coefs, float), rows.shape).ravel())
        self.rows.append(rows.ravel())
        self.cols.append(np.ravel(cols))

    def emit(self, model: pyo.ConcreteModel, name: str, variables: np.ndarray, n_rows: int,
             lower: np.ndarray | float | None, upper: np.ndarray | float | None) -> None:
        if n_rows == 0:
            return
        rows, cols, coefs = (np.concatenate(x) for x in (self.rows, self.cols, self.coefs))
        order = np.argsort(rows, kind="stable")
        ptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_rows))])
        add_rows(model, name, ptr, variables[cols[order]], coefs[order], lower, upper)


def _bounds(p: HiringProblem, ids: np.ndarray, n_hires: int) -> tuple[np.ndarray, np.ndarray]:
    s, r, t = p.shape
    hr = np.empty(n_hires, dtype=np.int64)
    ht = np.empty(n_hires, dtype=np.int64)
    rr, tt = np.meshgrid(np.arange(r), np.arange(t), indexing="ij")
    hr[ids] = np.broadcast_to(rr, ids.shape)
    ht[ids] = np.broadcast_to(tt, ids.shape)
    lower = np.zeros(n_hires)
    upper = np.where(ht < p.lead_time[hr], 0.0, p.hire_cap[hr, ht])
    if p.fixed_hires is not None:  # a plan above recruiting capacity is contradictory: lb > ub
        fixed = np.asarray(p.fixed_hires, float)[hr, ht]
        given = ~np.isnan(fixed)
        lower[given] = fixed[given]
        upper[given] = np.minimum(fixed[given], p.hire_cap[hr, ht][given])
    return lower, upper


def _headcount_bounds(p: HiringProblem) -> tuple[np.ndarray, np.ndarray]:
    s, r, t = p.shape
    month = np.arange(t)[None, :]
    lower = np.where(month >= p.lead_time[:, None], p.min_headcount[:, None].astype(float), 0.0)
    decayed = start_stock(p)
    upper = np.maximum(p.max_headcount[:, None].astype(float), decayed)
    return (np.broadcast_to(lower, (s, r, t)).ravel(), np.broadcast_to(upper, (s, r, t)).ravel())


def _vars(model: pyo.ConcreteModel, name: str, n: int, lower: np.ndarray | float,
          upper: np.ndarray | float, domain: pyo.Set = pyo.NonNegativeReals) -> np.ndarray:
    lo = np.broadcast_to(np.asarray(lower, float), (n,)).tolist()
    up = np.broadcast_to(np.asarray(upper, float), (n,)).tolist()
    up = [None if not np.isfinite(v) else v for v in up]
    setattr(model, name, pyo.Var(range(n), domain=domain, bounds=lambda _m, i: (lo[i], up[i])))
    return var_array(getattr(model, name))


def commission_active(p: HiringProblem) -> np.ndarray:
    return (p.commission_rate > 0) & (p.accelerator > 1) & (p.quota_per_month > 0)


@dataclass(frozen=True)
class HiringLayout:
    """Where everything sits in one hiring model, built once and read by every `_add_*` block.

    `ids` (S x R x T) is the hire variable of each case, role and start month (shared ids where
    the cases share a decision); `idx` (S x R x T) the position of each case, role and month in
    the per-month blocks (hc, u, back); `deficit` the ramp deficit (R x J x T, `ramp_deficit`);
    `comm` the roles paid an accelerator above quota; `offsets` the first column of each variable
    block in `allv`, every variable of the model in one flat array (columns of the rows)."""

    ids: np.ndarray
    n_hires: int
    idx: np.ndarray
    deficit: np.ndarray
    comm: np.ndarray
    offsets: dict[str, int]
    allv: np.ndarray

    def col(self, block: str, index: np.ndarray) -> np.ndarray:
        """Columns in `allv` of positions `index` of variable block `block`."""
        return np.asarray(index) + self.offsets[block]


def build_model(p: HiringProblem) -> tuple[pyo.ConcreteModel, dict[str, np.ndarray]]:
    """The Pyomo model and the flat variable arrays by block name."""
    model = pyo.ConcreteModel()
    ids, n_hires = hire_ids(p)
    comm = np.flatnonzero(commission_active(p))
    v = _add_variables(model, p, ids, n_hires, comm)
    lay = _layout(p, ids, n_hires, comm, v)
    _add_balance(model, p, lay)
    _add_coverage(model, p, lay)
    _add_commission(model, p, lay)
    _add_ratios(model, p, lay)
    _add_floors(model, p, lay)
    _add_floor_cuts(model, p, lay)
    _add_budget(model, p, lay)
    _add_backfill(model, p, lay)
    _add_cumulative(model, lay)
    _add_shared_loss(model, p, lay)
    _add_objective(model, p, lay)
    return model, v


def _add_variables(model: pyo.ConcreteModel, p: HiringProblem, ids: np.ndarray, n_hires: int,
                   comm: np.ndarray) -> dict[str, np.ndarray]:
    """Every variable block of the model, in column order, as flat arrays by block name."""
    s, r, t = p.shape
    n = s * r * t
    v: dict[str, np.ndarray] = {}
    h_lo, h_up = _bounds(p, ids, n_hires)
    v["h"] = _vars(model, "h", n_hires, h_lo, h_up)
    v["cum"] = _vars(model, "cum", n_hires, 0.0, np.inf, pyo.NonNegativeIntegers)
    hc_lo, hc_up = _headcount_bounds(p)
    v["hc"] = _vars(model, "hc", n, hc_lo, hc_up)
    v["u"] = _vars(model, "u", n, 0.0, p.required_hours.ravel())
    v["ex"] = _vars(model, "ex", s * len(comm) * t, 0.0, np.inf)
    v["gap"] = _vars(model, "gap", s * len(p.ratios) * t, 0.0, np.inf)
    v["floor"] = _vars(model, "floor", s * len(p.people_floors) * t, 0.0, np.inf)
    v["over"] = _vars(model, "over", s * t if p.budget_per_month is not None else 0, 0.0, np.inf)
    v["back"] = _vars(model, "back", n if p.backfill else 0, -(1.0 - 1e-6), np.inf)
    v["lost"] = _vars(model, "lost", s * t if _shared_loss(p) else 0, 0.0, np.inf)
    return v


def _layout(p: HiringProblem, ids: np.ndarray, n_hires: int, comm: np.ndarray,
            v: dict[str, np.ndarray]) -> HiringLayout:
    """The model's layout from its variable blocks `v` (in column order)."""
    blocks = list(v)
    offsets = dict(zip(blocks, np.cumsum([0] + [len(v[b]) for b in blocks[:-1]]).tolist(), strict=True))
    return HiringLayout(ids=ids, n_hires=n_hires, idx=np.arange(int(np.prod(p.shape))).reshape(p.shape),
                        deficit=ramp_deficit(p), comm=comm, offsets=offsets,
                        allv=np.concatenate([v[b] for b in blocks]))


def _lagged(ids: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Mask (t >= j) and hire ids of month t - j, S x R x T."""
    t = ids.shape[2]
    mask = np.zeros(ids.shape, dtype=bool)
    mask[:, :, j:] = True
    lag = np.zeros_like(ids)
    lag[:, :, j:] = ids[:, :, : t - j]
    return mask, lag


def _add_balance(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """hc[t] - (1 - m) hc[t-1] - h[t] = hc0 (t = 0) or 0."""
    s, r, t = p.shape
    rows = _Rows()
    rows.add(lay.idx, lay.col("hc", lay.idx), 1.0)
    rows.add(lay.idx, lay.col("h", lay.ids), -1.0)
    keep = np.broadcast_to((1.0 - p.attrition)[None, :, 1:], lay.idx[:, :, 1:].shape)
    rows.add(lay.idx[:, :, 1:], lay.col("hc", lay.idx[:, :, :-1]), -keep)
    rhs = np.zeros((s, r, t))
    rhs[:, :, 0] = p.headcount_start
    rows.emit(model, "c_balance", lay.allv, s * r * t, rhs.ravel(), rhs.ravel())


def _effective_terms(rows: _Rows, lay: HiringLayout, roles: np.ndarray, row_idx: np.ndarray,
                     scale: np.ndarray) -> None:
    """Add scale x eff[s,r,t] to rows row_idx (S x R' x T), for the roles `roles` (R')."""
    sub = (slice(None), roles, slice(None))
    ids, deficit = lay.ids[sub], lay.deficit[roles]
    rows.add(row_idx, lay.col("hc", lay.idx[sub]), scale)
    for j in range(deficit.shape[1]):
        coef = deficit[:, j]  # R' x T
        if not (coef > 0).any():
            continue
        mask, lag = _lagged(ids, j)
        mask &= (coef > 0)[None, :, :]
        full = np.broadcast_to(-scale * coef[None, :, :], ids.shape)
        rows.add(row_idx[mask], lay.col("h", lag[mask]), full[mask])


def _add_coverage(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """cap eff + u >= req, for roles with any demand."""
    roles = np.flatnonzero(p.required_hours.sum(axis=(0, 2)) > 0)
    if len(roles) == 0:
        return
    s, _, t = p.shape
    sub = (slice(None), roles, slice(None))
    row_idx = np.arange(s * len(roles) * t).reshape(s, len(roles), t)
    rows = _Rows()
    scale = np.broadcast_to(p.capacity_hours_per_person[roles][None, :, None], row_idx.shape)
    _effective_terms(rows, lay, roles, row_idx, scale)
    rows.add(row_idx, lay.col("u", lay.idx[sub]), 1.0)
    rows.emit(model, "c_coverage", lay.allv, row_idx.size, p.required_hours[sub].ravel(), None)


def _add_commission(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """ex + revenue_per_hour u + quota eff >= bookings (variable pay above quota)."""
    if len(lay.comm) == 0:
        return
    s, _, t = p.shape
    sub = (slice(None), lay.comm, slice(None))
    row_idx = np.arange(s * len(lay.comm) * t).reshape(s, len(lay.comm), t)
    rows = _Rows()
    scale = np.broadcast_to(p.quota_per_month[lay.comm][None, :, None], row_idx.shape)
    _effective_terms(rows, lay, lay.comm, row_idx, scale)
    rows.add(row_idx, lay.col("ex", row_idx), 1.0)
    rows.add(row_idx, lay.col("u", lay.idx[sub]), revenue_per_hour(p)[sub])
    rows.emit(model, "c_commission", lay.allv, row_idx.size, p.bookings[sub].ravel(), None)


def revenue_per_hour(p: HiringProblem) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(p.required_hours > 0, p.bookings / p.required_hours, 0.0)


def _add_ratios(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """max_per hc[role] + gap >= sum hc[over]."""
    s, _, t = p.shape
    q = len(p.ratios)
    if q == 0:
        return
    row_idx = np.arange(s * q * t).reshape(s, q, t)
    rows = _Rows()
    for k, rule in enumerate(p.ratios):  # a handful of rules, each vectorised over cases x months
        rows.add(row_idx[:, k], lay.col("hc", lay.idx[:, rule.role]), rule.max_per)
        for o in rule.over:
            rows.add(row_idx[:, k], lay.col("hc", lay.idx[:, o]), -1.0)
    rows.add(row_idx, lay.col("gap", row_idx), 1.0)
    rows.emit(model, "c_ratio", lay.allv, row_idx.size, 0.0, None)


def _add_floors(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """sum hc[roles] + floor >= people."""
    s, _, t = p.shape
    q = len(p.people_floors)
    if q == 0:
        return
    row_idx = np.arange(s * q * t).reshape(s, q, t)
    rows = _Rows()
    lower = np.zeros((s, q, t))
    for k, rule in enumerate(p.people_floors):
        for o in rule.roles:
            rows.add(row_idx[:, k], lay.col("hc", lay.idx[:, o]), 1.0)
        lower[:, k] = rule.people
    rows.add(row_idx, lay.col("floor", row_idx), 1.0)
    rows.emit(model, "c_floor", lay.allv, row_idx.size, lower.ravel(), None)


def start_stock(p: HiringProblem) -> np.ndarray:
    """R x T people left of the starting headcount (expected; attrition from month 1)."""
    stay = (1.0 - p.attrition).copy()
    stay[:, 0] = 1.0
    return p.headcount_start[:, None] * np.cumprod(stay, axis=1)


def _add_floor_cuts(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """Mixed-integer rounding cuts for the people floors: floor[t] + f H[t] >= f ceil(b[t]).

    Headcount is at most the starting stock A[t] plus the whole cumulative hires H[t] (integer;
    cohorts only shrink), so H[t] + floor[t] >= b[t] = people[t] - A[t]; its MIR cut with f the
    fractional part of b says: until someone is hired, the decayed part of the floor is short.
    The LP otherwise hires a few hundredths of a person a month to keep a decaying floor exact."""
    s, _, t = p.shape
    q = len(p.people_floors)
    if q == 0 or p.fixed_hires is not None:
        return
    stock = start_stock(p)
    rows = _Rows()
    lower = np.zeros((s, q, t))
    keep = np.zeros((s, q, t), dtype=bool)
    row_idx = np.arange(s * q * t).reshape(s, q, t)
    for k, rule in enumerate(p.people_floors):  # a handful of floors, each vectorised over S x T
        roles = list(rule.roles)
        b = rule.people - stock[roles].sum(axis=0)
        f = np.where(np.isclose(b, np.rint(b)), 1.0, b - np.floor(b))
        keep[:, k] = b > 1e-9
        lower[:, k] = f * np.ceil(b - 1e-9)
        rows.add(row_idx[:, k], lay.col("floor", row_idx[:, k]), 1.0)
        for r in roles:
            rows.add(row_idx[:, k], lay.col("cum", lay.ids[:, r, :]), np.broadcast_to(f, (s, t)))
    lower = np.where(keep, lower, 0.0)  # rows with b <= 0 stay as 0 <= floor + f H: harmless
    rows.emit(model, "c_floor_cut", lay.allv, row_idx.size, lower.ravel(), None)


def _variable_pay_terms(p: HiringProblem) -> tuple[np.ndarray, np.ndarray]:
    """Per S x R x T: coefficient of u in variable pay (uncovered work earns none) and the pay
    with full coverage (rate x bookings); the accelerator part sits on `ex`."""
    rate = p.commission_rate[None, :, None]
    return -rate * revenue_per_hour(p), rate * p.bookings


def _add_budget(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """sum cost hc + variable pay - over <= budget."""
    if p.budget_per_month is None:
        return
    s, r, t = p.shape
    row_idx = np.arange(s * t).reshape(s, t)
    rows_st = np.broadcast_to(row_idx[:, None, :], (s, r, t))
    rows = _Rows()
    rows.add(rows_st, lay.col("hc", lay.idx), np.broadcast_to(p.cost_per_month[None, :, None], lay.idx.shape))
    u_coef, fixed_pay = _variable_pay_terms(p)
    rows.add(rows_st, lay.col("u", lay.idx), u_coef)
    if len(lay.comm):
        ex_idx = np.arange(s * len(lay.comm) * t).reshape(s, len(lay.comm), t)
        ex_coef = (p.commission_rate * (p.accelerator - 1.0))[lay.comm][None, :, None]
        rows.add(np.broadcast_to(row_idx[:, None, :], ex_idx.shape), lay.col("ex", ex_idx),
                 np.broadcast_to(ex_coef, ex_idx.shape))
    rows.add(row_idx, lay.col("over", row_idx), -1.0)
    upper = p.budget_per_month[None, :] - fixed_pay.sum(axis=1)
    rows.emit(model, "c_budget", lay.allv, s * t, None, upper.ravel())


def _shared_loss(p: HiringProblem) -> bool:
    return p.objective == "margin" and len(p.deal_roles) > 0


def _add_shared_loss(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """lost[s,t] - value[s,r,t] u[s,r,t] >= 0 for the deal roles r."""
    if not _shared_loss(p):
        return
    s, _, t = p.shape
    roles = np.asarray(p.deal_roles, dtype=np.int64)
    row_idx = np.arange(s * len(roles) * t).reshape(s, len(roles), t)
    lost_idx = np.broadcast_to(np.arange(s * t).reshape(s, 1, t), row_idx.shape)
    rows = _Rows()
    rows.add(row_idx, lay.col("lost", lost_idx), 1.0)
    rows.add(row_idx, lay.col("u", lay.idx[:, roles]), -p.value_per_hour[:, roles])
    rows.emit(model, "c_lost", lay.allv, row_idx.size, 0.0, None)


def lost_margin(p: HiringProblem, short: np.ndarray) -> np.ndarray:
    """S x T lost margin (currency) of uncovered hours `short` (S x R x T), as the objective counts it."""
    lost = p.value_per_hour * short
    if not _shared_loss(p):
        return lost.sum(axis=1)
    deal = np.zeros(len(p.roles), dtype=bool)
    deal[list(p.deal_roles)] = True
    return lost[:, ~deal].sum(axis=1) + lost[:, deal].max(axis=1)


def _add_cumulative(model: pyo.ConcreteModel, lay: HiringLayout) -> None:
    """cum[t] = cum[t-1] + h[t], one row per distinct hire variable; cum is the integer one.

    Branching on cumulative hires (cum <= k splits the whole history) closes the gap of this
    lot-sizing-like structure much faster than branching on monthly hires (measured: 30 s -> 14 s
    to 0.1 % on the scale-up example)."""
    flat = lay.ids.reshape(-1, lay.ids.shape[2])
    prev = np.full(flat.shape, -1, dtype=np.int64)
    prev[:, 1:] = flat[:, :-1]
    first = np.unique(flat.ravel(), return_index=True)[1]
    own, before = flat.ravel()[first], prev.ravel()[first]
    rows = _Rows()
    rows.add(own, lay.col("cum", own), 1.0)
    rows.add(own, lay.col("h", own), -1.0)
    has = before >= 0
    rows.add(own[has], lay.col("cum", before[has]), -1.0)
    rows.emit(model, "c_cumulative", lay.allv, lay.n_hires, 0.0, 0.0)


def _add_backfill(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """back[t] = back[t-1] + h[t] - m hc[t-1-L]: hires keep up with leavers L months later."""
    if not p.backfill:
        return
    s, r, t = p.shape
    rows = _Rows()
    rows.add(lay.idx, lay.col("back", lay.idx), 1.0)
    rows.add(lay.idx[:, :, 1:], lay.col("back", lay.idx[:, :, :-1]), -1.0)
    rows.add(lay.idx, lay.col("h", lay.ids), -1.0)
    for role in range(r):  # leavers of month t - L start their replacement in month t
        lag = int(p.lead_time[role])
        first = 1 + lag
        if first < t:
            rows.add(lay.idx[:, role, first:], lay.col("hc", lay.idx[:, role, : t - first]),
                     np.broadcast_to(p.attrition[role, 1 : t - lag], (s, t - first)))
    rows.emit(model, "c_backfill", lay.allv, s * r * t, 0.0, 0.0)


def _case_costs(p: HiringProblem, comm: np.ndarray) -> dict[str, np.ndarray]:
    """Objective coefficients per block (minimisation form), each S x block shape."""
    s, r, t = p.shape
    u_pay, _ = _variable_pay_terms(p)
    if p.objective == "cost":
        base = p.cost_per_month / np.maximum(p.capacity_hours_per_person, 1e-9)
        u_pen = np.broadcast_to((COST_MODE_PENALTY * base)[None, :, None], (s, r, t))
    else:
        u_pen = p.value_per_hour.copy()
        if _shared_loss(p):  # priced through `lost` instead
            u_pen[:, list(p.deal_roles)] = 0.0
    return {"hc": np.broadcast_to(p.cost_per_month[None, :, None], (s, r, t)), "u": u_pen + u_pay}


def _add_objective(model: pyo.ConcreteModel, p: HiringProblem, lay: HiringLayout) -> None:
    """Each case's value `case_value[k]` (margin, or cost plus penalties); the objective is their
    weighted mean, or with `risk: worst` the worst of them (epigraph variable z)."""
    s = p.shape[0]
    case_exprs = _case_objectives(p, lay)
    sense = pyo.maximize if p.objective == "margin" else pyo.minimize
    model.case_value = pyo.Expression(range(s), rule=lambda _m, k: _linear(lay.allv, *case_exprs[k]))
    if p.risk == "worst" and s > 1:
        model.z = pyo.Var()
        if sense == pyo.maximize:
            model.worst = pyo.Constraint(range(s), rule=lambda m, k: m.z <= m.case_value[k])
        else:
            model.worst = pyo.Constraint(range(s), rule=lambda m, k: m.z >= m.case_value[k])
        model.obj = pyo.Objective(expr=model.z, sense=sense)
    else:
        weights = p.case_weights / p.case_weights.sum()
        c = np.concatenate([e[0] for e in case_exprs])
        a = np.concatenate([e[1] * weights[k] for k, e in enumerate(case_exprs)])
        const = float(sum(e[2] * weights[k] for k, e in enumerate(case_exprs)))
        model.obj = pyo.Objective(expr=_linear(lay.allv, c, a, const), sense=sense)


def _case_objectives(p: HiringProblem, lay: HiringLayout) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Per case: the columns, coefficients and constant of its value in the objective's sense
    (margin = -(cost terms) + constants, or cost)."""
    s, _, t = p.shape
    comm = lay.comm
    costs = _case_costs(p, comm)
    per_case_cols: list[list[np.ndarray]] = [[] for _ in range(s)]
    per_case_coefs: list[list[np.ndarray]] = [[] for _ in range(s)]

    def put(block: str, index: np.ndarray, coef: np.ndarray) -> None:
        for k in range(s):
            per_case_cols[k].append(lay.col(block, index[k]).ravel())
            per_case_coefs[k].append(np.broadcast_to(coef[k], index[k].shape).ravel())

    put("hc", lay.idx, costs["hc"])
    put("u", lay.idx, costs["u"])
    if len(comm):
        ex_idx = np.arange(s * len(comm) * t).reshape(s, len(comm), t)
        put("ex", ex_idx, np.broadcast_to((p.commission_rate * (p.accelerator - 1.0))[comm][None, :, None],
                                          ex_idx.shape))
    if p.ratios:
        gi = np.arange(s * len(p.ratios) * t).reshape(s, len(p.ratios), t)
        pen = np.array([PEOPLE_PENALTY * p.cost_per_month[q.role] for q in p.ratios])
        put("gap", gi, np.broadcast_to(pen[None, :, None] / np.array([q.max_per for q in p.ratios])[None, :, None], gi.shape))
    if p.people_floors:
        fi = np.arange(s * len(p.people_floors) * t).reshape(s, len(p.people_floors), t)
        pen = np.array([PEOPLE_PENALTY * p.cost_per_month[list(q.roles)].max() for q in p.people_floors])
        put("floor", fi, np.broadcast_to(pen[None, :, None], fi.shape))
    if p.budget_per_month is not None:
        put("over", np.arange(s * t).reshape(s, t), np.full((s, t), BUDGET_PENALTY))
    if _shared_loss(p):
        put("lost", np.arange(s * t).reshape(s, t), np.ones((s, t)))
    constants = _case_constants(p, comm)
    sign = -1.0 if p.objective == "margin" else 1.0  # margin = -(cost terms) + constants
    return [(np.concatenate(per_case_cols[k]), np.concatenate(per_case_coefs[k]) * sign, sign * constants[k])
            for k in range(s)]


def _case_constants(p: HiringProblem, comm: np.ndarray) -> np.ndarray:
    """Per case: constant part of the cost (fixed variable pay) minus, in margin mode, full margin."""
    _, fixed_pay = _variable_pay_terms(p)
    constant = fixed_pay.sum(axis=(1, 2))
    if p.objective == "margin":
        constant = constant - p.gross_margin.sum(axis=1)
    return constant


def _linear(allv: np.ndarray, cols: np.ndarray, coefs: np.ndarray, constant: float):
    from pyomo.core.expr.numeric_expr import LinearExpression

    keep = coefs != 0
    return LinearExpression(constant=float(constant), linear_coefs=coefs[keep].tolist(),
                            linear_vars=allv[cols[keep]].tolist())
