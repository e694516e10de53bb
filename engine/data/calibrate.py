"""`salesops calibrate`: funnel, deal-size and demand parameters estimated from a CRM export.

Method (all vectorised over leads):

* **Funnel order**: stages sorted by the median time from lead creation to entering them.
* **Conversion** of stage k for a segment = items that reached stage k+1 (for the last stage:
  won) / items that reached stage k, counted over the *matured cohort*: items that entered stage k
  at least `cutoff_k` days before the export date, `cutoff_k` = 1.25 x the 99th percentile of the
  observed stage-k durations, so that (almost) every outcome is known and recent open items do
  not bias the rate down. 95 % Wilson intervals.
* **Stage durations** (days from entering stage k to entering k+1; for the last stage to the
  close date, won or lost), from the matured cohort; exponential, lognormal and gamma fitted by
  maximum likelihood (scipy), the lowest AIC chosen. The calibrated duration includes the work
  time, which is small next to the waiting time.
* **Deal size** per segment: the same three families fitted to won amounts.
* **Win rate** (won / closed opportunities) and **cycle time** (lead created -> closed won, days).
* **Lead volume**: a Poisson regression of monthly lead counts per segment x region on a
  series effect, a linear trend in months and (with 24 months or more) calendar-month effects:
  annual growth = exp(12 x trend) - 1, seasonality = the month effects normalised to mean 1,
  baseline = the deseasonalised level in `start_month` (default: the month after the history).
  `uncertainty_cv` is the median over series of the standard deviation of actual / fitted - 1.
* **Work hours** per stage and segment: activities attributed to the stage the lead was in at
  the time (`merge_asof`), times `activity_hours`, per item entering the stage.
* **Roles**: `stage_roles` when given, else stages entered before an opportunity exists go to
  `SDR` and opportunity stages to `AE`.

`calibrate(crm)` returns a `Calibration`: the scenario fragment (keys `regions`, `segments`,
`funnel`, `demand` in the schema of engine/schema/core.py, usable through `extends`) and the
report frames (intervals, AIC table, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from statsmodels.stats.proportion import proportion_confint

from engine.data import fit as crm_dists
from engine.data.crm import CrmData, index_in, read_crm
from engine.errors import InputError

DEFAULT_ACTIVITY_HOURS = {"email": 0.1, "call": 0.25, "meeting": 0.75, "demo": 1.0, "proposal": 2.0}
"""Working time per activity (hours): practitioner priors, override with `data.activity_hours`."""
DEFAULT_WORK_HOURS = 0.5
"""Work hours per item of a stage with no activities attributed to it (hours)."""
MIN_DURATION_DAYS = 1.0 / 1440
"""Durations are floored at one minute so that log-based fits are defined."""
MATURITY_QUANTILE, MATURITY_FACTOR = 0.99, 1.25
FIT_SAMPLE = 200_000
"""At most this many values per fit (a seeded subsample): enough for any AIC difference."""
SEASONAL_MONTHS = 24
DEFAULT_ROLES = ("SDR", "AE")


@dataclass
class Calibration:
    """Scenario fragment (plain dict, YAML-ready) plus report frames keyed by name."""

    fragment: dict
    report: dict[str, pd.DataFrame] = field(default_factory=dict)
    history: pd.DataFrame | None = None
    """Monthly lead counts: month (YYYY-MM), segment, region, leads (complete months only)."""
    sources: dict[str, str] = field(default_factory=dict)
    """Where each figure came from (dotted path -> `estimated: ...` / `assumed: ...`)."""


@dataclass
class Funnel:
    """Per-lead stage entry times (days since the epoch, NaN if never entered) and outcomes."""

    stages: list[str]
    entered: np.ndarray  # (stages, leads) float days
    opp_stage: int
    closed: np.ndarray  # days, NaN while open / no opportunity
    won: np.ndarray  # bool
    segment: np.ndarray  # segment code per lead
    segments: list[str]


def _days(t: pd.Series) -> np.ndarray:
    """Timestamps as float days since 1970 (NaN for NaT)."""
    v = t.to_numpy(dtype="datetime64[s]").astype("int64").astype(float) / 86400.0
    v[t.isna().to_numpy()] = np.nan
    return v


def build_funnel(crm: CrmData, stage_order: list[str] | None = None) -> Funnel:
    """Stage entry per lead (earliest entry of each stage) and the outcome of its first opportunity."""
    leads = crm.leads
    sh = crm.stage_history
    li = index_in(sh["lead_id"], leads["id"])
    created = _days(leads["created_at"])
    t = _days(sh["entered_at"])
    present = pd.Series(pc.unique(pa.array(sh["stage"], type=pa.string())).to_pylist(), dtype=str)
    code = index_in(sh["stage"], present)
    if stage_order is None:
        offset = pd.Series(t - created[li]).groupby(code).median()
        stage_order = [present[int(c)] for c in offset.sort_values(kind="stable").index]
    stages = [s for s in stage_order if s in set(present)]
    si = index_in(sh["stage"], pd.Series(stages, dtype=str))
    ok = (si >= 0) & (li >= 0)
    entered = np.full((len(stages), len(leads)), np.inf)
    np.minimum.at(entered, (si[ok], li[ok]), t[ok])
    entered[np.isinf(entered)] = np.nan
    by_opp = (sh["opportunity_id"] != "").to_numpy(dtype=bool)
    opp_share = pd.Series(by_opp[ok]).groupby(si[ok]).mean().reindex(range(len(stages)), fill_value=0)
    opp_stage = int(np.argmax(opp_share.to_numpy() > 0.5)) if (opp_share > 0.5).any() else len(stages)
    opps = crm.opportunities.sort_values("created_at", kind="stable").drop_duplicates("lead_id")
    oi = index_in(opps["lead_id"], leads["id"])
    closed = np.full(len(leads), np.nan)
    won = np.zeros(len(leads), dtype=bool)
    closed[oi] = _days(opps["closed_at"])
    won[oi] = opps["won"].fillna(False).to_numpy(dtype=bool)
    segments = sorted(leads["segment"].unique())
    return Funnel(stages, entered, opp_stage, closed, won,
                  index_in(leads["segment"], pd.Series(segments, dtype=str)), segments)


def _stage_outcome(f: Funnel, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(reached k, converted out of k, duration in days or NaN) per lead."""
    later = f.entered[k:]
    reached = np.isfinite(later).any(axis=0)
    if k + 1 < len(f.stages):
        nxt = f.entered[k + 1:]
        converted = np.isfinite(nxt).any(axis=0)
        duration = f.entered[k + 1] - f.entered[k]
    else:
        converted = f.won & reached
        duration = f.closed - f.entered[k]
    return reached, converted, np.maximum(duration, MIN_DURATION_DAYS)


