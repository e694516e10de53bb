"""A validated scenario with where it came from (its own module: the loader and the checks both read it)."""

from __future__ import annotations

from pathlib import Path

from engine.scenario.model import Scenario


class LoadedScenario:
    """A validated scenario with where it came from."""

    def __init__(self, scenario: Scenario, path: Path, resolved: dict, overrides: list[str]):
        self.scenario = scenario
        self.path = path
        self.directory = path.parent
        self.resolved = resolved
        self.overrides = overrides

    def resolve_path(self, relative: str) -> Path:
        """A data-file path from the scenario, relative to the scenario file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.directory / p)
