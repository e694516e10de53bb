"""Number formatting shared by reconciliation.csv, report.md, report.html and report.xlsx (a contract).

One source: `DECIMALS` fixes how many decimals each metric keeps. The reconciliation table is
rounded with it before it is written, and every rendering prints the rounded value with the same
number of decimals (thousands separated by commas), so the three files show the same numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

DECIMALS = {"demand": 1, "capacity": 1, "throughput": 2, "revenue": 0, "revenue_at_risk": 0,
            "utilisation": 4, "response_time": 2, "ticket_wait": 2, "sla_attainment": 4, "cost": 0,
            "headcount": 2, "workload": 2, "potential": 2}
DEFAULT_DECIMALS = 2
NUMBER_COLUMNS = ("planned", "forecast", "sim_p10", "sim_p50", "sim_p90", "gap")


def decimals(metric: str) -> int:
    return DECIMALS.get(metric, DEFAULT_DECIMALS)


def round_table(table: pd.DataFrame) -> pd.DataFrame:
    """Round each number column row by row to its metric's decimals (the published precision)."""
    out = table.copy()
    places = out["metric"].map(decimals).to_numpy()
    for col in NUMBER_COLUMNS:
        values = out[col].to_numpy(dtype=float)
        scale = 10.0 ** places
        out[col] = np.round(values * scale) / scale
    return out


def fmt(value: object, places: int = DEFAULT_DECIMALS) -> str:
    """A number with `places` decimals and comma thousands; empty for NaN/None; text as is."""
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(value)
    if isinstance(value, int | float | np.integer | np.floating):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        text = f"{v:,.{places}f}"
        return "0" + text[2:] if text.startswith("-0") and float(text.replace(",", "")) == 0 else text
    return str(value)


def fmt_metric(value: object, metric: str) -> str:
    return fmt(value, decimals(metric))


def money(value: float, currency: str) -> str:
    """Money rounded to whole units with the currency code, e.g. `EUR 140,000`."""
    return f"{currency} {fmt(value, 0)}"


def pct(share: float, places: int = 0) -> str:
    """A share as a percentage, e.g. 0.8 -> `80%`."""
    return "" if share is None or math.isnan(share) else f"{share * 100:.{places}f}%"
