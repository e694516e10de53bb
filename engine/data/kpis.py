"""KPI view of a CRM export: the inputs sales ops tracks and the outcomes they produce.

Inputs per rep, team and month: emails, calls, demos, proposals, meetings, opportunities created,
leads assigned, time to first touch (hours from lead creation to its first activity, median over
the rep's leads created that month). Outcomes: daily and monthly bookings (won first-year
contract value, currency, by close date), recognised revenue (each booking spread evenly over
the 12 months from its close month), month-on-month growth, win rate (won / closed), average
deal (currency) and cycle time (lead created -> closed won, days). Top vs bottom quartile of
reps compares the same figures per active month. The report's data section renders these frames.

Teams: a rep who owns opportunities is in team `AE`, otherwise `SDR`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.data.crm import ACTIVITY_TYPES, CrmData

RECOGNITION_MONTHS = 12


def _month(t: pd.Series) -> pd.Series:
    return t.dt.to_period("M").dt.strftime("%Y-%m")


def rep_teams(crm: CrmData) -> pd.Series:
    """Team (`AE` or `SDR`) per rep name."""
    reps = pd.Index(pd.concat([crm.activities["rep"], crm.leads["owner"],
                               crm.opportunities["owner"]]).unique()).drop("", errors="ignore")
    ae = set(crm.opportunities["owner"].unique())
    return pd.Series(np.where(reps.isin(list(ae)), "AE", "SDR"), index=reps, name="team")


def first_touch_hours(crm: CrmData) -> pd.Series:
    """Hours from each lead's creation to its first activity (NaN if never touched), by lead id."""
    first = crm.activities.groupby("lead_id")["at"].min()
    created = crm.leads.set_index("id")["created_at"]
    return ((first.reindex(created.index) - created).dt.total_seconds() / 3600).rename("hours")


def rep_month_inputs(crm: CrmData) -> pd.DataFrame:
    """rep, team, month, email, call, demo, proposal, meeting, leads_assigned,
    opportunities_created, first_touch_hours_median."""
    a = crm.activities.assign(month=_month(crm.activities["at"]))
    counts = (a.groupby(["rep", "month", "type"]).size().unstack("type", fill_value=0)
              .reindex(columns=list(ACTIVITY_TYPES), fill_value=0))
    leads = crm.leads[crm.leads["owner"] != ""].assign(month=_month(crm.leads["created_at"]))
    ttft = first_touch_hours(crm).reindex(leads["id"]).to_numpy()
    lead_stats = leads.assign(ttft=ttft).groupby(["owner", "month"]).agg(
        leads_assigned=("id", "size"), first_touch_hours_median=("ttft", "median"))
    o = crm.opportunities[crm.opportunities["owner"] != ""]
    opps = o.assign(month=_month(o["created_at"])).groupby(["owner", "month"]).size()
    out = counts.join(lead_stats.rename_axis(["rep", "month"]), how="outer")
    out = out.join(opps.rename("opportunities_created").rename_axis(["rep", "month"]), how="outer")
    fill = {c: 0 for c in (*ACTIVITY_TYPES, "leads_assigned", "opportunities_created")}
    out = out.fillna(fill).reset_index()
    out.insert(1, "team", out["rep"].map(rep_teams(crm)).fillna("SDR"))
    return out.sort_values(["month", "team", "rep"], kind="stable").reset_index(drop=True)


def team_month_inputs(inputs: pd.DataFrame) -> pd.DataFrame:
    """Inputs summed per team and month, with active reps and per-rep averages."""
    cols = [*ACTIVITY_TYPES, "leads_assigned", "opportunities_created"]
    g = inputs.groupby(["team", "month"])
    out = g[cols].sum()
    out["reps"] = g["rep"].nunique()
    out["first_touch_hours_median"] = g["first_touch_hours_median"].median()
    for c in cols:
        out[f"{c}_per_rep"] = out[c] / out["reps"]
    return out.reset_index()


def _won(crm: CrmData) -> pd.DataFrame:
    o = crm.opportunities
    return o[o["won"].fillna(False).astype(bool) & o["closed_at"].notna()]


def bookings_daily(crm: CrmData) -> pd.DataFrame:
    """date, deals, bookings (currency) by close date."""
    w = _won(crm)
    out = w.groupby(w["closed_at"].dt.normalize()).agg(deals=("amount", "size"), bookings=("amount", "sum"))
    return out.rename_axis("date").reset_index()


