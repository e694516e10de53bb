"""Read a run folder back: summary, manifest and the tables of DESIGN.md, for compare and re-rendering."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from engine.errors import InputError

TABLES = {
    "forecast": "demand/forecast.csv",
    "hiring": "plan/hiring.csv",
    "hiring_cases": "plan/hiring_cases.csv",
    "staffing": "plan/staffing.csv",
    "territories": "plan/territories.csv",
    "allocation": "plan/allocation.csv",
    "monthly": "sim/monthly.csv",
    "reconciliation": "reconciliation.csv",
}
STRING_COLUMNS = ("month", "case", "role", "segment", "region", "team", "scope", "metric",
                  "territory", "unit_id", "center_unit_id")


@dataclass
class RunFolder:
    """A finished run folder: its summary.json and whichever tables it holds."""

    path: Path
    summary: dict
    manifest: dict
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.summary.get("scenario") or self.path.name)

    @property
    def currency(self) -> str:
        return str(self.summary.get("currency") or "EUR")


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a run-folder CSV; only an empty cell is missing, so a region called `NA` stays `NA`."""
    return pd.read_csv(path, dtype={c: str for c in STRING_COLUMNS}, keep_default_na=False,
                       na_values=[""])


def _headline_problem(headline: object) -> tuple[str, str] | None:
    """(field path, what is wrong) of the first malformed part of summary.json's headline."""
    if headline is None:
        return None
    if not isinstance(headline, dict):
        return "headline", f"is {type(headline).__name__}, not an object"
    for case, figures in headline.items():
        if not isinstance(figures, dict):
            return f"headline.{case}", f"is {type(figures).__name__}, not an object"
        for key, value in figures.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
                return f"headline.{case}.{key}", f"is {type(value).__name__}, not a number or null"
    return None


def read_run(path: Path | str) -> RunFolder:
    """Read a run folder; InputError naming the folder when it is not one (no summary.json)."""
    folder = Path(path)
    if not folder.is_dir():
        raise InputError.single(str(folder), "<run folder>", "not a folder",
                                "a run folder written by `salesops run`")
    summary_path = folder / "summary.json"
    if not summary_path.is_file():
        raise InputError.single(str(folder), "summary.json", "missing: this is not a run folder",
                                "a run folder written by `salesops run` (with summary.json)")
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError.single(str(summary_path), "<root>", f"unreadable JSON ({exc})",
                                "the summary.json `salesops run` writes") from None
    if not isinstance(summary, dict):
        raise InputError.single(str(summary_path), "<root>", "not a JSON object",
                                "the summary.json `salesops run` writes")
    bad = _headline_problem(summary.get("headline"))
    if bad is not None:
        raise InputError.single(str(summary_path), bad[0], bad[1],
                                "per demand case an object of numbers or null, as `salesops run` writes")
    for key in ("scenario", "currency"):
        if key in summary and not isinstance(summary[key], str):
            raise InputError.single(str(summary_path), key, f"is {type(summary[key]).__name__}, not text",
                                    "the text `salesops run` writes")
    manifest_path = folder / "manifest.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    except ValueError:
        manifest = {}
    run = RunFolder(folder, summary, manifest if isinstance(manifest, dict) else {})
    for key, rel in TABLES.items():
        file = folder / rel
        if file.is_file():
            try:
                run.tables[key] = _read_csv(file)
            except (OSError, ValueError, pd.errors.ParserError) as exc:
                raise InputError.single(str(file), "<table>", f"unreadable CSV ({exc})",
                                        "the CSV `salesops run` writes") from None
    return run


def stage_outputs(run: RunFolder) -> dict:
    """StageOutputs rebuilt from a run folder's files (to re-reconcile or re-render a past run)."""
    from engine.stage import (
        AllocationOut,
        DemandOut,
        SimulationOut,
        StageOutput,
        SupplyOut,
        TerritoryOut,
    )

    t, s = run.tables, run.summary
    out: dict[str, StageOutput] = {}
    if "forecast" in t:
        out["demand"] = StageOutput("demand", summary=s.get("demand", {}),
                                    result=DemandOut(t["forecast"]))
    if "territories" in t:
        out["territory"] = StageOutput("territory", summary=s.get("territory", {}),
                                       result=TerritoryOut(t["territories"]))
    if "hiring" in t or "hiring_cases" in t:
        plan = SupplyOut(hiring=t.get("hiring"), staffing=t.get("staffing"))
        tables = {"plan/hiring_cases.csv": t["hiring_cases"]} if "hiring_cases" in t else {}
        out["hiring"] = StageOutput("hiring", tables=tables, summary=s.get("hiring", {}), result=plan)
    if "allocation" in t:
        out["allocation"] = StageOutput("allocation", summary=s.get("allocation", {}),
                                        result=AllocationOut(t["allocation"]))
    if "monthly" in t:
        leads = run.path / "sim" / "leads.parquet"
        out["simulation"] = StageOutput("simulation", summary=s.get("simulation", {}), result=SimulationOut(
            t["monthly"], pd.read_parquet(leads) if leads.is_file() else None))
    return out
