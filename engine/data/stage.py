"""The data stage: a scenario's CRM export -> calibrated scenario, KPI tables and lead history.

`calibrate_stage(loaded)` reads `data.crm_dir` (with `data.mapping`, `data.lenient`), calibrates
(engine/calibrate.py) and returns a NEW `LoadedScenario` in which (a deal export, named by
`data.preset` or a folder without leads.csv, goes to engine/data/deals_stage.py instead):

* `regions`: the scenario's regions plus any region found in the export;
* `segments`: every segment of the export and of the scenario with its calibrated `deal_size`
  (fitted to all won amounts when a segment has fewer than two won deals); `support_tier` and
  `gross_margin` are kept from the scenario's segment of the same name;
* `funnel.stages`: the export's stages in funnel order with calibrated conversion (per segment;
  segments absent from the export get the pooled rate) and duration; the role comes from
  `data.stage_roles`, else the scenario's same-named stage, else SDR / AE (see calibrate.py);
  `work_hours` is kept from the scenario's same-named stage (the export records activities, not
  time) and estimated from activities otherwise; the other funnel settings are kept;
* `demand`: calibrated baseline (at the horizon start), annual growth, seasonality and cv.
* `sources`: where each figure came from (engine/data/calibrate.py `_sources`; work hours the
  scenario kept are marked as its own), listed by the report, assumed figures first.

The merged dict is re-validated with `Scenario.model_validate` and the meaning checks; the
file path stays the original's. The StageOutput "data" holds the calibration report, the data-
quality report, the KPI tables, the lead-scoring tables and the rare segment / region values of
the leads (`rare_values.csv`, engine/data/rare.py; also logged) under `data/`, and as its result a
`DataOut`: `history` (monthly lead counts: month, segment, region, leads; None when
`data.forecast` is `parameters` or there are fewer than 6 months in `auto`), `calibration`,
`scoring`, `crm`.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data.calibrate import Calibration, calibrate
from engine.data.crm import CrmData, read_crm
from engine.data.deals_stage import deals_stage
from engine.data.export_mapping import is_lead_export
from engine.data.kpis import kpi_tables
from engine.data.rare import rare_frame, rare_record, rare_values, warning
from engine.data.revalidate import revalidated
from engine.data.scoring import ScoringResult, score_leads
from engine.plan.demand import SHORT_MIN_MONTHS
from engine.scenario.load import LoadedScenario
from engine.stage import StageOutput, StageResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DataOut(StageResult):
    """What the data stage hands on: the lead history the forecast reads and the calibration."""

    history: pd.DataFrame | None
    """month, segment, region, leads; None when the forecast uses the calibrated parameters."""
    calibration: Calibration
    scoring: ScoringResult | None
    """None when lead scoring was skipped (too few labelled leads)."""
    crm: CrmData


def _stage_roles(loaded: LoadedScenario) -> dict[str, str]:
    s = loaded.scenario
    roles = {st.name: st.role for st in s.funnel.stages} if s.funnel else {}
    return {**roles, **(s.data.stage_roles or {})}


def merged_scenario(resolved: dict, cal: Calibration) -> dict:
    """The resolved scenario dict with regions, segments, funnel stages and demand calibrated."""
    data = copy.deepcopy(resolved)
    frag = cal.fragment
    regions = list(data.get("regions") or [])
    names = {r.get("name") for r in regions}
    data["regions"] = regions + [r for r in frag["regions"] if r["name"] not in names]
    old_segments = {sg["name"]: sg for sg in data.get("segments") or []}
    new_segments = {sg["name"]: {**old_segments.get(sg["name"], {}), **sg} for sg in frag["segments"]}
    data["segments"] = [new_segments.get(n, old_segments.get(n)) for n in old_segments] + \
        [sg for n, sg in new_segments.items() if n not in old_segments]
    old_stages = {st["name"]: st for st in (data.get("funnel") or {}).get("stages", [])}
    stages = []
    for st in frag["funnel"]["stages"]:
        st = copy.deepcopy(st)
        if st["name"] in old_stages and "work_hours" in old_stages[st["name"]]:
            st["work_hours"] = old_stages[st["name"]]["work_hours"]
        stages.append(st)
    data["funnel"] = {**(data.get("funnel") or {}), "stages": stages}
    data["demand"] = {**(data.get("demand") or {}), **frag["demand"]}
    sources = {**(data.get("sources") or {}), **cal.sources}
    for st in stages:
        if st["name"] in old_stages and "work_hours" in old_stages[st["name"]]:
            sources[f"funnel.stages.{st['name']}.work_hours"] = "the scenario's own value"
    data["sources"] = sources
    return data


def rare_leads(crm: CrmData) -> pd.DataFrame:
    """Rare segment and region values of the leads file (engine/data/rare.py), with their lines,
    named by the export's column (the mapping's `values:` entry by ours)."""
    leads, name = crm.leads, Path(crm.files.get("leads", "leads.csv")).name
    records = []
    for c in ("segment", "region"):
        for value, n, common in rare_values(leads[c]):
            lines = leads.loc[leads[c] == value, "line"].tolist()
            records.append(rare_record(name, "leads", c, crm.export_column("leads", c), value, n, len(leads), lines, common))
    return rare_frame(records)


def _tables(cal: Calibration, sc: ScoringResult | None, crm: CrmData, rare: pd.DataFrame) -> dict[str, pd.DataFrame]:
    tables = {f"data/{name}.csv": frame for name, frame in cal.report.items()}
    if len(rare):
        tables["data/rare_values.csv"] = rare
    tables["data/history.csv"] = cal.history
    tables.update(kpi_tables(crm))
    if sc is not None:
        tables["data/scoring_calibration.csv"] = sc.calibration
        tables["data/scoring_expected.csv"] = sc.expected
    return tables


def _summary(crm: CrmData, cal: Calibration, sc: ScoringResult | None, history_used: bool, rare: int) -> dict:
    q = crm.quality
    skipped = q[q["action"] == "skipped"].groupby("file")["rows"].sum()
    conv = cal.report["conversions"]
    pooled = conv[conv["segment"] == "*"]
    wc = cal.report["win_cycle"].set_index("segment")
    return {
        "as_of": crm.as_of.strftime("%Y-%m-%dT%H:%M:%S"),
        "leads": len(crm.leads), "opportunities": len(crm.opportunities),
        "stage_rows": len(crm.stage_history), "activities": len(crm.activities),
        "rows_skipped": {k: int(v) for k, v in skipped.items()},
        "rare_values": rare,
        "conversion": {r.stage: _num(r.rate) for r in pooled.itertuples()},
        "win_rate": _num(wc.loc["*", "win_rate"]) if "*" in wc.index else None,
        "cycle_days_median": _num(wc.loc["*", "cycle_days_median"]) if "*" in wc.index else None,
        "annual_growth": cal.fragment["demand"]["annual_growth"],
        "history_months": int(cal.history["month"].nunique()),
        "forecast_from_history": history_used,
        "scoring": None if sc is None else {
            "method": sc.method, "holdout_auc": sc.auc, "horizon_days": sc.horizon_days,
            "expected_opportunities": float(sc.expected["expected_opportunities"].sum()),
            "expected_wins": float(sc.expected["expected_wins"].sum()),
            "expected_bookings": float(sc.expected["expected_bookings"].sum())},
    }


def _num(x: object) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else float(x)


def calibrate_stage(loaded: LoadedScenario) -> tuple[LoadedScenario, StageOutput[DataOut]]:
    """Calibrate the scenario from its CRM export; see the module docstring. A deal export
    (`data.preset`, or a folder without leads.csv) goes to engine/data/deals_stage.py."""
    s = loaded.scenario
    if s.data is None:
        return loaded, StageOutput(name="data")
    d = s.data
    mapping = loaded.resolve_path(d.mapping) if d.mapping else None
    if not is_lead_export(loaded.resolve_path(d.crm_dir), d.preset, mapping):
        return deals_stage(loaded)
    crm = read_crm(loaded.resolve_path(d.crm_dir), mapping, d.lenient)
    cal = calibrate(crm, _stage_roles(loaded), d.activity_hours,
                    s.horizon.start if s.horizon else None,
                    segments=[sg.name for sg in s.segments])
    new = revalidated(loaded, merged_scenario(loaded.resolved, cal))
    try:
        sc = score_leads(crm, d.scoring)
    except ValueError as exc:
        log.warning("lead scoring skipped: %s", exc)
        sc = None
    months = cal.history["month"].nunique()
    use_history = d.forecast == "history" or (d.forecast == "auto" and months >= SHORT_MIN_MONTHS)
    rare = rare_leads(crm)
    for record in rare.to_dict("records"):
        log.warning("%s", warning(crm.files.get("leads", "leads.csv"), record))
    out = StageOutput(name="data", tables=_tables(cal, sc, crm, rare),
                      summary=_summary(crm, cal, sc, use_history, len(rare)),
                      result=DataOut(cal.history if use_history else None, cal, sc, crm))
    return new, out
