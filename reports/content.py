"""What the run report says: four sections following the four steps of sales ops planning.

1. Data and KPIs (CRM calibration, funnel), 2. Demand (forecast by case), 3. Supply plan (hiring,
staffing, territories), 4. Reconciliation and actions (flags, quantified adjustments, the
reconciliation table). Every number goes through `reports.tables`.
"""

from __future__ import annotations

import logging

import pandas as pd

from engine.reconcile.context import Context
from engine.reconcile.flags import SIM_FIGURES
from engine.reconcile.money import GLOSSARY
from engine.reconcile.quantiles import ALL
from engine.reconcile.stage import COLUMNS, UNITS
from engine.stage import FAILED_STATUSES, StageOutput, stage_failures
from reports import plots, tables
from reports.document import Bullets, Chart, Document, Section, Table, Text
from reports.geo import read_unit_shapes

log = logging.getLogger(__name__)
MAX_DATA_ROWS = 60
"""Rows of a data-stage table shown in the report (the full table is in the run folder)."""
RARE_VALUES = "data/rare_values.csv"
"""The data stage's rare segment / region values (engine/data/deals.py `RARE_COLUMNS`)."""
PLAN_KEYS = (("revenue", 0), ("gross_margin", 0), ("people_cost", 0), ("operating_margin", 0),
             ("sla", 4), ("hires", 0), ("shortfall_hours", 0), ("uncovered_leads", 0))
"""Headline figures of every demand case's plan, with their decimals in the reports."""
SIM_QUANTILES = ("p10", "p50", "p90")
HEADLINE_KEYS = (*PLAN_KEYS, *((f"sim_{f}_{q}", dict(PLAN_KEYS)[f]) for f in SIM_FIGURES for q in SIM_QUANTILES))
"""Every summary.json headline key and its decimals: plan figures, then sim_<figure>_<quantile>."""


def _generic_table(title: str, frame: pd.DataFrame, sheet: str, limit: int | None = None) -> Table:
    shown = frame if limit is None else frame.head(limit)
    numeric = [c for c in shown.columns if pd.api.types.is_numeric_dtype(shown[c])]
    places = {c: (0 if pd.api.types.is_integer_dtype(shown[c]) else 2) for c in numeric}
    note = f" (first {limit} of {len(frame)} rows)" if limit is not None and len(frame) > limit else ""
    return Table(title + note, [str(c) for c in shown.columns], tables.frame_rows(shown, places),
                 sheet[:31], numeric_from=0)


def _data_section(ctx: Context, outputs: dict[str, StageOutput], table: pd.DataFrame) -> Section:
    sec = Section("data", "1. Data and KPIs")
    data = outputs.get("data")
    if data is not None:
        if data.summary.get("export") == "deals":
            sec.blocks.append(Text(_deal_export_note(data.summary)))
        rare = data.tables.get(RARE_VALUES)
        if isinstance(rare, pd.DataFrame) and not rare.empty:
            sec.blocks.append(_rare_values_table(rare))
        for path, frame in data.tables.items():
            if isinstance(frame, pd.DataFrame) and not frame.empty and path != RARE_VALUES:
                name = path.rsplit("/", 1)[-1].rsplit(".", 1)[0]
                table = _generic_table(f"CRM {name.replace('_', ' ')}", frame, f"data_{name}",
                                       MAX_DATA_ROWS)
                table.collapsed = len(table.rows) > 12
                sec.blocks.append(table)
    else:
        sec.blocks.append(Text("No CRM export in this scenario" + (
            ": the funnel below is the scenario's own parameters." if ctx.scenario.funnel
            else " and no funnel."), "note"))
    funnel = ctx.scenario.funnel
    if funnel is not None:
        segs = [s.name for s in ctx.scenario.segments]
        # one column per segment holding "conversion · work h": fits a 1400 px window with
        # several segments, where a column per segment and figure ran off the page
        header = ["stage", "role", *segs, "days (mean)"]
        rows = [[st.name, st.role, *(f"{tables.fmt(st.conversion_for(s), 2)} · {tables.fmt(st.work_hours_for(s), 2)} h"
                                     for s in segs), tables.fmt(st.duration_days.mean, 1)]
                for st in funnel.stages]
        sec.blocks.append(Table("Funnel parameters (per segment: conversion · work hours per item)", header,
                                rows, "funnel", numeric_from=2))
        fig = plots.funnel(ctx, table)
        if fig is not None:
            sec.blocks.append(Chart("chart-funnel", "Funnel", fig))
    sources = _sources_table(ctx.scenario.sources)
    if sources is not None:
        sec.blocks.append(sources)
    return sec


