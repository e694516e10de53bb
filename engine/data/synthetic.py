"""`salesops synth-crm`: a synthetic CRM export drawn from known funnel parameters.

The parameters come from a scenario (default `scenarios/scaleup.yaml`): segments and their deal
sizes, regions, the demand baseline / growth / seasonality, and the funnel stages (conversion per
segment, duration in days). The export covers `history_months` months that end the month before
the scenario horizon starts, with the lead volume scaled so that the expected total is `leads`.

Noise, all drawn from one `numpy.random.Generator(seed)`:

* monthly volume: Poisson around the trend x seasonality level, times a lognormal month effect
  (cv `MONTH_NOISE_CV`);
* rep-to-rep skill: each SDR multiplies the second stage's (qualify) conversion and each AE the
  last stage's (close) conversion by a skill factor in [0.8, 1.2] normalised to mean exactly 1;
  reps work at an activity rate in [0.7, 1.3];
* lead quality: `engagement_score` (0-100) multiplies the first stage's conversion by
  0.75 + 0.5 u, `fit_score` (0-100) and `source` the second stage's by (0.6 + 0.8 v) x a source
  lift; u, v are independent uniforms and every factor has mean exactly 1 over leads and is
  independent of the outcome of earlier stages, so the truth conversion per stage and segment
  (the average over leads and reps) is the scenario's;
* missing values: `source` (5 %), `employees` (4 %), `fit_score` (3 %), opportunity `owner`
  (1 %) left empty;
* censoring: nothing after the export date (the horizon start) is recorded, so recent leads and
  opportunities are still open.

The truth parameters (what calibration should recover) go to `truth.yaml` beside the CSVs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine.data import fit as crm_dists
from engine.scenario.load import load_scenario
from engine.scenario.model import Scenario

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "scaleup.yaml"
MONTH_NOISE_CV = 0.05
SOURCES = ("web", "referral", "event", "outbound", "partner")
SOURCE_SHARE = np.array([0.4, 0.2, 0.15, 0.15, 0.1])
SOURCE_LIFT = np.array([0.9, 1.2, 1.05, 0.85, 1.0])
EMPLOYEES_MEDIAN = {0: 40.0, 1: 400.0, 2: 4000.0}
"""Median employees by segment position (smallest segment first)."""
ACTIVITY_MEANS = {  # per item entering the stage, by (role group, stage position within the group)
    ("sdr", 0): {"email": 1.5, "call": 1.0},
    ("sdr", 1): {"call": 1.0, "meeting": 0.6},
    ("ae", 0): {"demo": 1.0, "meeting": 0.8, "email": 1.5},
    ("ae", 1): {"proposal": 1.0, "meeting": 0.8, "email": 2.0},
}
FIRST_TOUCH_MEAN_HOURS = 8.0
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"


@dataclass
class _Leads:
    frame: pd.DataFrame
    seg: np.ndarray
    created: np.ndarray  # datetime64[s]
    lift: np.ndarray  # (2, leads) lead-quality multipliers of the first two stages
    sdr: np.ndarray  # SDR index per lead
    sdrs: int


def _opp_stage(s: Scenario) -> int:
    """Index of the first stage worked by an AE-kind role (the opportunity is created there)."""
    kinds = {r.name: r.kind for r in s.roles}
    for i, st in enumerate(s.funnel.stages):
        if kinds.get(st.role) == "ae":
            return i
    return max(len(s.funnel.stages) // 2, 1)


def _monthly_counts(s: Scenario, months: int, leads: int | None,
                    rng: np.random.Generator) -> tuple[pd.DataFrame, float]:
    """Leads per (month, segment, region) and the volume scale applied to the baseline."""
    first = pd.Period(s.horizon.start, freq="M") - months
    periods = pd.period_range(first, periods=months, freq="M")
    rel = (np.arange(months) - months) / 12.0
    season = np.asarray(s.demand.seasonality)[periods.month - 1]
    level = (1 + s.demand.annual_growth) ** rel * season
    base = np.array([r.leads_per_month for r in s.demand.baseline])
    scale = 1.0 if leads is None else leads / float(base.sum() * level.sum())
    mean = scale * np.outer(level, base)
    noise = rng.lognormal(-np.log1p(MONTH_NOISE_CV**2) / 2, np.sqrt(np.log1p(MONTH_NOISE_CV**2)),
                          mean.shape)
    counts = rng.poisson(mean * noise)
    grid = pd.DataFrame({"month": np.repeat(periods.strftime("%Y-%m"), len(base)),
                         "row": np.tile(np.arange(len(base)), months),
                         "start": np.repeat(periods.start_time.to_numpy(), len(base)),
                         "seconds": np.repeat((periods.end_time - periods.start_time)
                                              .total_seconds().to_numpy(), len(base)),
                         "n": counts.ravel()})
    return grid, scale


def _make_leads(s: Scenario, grid: pd.DataFrame, sdrs: int, rng: np.random.Generator) -> _Leads:
    rows = np.repeat(grid["row"].to_numpy(), grid["n"].to_numpy())
    start = np.repeat(grid["start"].to_numpy(), grid["n"].to_numpy())
    secs = np.repeat(grid["seconds"].to_numpy(), grid["n"].to_numpy())
    created = start + (rng.random(len(rows)) * secs).astype("timedelta64[s]")
    order = np.argsort(created, kind="stable")
    rows, created = rows[order], created[order].astype("datetime64[s]")
    n = len(rows)
    seg_names = [sg.name for sg in s.segments]
    seg = np.array([seg_names.index(s.demand.baseline[r].segment) for r in range(len(s.demand.baseline))])[rows]
    region = np.array([r.region for r in s.demand.baseline])[rows]
    src = rng.choice(len(SOURCES), n, p=SOURCE_SHARE)
    src_lift = SOURCE_LIFT / float(SOURCE_SHARE @ SOURCE_LIFT)
    u, v = rng.random(n), rng.random(n)
    engagement = np.clip(np.round(100 * u + rng.normal(0, 5, n)), 0, 100)
    fit = np.clip(np.round(100 * v + rng.normal(0, 5, n)), 0, 100)
    employees = np.round(np.vectorize(EMPLOYEES_MEDIAN.get)(np.minimum(seg, 2))
                         * rng.lognormal(0, 0.6, n)).astype(int)
    sdr = rng.integers(0, sdrs, n)
    frame = pd.DataFrame({
        "id": [f"L{i:07d}" for i in range(1, n + 1)],
        "created_at": pd.to_datetime(created).strftime(TIME_FORMAT),
        "segment": np.array(seg_names)[seg], "region": region,
        "source": np.where(rng.random(n) < 0.05, "", np.array(SOURCES)[src]),
        "owner": np.array([f"SDR {k + 1:02d}" for k in range(sdrs)])[sdr],
        "employees": np.where(rng.random(n) < 0.04, "", employees.astype(str)),
        "engagement_score": engagement.astype(int),
        "fit_score": np.where(rng.random(n) < 0.03, "", fit.astype(int).astype(str))})
    lift = np.vstack([0.75 + 0.5 * u, (0.6 + 0.8 * v) * src_lift[src]])
    return _Leads(frame, seg, created, lift, sdr, sdrs)


def _skills(n: int, rng: np.random.Generator) -> np.ndarray:
    raw = rng.uniform(0.8, 1.2, n)
    return raw / raw.mean()


def _simulate_funnel(s: Scenario, L: _Leads, as_of: np.datetime64, aes: int,
                     rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Stage entry times per lead (NaT when never entered), outcome, AE, amount."""
    stages, n = s.funnel.stages, len(L.created)
    opp_k = _opp_stage(s)
    sdr_skill = _skills(L.sdrs, rng)
    sdr_idx = L.sdr
    ae_skill = _skills(aes, rng)
    ae_idx = rng.integers(0, aes, n)
    seg_names = [sg.name for sg in s.segments]
    entered = np.full((len(stages), n), np.datetime64("NaT"), dtype="datetime64[s]")
    entered[0] = L.created
    alive = np.ones(n, dtype=bool)
    durations = np.zeros((len(stages), n))
    outcome_at = np.full(n, np.datetime64("NaT"), dtype="datetime64[s]")
    won = np.zeros(n, dtype=bool)
    for k, st in enumerate(stages):
        p = np.array([st.conversion_for(g) for g in seg_names])[L.seg]
        if k < 2:
            p = p * L.lift[k]
        if k == 1:
            p = p * sdr_skill[sdr_idx]
        if k == len(stages) - 1:
            p = p * ae_skill[ae_idx]
        converts = rng.random(n) < np.clip(p, 0, 0.99)
        d = crm_dists.sample(st.duration_days, n, rng)
        durations[k] = d
        t_out = entered[k] + (d * 86400).astype("timedelta64[s]")
        done = alive & (t_out <= as_of)
        last = k + 1 == len(stages)
        if k >= opp_k:  # an opportunity that drops out here is closed lost
            closes = done & (~converts | last)
            outcome_at = np.where(closes, t_out, outcome_at)
            won = won | (closes & converts & last)
        if not last:
            entered[k + 1] = np.where(done & converts, t_out, np.datetime64("NaT"))
            alive = done & converts
    amount = np.zeros(n)
    for g, sg in enumerate(s.segments):
        mask = L.seg == g
        amount[mask] = np.round(crm_dists.sample(sg.deal_size, int(mask.sum()), rng), 2)
    return {"entered": entered, "closed": outcome_at, "won": won, "ae": ae_idx,
            "amount": amount, "opp_k": np.array(opp_k), "durations": durations}


