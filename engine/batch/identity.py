"""What a sweep point's result depends on, as one hash: its content key.

A point's id hashes only its varied values, so the same id names the same point of a changed
sweep. Its content key hashes everything that determines its numbers: the resolved scenario
(after `extends`, `set`, the varied values, the simulation seed and replications), the metrics
read from it, the bytes of every data file the scenario names (territory CSVs, CRM export,
column mapping) and the engine's version. `--resume` keeps a finished point only when its stored
key equals the key the sweep computes now; any other point runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path
from typing import Any

DATA_PATHS = (("territory", "units"), ("territory", "distances"), ("territory", "adjacency"),
              ("data", "crm_dir"), ("data", "mapping"))
"""Scenario fields that name data files or folders, relative to the base scenario's folder."""
_CHUNK = 1024**2


def _engine_version() -> str:
    try:
        return metadata.version("salesops-engine")
    except metadata.PackageNotFoundError:
        return "unknown"


def _file_digest(path: Path, cache: dict[Path, str]) -> str:
    """sha256 of a regular file's bytes; of a folder, of its regular files' names and bytes; a
    marker for anything else (a missing file fails the point when it runs)."""
    if path in cache:
        return cache[path]
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "missing"
    digest = hashlib.sha256()
    if stat.S_ISDIR(mode):
        for child in sorted(path.iterdir()):
            digest.update(f"{child.name}\0{_file_digest(child, cache)}\0".encode())
    elif stat.S_ISREG(mode):
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    else:
        return "not a regular file"
    cache[path] = digest.hexdigest()
    return cache[path]


def data_files(resolved: dict, base_dir: Path) -> dict[str, Path]:
    """The data paths a resolved scenario names (dotted field -> absolute path)."""
    out = {}
    for section, key in DATA_PATHS:
        block = resolved.get(section)
        value = block.get(key) if isinstance(block, dict) else None
        if isinstance(value, str):
            path = Path(value)
            out[f"{section}.{key}"] = path if path.is_absolute() else base_dir / path
    return out


def content_key(resolved: dict, metrics: Iterable[str], base_dir: Path,
                cache: dict[Path, str] | None = None) -> str:
    """64 hex digits of sha256 over everything a point's results depend on (see the module doc).

    `cache` maps data paths to digests already computed (share it across the points of a sweep).
    """
    cache = {} if cache is None else cache
    files = {field: _file_digest(path.resolve(), cache) for field, path in data_files(resolved, base_dir).items()}
    doc: dict[str, Any] = {"scenario": resolved, "metrics": list(metrics), "files": files,
                           "engine": _engine_version()}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def spec_key(keys: dict[str, str]) -> str:
    """16 hex digits naming a whole sweep: a hash of its point ids and their content keys."""
    text = json.dumps(sorted(keys.items()), separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
