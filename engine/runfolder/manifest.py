"""manifest.json: what a run needs to be reproduced and audited."""

from __future__ import annotations

import hashlib
import platform
import sys
from importlib import metadata

PACKAGES = ("salesops-engine", "pyomo", "highspy", "simpy", "numpy", "pandas", "pyarrow",
            "pydantic", "scipy", "statsmodels", "scikit-learn", "plotly", "PyYAML", "typer", "rich")


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
                   scenario_file: str) -> dict:
    """The manifest as a JSON-ready dict (wall times in seconds)."""
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
    }