def _sample(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= FIT_SAMPLE else rng.choice(x, FIT_SAMPLE, replace=False)


def funnel_estimates(f: Funnel, as_of_days: float, seed: int = 0
                     ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Conversion table (with Wilson intervals), duration fits and the AIC table per stage."""
    rng = np.random.default_rng(seed)
    conv_rows, dur_rows, aic_rows = [], [], []
    for k, stage in enumerate(f.stages):
        reached, converted, duration = _stage_outcome(f, k)
        observed = duration[np.isfinite(duration) & reached]
        cutoff = MATURITY_FACTOR * float(np.quantile(observed, MATURITY_QUANTILE)) if len(observed) else 0.0
        start = np.where(np.isfinite(f.entered[k]), f.entered[k],
                         np.fmin.reduce(f.entered[k:], axis=0))
        matured = reached & (start <= as_of_days - cutoff)
        for g, seg in enumerate([*f.segments, "*"]):
            m = matured & (f.segment == g) if seg != "*" else matured
            n, x = int(m.sum()), int((converted & m).sum())
            lo, hi = proportion_confint(x, n, alpha=0.05, method="wilson") if n else (np.nan, np.nan)
            conv_rows.append({"stage": stage, "segment": seg, "entered": n, "converted": x,
                              "rate": x / n if n else np.nan, "low": lo, "high": hi,
                              "cutoff_days": cutoff})
        sample = duration[matured & np.isfinite(duration) & (converted | (k + 1 == len(f.stages)))]
        if len(sample) >= 2:
            fits = crm_dists.fit_families(_sample(sample, rng))
            best = fits[0]
            dur_rows.append({"stage": stage, "n": len(sample), "kind": best.kind, "mean": best.mean,
                             "cv": best.cv, "median": best.median,
                             "empirical_median": float(np.median(sample))})
            aic_rows += [{"stage": stage, "kind": fi.kind, "aic": fi.aic, "loglik": fi.loglik,
                          "chosen": fi is best} for fi in fits]
    return pd.DataFrame(conv_rows), pd.DataFrame(dur_rows), pd.DataFrame(aic_rows)


def deal_sizes(crm: CrmData, seed: int = 0) -> pd.DataFrame:
    """Deal-size fit per segment from won amounts (currency)."""
    rng = np.random.default_rng(seed)
    opps = crm.opportunities.merge(crm.leads[["id", "segment"]].rename(columns={"id": "lead_id"}),
                                   on="lead_id", how="left")
    rows = []
    for seg, grp in opps[opps["won"].fillna(False).astype(bool)].groupby("segment"):
        amounts = grp["amount"].to_numpy(dtype=float)
        amounts = amounts[amounts > 0]
        if len(amounts) < 2:
            continue
        fits = crm_dists.fit_families(_sample(amounts, rng))
        best = fits[0]
        rows.append({"segment": seg, "n": len(amounts), "kind": best.kind, "mean": best.mean,
                     "cv": best.cv, "median": best.median,
                     **{f"aic_{fi.kind}": fi.aic for fi in fits}})
    return pd.DataFrame(rows, columns=["segment", "n", "kind", "mean", "cv", "median",
                                       "aic_exponential", "aic_lognormal", "aic_gamma"])


def win_and_cycle(crm: CrmData) -> pd.DataFrame:
    """Win rate (won / closed) and cycle time (lead created -> won, days) per segment and overall."""
    opps = crm.opportunities.merge(
        crm.leads[["id", "segment", "created_at"]].rename(columns={"id": "lead_id", "created_at": "lead_created"}),
        on="lead_id", how="left")
    closed = opps[opps["closed_at"].notna()]
    won = closed[closed["won"].fillna(False).astype(bool)]
    cycle = (won["closed_at"] - won["lead_created"]).dt.total_seconds() / 86400
    opp_cycle = (won["closed_at"] - won["created_at"]).dt.total_seconds() / 86400
    frame = pd.DataFrame({"segment": closed["segment"], "won": closed["won"].astype(bool)})
    out = frame.groupby("segment").agg(closed=("won", "size"), won=("won", "sum"))
    out.loc["*"] = [len(frame), int(frame["won"].sum())]
    out["win_rate"] = out["won"] / out["closed"]
    cyc = pd.DataFrame({"segment": won["segment"], "c": cycle, "o": opp_cycle})
    med = cyc.groupby("segment").agg(cycle_days_median=("c", "median"), cycle_days_mean=("c", "mean"),
                                     opp_cycle_days_median=("o", "median"))
    med.loc["*"] = [cyc["c"].median(), cyc["c"].mean(), cyc["o"].median()]
    return out.join(med).reset_index().rename(columns={"index": "segment"})


def monthly_history(crm: CrmData) -> pd.DataFrame:
    """Monthly lead counts per segment x region over complete months (month as YYYY-MM).

    The export's last month counts only if the export date is in its last day, the first only
    if the earliest lead is in its first day: a partial month would read as a dip in volume.
    """
    month = crm.leads["created_at"].dt.to_period("M")
    last = crm.as_of.to_period("M")
    if crm.as_of < (last + 1).start_time - pd.Timedelta(days=1):
        last = last - 1
    earliest = crm.leads["created_at"].min()
    first = earliest.to_period("M")
    if earliest >= first.start_time + pd.Timedelta(days=1):
        first = first + 1
    frame = pd.DataFrame({"month": month, "segment": crm.leads["segment"], "region": crm.leads["region"]})
    counts = frame[(month >= first) & (month <= last)].groupby(["month", "segment", "region"]).size()
    series = counts.index.droplevel(0).unique()
    full = pd.MultiIndex.from_tuples(
        [(m, s, r) for m in pd.period_range(first, last, freq="M") for s, r in series],
        names=["month", "segment", "region"])
    counts = counts.reindex(full, fill_value=0).rename("leads").reset_index()
    counts["month"] = counts["month"].dt.strftime("%Y-%m")
    return counts


def demand_fit(history: pd.DataFrame, start_month: str | None = None) -> dict:
    """Poisson regression of monthly counts: baseline per series, growth, seasonality, cv."""
    from statsmodels.genmod.families import Poisson
    from statsmodels.genmod.generalized_linear_model import GLM

    months = pd.PeriodIndex(history["month"], freq="M")
    first = months.min()
    t = np.asarray((months - first).map(lambda d: d.n), dtype=float)
    n_months = int(t.max()) + 1
    series = history["segment"] + "\x1f" + history["region"]
    X = pd.get_dummies(series, dtype=float)
    seasonal = n_months >= SEASONAL_MONTHS
    if seasonal:
        cal = pd.get_dummies(pd.Series(months.month, index=history.index), prefix="m", dtype=float)
        X = pd.concat([X, cal.drop(columns="m_1")], axis=1)
    X["trend"] = t
    fit = GLM(history["leads"].to_numpy(dtype=float), X, family=Poisson()).fit()
    beta = fit.params
    gamma = np.zeros(12)
    if seasonal:
        gamma[1:] = [beta.get(f"m_{m}", 0.0) for m in range(2, 13)]
    season = np.exp(gamma)
    season_mean = season.mean()
    target = (pd.Period(start_month, freq="M") - first).n if start_month else n_months
    baseline = []
    for key in X.columns[: series.nunique()]:
        seg, reg = key.split("\x1f")
        level = float(np.exp(beta[key] + beta["trend"] * target) * season_mean)
        baseline.append({"segment": seg, "region": reg, "leads_per_month": round(level, 3)})
    ratio = history["leads"].to_numpy(dtype=float) / np.maximum(fit.fittedvalues.to_numpy(), 1e-9) - 1
    cv = float(pd.Series(ratio).groupby(series.to_numpy()).std().median())
    return {"baseline": baseline, "annual_growth": float(np.clip(np.expm1(12 * beta["trend"]), -0.9, 10)),
            "seasonality": [round(float(v), 4) for v in season / season_mean],
            "uncertainty_cv": round(cv, 4), "months": n_months, "seasonal": seasonal}


def attribute_activities(crm: CrmData, f: Funnel) -> pd.DataFrame:
    """Activities with the funnel stage (index) the lead was in at the time (-1 if before any)."""
    acts = crm.activities
    if acts.empty:
        return acts.assign(stage=pd.Series(dtype=int))
    a = pd.DataFrame({"lead": index_in(acts["lead_id"], crm.leads["id"]), "t": _days(acts["at"]),
                      "type": acts["type"].to_numpy()})
    k_idx, l_idx = np.nonzero(np.isfinite(f.entered))
    e = pd.DataFrame({"lead": l_idx, "t": f.entered[k_idx, l_idx], "stage": k_idx}).sort_values("t")
    a = a[a["lead"] >= 0].sort_values("t")
    out = pd.merge_asof(a, e, on="t", by="lead", direction="backward")
    return out.assign(stage=out["stage"].fillna(-1).astype(int))


def work_hours(f: Funnel, attributed: pd.DataFrame, hours: dict[str, float]) -> pd.DataFrame:
    """Work hours per item entering each stage, per segment (hours)."""
    per_act = attributed["type"].map(hours).fillna(0.0).to_numpy()
    seg = f.segment[attributed["lead"].to_numpy()] if len(attributed) else np.zeros(0, dtype=int)
    total = np.zeros((len(f.stages), len(f.segments)))
    ok = attributed["stage"].to_numpy() >= 0 if len(attributed) else np.zeros(0, dtype=bool)
    np.add.at(total, (attributed["stage"].to_numpy()[ok], seg[ok]), per_act[ok])
    rows = []
    for k, stage in enumerate(f.stages):
        entered = np.isfinite(f.entered[k])
        for g, s in enumerate(f.segments):
            items = int((entered & (f.segment == g)).sum())
            rows.append({"stage": stage, "segment": s, "items": items,
                         "hours": total[k, g] / items if items else np.nan})
    return pd.DataFrame(rows)


def activity_ratios(crm: CrmData) -> pd.DataFrame:
    """Emails per meeting, demos per opportunity and other activity ratios."""
    counts = crm.activities["type"].value_counts()
    c = {t: float(counts.get(t, 0)) for t in ("email", "call", "demo", "proposal", "meeting")}
    opps = float(len(crm.opportunities))
    won = float(crm.opportunities["won"].fillna(False).astype(bool).sum())
    leads = float(len(crm.leads))

    def ratio(a: float, b: float) -> float:
        return a / b if b else float("nan")

    return pd.DataFrame([
        {"ratio": "emails_per_meeting", "value": ratio(c["email"], c["meeting"])},
        {"ratio": "calls_per_lead", "value": ratio(c["call"], leads)},
        {"ratio": "demos_per_opportunity", "value": ratio(c["demo"], opps)},
        {"ratio": "proposals_per_opportunity", "value": ratio(c["proposal"], opps)},
        {"ratio": "meetings_per_opportunity", "value": ratio(c["meeting"], opps)},
        {"ratio": "activities_per_won_deal", "value": ratio(sum(c.values()), won)},
        {"ratio": "opportunities_per_lead", "value": ratio(opps, leads)}])


def rep_productivity(crm: CrmData) -> pd.DataFrame:
    """Per rep: activities, leads owned, opportunities owned, deals won, bookings (currency),
    all per active month (months between the rep's first and last record)."""
    acts = crm.activities.groupby("rep").agg(activities=("type", "size"), first=("at", "min"),
                                             last=("at", "max"))
    leads = crm.leads[crm.leads["owner"] != ""].groupby("owner").size().rename("leads")
    o = crm.opportunities[crm.opportunities["owner"] != ""]
    won = o[o["won"].fillna(False).astype(bool)]
    opps = o.groupby("owner").size().rename("opportunities")
    deals = won.groupby("owner").agg(won=("amount", "size"), bookings=("amount", "sum"))
    out = acts.join([leads, opps, deals], how="outer").fillna({"activities": 0, "leads": 0,
                                                              "opportunities": 0, "won": 0,
                                                              "bookings": 0.0})
    months = ((out["last"] - out["first"]).dt.total_seconds() / (30.44 * 86400)).clip(lower=1).fillna(1)
    for col in ("activities", "leads", "opportunities", "won", "bookings"):
        out[f"{col}_per_month"] = out[col] / months
    out["team"] = np.where(out["opportunities"] > 0, "AE", "SDR")
    return out.drop(columns=["first", "last"]).rename_axis("rep").reset_index()


def _roles(f: Funnel, stage_roles: dict[str, str] | None) -> list[str]:
    stage_roles = stage_roles or {}
    return [stage_roles.get(s, DEFAULT_ROLES[0] if k < f.opp_stage else DEFAULT_ROLES[1])
            for k, s in enumerate(f.stages)]


def _conversion_for(conv: pd.DataFrame, stage: str, segments: list[str]) -> dict[str, float]:
    rows = conv[conv["stage"] == stage].set_index("segment")
    pooled = rows.loc["*", "rate"]
    pooled = 0.0 if pd.isna(pooled) else float(pooled)
    return {s: round(float(rows.loc[s, "rate"]) if s in rows.index and not pd.isna(rows.loc[s, "rate"])
                     else pooled, 5) for s in segments}


def _hours_for(wh: pd.DataFrame, stage: str, segments: list[str]) -> dict[str, float]:
    rows = wh[wh["stage"] == stage].set_index("segment")["hours"]
    pooled = float(rows.mean()) if rows.notna().any() else DEFAULT_WORK_HOURS
    return {s: round(float(rows[s]) if s in rows.index and rows[s] > 0 else
                     (pooled if pooled > 0 else DEFAULT_WORK_HOURS), 4) for s in segments}


def _dist(row: pd.Series) -> dict:
    kind = str(row["kind"])
    out = {"kind": kind, "mean": round(float(row["mean"]), 4)}
    out["cv"] = 1.0 if kind == "exponential" else round(float(row["cv"]), 4)
    return out


def _pooled_deal_size(crm: CrmData, seed: int) -> dict:
    """Deal-size fit over all won amounts, for segments with fewer than two won deals."""
    o = crm.opportunities
    amounts = o.loc[o["won"].fillna(False).astype(bool), "amount"].to_numpy(dtype=float)
    amounts = amounts[amounts > 0]
    if len(amounts) < 2:
        raise InputError.single(str(crm.files.get("opportunities", "opportunities.csv")), "won",
                                f"only {len(amounts)} won opportunities with an amount",
                                "at least two won deals to fit a deal-size distribution")
    best = crm_dists.fit_families(_sample(amounts, np.random.default_rng(seed)))[0]
    return {"kind": best.kind, "mean": round(float(best.mean), 4),
            "cv": 1.0 if best.kind == "exponential" else round(float(best.cv), 4)}


def calibrate(crm: CrmData, stage_roles: dict[str, str] | None = None,
              activity_hours: dict[str, float] | None = None, start_month: str | None = None,
              stage_order: list[str] | None = None, seed: int = 0,
              segments: list[str] | None = None) -> Calibration:
    """Estimate funnel, deal sizes and demand from a validated CRM export (see module doc).

    `segments`: further segment names (e.g. the scenario's) to cover; a segment with no items
    at a stage gets the stage's pooled conversion, one with fewer than two won deals the deal
    size fitted to all won amounts (flagged in report["deal_sizes"] as `pooled`).
    """
    f = build_funnel(crm, stage_order)
    as_of = float(_days(pd.Series([crm.as_of]))[0])
    conv, dur, aic = funnel_estimates(f, as_of, seed)
    deals = deal_sizes(crm, seed)
    attributed = attribute_activities(crm, f)
    wh = work_hours(f, attributed, {**DEFAULT_ACTIVITY_HOURS, **(activity_hours or {})})
    history = monthly_history(crm)
    demand = demand_fit(history, start_month)
    roles = _roles(f, stage_roles)
    durations = dur.set_index("stage")
    names = sorted(set(f.segments) | set(segments or []))
    stages = [{"name": s, "role": roles[k], "conversion": _conversion_for(conv, s, names),
               "work_hours": _hours_for(wh, s, names),
               "duration_days": _dist(durations.loc[s]) if s in durations.index
               else {"kind": "exponential", "mean": 1.0, "cv": 1.0}}
              for k, s in enumerate(f.stages)]
    deal_by_seg = deals.set_index("segment")
    missing = [s for s in names if s not in deal_by_seg.index]
    if missing:
        pooled = _pooled_deal_size(crm, seed)
        deals = pd.concat([deals.assign(pooled=False),
                           pd.DataFrame([{"segment": s, "n": 0, **pooled, "pooled": True}
                                         for s in missing])], ignore_index=True)
    seg_rows = [{"name": s, "deal_size": _dist(deal_by_seg.loc[s]) if s in deal_by_seg.index
                 else pooled} for s in names]
    fragment = {
        "regions": [{"name": r} for r in sorted(crm.leads["region"].unique())],
        "segments": seg_rows,
        "funnel": {"stages": stages},
        "demand": {k: demand[k] for k in ("baseline", "annual_growth", "seasonality", "uncertainty_cv")},
    }
    report = {"conversions": conv, "durations": dur, "duration_aic": aic, "deal_sizes": deals,
              "win_cycle": win_and_cycle(crm), "work_hours": wh,
              "activity_ratios": activity_ratios(crm), "rep_productivity": rep_productivity(crm),
              "demand_fit": pd.DataFrame([{"months": demand["months"], "seasonal": demand["seasonal"],
                                           "annual_growth": demand["annual_growth"],
                                           "uncertainty_cv": demand["uncertainty_cv"]}]),
              "quality": crm.quality}
    hours = {**DEFAULT_ACTIVITY_HOURS, **(activity_hours or {})}
    return Calibration(fragment, report, history, _sources(crm, stages, wh, hours, missing))


def _sources(crm: CrmData, stages: list[dict], wh: pd.DataFrame, hours: dict[str, float],
             pooled_segments: list[str]) -> dict[str, str]:
    """Where each calibrated figure came from. Work hours from activities are assumed figures:
    the time per activity is a default (or `data.activity_hours`), not in the export."""
    files = {k: Path(v).name for k, v in crm.files.items()}
    times = ", ".join(f"{k} {v:g} h" for k, v in hours.items())
    out = {}
    for st in stages:
        name = st["name"]
        out[f"funnel.stages.{name}.conversion"] = f"estimated: matured cohort of {files.get('stage_history')}"
        out[f"funnel.stages.{name}.duration_days"] = "estimated: matured cohort, best of 3 families by AIC"
        counted = wh.loc[wh["stage"] == name, "hours"].notna().any()
        out[f"funnel.stages.{name}.work_hours"] = (
            f"assumed: activity times ({times}) x activities per item in {files.get('activities')}" if counted
            else f"assumed: {DEFAULT_WORK_HOURS} h per item (no activities attributed to the stage)")
    out["segments"] = f"estimated: deal sizes from won amounts in {files.get('opportunities')}" + (
        f" (pooled for {', '.join(pooled_segments)})" if pooled_segments else "")
    out["demand"] = f"estimated: leads created per month in {files.get('leads')}"
    return out


def calibrate_dir(crm_dir: Path, out_yaml: Path, mapping: Path | None = None,
                  lenient: bool = False) -> dict:
    """Read, validate and calibrate a CRM folder; write the scenario fragment to `out_yaml`
    and the calibration report (one CSV per frame: conversions with 95 % intervals, duration
    AIC table, deal sizes, ...) to the folder `<out_yaml without suffix>_report/`.

    Returns the fragment. Segments in the fragment carry only `name` and `deal_size`; a scenario
    that `extends` it keeps its own values only for sections the fragment does not set.
    """
    crm = read_crm(Path(crm_dir), mapping, lenient)
    cal = calibrate(crm)
    out_yaml = Path(out_yaml)
    header = (f"# Calibrated from {crm_dir} (export date {crm.as_of:%Y-%m-%d}) by salesops calibrate.\n"
              "# Use it through `extends:`; stage roles default to SDR before the opportunity, AE after.\n"
              f"# Report (intervals, AIC table): {out_yaml.stem}_report/\n")
    assumed = [f"#   {k}: {v}\n" for k, v in cal.sources.items() if v.startswith("assumed")]
    header += "# Assumed (not in the export):\n" + "".join(assumed)
    out_yaml.write_text(header + yaml.safe_dump({**cal.fragment, "sources": cal.sources}, sort_keys=False))
    report_dir = out_yaml.with_name(f"{out_yaml.stem}_report")
    report_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in {**cal.report, "history": cal.history}.items():
        frame.to_csv(report_dir / f"{name}.csv", index=False)
    return cal.fragment