def _fmt(t: np.ndarray) -> np.ndarray:
    out = pd.to_datetime(t).strftime(TIME_FORMAT)
    return np.where(pd.isna(t), "", np.asarray(out, dtype=object).astype(str))


def _opportunities(L: _Leads, f: dict, aes: int, rng: np.random.Generator) -> pd.DataFrame:
    opp_k = int(f["opp_k"])
    has = ~np.isnat(f["entered"][opp_k])
    idx = np.flatnonzero(has)
    m = len(idx)
    closed = f["closed"][idx]
    won = f["won"][idx]
    owner = np.array([f"AE {k + 1:02d}" for k in range(aes)])[f["ae"][idx]]
    return pd.DataFrame({
        "id": [f"O{i:07d}" for i in range(1, m + 1)],
        "lead_id": L.frame["id"].to_numpy()[idx],
        "account_id": [f"A{int(x[1:]):07d}" for x in L.frame["id"].to_numpy()[idx]],
        "created_at": _fmt(f["entered"][opp_k][idx]),
        "amount": f["amount"][idx],
        "closed_at": _fmt(closed),
        "won": np.where(np.isnat(closed), "", np.where(won, "true", "false")),
        "owner": np.where(rng.random(m) < 0.01, "", owner),
        "_lead_index": idx})


