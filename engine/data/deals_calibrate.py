"""Opportunity-only calibration: funnel, deal sizes, demand and headcount from a deal export.

With no lead table the funnel starts at "opportunity created":

* **Demand**: monthly opportunities created per segment x region over complete months, fitted
  as engine/data/calibrate.py's `demand_fit` fits lead counts (trend, seasonality, cv); the
  baseline counts opportunities per month.
* **Stages**: the export's open stages in funnel order. Conversion of stage k (share of the deals
  that reached k which move past it; past the last stage: won) is a competing-risks estimate
  (engine/data/survival.py: Aalen-Johansen, moved on vs lost, open deals censored at the export
  date), per segment where it has `MIN_SEGMENT_DEALS` deals at the stage, else pooled. Which
  deals reached which stage comes from the stage history (Salesforce history report, HubSpot
  date-entered columns) and otherwise from current stages (a deal at stage k has passed the
  stages before it); when lost deals do not keep their stage (Salesforce, HubSpot without
  history) the funnel is one stage, `opportunity`, converting at the censored win rate.
* **Durations**: days from entering a stage to entering the next (last stage: to won or lost),
  from deals that entered it at least 1.25 x the 99th percentile of those durations before the
  export date; exponential / lognormal / gamma by AIC. Without history they are assumed: the
  won deals' time to close split evenly over the stages.
* **Deal size** per segment: fitted to won amounts (pooled for a segment with fewer than two).
* **Work hours**: an export of deals records no activity time, so every stage's work hours are
  assumed (`DEFAULT_WORK_HOURS`, or the parent scenario's) and listed as assumptions.
* **Headcount** (users sheet): active users per role and region at the export date, and deals
  closed per rep-month; `--complete` sets the parent's same-named roles' `headcount_start`.

`sources` maps each figure's dotted path to where it came from; every `assumed: ...` entry is
also in `assumptions`, which the CLI prints and the report table lists.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from engine.data import fit as crm_dists
from engine.data.calibrate import (
    DEFAULT_WORK_HOURS,
    MATURITY_FACTOR,
    MATURITY_QUANTILE,
    MIN_DURATION_DAYS,
    demand_fit,
)
from engine.data.deals import DealExport
from engine.data.survival import LOST, OPEN, WON, OutcomeEstimate, outcome_estimate
from engine.errors import InputError

MIN_SEGMENT_DEALS = 30
"""Deals at a stage a segment needs for its own conversion (else the pooled one)."""
SINGLE_STAGE = "opportunity"
WHOLE = "(created to closed)"
"""The `stage` of the report row with the whole opportunity's outcome (win rate, time to close)."""
AE_ROLE = "AE"


@dataclass
class DealCalibration:
    """The fragment (YAML-ready dict), its sources, the assumptions, and report frames."""

    fragment: dict
    sources: dict[str, str]
    report: dict[str, pd.DataFrame] = field(default_factory=dict)
    assumptions: list[str] = field(default_factory=list)
    headcount: pd.DataFrame | None = None
    """role, region, headcount (active users at the export date)."""


def _days(t: pd.Series | np.ndarray) -> np.ndarray:
    v = pd.to_datetime(pd.Series(t)).to_numpy(dtype="datetime64[s]")
    out = v.astype("int64").astype(float) / 86400.0
    out[np.isnat(v)] = np.nan
    return out


def _entries(ex: DealExport) -> tuple[list[str], np.ndarray]:
    """Stages and the day each deal entered each (NaN when unknown), back-filled so a deal that
    skipped a stage enters it when it entered the next one."""
    stages = ex.stage_order
    n = len(ex.deals)
    entered = np.full((len(stages), n), np.inf)
    h = ex.history[ex.history["stage"].isin(stages)]
    if len(h):
        k = pd.Series(range(len(stages)), index=stages).reindex(h["stage"]).to_numpy()
        np.minimum.at(entered, (k, h["deal"].to_numpy()), _days(h["entered_at"]))
    entered[np.isinf(entered)] = np.nan
    cur = pd.Series(range(len(stages)), index=stages).reindex(ex.deals["stage"]).to_numpy()
    created = _days(ex.deals["created_at"])
    if len(stages):
        entered[0] = np.where(np.isnan(entered[0]), created, entered[0])
    for k in range(len(stages) - 2, -1, -1):
        entered[k] = np.where(np.isnan(entered[k]), entered[k + 1], entered[k])
    reached_now = np.where(np.isnan(cur), -1, cur)
    for k in range(1, len(stages)):
        unknown = np.isnan(entered[k]) & (reached_now >= k)
        entered[k] = np.where(unknown, entered[k - 1], entered[k])
    return stages, entered


