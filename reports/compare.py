"""`salesops compare DIR... --out FILE.html`: several run folders side by side.

The page opens with "which plan, and how sure": one sentence naming the plan with the higher
simulated operating margin and the share of paired replications in which it is higher, then the
paired differences of each P&L figure and SLA (reports.paired). The first run is the reference. Headline figures (revenue, cost, margin, SLA, hires, shortfall,
revenue at risk) per run and demand case, each with its difference to the reference, highlighted
green when better and red when worse beyond 0.5 %; company curves (headcount, cost, simulated
revenue, SLA, capacity shortfall) overlaid; and a month-by-month table. Runs of different
scenarios line up by month and metric through an outer join: a month or metric one run lacks shows
as `missing`, never as zero.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import InputError
from engine.reconcile.quantiles import ALL
from reports import plots, tables
from reports.document import Chart, Document, Section, Table, Text
from reports.paired import PairedFigure, Totals, best_in_share, paired, replication_totals
from reports.render import render_html
from reports.runfolder import RunFolder, read_run

MISSING = "missing"
HIGHLIGHT = 0.005
"""Differences under 0.5 % of the reference are not highlighted."""
HEADLINE = (
    # key, label, decimals, higher is better (None: neutral, never coloured)
    ("revenue", "revenue (plan)", 0, True),
    ("sim_revenue_p50", "revenue (simulated p50)", 0, True),
    ("people_cost", "people cost (plan)", 0, False),
    ("operating_margin", "operating margin (plan)", 0, True),
    ("sim_operating_margin_p50", "operating margin (simulated p50)", 0, True),
    ("sla", "SLA (plan)", 4, True),
    ("sim_sla_p50", "SLA (simulated p50)", 4, True),
    ("hires", "hires", 0, None),
    ("shortfall_hours", "shortfall hours", 0, False),
    ("revenue_at_risk", "revenue at risk (simulated p50)", 0, False),
)
CURVES = (
    # scope, metric, column, title, unit
    ("company", "headcount", "planned", "Headcount (plan)", "people"),
    ("company", "cost", "planned", "People cost per month (plan)", "currency"),
    ("company", "revenue", "sim_p50", "Revenue per month (simulated p50)", "currency"),
    ("company", "revenue", "planned", "Revenue per month (plan)", "currency"),
    ("company", "sla_attainment", "sim_p50", "SLA by month (simulated p50)", "share"),
    ("company", "revenue_at_risk", "sim_p50", "Revenue at risk per month (simulated p50)", "currency"),
)
MONTHLY_METRICS = (("company", "demand", "forecast"), ("company", "headcount", "planned"),
                   ("company", "cost", "planned"), ("company", "revenue", "planned"),
                   ("company", "revenue", "sim_p50"), ("company", "sla_attainment", "sim_p50"))


def _labels(runs: list[RunFolder]) -> list[str]:
    """Unique run labels: the folder name, numbered when two folders share a name."""
    names = [r.path.name for r in runs]
    return [n if names.count(n) == 1 else f"{n} ({i + 1})" for i, n in enumerate(names)]


def _risk(run: RunFolder) -> float | None:
    rec = run.tables.get("reconciliation")
    if rec is None:
        return None
    hit = rec[(rec["month"] == ALL) & (rec["scope"] == "company") & (rec["metric"] == "revenue_at_risk")]
    if hit.empty:
        return None
    v = hit.iloc[0]["sim_p50"]
    return None if pd.isna(v) else float(v)


def headline_frame(runs: list[RunFolder], labels: list[str]) -> pd.DataFrame:
    """Long frame run, case, key, value (NaN where a run lacks the figure)."""
    rows = []
    for run, label in zip(runs, labels, strict=True):
        headline = run.summary.get("headline") or {}
        risk = _risk(run)
        for case, figures in headline.items():
            for key, *_ in HEADLINE:
                value = figures.get(key) if isinstance(figures, dict) else None
                if key == "revenue_at_risk" and "sim_revenue_p50" in (figures or {}):
                    value = risk
                rows.append({"run": label, "case": str(case), "key": key,
                             "value": float(value) if value is not None else math.nan})
    return pd.DataFrame(rows, columns=["run", "case", "key", "value"])


def _delta_class(value: float, ref: float, higher_better: bool | None) -> str:
    if higher_better is None or math.isnan(value) or math.isnan(ref):
        return ""
    scale = max(abs(ref), 1e-9)
    if abs(value - ref) <= HIGHLIGHT * scale:
        return ""
    return "better" if (value > ref) == higher_better else "worse"


def _headline_table(frame: pd.DataFrame, labels: list[str], currency: str) -> Table | None:
    if frame.empty:
        return None
    header = ["case", "figure", *labels, *(f"{lab} - {labels[0]}" for lab in labels[1:])]
    rows, classes = [], []
    cases = sorted(frame["case"].unique(), key=lambda c: (["low", "base", "high"] + [c]).index(c))
    for case in cases:
        for key, name, places, higher in HEADLINE:
            part = frame[(frame["case"] == case) & (frame["key"] == key)].set_index("run")["value"]
            vals = [float(part.get(lab, math.nan)) for lab in labels]
            if all(math.isnan(v) for v in vals):
                continue
            shown = [tables.fmt(v, places) if not math.isnan(v) else MISSING for v in vals]
            deltas = [tables.fmt(v - vals[0], places) if not (math.isnan(v) or math.isnan(vals[0]))
                      else MISSING for v in vals[1:]]
            cls = [_delta_class(v, vals[0], higher) for v in vals[1:]]
            rows.append([case, name, *shown, *deltas])
            classes.append(["", "", "", *cls, *cls] if len(labels) > 1 else ["", "", ""])
            classes[-1] = [c if rows[-1][j] != MISSING else "missing" for j, c in enumerate(classes[-1])]
    title = f"Headline by demand case (money in {currency}; differences to {labels[0]})"
    return Table(title, header, rows, "headline", numeric_from=2, cell_classes=classes)


def aligned(runs: list[RunFolder], labels: list[str],
            selection: tuple[tuple[str, str, str], ...]) -> pd.DataFrame:
    """Month x (scope, metric, column, run) values lined up by an outer join on month and metric."""
    frames = []
    for run, label in zip(runs, labels, strict=True):
        rec = run.tables.get("reconciliation")
        if rec is None:
            continue
        for scope, metric, col in selection:
            part = rec[(rec["scope"] == scope) & (rec["metric"] == metric) & (rec["month"] != ALL)]
            if part.empty or part[col].isna().all():
                continue
            frames.append(pd.DataFrame({"month": part["month"].to_numpy(), "scope": scope,
                                        "metric": metric, "column": col, "run": label,
                                        "value": part[col].to_numpy(dtype=float)}))
    if not frames:
        return pd.DataFrame(columns=["month", "scope", "metric", "column", "run", "value"])
    return pd.concat(frames, ignore_index=True)


def _curve(frame: pd.DataFrame, labels: list[str], title: str, unit: str, currency: str,
           months: list[str]) -> dict | None:
    if frame.empty:
        return None
    fig = plots.new_figure(title, currency if unit == "currency" else unit)
    for i, label in enumerate(labels):
        part = frame[frame["run"] == label].set_index("month")["value"].reindex(months)
        if part.notna().any():
            plots.add_line(fig, months, part, plots.label(label), plots.PALETTE[i % len(plots.PALETTE)],
                        "solid" if i == 0 else "dash" if i % 2 else "dot", 3 if i == 0 else 2)
    if unit == "share":
        fig["layout"]["yaxis"]["tickformat"] = ".0%"
    return fig if fig["data"] else None


def _role_headcount_curve(runs: list[RunFolder], labels: list[str], months: list[str]) -> dict | None:
    """Planned headcount per role, one colour per role, one dash style per run."""
    fig = plots.new_figure("Headcount by role (plan; line style = run)", "people")
    dashes = ("solid", "dash", "dot", "dashdot", "longdash")
    roles: list[str] = []
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        rec = run.tables.get("reconciliation")
        if rec is None:
            continue
        rows = rec[(rec["metric"] == "headcount") & rec["scope"].str.startswith("role:")
                   & (rec["month"] != ALL) & rec["planned"].notna()]
        for scope, part in rows.groupby("scope", sort=True):
            if scope not in roles:
                roles.append(scope)
            colour = plots.PALETTE[roles.index(scope) % len(plots.PALETTE)]
            plots.add_line(fig, months, part.set_index("month")["planned"].reindex(months),
                        plots.label(f"{scope[5:]} [{label}]"), colour, dashes[i % len(dashes)])
    return fig if fig["data"] else None


def _shortfall_curve(runs: list[RunFolder], labels: list[str], months: list[str]) -> dict | None:
    fig = plots.new_figure("Capacity shortfall per month, all roles (plan)", "hours")
    for i, (run, label) in enumerate(zip(runs, labels, strict=True)):
        rec = run.tables.get("reconciliation")
        if rec is None:
            continue
        cap = rec[(rec["metric"] == "capacity") & rec["scope"].str.startswith("role:")
                  & (rec["month"] != ALL)]
        if cap.empty or cap["gap"].isna().all():
            continue
        short = (-cap["gap"].clip(upper=0)).groupby(cap["month"]).sum().reindex(months)
        plots.add_line(fig, months, short, plots.label(label), plots.PALETTE[i % len(plots.PALETTE)],
                    "solid" if i == 0 else "dash", 3 if i == 0 else 2)
    return fig if fig["data"] else None


def _monthly_table(frame: pd.DataFrame, labels: list[str], months: list[str]) -> Table | None:
    if frame.empty:
        return None
    keys = frame[["scope", "metric", "column"]].drop_duplicates().itertuples(index=False)
    keys = list(keys)
    header = ["month"] + [f"{m} {c} [{lab}]" for _, m, c in keys for lab in labels]
    pivot = frame.pivot_table(index="month", columns=["metric", "column", "run"], values="value",
                              aggfunc="first").reindex(months)
    rows, classes = [], []
    for month in months:
        row, cls = [month], [""]
        for _, metric, col in keys:
            places = tables.decimals(metric)
            for lab in labels:
                v = pivot.loc[month].get((metric, col, lab), math.nan) if (metric, col, lab) in \
                    pivot.columns else math.nan
                row.append(MISSING if pd.isna(v) else tables.fmt(v, places))
                cls.append("missing" if pd.isna(v) else "")
        rows.append(row)
        classes.append(cls)
    return Table("Month by month (outer join on month and metric)", header, rows, "monthly",
                 numeric_from=1, collapsed=True, cell_classes=classes)


def _runs_table(runs: list[RunFolder], labels: list[str]) -> Table:
    rows = []
    for run, label in zip(runs, labels, strict=True):
        rec = run.tables.get("reconciliation")
        months = sorted(m for m in rec["month"].unique() if m != ALL) if rec is not None else []
        span = f"{months[0]} to {months[-1]}" if months else MISSING
        rows.append([label, run.name, str(run.path), span, str(run.manifest.get("seed", MISSING)),
                     str(run.manifest.get("replications", MISSING))])
    return Table("Runs compared (the first is the reference)", ["run", "scenario", "folder",
                                                                 "months", "seed", "replications"],
                 rows, "runs", numeric_from=0)


def _paired_table(labels: list[str], figures: list[list[PairedFigure]], currency: str) -> Table:
    header = ["plan", "figure", f"p10 of plan - {labels[0]}", "p50", "p90", "plan better in",
              f"{labels[0]} better in", "replications", "source"]
    rows, classes = [], []
    for label, figs in zip(labels[1:], figures, strict=True):
        for f in figs:
            places = 4 if f.key == "sla" else 0
            unit = "" if f.key == "sla" else f" ({currency})"
            rows.append([label, f.label + unit, *(tables.fmt(v, places) for v in (f.p10, f.p50, f.p90)),
                         tables.pct(f.share_better), tables.pct(f.share_worse), str(f.n), f.source])
            tone = "" if abs(f.p50) < 1e-9 else ("better" if (f.p50 > 0) == f.higher_better else "worse")
            classes.append(["", "", tone, tone, tone, "", "", "", ""])
    return Table(f"Paired differences over replications (plan - {labels[0]}; colour: better or worse "
                 "for the plan by the figure's direction)", header, rows, "paired", numeric_from=2,
                 cell_classes=classes)


def verdict(labels: list[str], totals: list[Totals | None], currency: str) -> str:
    """One sentence: which plan makes more simulated operating margin, and in what share of the
    paired replications."""
    shares = best_in_share(totals)  # type: ignore[arg-type]
    if shares is None:
        return ("Not every run has a simulated operating margin per replication (sim/monthly.csv), so "
                "no plan can be named as making more operating margin.")
    key = "operating_margin"
    n = min(len(t.values[key]) for t in totals)
    medians = [float(np.median(t.values[key][:n])) for t in totals]
    if len(labels) == 2:
        return _two_plans(labels, totals[0].values[key][:n], totals[1].values[key][:n], currency)
    best = max(range(len(labels)), key=lambda i: (shares[i], medians[i]))
    wins_text = f"{round(shares[best] * n, 1):g}"
    return (f"{labels[best]} makes the most simulated operating margin of the {len(labels)} plans in "
            f"{wins_text} of {n} paired replications ({tables.pct(shares[best])}); its median is "
            f"{tables.money(medians[best], currency)}.")


def _two_plans(labels: list[str], first: np.ndarray, second: np.ndarray, currency: str) -> str:
    """The verdict for two plans: strict wins per replication; ties named, never counted as wins."""
    n = len(first)
    diff = second - first
    wins = [int((diff < 0).sum()), int((diff > 0).sum())]
    if wins == [0, 0]:
        return (f"{labels[0]} and {labels[1]} make the same simulated operating margin in every one of "
                f"the {n} paired replications.")
    best = max((0, 1), key=lambda i: (wins[i], float(np.median(diff)) * (1 if i else -1)))
    gap = diff if best == 1 else -diff
    p10, p50, p90 = np.percentile(gap, [10, 50, 90]).tolist()
    ties = n - sum(wins)
    tied = f"; equal in {ties}" if ties else ""
    return (f"{labels[best]} makes more simulated operating margin than {labels[1 - best]} in "
            f"{wins[best]} of {n} paired replications ({tables.pct(wins[best] / n)}{tied}), by "
            f"{tables.money(p50, currency)} at the median (p10 {tables.money(p10, currency)}, "
            f"p90 {tables.money(p90, currency)}).")


def comparison_warnings(runs: list[RunFolder], labels: list[str]) -> list[str]:
    """One line per thing that makes the comparison weaker: different scenarios, replications that
    do not share random numbers."""
    out = []
    names = list(dict.fromkeys(r.name for r in runs))
    if len(names) > 1:
        out.append(f"runs come from different scenarios ({'; '.join(names)}): differences mix plans with "
                   "other assumptions")
    simulated = [(lab, r.manifest.get("seed"), r.manifest.get("replications"))
                 for lab, r in zip(labels, runs, strict=True) if "monthly" in r.tables]
    if len({(seed, reps) for _, seed, reps in simulated}) > 1:
        seen = ", ".join(f"{lab}: seed {seed}, {reps} replications" for lab, seed, reps in simulated)
        out.append(f"runs were simulated with different seeds or replication counts ({seen}): replications "
                   "are paired by number but do not share random numbers")
    return out


def _paired_section(runs: list[RunFolder], labels: list[str], currency: str, warnings: list[str]) -> Section:
    sec = Section("which", "Which plan, and how sure")
    totals = [replication_totals(r) for r in runs]
    if len(runs) < 2 or any(t is None for t in totals):
        sec.blocks.append(Text("Paired statistics need two or more runs with a simulation (sim/monthly.csv).",
                               "note"))
        return sec
    sec.blocks.append(Text(verdict(labels, totals, currency)))
    sec.blocks += [Text(f"Warning: {w}.", "flag-medium") for w in warnings]
    figures = [paired(totals[0], t) for t in totals[1:]]
    sec.blocks.append(_paired_table(labels, figures, currency))
    sec.blocks.append(Text("Replication r of every run sees the same leads, scores, deal sizes, conversions "
                           "and buyer delays when the runs share seed and replication count (common random "
                           "numbers), so each difference is the plans' own; p10/p50/p90 are over the "
                           "replications' horizon totals.", "note"))
    return sec


def _lookup(summary: dict, dotted: str) -> float:
    node: object = summary
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return math.nan
        node = node[part]
    return float(node) if isinstance(node, int | float) and not isinstance(node, bool) else math.nan


def metrics_table(runs: list[RunFolder], labels: list[str], metrics: list[dict]) -> Table:
    """One row per requested metric ({name, label, path, direction}): each run's value from its
    summary.json, and the difference to the first run, green when better in the metric's direction."""
    header = ["metric", "summary.json", *labels, *(f"{lab} - {labels[0]}" for lab in labels[1:])]
    rows, classes = [], []
    for m in metrics:
        vals = [_lookup(run.summary, m["path"]) for run in runs]
        shown = [tables.fmt(v, 4 if abs(v) < 10 else 0) if not math.isnan(v) else MISSING for v in vals]
        deltas = [tables.fmt(v - vals[0], 4 if abs(vals[0]) < 10 else 0)
                  if not (math.isnan(v) or math.isnan(vals[0])) else MISSING for v in vals[1:]]
        direction = m.get("direction")
        cls = [_delta_class(v, vals[0], direction == "max") if direction else "" for v in vals[1:]]
        rows.append([m["label"], m["path"], *shown, *deltas])
        row_classes = ["", "", "", *cls, *cls] if len(labels) > 1 else ["", "", ""]
        classes.append([c if rows[-1][j] != MISSING else "missing" for j, c in enumerate(row_classes)])
    return Table("Requested metrics (differences to the first run)", header, rows, "metrics",
                 numeric_from=2, cell_classes=classes)