def outcomes_month(crm: CrmData) -> pd.DataFrame:
    """month, closed, won, win_rate, bookings, average_deal, cycle_days_median, revenue,
    bookings_growth, revenue_growth (month on month, share)."""
    o = crm.opportunities[crm.opportunities["closed_at"].notna()]
    lead_created = crm.leads.set_index("id")["created_at"]
    o = o.assign(month=_month(o["closed_at"]), won_b=o["won"].fillna(False).astype(bool),
                 cycle=(o["closed_at"] - o["lead_id"].map(lead_created)).dt.total_seconds() / 86400)
    won = o[o["won_b"]]
    g = o.groupby("month")
    out = pd.DataFrame({"closed": g.size(), "won": g["won_b"].sum()})
    out["win_rate"] = out["won"] / out["closed"]
    wg = won.groupby("month")
    out["bookings"] = wg["amount"].sum()
    out["average_deal"] = wg["amount"].mean()
    out["cycle_days_median"] = wg["cycle"].median()
    first, last = crm.leads["created_at"].min().to_period("M"), crm.as_of.to_period("M")
    months = pd.period_range(min(first, pd.Period(out.index.min(), freq="M")) if len(out) else first,
                             last, freq="M").strftime("%Y-%m")
    out = out.reindex(months).fillna({"closed": 0, "won": 0, "bookings": 0.0})
    kernel = np.ones(RECOGNITION_MONTHS) / RECOGNITION_MONTHS
    out["revenue"] = np.convolve(out["bookings"].to_numpy(), kernel)[: len(out)]
    out["bookings_growth"] = out["bookings"].pct_change().replace([np.inf, -np.inf], np.nan)
    out["revenue_growth"] = out["revenue"].pct_change().replace([np.inf, -np.inf], np.nan)
    return out.rename_axis("month").reset_index()


def rep_outcomes(crm: CrmData, inputs: pd.DataFrame) -> pd.DataFrame:
    """Per rep and active month: inputs, opportunities sourced (SDR), won deals and bookings (AE)."""
    active = inputs.groupby("rep")["month"].nunique().rename("months")
    cols = [*ACTIVITY_TYPES, "leads_assigned", "opportunities_created"]
    per = inputs.groupby("rep")[cols].sum().div(active, axis=0)
    per["first_touch_hours_median"] = inputs.groupby("rep")["first_touch_hours_median"].median()
    w = _won(crm)
    w = w[w["owner"] != ""]
    per["won_per_month"] = w.groupby("owner").size().reindex(per.index, fill_value=0) / active
    per["bookings_per_month"] = w.groupby("owner")["amount"].sum().reindex(per.index, fill_value=0) / active
    closed = crm.opportunities[crm.opportunities["closed_at"].notna()]
    per["win_rate"] = (w.groupby("owner").size() / closed.groupby("owner").size()).reindex(per.index)
    owner_of = crm.leads.set_index("id")["owner"]
    sourced = crm.opportunities["lead_id"].map(owner_of).value_counts()
    per["opportunities_sourced_per_month"] = sourced.reindex(per.index, fill_value=0) / active
    per["team"] = per.index.map(rep_teams(crm)).fillna("SDR")
    return per.reset_index()


def quartile_comparison(per_rep: pd.DataFrame) -> pd.DataFrame:
    """team, metric, top_quartile, bottom_quartile, ratio: mean per active month of the top vs
    bottom quartile of reps, ranked by bookings (AE) or opportunities sourced (SDR)."""
    rows = []
    for team, key in (("AE", "bookings_per_month"), ("SDR", "opportunities_sourced_per_month")):
        reps = per_rep[per_rep["team"] == team]
        if len(reps) < 2:
            continue
        q1, q3 = reps[key].quantile([0.25, 0.75])
        top, bottom = reps[reps[key] >= q3], reps[reps[key] <= q1]
        for metric in [c for c in reps.columns if c not in ("rep", "team")]:
            t, b = float(top[metric].mean()), float(bottom[metric].mean())
            rows.append({"team": team, "ranked_by": key, "metric": metric, "top_quartile": t,
                         "bottom_quartile": b, "ratio": t / b if b else np.nan})
    return pd.DataFrame(rows, columns=["team", "ranked_by", "metric", "top_quartile",
                                       "bottom_quartile", "ratio"])


def kpi_tables(crm: CrmData) -> dict[str, pd.DataFrame]:
    """All KPI frames, keyed by their run-folder path under `data/`."""
    inputs = rep_month_inputs(crm)
    per_rep = rep_outcomes(crm, inputs)
    return {"data/kpi_rep_month.csv": inputs,
            "data/kpi_team_month.csv": team_month_inputs(inputs),
            "data/kpi_outcomes_month.csv": outcomes_month(crm),
            "data/kpi_bookings_daily.csv": bookings_daily(crm),
            "data/kpi_reps.csv": per_rep,
            "data/kpi_quartiles.csv": quartile_comparison(per_rep)}