def _lost_keep_stage(ex: DealExport) -> bool:
    lost = ex.deals[ex.deals["status"] == "lost"]
    return len(ex.history) > 0 or (len(lost) > 0 and lost["stage"].isin(ex.stage_order).mean() > 0.5)


def _stage_events(k: int, entered: np.ndarray, status: np.ndarray, closed: np.ndarray, as_of: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reached k, days followed, event) per deal at stage k: moved on (WON code), lost at k
    (LOST), or still there at the export date (OPEN)."""
    reached = np.isfinite(entered[k])
    later = entered[k + 1:] if k + 1 < len(entered) else np.empty((0, entered.shape[1]))
    moved_at = np.fmin.reduce(later, axis=0) if len(later) else np.full(entered.shape[1], np.nan)
    won_last = (status == "won") & (k + 1 == len(entered))
    moved_at = np.where(won_last, closed, moved_at)
    moved = np.isfinite(moved_at) | (status == "won")
    moved_at = np.where(np.isfinite(moved_at), moved_at, closed)
    lost = ~moved & (status == "lost")
    end = np.where(moved, moved_at, np.where(lost, closed, as_of))
    event = np.where(moved, WON, np.where(lost, LOST, OPEN))
    return reached, np.maximum(end - entered[k], 0.0), event


def _duration(days: np.ndarray, start: np.ndarray, as_of: float, rng: np.random.Generator
              ) -> tuple[dict | None, pd.DataFrame]:
    if len(days) < 2:
        return None, pd.DataFrame()
    cutoff = MATURITY_FACTOR * float(np.quantile(days, MATURITY_QUANTILE))
    sample = np.maximum(days[start <= as_of - cutoff], MIN_DURATION_DAYS)
    if len(sample) < 2:
        sample = np.maximum(days, MIN_DURATION_DAYS)
    fits = crm_dists.fit_families(sample if len(sample) <= 200_000 else rng.choice(sample, 200_000, replace=False))
    best = fits[0]
    dist = {"kind": best.kind, "mean": round(float(best.mean), 4),
            "cv": 1.0 if best.kind == "exponential" else round(float(best.cv), 4)}
    table = pd.DataFrame([{"kind": fi.kind, "aic": fi.aic, "chosen": fi is best, "n": len(sample)} for fi in fits])
    return dist, table


def _conversions(ex: DealExport, reached: np.ndarray, days: np.ndarray, event: np.ndarray,
                 stage: str, segments: list[str]) -> tuple[dict[str, float], list[dict]]:
    seg = ex.deals["segment"].to_numpy()
    pooled = outcome_estimate(days[reached], event[reached])
    rows = [{"stage": stage, "segment": "*", **pooled.as_row()}]
    out = {}
    for g in segments:
        m = reached & (seg == g)
        if m.sum() >= MIN_SEGMENT_DEALS and (event[m] != OPEN).any():
            est = outcome_estimate(days[m], event[m])
            rows.append({"stage": stage, "segment": g, **est.as_row()})
            out[g] = round(est.win_rate, 5)
        else:
            out[g] = round(pooled.win_rate, 5)
    return out, rows


def _stages(ex: DealExport, segments: list[str], rng: np.random.Generator
            ) -> tuple[list[dict], pd.DataFrame, pd.DataFrame, dict[str, str]]:
    as_of = float(_days(pd.Series([ex.as_of]))[0])
    status = ex.deals["status"].to_numpy()
    closed = _days(ex.deals["closed_at"])
    created = _days(ex.deals["created_at"])
    sources: dict[str, str] = {}
    opp = Path(ex.files["opportunities"]).name
    if not ex.stage_order or not _lost_keep_stage(ex):
        stages, entered = [SINGLE_STAGE], created[None, :]
        sources["funnel.stages"] = (f"one stage: {opp} has no stage history and lost deals do not keep "
                                    "their stage; conversion = censored win rate")
    else:
        stages, entered = _entries(ex)
        sources["funnel.stages"] = f"stages and reach from the {ex.history_source} of {opp}"
    rows, aic, out = [{"stage": WHOLE, "segment": "*", **deal_outcomes(ex).as_row()}], [], []
    with_history = len(ex.history) > 0 or stages == [SINGLE_STAGE]
    for k, stage in enumerate(stages):
        reached, days, event = _stage_events(k, entered, status, closed, as_of)
        conv, conv_rows = _conversions(ex, reached, days, event, stage, segments)
        rows += conv_rows
        done = reached & (event != OPEN) if k + 1 == len(stages) else reached & (event == WON)
        dist, table = _duration(days[done], entered[k][done], as_of, rng) if with_history else (None, pd.DataFrame())
        if len(table):
            aic.append(table.assign(stage=stage))
        out.append({"name": stage, "role": AE_ROLE, "conversion": conv, "work_hours": DEFAULT_WORK_HOURS,
                    "duration_days": dist})
        sources[f"funnel.stages.{stage}.conversion"] = (
            f"estimated: Aalen-Johansen, open deals censored at {ex.as_of:%Y-%m-%d} ({opp})")
        sources[f"funnel.stages.{stage}.work_hours"] = (
            f"assumed: {DEFAULT_WORK_HOURS} h per deal (a deal export records no activity time)")
    _fill_durations(ex, out, created, closed, status, sources)
    return out, pd.DataFrame(rows), pd.concat(aic, ignore_index=True) if aic else pd.DataFrame(), sources


def _fill_durations(ex: DealExport, stages: list[dict], created: np.ndarray, closed: np.ndarray,
                    status: np.ndarray, sources: dict[str, str]) -> None:
    """Stages without a fitted duration: the won deals' mean time to close, split evenly."""
    won_days = (closed - created)[status == "won"]
    mean = float(np.mean(won_days)) / len(stages) if len(won_days) else 30.0 / len(stages)
    for st in stages:
        if st["duration_days"] is None:
            st["duration_days"] = {"kind": "exponential", "mean": round(max(mean, MIN_DURATION_DAYS), 4), "cv": 1.0}
            sources[f"funnel.stages.{st['name']}.duration_days"] = (
                "assumed: mean time from creation to won, split evenly over the stages (no stage history)")
        else:
            sources.setdefault(f"funnel.stages.{st['name']}.duration_days",
                               "estimated: entry to next entry, matured deals, best of 3 families by AIC")


