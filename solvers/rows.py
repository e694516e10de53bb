"""Add many linear rows to a Pyomo model from CSR arrays (no per-row dicts of dicts)."""

from __future__ import annotations

import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression


def var_array(var: pyo.Var) -> np.ndarray:
    """The components of an indexed Var as a numpy object array, in index order."""
    return np.fromiter(var.values(), dtype=object, count=len(var))


def add_rows(
    model: pyo.ConcreteModel,
    name: str,
    ptr: np.ndarray,
    variables: np.ndarray,
    coefs: np.ndarray,
    lower: np.ndarray | float | None,
    upper: np.ndarray | float | None,
) -> None:
    """Add constraint `name[r]`: lower[r] <= sum coefs[k] * variables[k], k in ptr[r]:ptr[r+1], <= upper[r].

    `variables` is an object array of Pyomo variable data; `lower`/`upper` scalars, arrays (use
    +-inf for a missing side) or None. An empty row set adds nothing.
    """
    rows = len(ptr) - 1
    if rows <= 0:
        return
    lo = np.broadcast_to(-np.inf if lower is None else np.asarray(lower, float), (rows,))
    up = np.broadcast_to(np.inf if upper is None else np.asarray(upper, float), (rows,))
    coef_list = np.asarray(coefs, float).tolist()
    var_list = list(variables)
    starts = np.asarray(ptr).tolist()

    def rule(_m: pyo.ConcreteModel, r: int):
        s, e = starts[r], starts[r + 1]
        expr = LinearExpression(constant=0.0, linear_coefs=coef_list[s:e], linear_vars=var_list[s:e])
        lo_r = None if not np.isfinite(lo[r]) else float(lo[r])
        up_r = None if not np.isfinite(up[r]) else float(up[r])
        return (lo_r, expr, up_r)

    setattr(model, name, pyo.Constraint(range(rows), rule=rule))


def csr_from_groups(group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Row pointer and stable order for entries grouped by `group` (entry -> row index)."""
    order = np.argsort(group, kind="stable")
    counts = np.bincount(group, minlength=n_groups)
    ptr = np.concatenate([[0], np.cumsum(counts)])
    return ptr, order
