"""Writing run-folder files: CSV, Parquet and JSON, deterministically."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet read a cell as a formula (OWASP CSV injection)."""
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def formula_safe(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with `'` so it shows as text;
    numbers, numeric text such as `-5` and every other value unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


def formula_safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with `formula_safe` applied to its text cells and column names (numbers untouched)."""
    text = [c for c in frame.columns if frame[c].dtype == object or pd.api.types.is_string_dtype(frame[c])
            or isinstance(frame[c].dtype, pd.CategoricalDtype)]
    unsafe_names = any(formula_safe(c) != c for c in frame.columns)
    if not text and not unsafe_names:
        return frame
    out = frame.copy()
    for column in text:
        values = out[column].astype(object) if isinstance(out[column].dtype, pd.CategoricalDtype) else out[column]
        out[column] = values.map(formula_safe)
    out.columns = [formula_safe(c) for c in out.columns]
    return out


def jsonable(value: Any) -> Any:
    """Convert numpy/pandas scalars, NaN and tuples into plain JSON values (NaN -> null)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="records"))
    return value


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def write_table(path: Path, frame: pd.DataFrame) -> None:
    """Write `frame` as CSV or Parquet by the file suffix (no index).

    CSV text cells that a spreadsheet would run as a formula get a leading `'` (formula_safe);
    Parquet keeps every value as it is (no spreadsheet opens it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False, engine="pyarrow")
    else:
        formula_safe_frame(frame).to_csv(path, index=False, lineterminator="\n")
