"""The sweep results store: one Parquet file per finished point, written atomically, and the
consolidated `results.parquet` (one row per point, sorted by point id).

A point's file appears complete or not at all (temporary sibling, then `os.replace`), so a sweep
killed at any moment loses at most the points that were running, and `--resume` finds exactly
the points still missing.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from engine.errors import InputError
from engine.runfolder.atomic import SWEEP_LOCK

POINTS_DIR = "points"
RESULTS_FILE = "results.parquet"
LOCK_FILE = SWEEP_LOCK
KEY_COLUMN = "content_key"
"""Column of a point file holding the content key it was computed for (not in results.parquet)."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def publish(tmp: str | Path, target: Path) -> None:
    """Give a finished temporary file the usual permissions (mkstemp makes it 0600) and rename
    it into place atomically."""
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, target)


def write_text(target: Path, text: str) -> None:
    """Write a text file atomically (temporary sibling, then rename)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    publish(tmp, target)


def point_file(out: Path, pid: str) -> Path:
    return Path(out) / POINTS_DIR / f"{pid}.parquet"


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, sort_keys=True, default=str)
    return value


def write_point(out: Path, row: dict[str, Any], key: str | None = None) -> Path:
    """Write one results row to DIR/points/<point_id>.parquet atomically, with the content key
    of the inputs it was computed from (`key`)."""
    target = point_file(out, str(row["point_id"]))
    target.parent.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([{**{k: _cell(v) for k, v in row.items()}, KEY_COLUMN: key}])
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False, engine="pyarrow")
        publish(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def clear_partial(out: Path) -> int:
    """Delete temporary files a killed sweep left half-written in DIR/points; returns how many."""
    folder = Path(out) / POINTS_DIR
    stale = list(folder.glob(".*.tmp")) if folder.exists() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def finished_ids(out: Path) -> set[str]:
    """Ids of the points that have a result file."""
    folder = Path(out) / POINTS_DIR
    return {p.stem for p in folder.glob("*.parquet")} if folder.exists() else set()


def stored_keys(out: Path, ids: Iterable[str]) -> dict[str, str | None]:
    """Content key stored with each finished point of `ids` (None: written without one)."""
    keys = {}
    for pid in sorted(set(ids) & finished_ids(out)):
        frame = pd.read_parquet(point_file(out, pid))
        keys[pid] = str(frame[KEY_COLUMN].iloc[0]) if KEY_COLUMN in frame.columns and frame[KEY_COLUMN].notna().all() \
            else None
    return keys


def drop_points(out: Path, ids: Iterable[str]) -> None:
    """Delete the result files (and kept run folders) of `ids`: points not in the sweep, or
    computed from other inputs."""
    for pid in ids:
        point_file(out, pid).unlink(missing_ok=True)
        shutil.rmtree(Path(out) / "runs" / pid, ignore_errors=True)


@contextmanager
def sweep_lock(out: Path, spec: str) -> Iterator[None]:
    """Hold DIR/sweep.lock exclusively while a sweep writes DIR; a second writer gets InputError.

    An advisory `flock`: the kernel releases it when the holder exits, even on SIGKILL, so a
    killed sweep never leaves the folder locked. The file names the holder's process and spec.
    """
    path = Path(out) / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666 & ~_umask())
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip() or "another process"
            raise InputError.single(str(out), "--out", f"another sweep is writing this folder ({holder})",
                                    "one sweep at a time per folder: wait for it, or use another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, spec {spec}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _uniform(column: pd.Series) -> pd.Series:
    """One type per column: numbers as float64 (ints kept when all are whole), else text."""
    values = [v for v in column.tolist() if v is not None and not (isinstance(v, float) and pd.isna(v))]
    if all(isinstance(v, bool) for v in values) and values:
        return column.astype("boolean")
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        numeric = pd.to_numeric(column, errors="coerce").astype("float64")
        if values and all(isinstance(v, int) for v in values) and numeric.notna().all():
            return numeric.astype("int64")
        return numeric
    return column.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)
                      ).astype("string")


def consolidate(out: Path, ids: Iterable[str], columns: list[str]) -> pd.DataFrame:
    """Read the point files of `ids`, one row each, sorted by point id, in `columns` order;
    write DIR/results.parquet atomically and return the frame."""
    rows = []
    for pid in sorted(ids):
        path = point_file(out, pid)
        if path.exists():
            rows.extend(pd.read_parquet(path).astype(object).to_dict(orient="records"))
    frame = pd.DataFrame(rows, columns=columns)
    frame = frame.apply(_uniform) if len(frame) else frame
    for text in ("point_id", "status", "error"):
        frame[text] = frame[text].astype("string")
    target = Path(out) / RESULTS_FILE
    fd, tmp = tempfile.mkstemp(prefix=".results.", suffix=".tmp", dir=out)
    os.close(fd)
    frame.to_parquet(tmp, index=False, engine="pyarrow")
    publish(tmp, target)
    return frame
