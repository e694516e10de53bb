"""Rare categories: a segment or region value on under 1 % of an export's rows (one `North
America` beside `NA`) is flagged, with its lines and the mapping entry that merges it into the
most common value, in case it is another spelling. Used by the deal reader (engine/data/deals.py)
and the lead-level data stage (engine/data/stage.py)."""

from __future__ import annotations

import pandas as pd

from engine.data.crm import MAX_LINES_PER_CHECK
from engine.data.export_values import show

RARE_SHARE = 0.01
"""A segment or region value on fewer than this share of the rows is flagged as rare."""
RARE_MIN_ROWS = 100
"""Rare values are looked for only in files with at least this many rows."""
RARE_COLUMNS = ("file", "column", "value", "rows", "of_rows", "lines", "merge_with")
"""Columns of the rare-values table: the export's file and column, the value, its rows (count),
the rows it was counted among, its lines (at most MAX_LINES_PER_CHECK) and the mapping entry
that merges it into the most common value."""


def rare_values(values: pd.Series) -> list[tuple[str, int, str]]:
    """(value, rows, most common value) of every value on under RARE_SHARE of `values`; none
    when there are fewer than RARE_MIN_ROWS values."""
    if len(values) < RARE_MIN_ROWS:
        return []
    counts = values.value_counts()
    return [(str(v), int(n), str(counts.index[0])) for v, n in counts[counts < RARE_SHARE * len(values)].items()]


def rare_record(file: str, kind: str, ours: str, theirs: str, value: str, rows: int, of_rows: int,
                lines: list[int], common: str) -> dict:
    """One row of the rare-values table; `kind` is the mapping's entry for the file (e.g.
    `opportunities`, `leads`), `ours` the column name the mapping's `values:` uses."""
    merge = f"{kind}: {{values: {{{ours}: {{{show(value)}: {show(common)}}}}}}}"
    return {"file": file, "column": theirs, "value": value, "rows": rows, "of_rows": of_rows,
            "lines": " ".join(map(str, lines[:MAX_LINES_PER_CHECK])), "merge_with": merge}


def warning(path: str, record: dict) -> str:
    """The stderr line of a rare value."""
    return (f"{path}: {record['column']}: rare value {show(record['value'])} on {record['rows']} of "
            f"{record['of_rows']} rows (lines {record['lines']}); merge it with `{record['merge_with']}` "
            "in the mapping if it is another spelling")


def rare_frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(records, columns=list(RARE_COLUMNS))
