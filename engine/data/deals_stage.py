"""The data stage for a deal export: `salesops run` on a scenario whose `data:` names a preset
(or a folder without leads.csv) calibrates from the opportunity report directly.

`deals_stage(loaded)` reads `data.crm_dir` with `data.preset`, `data.mapping` and `data.lenient`
(engine/data/deals.py), calibrates it (engine/data/deals_calibrate.py: open deals censored at the
export date) and writes the calibrated sections over the scenario exactly as `salesops calibrate
--complete` does (`complete_scenario`: regions, segments, the scenario's lead stages then the
calibrated opportunity stages, demand, roles' `headcount_start` from a users sheet, `sources`
with every assumed figure). The scenario keeps its name, its `data:` section and any `sources`
of its own; `data.stage_roles` names the role of a calibrated stage.

Tables under `data/` (the columns of `salesops calibrate`'s report): `outcomes.csv` (censored
and naive figures), `duration_aic.csv`, `history.csv` (month, segment, region, opportunities,
leads), `quality.csv`, `stage_reach.csv`, `headcount.csv` and `rep_productivity.csv` (with a
users sheet), `rare_values.csv` (when a segment or region value is rare; engine/data/rare.py `RARE_COLUMNS`).

The history the forecast reads is in leads: opportunities created per month divided by the
product of the lead stages' conversions, as the calibrated demand baseline is.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.deals import DealExport, read_deals
from engine.data.deals_calibrate import WHOLE, DealCalibration, calibrate_deals, complete_scenario
from engine.data.revalidate import revalidated
from engine.plan.demand import SHORT_MIN_MONTHS
from engine.scenario.load import LoadedScenario
from engine.scenario.model import Scenario
from engine.stage import StageOutput, StageResult

log = logging.getLogger(__name__)
MIN_LEAD_FACTOR = 1e-9
"""Floor of the lead stages' conversion product (complete_scenario divides by the same)."""


@dataclass(frozen=True)
class DealDataOut(StageResult):
    """What the data stage hands on from a deal export."""

    history: pd.DataFrame | None
    """month, segment, region, leads (opportunities / lead-stage conversions); None when the
    forecast uses the calibrated parameters."""
    calibration: DealCalibration
    export: DealExport


def calibrated_scenario(resolved: dict, cal: DealCalibration, stage_roles: dict[str, str] | None) -> dict:
    """The resolved scenario dict with the calibrated sections of `complete_scenario` written over
    it; name, `data:` and the scenario's own `sources` stay."""
    body, _ = complete_scenario(resolved, cal, str(resolved.get("name")))
    body.pop("name")
    body.pop("data", None)
    data = {**copy.deepcopy(resolved), **body}
    data["sources"] = {**(resolved.get("sources") or {}), **body["sources"]}
    for st in data["funnel"]["stages"]:
        if stage_roles and st["name"] in stage_roles:
            st["role"] = stage_roles[st["name"]]
    return data


def lead_history(opportunities: pd.DataFrame, scenario: Scenario, calibrated: list[str]) -> pd.DataFrame:
    """Monthly opportunities (month, segment, region, leads = opportunities) as leads: divided by
    the product of the conversions of the funnel stages before the calibrated ones."""
    lead_stages = [st for st in scenario.funnel.stages if st.name not in calibrated]
    factor = {g: max(float(np.prod([st.conversion_for(g) for st in lead_stages])), MIN_LEAD_FACTOR)
              for g in opportunities["segment"].unique()}
    out = opportunities.rename(columns={"leads": "opportunities"})
    out["leads"] = out["opportunities"] / out["segment"].map(factor)
    return out


def _summary(ex: DealExport, cal: DealCalibration, preset: str | None, history: pd.DataFrame,
             used: bool, sources: dict[str, str]) -> dict:
    q = ex.quality
    skipped = q[q["action"] == "skipped"].groupby("file")["rows"].sum()
    conv = cal.report["outcomes"]
    outcome = conv[conv["stage"] == WHOLE].iloc[0]
    pooled = conv[(conv["segment"] == "*") & (conv["stage"] != WHOLE)]
    return {
        "export": "deals", "preset": preset,
        "files": {kind: Path(path).name for kind, path in ex.files.items()},
        "as_of": ex.as_of.strftime("%Y-%m-%dT%H:%M:%S"), "stage_reach_from": ex.history_source,
        "opportunities": len(ex.deals), "open": int((ex.deals["status"] == "open").sum()),
        "stage_rows": len(ex.history),
        "rows_skipped": {k: int(v) for k, v in skipped.items()},
        "rare_values": len(ex.rare_values),
        "win_rate": _num(outcome.win_rate), "win_rate_low": _num(outcome.win_rate_low),
        "win_rate_high": _num(outcome.win_rate_high), "naive_win_rate": _num(outcome.naive_win_rate),
        "close_days_median": _num(outcome.close_days_median),
        "naive_close_days_median": _num(outcome.naive_close_days_median),
        "conversion": {r.stage: _num(r.win_rate) for r in pooled.itertuples()},
        "annual_growth": cal.fragment["demand"]["annual_growth"],
        "history_months": int(history["month"].nunique()),
        "forecast_from_history": used,
        "assumed": sorted(k for k, v in sources.items() if v.startswith("assumed")),
    }


def _num(x: float) -> float | None:
    return None if x is None or np.isnan(x) else round(float(x), 6)


def _tables(ex: DealExport, cal: DealCalibration, history: pd.DataFrame) -> dict[str, pd.DataFrame]:
    tables = {f"data/{name}.csv": frame for name, frame in cal.report.items()
              if frame is not None and len(frame.columns)}
    tables["data/history.csv"] = history
    if len(ex.rare_values):
        tables["data/rare_values.csv"] = ex.rare_values
    return tables


def _active_users(cal: DealCalibration) -> dict[str, int] | None:
    """People per lower-case role name in the users sheet (None without one)."""
    if cal.headcount is None:
        return None
    by_role = cal.headcount.groupby(cal.headcount["role"].str.lower())["headcount"].sum()
    return {str(role): int(n) for role, n in by_role.items()}


def _tell(ex: DealExport) -> None:
    """What the CLI prints for `salesops calibrate` too: skips by reason and rare values."""
    for line in ex.skipped_lines() + ex.warnings:
        log.warning("%s", line)


def deals_stage(loaded: LoadedScenario) -> tuple[LoadedScenario, StageOutput[DealDataOut]]:
    """Calibrate the scenario from its deal export; see the module docstring."""
    s = loaded.scenario
    d = s.data
    mapping = loaded.resolve_path(d.mapping) if d.mapping else None
    ex = read_deals(loaded.resolve_path(d.crm_dir), d.preset, mapping, d.lenient)
    _tell(ex)
    cal = calibrate_deals(ex, s.horizon.start if s.horizon else None)
    new = revalidated(loaded, calibrated_scenario(loaded.resolved, cal, d.stage_roles), _active_users(cal))
    history = lead_history(cal.report["history"], new.scenario,
                           [st["name"] for st in cal.fragment["funnel"]["stages"]])
    months = history["month"].nunique()
    used = d.forecast == "history" or (d.forecast == "auto" and months >= SHORT_MIN_MONTHS)
    out = StageOutput(name="data", tables=_tables(ex, cal, history),
                      summary=_summary(ex, cal, d.preset, history, used, new.scenario.sources),
                      result=DealDataOut(history[["month", "segment", "region", "leads"]] if used else None,
                                         cal, ex))
    return new, out