def _stage_history(s: Scenario, L: _Leads, f: dict, opps: pd.DataFrame) -> pd.DataFrame:
    opp_k = int(f["opp_k"])
    opp_of = np.full(len(L.created), "", dtype=object)
    opp_of[opps["_lead_index"].to_numpy()] = opps["id"].to_numpy()
    parts = []
    for k, st in enumerate(s.funnel.stages):
        idx = np.flatnonzero(~np.isnat(f["entered"][k]))
        parts.append(pd.DataFrame({
            "lead_id": L.frame["id"].to_numpy()[idx] if k < opp_k else "",
            "opportunity_id": opp_of[idx] if k >= opp_k else "",
            "stage": st.name, "entered_at": _fmt(f["entered"][k][idx]), "_t": f["entered"][k][idx]}))
    out = pd.concat(parts, ignore_index=True).sort_values("_t", kind="stable")
    return out.drop(columns="_t").reset_index(drop=True)


def _activities(s: Scenario, L: _Leads, f: dict, opps: pd.DataFrame, as_of: np.datetime64,
                aes: int, rng: np.random.Generator) -> pd.DataFrame:
    opp_k = int(f["opp_k"])
    sdr_names = L.frame["owner"].to_numpy()
    sdr_rate = rng.uniform(0.7, 1.3, L.sdrs)
    ae_rate = rng.uniform(0.7, 1.3, aes)
    opp_of = np.full(len(L.created), "", dtype=object)
    opp_of[opps["_lead_index"].to_numpy()] = opps["id"].to_numpy()
    ae_names = np.array([f"AE {k + 1:02d}" for k in range(aes)])
    parts = []
    for k in range(len(s.funnel.stages)):
        group, pos = ("sdr", k) if k < opp_k else ("ae", k - opp_k)
        means = ACTIVITY_MEANS.get((group, min(pos, 1)), {})
        idx = np.flatnonzero(~np.isnat(f["entered"][k]))
        rate = sdr_rate[L.sdr[idx]] if group == "sdr" else ae_rate[f["ae"][idx]]
        span = f["durations"][k][idx] * 86400
        for kind, mean in means.items():
            counts = rng.poisson(mean * rate)
            who = np.repeat(idx, counts)
            offset = rng.random(len(who)) * np.repeat(span, counts)
            if k == 0 and kind == "call":
                offset = rng.exponential(FIRST_TOUCH_MEAN_HOURS * 3600, len(who))
            at = f["entered"][k][who] + offset.astype("timedelta64[s]")
            keep = at <= as_of
            who, at = who[keep], at[keep]
            parts.append(pd.DataFrame({
                "rep": sdr_names[who] if group == "sdr" else ae_names[f["ae"][who]],
                "type": kind, "at": at,
                "lead_id": L.frame["id"].to_numpy()[who] if group == "sdr" else "",
                "opportunity_id": opp_of[who] if group == "ae" else ""}))
    out = pd.concat(parts, ignore_index=True).sort_values("at", kind="stable")
    return out.assign(at=_fmt(out["at"].to_numpy())).reset_index(drop=True)