def _deal_export_note(d: dict) -> str:
    """One paragraph on a deal export: files taken, open deals censored, the censored win rate
    beside the closed-only one (summary.json `data`)."""
    files = ", ".join(f"{name} ({kind.replace('_', ' ')})" for kind, name in d["files"].items())
    return (f"Calibrated from a {d.get('preset') or 'deal'} export: {files}; export date {d['as_of'][:10]}; "
            f"{tables.fmt(d['opportunities'], 0)} opportunities, {tables.fmt(d['open'], 0)} still open "
            f"(censored at the export date). Win rate {tables.pct(d['win_rate'], 1)} (95 % interval "
            f"{tables.pct(d['win_rate_low'], 1)} to {tables.pct(d['win_rate_high'], 1)}); closed deals alone "
            f"would say {tables.pct(d['naive_win_rate'], 1)}. Stage reach from the {d['stage_reach_from']}. "
            f"{len(d['assumed'])} figures are assumed, not in the export (listed below, first).")


def _rare_values_table(rare: pd.DataFrame) -> Table:
    """Segment and region values on under 1 % of the export's rows: each with its lines and the
    mapping entry that merges it, when it is another spelling of a common value."""
    rows = [[r.file, r.column, r.value, f"{tables.fmt(r.rows, 0)} of {tables.fmt(r.of_rows, 0)}",
             str(r.lines), r.merge_with] for r in rare.itertuples()]
    return Table("Rare values flagged in the CRM export (under 1 % of the rows; another spelling? "
                 "merge it with the `values:` entry in the mapping)",
                 ["file", "column", "value", "rows", "lines", "merge with (mapping)"], rows,
                 "rare_values", numeric_from=6)


def _sources_table(sources: dict[str, str]) -> Table | None:
    """Where the scenario's figures came from (`salesops calibrate`), assumed ones first."""
    if not sources:
        return None
    order = sorted(sources.items(), key=lambda kv: (not kv[1].startswith(("assumed", "derived")), kv[0]))
    return Table("Where the figures came from (assumed first)", ["figure", "source"],
                 [[k, v] for k, v in order], "sources", numeric_from=2)


def _demand_section(ctx: Context, table: pd.DataFrame) -> Section:
    sec = Section("demand", "2. Demand")
    f = ctx.forecast_all
    if f is None:
        sec.blocks.append(Text("No demand forecast in this scenario.", "note"))
        return sec
    pivot = f.pivot_table(index="month", columns="case", values="leads", aggfunc="sum")
    pivot = pivot[[c for c in ctx.cases if c in pivot.columns]]
    pivot.loc[ALL] = pivot.sum()
    rows = [[m, *(tables.fmt(v, 1) for v in r)] for m, r in zip(pivot.index, pivot.to_numpy(),
                                                                 strict=True)]
    sec.blocks.append(Table("Forecast leads per month by demand case", ["month", *pivot.columns],
                            rows, "demand_cases", collapsed=True))
    seg = ctx.forecast().pivot_table(index="month", columns=["segment", "region"], values="leads",
                                     aggfunc="sum")
    seg.loc[ALL] = seg.sum()
    header = ["month", *(f"{s} / {r}" for s, r in seg.columns)]
    rows = [[m, *(tables.fmt(v, 1) for v in r)] for m, r in zip(seg.index, seg.to_numpy(), strict=True)]
    sec.blocks.append(Table(f"Forecast leads by segment and region ({ctx.case} case)", header, rows,
                            "demand_segments", collapsed=True))
    fig = plots.demand_vs_capacity(ctx, table)
    if fig is not None:
        sec.blocks.append(Chart("chart-demand-capacity", "Demand vs capacity", fig))
    return sec


