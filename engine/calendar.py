"""Planning months (`YYYY-MM`) and the hour clock of the simulation."""

from __future__ import annotations

import pandas as pd


def month_range(start: str, months: int) -> list[str]:
    """`months` consecutive calendar months from `start`, as `YYYY-MM` strings."""
    return [p.strftime("%Y-%m") for p in pd.period_range(start=start, periods=months, freq="M")]


def month_start_hours(start: str, months: int) -> list[float]:
    """Hours from the horizon start to the start of each month, plus the horizon end (months + 1 values)."""
    first = pd.Period(start, freq="M").start_time
    bounds = pd.period_range(start=start, periods=months + 1, freq="M").start_time
    return [float((b - first) / pd.Timedelta(hours=1)) for b in bounds]


def month_index(start: str, month: str) -> int:
    """0-based index of `month` in a horizon that starts at `start`."""
    return (pd.Period(month, freq="M") - pd.Period(start, freq="M")).n