def deal_outcomes(ex: DealExport) -> OutcomeEstimate:
    """Whole-opportunity outcome: win rate and days from creation to close, open deals censored
    at the export date, with the naive closed-only figures."""
    created = _days(ex.deals["created_at"])
    closed = _days(ex.deals["closed_at"])
    as_of = float(_days(pd.Series([ex.as_of]))[0])
    status = ex.deals["status"].to_numpy()
    event = np.select([status == "won", status == "lost"], [WON, LOST], OPEN)
    return outcome_estimate(np.where(np.isnan(closed), as_of, closed) - created, event)


def _deal_sizes(ex: DealExport, segments: list[str], rng: np.random.Generator
                ) -> tuple[list[dict], dict[str, str]]:
    won = ex.deals[(ex.deals["status"] == "won") & (ex.deals["amount"] > 0)]
    opp = Path(ex.files["opportunities"]).name

    def fit(values: np.ndarray) -> dict:
        best = crm_dists.fit_families(values if len(values) <= 200_000 else rng.choice(values, 200_000, replace=False))[0]
        return {"kind": best.kind, "mean": round(float(best.mean), 4), "cv": 1.0 if best.kind == "exponential" else round(float(best.cv), 4)}

    amounts = won["amount"].to_numpy(dtype=float)
    if len(amounts) < 2:
        raise InputError.single(ex.files["opportunities"], "amount", f"only {len(amounts)} won deals with an amount",
                                "at least two won deals to fit a deal-size distribution")
    pooled = fit(amounts)
    out, sources = [], {}
    for g in segments:
        mine = won.loc[won["segment"] == g, "amount"].to_numpy(dtype=float)
        out.append({"name": g, "deal_size": fit(mine) if len(mine) >= 2 else pooled})
        sources[f"segments.{g}.deal_size"] = (f"estimated from {len(mine)} won amounts ({opp})" if len(mine) >= 2
                                              else f"estimated from all {len(amounts)} won amounts (pooled; {opp})")
    return out, sources