def _solve_note(name: str, summary: dict, currency: str) -> Text | None:
    """One line on how a solver stage ended (status, objective, gap, value of the stochastic solution)."""
    if not summary or "status" not in summary:
        return None
    parts = [f"{name}: solver status {summary.get('status')}"]
    if summary.get("objective") is not None:
        parts.append(f"objective {tables.fmt(summary['objective'], 0)}"
                     + (" (the optimiser's own value, penalty prices included: not a P&L figure)"
                        if summary.get("penalties") else ""))
    penalties = summary.get("penalties") or {}
    if penalties.get("uncovered_hours"):
        parts.append("penalty price of uncovered hours in it (expected over cases) "
                     f"{tables.money(penalties['uncovered_hours'], currency)}")
    if summary.get("gap") is not None:
        parts.append(f"gap {tables.pct(float(summary['gap']), 2)}")
    if summary.get("vss") is not None:
        parts.append(f"value of the stochastic solution {tables.money(summary['vss'], currency)}")
    return Text(", ".join(parts) + ".", "note")


def _months_text(months: list[str], shown: int = 6) -> str:
    more = f" and {len(months) - shown} more" if len(months) > shown else ""
    return ", ".join(months[:shown]) + more


def binding_sentence(b: dict, currency: str, objective: str) -> str:
    """One sentence: which limit binds, when, and what one more unit of it is worth."""
    months = list(b["months"])
    when = f"in {len(months)} month{'s' if len(months) != 1 else ''} ({_months_text(months)})"
    if b["kind"] == "budget":
        what, more = f"The budget binds {when}", f"{tables.money(b['step'], currency)} more a month"
    elif b["kind"] == "hiring_cap":
        what, more = f"{b['role']} starts are at their monthly cap {when}", f"one more {b['role']} start in those months"
    else:
        what, more = f"{b['role']} headcount is at its cap {when}", f"one more {b['role']} allowed"
    gain, interval = b.get("objective_gain"), b.get("objective_gain_interval")
    if gain is None:
        return f"{what}; its value was not measured (re-solve status: {b.get('status')})."
    proven = "" if interval is None else (f" (the solves prove between {tables.money(interval[0], currency)} "
                                          f"and {tables.money(interval[1], currency)}: the width is the "
                                          "solver's gap; tighten plan.mip_gap for a firmer figure)")
    change = "adds" if objective == "margin" else "saves"
    return (f"{what}: {more} {change} {tables.money(gain, currency)} of the optimiser's objective over the "
            f"horizon{proven}.")


def _binding_blocks(ctx: Context) -> list:
    summary = ctx.stage_summaries.get("hiring", {})
    found = summary.get("binding")
    if found is None:
        return []
    if not found:
        return [Text("What binds: no budget, hiring cap or headcount cap binds in the plan.", "note")]
    objective = summary.get("objective_kind", "margin")
    blocks: list = [Text("What binds", "h3")]
    blocks.append(Bullets([binding_sentence(b, ctx.scenario.currency, objective) for b in found]))
    blocks.append(Text(f"Objective: {objective} as the hiring model counts it (penalty prices included); "
                       "each value re-solves the simulated case with that one limit loosened (a role's cap: "
                       "that role's hires, the other roles' as planned).", "note"))
    return blocks