def _truth(s: Scenario, seed: int, scale: float, history_months: int, opp_k: int,
           as_of: np.datetime64, n_leads: int) -> dict:
    seg_names = [sg.name for sg in s.segments]
    return {
        "seed": seed, "as_of": str(as_of), "history_months": history_months, "leads": n_leads,
        "volume_scale": scale, "opportunity_stage": s.funnel.stages[opp_k].name,
        "segments": [{"name": sg.name, "deal_size": sg.deal_size.model_dump(),
                      "deal_size_median": crm_dists.median(sg.deal_size)} for sg in s.segments],
        "stages": [{"name": st.name, "role": st.role,
                    "conversion": {g: st.conversion_for(g) for g in seg_names},
                    "duration_days": st.duration_days.model_dump(),
                    "duration_median_days": crm_dists.median(st.duration_days)}
                   for st in s.funnel.stages],
        "demand": {"baseline": [{"segment": r.segment, "region": r.region,
                                 "leads_per_month": r.leads_per_month * scale}
                                for r in s.demand.baseline],
                   "annual_growth": s.demand.annual_growth,
                   "seasonality": list(s.demand.seasonality)},
        "activities_per_item": {f"{g}:{p}": m for (g, p), m in ACTIVITY_MEANS.items()},
    }


def generate(s: Scenario, seed: int, leads: int | None = None, history_months: int = 24
             ) -> tuple[dict[str, pd.DataFrame], dict]:
    """The four CRM frames (as written to CSV, all text) and the truth parameters."""
    rng = np.random.default_rng(seed)
    grid, scale = _monthly_counts(s, history_months, leads, rng)
    per_month = grid["n"].sum() / history_months
    sdrs, aes = max(3, round(per_month / 120)), max(4, round(per_month / 200))
    L = _make_leads(s, grid, sdrs, rng)
    as_of = np.datetime64(pd.Period(s.horizon.start, freq="M").start_time.to_datetime64(), "s")
    f = _simulate_funnel(s, L, as_of, aes, rng)
    opps = _opportunities(L, f, aes, rng)
    stages = _stage_history(s, L, f, opps)
    acts = _activities(s, L, f, opps, as_of, aes, rng)
    truth = _truth(s, seed, scale, history_months, int(f["opp_k"]), as_of, len(L.frame))
    return {"leads": L.frame, "opportunities": opps.drop(columns="_lead_index"),
            "stage_history": stages, "activities": acts}, truth


def synth_crm(out_dir: Path, seed: int, scenario_path: Path | None = None,
              leads: int | None = None, history_months: int = 24) -> Path:
    """Write leads.csv, opportunities.csv, stage_history.csv, activities.csv and truth.yaml.

    `leads` is the expected number of leads (default: the scenario's own volume over
    `history_months`). Returns `out_dir`.
    """
    loaded = load_scenario(scenario_path or DEFAULT_SCENARIO)
    frames, truth = generate(loaded.scenario, seed, leads, history_months)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        frame.to_csv(out_dir / f"{name}.csv", index=False)
    (out_dir / "truth.yaml").write_text(yaml.safe_dump(truth, sort_keys=False))
    return out_dir