def monthly_opportunities(ex: DealExport) -> pd.DataFrame:
    """Opportunities created per month x segment x region over complete months (column `leads`,
    the name demand_fit reads)."""
    d = ex.deals
    month = d["created_at"].dt.to_period("M")
    last = ex.as_of.to_period("M")
    if ex.as_of < (last + 1).start_time - pd.Timedelta(days=1):
        last = last - 1
    first = d["created_at"].min().to_period("M")
    if d["created_at"].min() >= first.start_time + pd.Timedelta(days=1):
        first = first + 1
    frame = pd.DataFrame({"month": month, "segment": d["segment"], "region": d["region"]})
    counts = frame[(month >= first) & (month <= last)].groupby(["month", "segment", "region"]).size()
    series = counts.index.droplevel(0).unique()
    full = pd.MultiIndex.from_tuples([(m, s, r) for m in pd.period_range(first, last, freq="M") for s, r in series],
                                     names=["month", "segment", "region"])
    counts = counts.reindex(full, fill_value=0).rename("leads").reset_index()
    counts["month"] = counts["month"].dt.strftime("%Y-%m")
    return counts


def headcount(ex: DealExport) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """Active users per role x region at the export date, and deals closed per rep-month."""
    if ex.users is None:
        return None, None
    u = ex.users[ex.users["active"]]
    hc = u.groupby(["role", "region"]).size().rename("headcount").reset_index()
    closed = ex.deals[ex.deals["status"] != "open"]
    months = max((ex.as_of - ex.deals["created_at"].min()).days / 30.44, 1.0)
    per = closed.assign(won=closed["status"] == "won").groupby("owner").agg(
        closed=("status", "size"), won=("won", "sum"))
    per = per.join(u.set_index("rep")[["role", "region"]], how="left").fillna({"role": "(not in users)", "region": ""})
    per["closed_per_month"] = per["closed"] / months
    per["won_per_month"] = per["won"] / months
    return hc, per.rename_axis("rep").reset_index()


def calibrate_deals(ex: DealExport, start_month: str | None = None, seed: int = 0) -> DealCalibration:
    """Scenario fragment (regions, segments, funnel, demand) from a deal export."""
    rng = np.random.default_rng(seed)
    segments = sorted(ex.deals["segment"].unique())
    regions = sorted(ex.deals["region"].unique())
    stages, conv, aic, sources = _stages(ex, segments, rng)
    seg_rows, seg_sources = _deal_sizes(ex, segments, rng)
    history = monthly_opportunities(ex)
    if history["month"].nunique() < 2:
        raise InputError.single(ex.files["opportunities"], "created_at", "fewer than 2 complete months of opportunities",
                                "an export spanning at least two calendar months")
    demand = demand_fit(history, start_month)
    demand = {k: demand[k] for k in ("baseline", "annual_growth", "seasonality", "uncertainty_cv")}
    opp = Path(ex.files["opportunities"]).name
    sources.update(seg_sources)
    sources["demand"] = (f"estimated: opportunities created per month in {opp} (the funnel starts at "
                         "opportunity created; lead volume and lead-stage conversions are not in the export)")
    users_file = Path(ex.files["users"]).name if "users" in ex.files else None
    sources["regions"] = (f"regions of the deals ({'owners in ' + users_file if users_file else opp})")
    hc, per_rep = headcount(ex)
    fragment = {"regions": [{"name": r} for r in regions], "segments": seg_rows,
                "funnel": {"stages": stages}, "demand": demand}
    report = {"outcomes": conv, "duration_aic": aic, "history": history, "quality": ex.quality,
              "stage_reach": _stage_reach(ex)}
    if hc is not None:
        report["headcount"], report["rep_productivity"] = hc, per_rep
        for role, n in hc.groupby("role")["headcount"].sum().items():
            sources[f"roles.{role}.headcount_start"] = f"proposed: {n} active users with role {role} in {users_file}"
        for role, reps in per_rep[per_rep["role"].isin(hc["role"])].groupby("role"):
            sources[f"roles.{role}.capacity"] = (
                f"estimated: {reps['closed_per_month'].median():.2f} deals closed per rep-month (median of "
                f"{len(reps)} reps; {reps['won_per_month'].median():.2f} won; report rep_productivity.csv)")
    assumptions = [f"{k}: {v}" for k, v in sources.items() if v.startswith("assumed")]
    return DealCalibration(fragment, sources, report, assumptions, hc)


def _stage_reach(ex: DealExport) -> pd.DataFrame:
    """Deals per current stage and status (the export's own view, before any estimate)."""
    return ex.deals.groupby(["stage", "status"]).size().rename("deals").reset_index()


def _per_segment(value: object, segments: list[str]) -> object:
    """A per-segment dict re-keyed to `segments` (a segment it lacks gets the mean), or a number."""
    if not isinstance(value, dict):
        return value
    mean = float(np.mean(list(value.values())))
    return {g: value.get(g, round(mean, 5)) for g in segments}