def _supply_section(ctx: Context, table: pd.DataFrame, units: pd.DataFrame | None,
                    shaped: tuple | None = None) -> Section:
    sec = Section("supply", "3. Supply plan")
    for name in ("hiring", "territory"):
        note = _solve_note(name, ctx.stage_summaries.get(name, {}), ctx.scenario.currency)
        if note is not None:
            sec.blocks.append(note)
    sec.blocks += _binding_blocks(ctx)
    plan = ctx.hiring()
    if plan is not None and not plan.empty:
        fig = plots.headcount_by_role(ctx)
        if fig is not None:
            sec.blocks.append(Chart("chart-headcount", "Headcount by role", fig))
        for col, title in (("headcount", "Planned headcount (FTE)"), ("hires", "Hires starting")):
            if col not in plan:
                continue
            p = plan.pivot_table(index="month", columns="role", values=col, aggfunc="sum")
            if col == "hires":
                p.loc[ALL] = p.sum()
            rows = [[m, *(tables.fmt(v, 1 if col == "headcount" else 0) for v in r)]
                    for m, r in zip(p.index, p.to_numpy(), strict=True)]
            sec.blocks.append(Table(f"{title} by role ({ctx.case} case)", ["month", *p.columns], rows,
                                    f"plan_{col}", collapsed=True))
    staffing = ctx.staffing()
    if staffing is not None and not staffing.empty:
        cols = [c for c in ("month", "role", "required_agents", "planned_agents", "service_level",
                            "asa_seconds") if c in staffing.columns]
        places = {"required_agents": 0, "planned_agents": 0, "service_level": 4, "asa_seconds": 2}
        sec.blocks.append(Table("Support staffing (Erlang)", cols,
                                tables.frame_rows(staffing[cols], places), "staffing", numeric_from=2,
                                collapsed=True))
    fig = plots.sla_by_month(ctx, table)
    if fig is not None:
        sec.blocks.append(Chart("chart-sla", "SLA by month", fig))
    fig = plots.territory_choropleth(ctx, shaped[0], units, shaped[1]) if shaped else None
    if fig is None:
        fig = plots.territory_map(ctx, units)
    if fig is not None:
        sec.blocks.append(Chart("chart-territory-map", "Territory map", fig))
    fig = plots.workload_balance(ctx, table)
    if fig is not None:
        sec.blocks.append(Chart("chart-workload", "Workload balance", fig))
    terr = table[table["scope"].str.startswith("territory:") & table["metric"].isin(
        ["workload", "potential"])]
    if not terr.empty:
        p = terr.pivot_table(index="scope", columns="metric", values="planned", aggfunc="first")
        rows = [[s.split(":", 1)[1], *(tables.fmt_metric(v, m) for m, v in zip(p.columns, r, strict=True))]
                for s, r in zip(p.index, p.to_numpy(), strict=True)]
        sec.blocks.append(Table("Territories", ["territory", *p.columns], rows, "territories"))
    if not sec.blocks:
        sec.blocks.append(Text("No supply plan in this scenario.", "note"))
    return sec


def _unit(key: str, currency: str) -> str:
    base = key.removeprefix("sim_").rsplit("_p", 1)[0] if key.startswith("sim_") else key
    unit = {k: u for k, u, *_ in GLOSSARY}.get(base, "")
    return currency if unit == "currency" else unit


def _headline_table(ctx: Context, headline: dict) -> Table | None:
    """One row per figure: the plan of each demand case, then the simulated case's p10 / p50 / p90
    (columns `<case> sim p10` ...), so plan and simulation of a figure read across one line."""
    if not headline:
        return None
    cases = list(headline)
    sim_cols = [(c, q) for c in cases for q in SIM_QUANTILES
                if any(headline[c].get(f"sim_{f}_{q}") is not None for f in SIM_FIGURES)]
    cur = ctx.scenario.currency
    rows = []
    for key, places in PLAN_KEYS:
        values = [headline[c].get(key) for c in cases] + [headline[c].get(f"sim_{key}_{q}") for c, q in sim_cols]
        if any(v is not None for v in values):
            rows.append([key, _unit(key, cur), *(tables.fmt(v, places) for v in values)])
    header = ["figure", "unit", *cases, *(f"{c} sim {q}" for c, q in sim_cols)]
    return Table("Headline by demand case: the plan, then the simulated p10 / p50 / p90", header, rows,
                 "headline", numeric_from=2)


def glossary_table(currency: str) -> Table:
    """What every headline figure means, its unit and the file it comes from."""
    rows = [[k, currency if u == "currency" else u, text, source] for k, u, text, source in GLOSSARY]
    wrap = [["", "", "text", "text"] for _ in rows]  # sentences wrap instead of widening the page
    return Table("Glossary of the headline figures", ["figure", "unit", "definition", "source"], rows,
                 "glossary", numeric_from=99, cell_classes=wrap)


