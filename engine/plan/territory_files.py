"""Load and check the territory-design data files: units, distances, adjacency (DESIGN.md).

Every problem names file, CSV line (header = line 1) and column, and all problems of a file are
reported together as one `InputError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.spatial.distance import cdist

from engine.errors import InputError, Problem

NUMERIC_DEFAULTS = {"workload": 1.0, "potential": 0.0}
"""Optional numeric unit columns and their defaults (workload in the scenario's workload unit,
potential in currency)."""


@dataclass(frozen=True)
class Units:
    """Checked units table: `frame` has id (str), workload, potential, current_territory (str,
    '' for none), lock (str) and every other numeric column; `coords` is (n, 2) or None."""

    frame: pd.DataFrame
    coords: np.ndarray | None
    file: str


def _read(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    if not path.exists():
        raise InputError.single(str(path), "", "file not found", "a CSV file")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError.single(str(path), "", f"not a readable CSV ({exc})", "a CSV file with a header") from exc
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError.single(str(path), ",".join(missing), "missing column", f"columns {', '.join(required)}",
                                line=1)
    return frame


def _numbers(frame: pd.DataFrame, column: str, file: str, problems: list[Problem], *,
             default: float | None, minimum: float | None = 0.0) -> np.ndarray:
    """Parse a numeric column; blank cells take `default` (a problem when there is none)."""
    raw = frame[column].str.strip() if column in frame.columns else pd.Series([""] * len(frame))
    values = pd.to_numeric(raw.where(raw != "", None), errors="coerce").to_numpy(dtype=float)
    blank = (raw == "").to_numpy()
    bad = (~blank & ~np.isfinite(values))
    if minimum is not None:
        bad |= np.isfinite(values) & (values < minimum)
    for row in np.flatnonzero(bad):
        problems.append(Problem(file, int(row) + 2, column, f"bad value {raw.iloc[row]!r}",
                                f"a number >= {minimum}" if minimum is not None else "a number"))
    if default is None:
        for row in np.flatnonzero(blank):
            problems.append(Problem(file, int(row) + 2, column, "missing value", "a number"))
    return np.where(blank, default if default is not None else np.nan, values)


def load_units(path: Path, need_coords: bool) -> Units:
    """Read the units CSV; `need_coords` when there is no distances file."""
    file = str(path)
    frame = _read(path, ("id", "x", "y") if need_coords else ("id",))
    problems: list[Problem] = []
    ids = frame["id"].str.strip()
    for row in np.flatnonzero((ids == "").to_numpy()):
        problems.append(Problem(file, int(row) + 2, "id", "missing id", "a unit id"))
    dup = ids.duplicated(keep="first") & (ids != "")
    for row in np.flatnonzero(dup.to_numpy()):
        problems.append(Problem(file, int(row) + 2, "id", f"duplicate id {ids.iloc[row]!r}", "unique unit ids"))
    out = pd.DataFrame({"id": ids.astype(object)})
    for col, default in NUMERIC_DEFAULTS.items():
        out[col] = _numbers(frame, col, file, problems, default=default)
    coords = None
    if need_coords or ("x" in frame.columns and "y" in frame.columns):
        x = _numbers(frame, "x", file, problems, default=None, minimum=None)
        y = _numbers(frame, "y", file, problems, default=None, minimum=None)
        coords = np.column_stack([x, y])
    for col in ("current_territory", "lock"):
        out[col] = frame[col].str.strip().astype(object) if col in frame.columns else ""
    for col in frame.columns:
        if col in out.columns or col in ("x", "y"):
            continue
        out[col] = _numbers(frame, col, file, problems, default=0.0, minimum=None)
    if len(out) == 0:
        problems.append(Problem(file, None, "id", "no units", "at least one row"))
    if problems:
        raise InputError(problems)
    return Units(out, coords, file)


def load_pairs(path: Path, ids: pd.Series, with_distance: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a `from,to[,distance]` CSV: index arrays into `ids` and the distances (0 without)."""
    file = str(path)
    frame = _read(path, ("from", "to", "distance") if with_distance else ("from", "to"))
    problems: list[Problem] = []
    index = pd.Index(ids)
    ends = []
    for col in ("from", "to"):
        pos = index.get_indexer(frame[col].str.strip())
        for row in np.flatnonzero(pos < 0):
            problems.append(Problem(file, int(row) + 2, col, f"unknown unit {frame[col].iloc[row]!r}",
                                    "an id from the units file"))
        ends.append(pos)
    dist = (_numbers(frame, "distance", file, problems, default=None) if with_distance
            else np.zeros(len(frame)))
    if problems:
        raise InputError(problems)
    return ends[0], ends[1], dist


def complete_distances(n: int, a: np.ndarray, b: np.ndarray, d: np.ndarray, file: str) -> np.ndarray:
    """Dense symmetric matrix: given pairs as given (the last line wins for a repeated pair),
    missing pairs by shortest paths over the given ones (scipy.sparse.csgraph)."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = lo.astype(np.int64) * n + hi
    _, last = np.unique(key[::-1], return_index=True)
    keep = len(key) - 1 - last
    keep = keep[lo[keep] != hi[keep]]
    lo, hi, d = lo[keep], hi[keep], d[keep]
    graph = coo_matrix((d, (lo, hi)), shape=(n, n)).tocsr()
    ncomp, labels = connected_components(graph, directed=False)
    if ncomp > 1:
        lonely = np.flatnonzero(labels != labels[0])[:5]
        raise InputError.single(file, "", f"distances do not connect all units ({ncomp} groups; e.g. unit "
                                f"positions {lonely.tolist()} are unreachable from the first unit)",
                                "a connected set of pairs")
    # zero-length given pairs must stay edges: csgraph drops explicit zeros, so nudge them
    graph.data = np.where(graph.data == 0, 1e-300, graph.data)
    full = shortest_path(graph, directed=False)
    full[lo, hi] = d
    full[hi, lo] = d
    np.fill_diagonal(full, 0.0)
    return full


def euclidean(coords: np.ndarray) -> np.ndarray:
    """Dense Euclidean distance matrix (coordinate units)."""
    return cdist(coords, coords)