def _conversion_of(value: object, segment: str) -> float:
    return float(value.get(segment, np.mean(list(value.values())))) if isinstance(value, dict) else float(value)


def complete_scenario(parent: dict, cal: DealCalibration, name: str) -> tuple[dict, list[str]]:
    """The sections that turn `parent` (a resolved scenario dict) into the calibrated scenario
    when written over it with `extends:`: name, regions, segments, funnel (the parent's lead
    stages, then the calibrated opportunity stages), demand, roles (headcount from the users
    sheet), every list whole and consistent, `data: null` (the parent's own CRM export is not
    re-read), and `sources`; plus the assumptions this adds."""
    data: dict = {"name": name}
    if parent.get("data") is not None:
        data["data"] = None
    frag = cal.fragment
    segments = [sg["name"] for sg in frag["segments"]]
    regions = [r["name"] for r in frag["regions"]]
    sources = dict(cal.sources)
    old_segments = {sg["name"]: sg for sg in parent.get("segments") or []}
    first_old = next(iter(old_segments.values()), {})
    data["segments"] = [{**sg, **{k: v for k, v in old_segments.get(sg["name"], first_old).items()
                                  if k not in sg}} for sg in frag["segments"]]
    data["regions"] = frag["regions"]
    roles = {r["name"]: r for r in parent.get("roles") or []}
    kinds = {n: r.get("kind") for n, r in roles.items()}
    old_stages = (parent.get("funnel") or {}).get("stages", [])
    first_ae = next((i for i, st in enumerate(old_stages) if kinds.get(st.get("role")) == "ae"), len(old_stages))
    lead = old_stages[:first_ae]
    ae_old = old_stages[first_ae:]
    ae_role = ae_old[0]["role"] if ae_old else next((n for n, k in kinds.items() if k == "ae"), AE_ROLE)
    stages = []
    for st in lead:
        st = {**st, "conversion": _per_segment(st["conversion"], segments),
              "work_hours": _per_segment(st["work_hours"], segments)}
        stages.append(st)
        sources[f"funnel.stages.{st['name']}"] = f"assumed: lead stage kept from {parent.get('name')}"
    for i, st in enumerate(frag["funnel"]["stages"]):
        st = copy.deepcopy(st)
        st["role"] = ae_role
        if ae_old:
            old = ae_old[min(i, len(ae_old) - 1)] if i + 1 < len(frag["funnel"]["stages"]) else ae_old[-1]
            st["work_hours"] = _per_segment(old["work_hours"], segments)
            sources[f"funnel.stages.{st['name']}.work_hours"] = f"assumed: work hours of stage {old['name']} of {parent.get('name')}"
        stages.append(st)
    data["funnel"] = {**(parent.get("funnel") or {}), "stages": stages}
    factor = {g: float(np.prod([_conversion_of(st["conversion"], g) for st in lead])) if lead else 1.0
              for g in segments}
    demand = copy.deepcopy(frag["demand"])
    for row in demand["baseline"]:
        row["leads_per_month"] = round(row["leads_per_month"] / max(factor[row["segment"]], 1e-9), 3)
    data["demand"] = {**(parent.get("demand") or {}), **demand}
    if lead:
        sources["demand.baseline"] = ("derived: opportunities per month / the product of the lead stages' "
                                      f"conversions (assumed, from {parent.get('name')})")
    data["roles"] = [_role(r, segments, regions, cal.headcount, sources) for r in parent.get("roles") or []]
    data["sources"] = sources
    notes = [f"{k}: {v}" for k, v in sources.items() if v.startswith(("assumed", "derived"))]
    return data, notes


def _role(role: dict, segments: list[str], regions: list[str], hc: pd.DataFrame | None,
          sources: dict[str, str]) -> dict:
    role = copy.deepcopy(role)
    for key, names in (("segments", segments), ("regions", regions)):
        if role.get(key):
            kept = [n for n in role[key] if n in names]
            role[key] = kept or None
            if role[key] is None:
                role.pop(key)
    if hc is not None:
        mine = hc[hc["role"].str.lower() == role["name"].lower()]
        if len(mine):
            role["headcount_start"] = int(mine["headcount"].sum())
            sources[f"roles.{role['name']}.headcount_start"] = sources.pop(
                f"roles.{mine['role'].iloc[0]}.headcount_start", "users sheet").replace("proposed", "estimated")
    return role
