"""manifest.json: what a run needs to be reproduced and audited."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata
from typing import Any

PACKAGES = ("salesops-engine", "pyomo", "highspy", "simpy", "numpy", "pandas", "pyarrow",
            "pydantic", "scipy", "statsmodels", "scikit-learn", "plotly", "PyYAML", "typer", "rich")


MEASURED_SECONDS = frozenset({"build_s", "solve_s", "lp_s", "price_s", "prep_s", "wall_s", "run_s",
                              "elapsed_s", "time_s"})
"""Keys of wall-clock measurements (seconds). They differ between reruns, so they live in
manifest.json only; settings such as `time_limit_s` are not measurements and stay in summary.json."""


def split_timings(summary: Any, path: str = "") -> tuple[Any, dict[str, float]]:
    """`summary` without its measured times, and those times by dotted path (e.g. `hiring.solve_s`).

    Walks nested objects and lists (a list item's path part is its index); key order is kept, so
    the rest of the summary is unchanged byte for byte.
    """
    timings: dict[str, float] = {}
    if isinstance(summary, dict):
        kept = {}
        for key, value in summary.items():
            where = f"{path}.{key}" if path else str(key)
            if key in MEASURED_SECONDS and (value is None or isinstance(value, int | float)):
                timings[where] = value
                continue
            kept[key], inner = split_timings(value, where)
            timings.update(inner)
        return kept, timings
    if isinstance(summary, list):
        items = []
        for i, value in enumerate(summary):
            item, inner = split_timings(value, f"{path}.{i}")
            items.append(item)
            timings.update(inner)
        return items, timings
    return summary, timings


def package_versions() -> dict[str, str]:
    """Installed versions of the packages whose behaviour shapes the numbers."""
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def scenario_hash(resolved_yaml: str) -> str:
    """sha256 of the resolved scenario text."""
    return hashlib.sha256(resolved_yaml.encode("utf-8")).hexdigest()


def build_manifest(*, resolved_yaml: str, seed: int | None, replications: int | None,
                   overrides: list[str], stage_wall_s: dict[str, float], solves: dict[str, dict],
                   scenario_file: str, timings: dict[str, float] | None = None) -> dict:
    """The manifest as a JSON-ready dict (wall times in seconds). `timings`: the measured times
    taken out of summary.json, by dotted summary path."""
    return {
        "scenario_file": scenario_file,
        "scenario_sha256": scenario_hash(resolved_yaml),
        "seed": seed,
        "replications": replications,
        "overrides": overrides,
        "packages": package_versions(),
        "platform": {"system": platform.system(), "machine": platform.machine(),
                     "python_implementation": sys.implementation.name},
        "stage_wall_s": {k: round(v, 4) for k, v in stage_wall_s.items()},
        "solvers": solves,
        "timings": {k: (None if v is None else round(v, 4)) for k, v in (timings or {}).items()},
    }