def build_comparison(runs: list[RunFolder], warnings: list[str] | None = None,
                     metrics: list[dict] | None = None) -> Document:
    """The comparison page as a Document (see reports.document); `warnings` are shown under the
    verdict, `metrics` adds a table of named figures ({name, label, path, direction} each, from the
    metric catalogue)."""
    labels = _labels(runs)
    currency = runs[0].currency
    currencies = {r.currency for r in runs}
    doc = Document(title="Run comparison", subtitle=" vs ".join(labels))
    doc.sections.append(_paired_section(runs, labels, currency,
                                        comparison_warnings(runs, labels) if warnings is None else warnings))
    overview = Section("runs", "Runs")
    overview.blocks.append(_runs_table(runs, labels))
    if len(currencies) > 1:
        overview.blocks.append(Text(f"Runs use different currencies ({', '.join(sorted(currencies))}): "
                                    "money figures are not converted.", "flag-high"))
    head = _headline_table(headline_frame(runs, labels), labels, currency)
    if head is not None:
        overview.blocks.append(head)
    else:
        overview.blocks.append(Text("No run has headline figures (no demand stage).", "note"))
    if metrics:
        overview.blocks.append(metrics_table(runs, labels, metrics))
    doc.sections.append(overview)
    frame = aligned(runs, labels, tuple((s, m, c) for s, m, c, *_ in CURVES))
    months = sorted(m for m in frame["month"].unique()) if not frame.empty else []
    curves = Section("curves", "Curves overlaid")
    for i, (scope, metric, col, title, unit) in enumerate(CURVES):
        part = frame[(frame["scope"] == scope) & (frame["metric"] == metric) & (frame["column"] == col)]
        fig = _curve(part, labels, title, unit, currency, months)
        if fig is not None:
            curves.blocks.append(Chart(f"chart-compare-{i}", title, fig))
    fig = _role_headcount_curve(runs, labels, months)
    if fig is not None:
        curves.blocks.append(Chart("chart-compare-roles", "Headcount by role", fig))
    fig = _shortfall_curve(runs, labels, months)
    if fig is not None:
        curves.blocks.append(Chart("chart-compare-shortfall", "Capacity shortfall", fig))
    if not curves.blocks:
        curves.blocks.append(Text("No monthly figures to overlay.", "note"))
    doc.sections.append(curves)
    monthly = Section("monthly", "Month by month")
    mframe = aligned(runs, labels, MONTHLY_METRICS)
    mmonths = sorted(mframe["month"].unique()) if not mframe.empty else []
    table = _monthly_table(mframe, labels, mmonths)
    monthly.blocks.append(table if table is not None else Text("No monthly figures.", "note"))
    doc.sections.append(monthly)
    return doc


def compare_runs(run_dirs: list[Path], out_html: Path, metrics: list[dict] | None = None) -> list[str]:
    """Write a side-by-side HTML page of the run folders (the first is the reference) and return
    the warning lines (different scenarios, replications without common random numbers).

    Raises InputError naming the folder when one is not a run folder (no summary.json) or its
    summary.json is not the one `salesops run` writes, and when `out_html` is a directory.
    """
    if not run_dirs:
        raise InputError.single("<compare>", "DIR", "no run folder given", "one or more run folders")
    out = Path(out_html)
    if out.is_dir():
        raise InputError.single(str(out), "--out", "is a directory", "an HTML file path, e.g. compare.html")
    runs = [read_run(Path(d)) for d in run_dirs]
    warnings = comparison_warnings(runs, _labels(runs))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(build_comparison(runs, warnings, metrics)), encoding="utf-8")
    return warnings