RESPONSE_METRICS = (("first_response_p50_h", "p50 (h)", 1), ("first_response_p90_h", "p90 (h)", 1),
                    ("first_response_max_h", "longest (h)", 1), ("never_contacted", "never contacted", 0))


def response_table(ctx: Context) -> Table | None:
    """First response to leads per month and over the horizon: p50, p90, longest wait (hours)
    and leads never contacted; each the simulated median over replications."""
    sim = ctx.stage_summaries.get("simulation", {})
    monthly, totals = sim.get("monthly", {}), sim.get("totals", {})
    if not any(m in totals for m, *_ in RESPONSE_METRICS):
        return None

    def cell(q: dict | None, places: int) -> str:
        return tables.fmt(q.get("p50") if q else None, places)

    rows = [[month, *(cell(monthly.get(m, {}).get(month), d) for m, _, d in RESPONSE_METRICS)]
            for month in ctx.months]
    rows.append([ALL, *(cell(totals.get(m), d) for m, _, d in RESPONSE_METRICS)])
    return Table("First response to leads (simulated p50 over replications; month = month of contact, "
                 "never contacted by month of arrival)", ["month", *(h for _, h, _ in RESPONSE_METRICS)],
                 rows, "first_response", collapsed=True)


def _recon_section(ctx: Context, table: pd.DataFrame, summary: dict) -> Section:
    sec = Section("reconciliation", "4. Reconciliation and actions")
    flags, actions = summary.get("flags", []), summary.get("adjustments", [])
    if flags:
        for flag in flags:
            sec.blocks.append(Text(flag["message"], f"flag-{flag['severity']}"))
    elif any(str(v.get("status")) in FAILED_STATUSES for v in ctx.stage_summaries.values()):
        sec.blocks.append(Text("Nothing to reconcile: a planning stage ended without a feasible plan "
                               "(see the banner at the top); the forecast column below is demand, not a plan.",
                               "note"))
    else:
        sec.blocks.append(Text("No disagreement between plan, forecast and simulation beyond the "
                               "tolerances (5 % of plan, 10 points for shares).", "note"))
    if actions:
        by_lever: dict[str, list[str]] = {}
        for a in actions:
            by_lever.setdefault(a["lever"], []).append(a["action"])
        for lever, items in by_lever.items():
            sec.blocks.append(Text(f"Actions: {lever}", "h3"))
            sec.blocks.append(Bullets(items))
    for metric, title, unit in (("revenue", "Revenue by month: plan vs simulation",
                                 ctx.scenario.currency),
                                ("throughput", "Won deals by month: plan vs simulation", "deals")):
        fig = plots.plan_vs_sim(ctx, table, metric, title, unit)
        if fig is not None:
            sec.blocks.append(Chart(f"chart-{metric}", title, fig))
    fig = plots.utilisation(ctx, table)
    if fig is not None:
        sec.blocks.append(Chart("chart-utilisation", "Utilisation", fig))
    response = response_table(ctx)
    if response is not None:
        sec.blocks.append(response)
    totals = table[table["month"] == ALL]
    if not totals.empty:
        sec.blocks.append(Table("Reconciliation over the horizon (month = all)", COLUMNS[1:],
                                [r[1:] for r in tables.formatted_rows(totals)], "horizon",
                                numeric_from=2))
    sec.blocks.append(Table("Reconciliation table (reconciliation.csv)", COLUMNS,
                            tables.formatted_rows(table), "reconciliation", numeric_from=3,
                            collapsed=True, css_id="reconciliation-table"))
    units = ", ".join(f"{m}: {u}" for m, u in UNITS.items())
    sec.blocks.append(Text(f"Units: {units} (currency = {ctx.scenario.currency}). gap = outcome - "
                           "reference: simulation p50 - plan where simulated, else plan - forecast; "
                           "negative is a shortfall. month `all` = horizon total (flows) or mean.",
                           "note"))
    return sec


def _units_frame(loaded_dir, scenario) -> pd.DataFrame | None:
    if scenario.territory is None:
        return None
    path = loaded_dir / scenario.territory.units
    try:
        return pd.read_csv(path, dtype={"id": str})
    except (OSError, ValueError) as exc:
        log.warning("territory map left out: cannot read %s (%s)", path, exc)
        return None


def _territory_maps(ctx: Context, outputs: dict[str, StageOutput], loaded_dir, scenario) -> tuple | None:
    """(unit shapes, [(title, alternative plan)]) when the scenario gives territory boundaries."""
    terr = scenario.territory
    if terr is None or terr.boundaries is None or ctx.territories is None:
        return None
    shapes = read_unit_shapes(loaded_dir / terr.boundaries, terr.boundary_id)
    if shapes is None:
        return None
    stage = outputs.get("territory")
    tables_ = stage.tables if stage is not None else {}
    summary = stage.summary if stage is not None else {}
    alternatives = []
    for k in range(1, len(tables_) + 1):
        frame = tables_.get(f"plan/territories_alternative_{k}.csv")
        if frame is None:
            break
        alternatives.append((_alternative_title(k, summary), frame.astype({"unit_id": str, "territory": str,
                                                                           "center_unit_id": str})))
    return shapes, alternatives


def _alternative_title(k: int, summary: dict) -> str:
    """'alternative k: cost +x % of the plan's, y % of units differ' from the territory summary."""
    alts = summary.get("alternatives") or []
    best = summary.get("objective")
    if k > len(alts) or not best:
        return f"alternative {k}"
    alt = alts[k - 1]
    return (f"alternative {k}: cost +{tables.pct(alt['objective'] / best - 1.0, 1)}, "
            f"{tables.pct(alt['differs_from_best'], 0)} of units differ")


def _glance_findings(summary: dict) -> list:
    """The three most severe flags and the best-valued action of each lever."""
    blocks: list = []
    flags = summary.get("flags", [])[:3]
    if flags:
        blocks.append(Text("Where plan, forecast and simulation disagree", "h3"))
        blocks += [Text(f["message"], f"flag-{f['severity']}") for f in flags]
    best: dict[str, dict] = {}
    for a in summary.get("adjustments", []):
        if (a["impact"].get("margin") or 0.0) < 0:
            continue  # an action that loses money is listed in section 4 with why, not recommended here
        value = max((abs(v) for v in a["impact"].values() if v is not None), default=0.0)
        if a["lever"] not in best or value > best[a["lever"]][0]:
            best[a["lever"]] = (value, a)
    if best:
        blocks.append(Text("What to change (one action per lever; all in section 4)", "h3"))
        blocks.append(Bullets([f"{lever}: {a['action']}" for lever, (_, a) in best.items()]))
    return blocks


def build_document(ctx: Context, outputs: dict[str, StageOutput], table: pd.DataFrame,
                   summary: dict, scenario_dir) -> Document:
    """The whole report as a Document (see reports.document)."""
    s = ctx.scenario
    horizon = f"{ctx.months[0]} to {ctx.months[-1]}" if ctx.months else "no horizon"
    doc = Document(title=s.name, subtitle=f"{s.company.name} · {horizon} · currency {s.currency}"
                   f" · simulated case {ctx.case}")
    for failure in stage_failures(outputs):
        doc.banner.append(failure.headline() + "; the figures that depend on its plan are left empty.")
        doc.banner += list(failure.diagnosis)
    glance = Section("glance", "At a glance")
    if s.description:
        glance.blocks.append(Text(s.description))
    head = _headline_table(ctx, summary.get("headline", {}))
    if head is not None:
        glance.blocks.append(head)
        glossary = glossary_table(s.currency)
        glossary.collapsed = True
        glance.blocks.append(glossary)
    glance.blocks.extend(_glance_findings(summary))
    stages = ", ".join(outputs) or "none"
    glance.blocks.append(Text(f"Stages run: {stages}.", "note"))
    doc.sections.append(glance)
    doc.sections.append(_data_section(ctx, outputs, table))
    doc.sections.append(_demand_section(ctx, table))
    doc.sections.append(_supply_section(ctx, table, _units_frame(scenario_dir, s),
                                        _territory_maps(ctx, outputs, scenario_dir, s)))
    doc.sections.append(_recon_section(ctx, table, summary))
    return doc
