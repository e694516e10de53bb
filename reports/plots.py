"""Chart builders: plotly figures for report.html and the compare page.

Figures are plain plotly.js specs (dicts of `data` and `layout`), not plotly.graph_objects:
building and validating graph objects cost seconds per report, and the browser validates anyway.
Every user-provided string placed in a figure (segment, role, territory names) goes through
`label()`, which HTML-escapes it: plotly renders a small HTML subset in SVG text and decodes
entities, so an escaped name shows as the literal text. Builders return None when their data is
absent, and the report leaves the chart out.
"""

from __future__ import annotations

import html
import json
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from engine.numbers import fmt
from engine.reconcile.context import Context
from engine.reconcile.quantiles import ALL

if TYPE_CHECKING:  # reports.geo imports geopandas: loaded only when a map is drawn
    from reports.geo import UnitShapes

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
           "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5")
"""D3 category20: distinct colours for up to 20 territories or roles."""
AXIS = {"gridcolor": "#e5e8ec", "zerolinecolor": "#c9ced6", "automargin": True}
LAYOUT = {"height": 380, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
          "legend": {"orientation": "h", "y": -0.2}, "paper_bgcolor": "#fff",
          "plot_bgcolor": "#fff", "font": {"family": "system-ui, sans-serif", "size": 12},
          "hovermode": "x unified"}
Figure = dict[str, Any]
"""A plotly.js figure: {"data": [trace, ...], "layout": {...}}."""


def values(x: Any) -> list:
    """A list for JSON: numpy/pandas values as Python floats, NaN as null."""
    arr = np.asarray(x)
    if arr.dtype.kind in "fiu":
        f = arr.astype(float)
        return [None if not np.isfinite(v) else float(v) for v in f.tolist()]
    return [str(v) for v in arr.tolist()]


def to_json(fig: Figure) -> str:
    """JSON safe inside <script>: `<`, `>` and `&` escaped, so `</script>` and `<!--` cannot occur."""
    text = json.dumps(fig, allow_nan=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _trace(kind: str, x: Any, y: Any, name: str, **extra: Any) -> dict:
    return {"type": kind, "x": values(x), "y": values(y), "name": name, **extra}


def label(text: object) -> str:
    """A user-provided string made safe for plotly's HTML-subset text rendering.

    Only `&`, `<` and `>` are escaped: no tag can form without `<`, and plotly decodes those
    three entities but not `&quot;` or `&#x27;`, which a legend would show literally."""
    return html.escape(str(text), quote=False)


def new_figure(title: str, ytitle: str) -> Figure:
    return {"data": [], "layout": {**LAYOUT, "title": {"text": label(title)},
                                   "xaxis": dict(AXIS), "yaxis": {**AXIS, "title": {"text": label(ytitle)}}}}


def band(fig: Figure, x: list[str], lo: Any, hi: Any, name: str,
         color: str = "rgba(31,119,180,0.2)") -> None:
    """A shaded p10-p90 band between two series."""
    fig["data"].append(_trace("scatter", x, hi, "", mode="lines", line={"width": 0},
                              showlegend=False, hoverinfo="skip"))
    fig["data"].append(_trace("scatter", x, lo, label(name), mode="lines", line={"width": 0},
                              fill="tonexty", fillcolor=color))


def add_line(fig: Figure, x: Any, y: Any, name: str, color: str, dash: str = "solid",
          width: float = 2, **extra: Any) -> None:
    fig["data"].append(_trace("scatter", x, y, name, mode="lines",
                              line={"color": color, "dash": dash, "width": width}, **extra))


def _sim_quantiles(ctx: Context, metric: str) -> np.ndarray | None:
    """p10, p50, p90 of a simulated monthly metric: array 3 x months."""
    arr = ctx.sim_series(metric)
    if arr is None or np.isnan(arr).all():
        return None
    with np.errstate(all="ignore"):
        return np.nanquantile(arr, [0.1, 0.5, 0.9], axis=0)


def _company(table: pd.DataFrame, ctx: Context, metric: str) -> pd.DataFrame:
    rows = table[(table["scope"] == "company") & (table["metric"] == metric) & (table["month"] != ALL)]
    return rows.set_index("month").reindex(ctx.months)


def demand_vs_capacity(ctx: Context, table: pd.DataFrame) -> Figure | None:
    """Forecast leads per month against the leads the plan can work, and simulated leads worked."""
    company = _company(table, ctx, "demand")
    if company["forecast"].isna().all():
        return None
    fig = new_figure("Demand vs capacity (leads per month)", "leads")
    worked = _sim_quantiles(ctx, "contacted")
    if worked is not None:
        band(fig, ctx.months, worked[0], worked[2], "simulated leads contacted p10-p90")
        add_line(fig, ctx.months, worked[1], "simulated contacted p50", PALETTE[0], "dot")
    add_line(fig, ctx.months, company["forecast"], label(f"forecast ({ctx.case})"), PALETTE[3], width=3)
    for case in ctx.cases:
        if case != ctx.case:
            f = ctx.forecast(case)
            add_line(fig, ctx.months, f.groupby("month")["leads"].sum().reindex(ctx.months),
                  label(f"forecast ({case})"), PALETTE[3], "dash", 1)
    cap = capacity_in_leads(ctx)
    if cap is not None:
        fig["data"].append(_trace("scatter", ctx.months, cap, "plan capacity (bottleneck role)",
                                  mode="lines", line={"color": PALETTE[2], "width": 3, "shape": "hv"}))
    return fig


def capacity_in_leads(ctx: Context) -> np.ndarray | None:
    """Leads per month the plan's capacity can work end to end (bottleneck role, forecast mix)."""
    cap, f = ctx.capacity(), ctx.forecast()
    if cap is None or f is None or ctx.rates is None:
        return None
    mix = f.groupby("segment")["leads"].sum()
    if mix.sum() <= 0:
        return None
    per_lead = ctx.rates.work_per_lead.reindex(mix.index).mul(mix / mix.sum(), axis=0).sum()
    have = cap.pivot_table(index="month", columns="role", values="capacity_hours", aggfunc="sum")
    have = have.reindex(ctx.months)
    leads = [have[r] / per_lead[r] for r in ctx.rates.roles if r in have.columns and per_lead[r] > 0]
    return pd.concat(leads, axis=1).min(axis=1).to_numpy() if leads else None


def headcount_by_role(ctx: Context) -> Figure | None:
    plan = ctx.hiring()
    if plan is None or plan.empty:
        return None
    fig = new_figure("Planned headcount by role (stacked, FTE)", "people (FTE)")
    pivot = plan.pivot_table(index="month", columns="role", values="headcount", aggfunc="sum")
    for i, role in enumerate(pivot.columns):
        fig["data"].append(_trace("bar", list(pivot.index), pivot[role], label(role),
                                  marker={"color": PALETTE[i % len(PALETTE)]}))
    if "hires" in plan:
        hires = plan.groupby("month")["hires"].sum()
        fig["data"].append(_trace("scatter", list(hires.index), hires, "hires starting (all roles)",
                                  mode="markers", yaxis="y2",
                                  marker={"symbol": "triangle-up", "size": 10, "color": "black"}))
        fig["layout"]["yaxis2"] = {"overlaying": "y", "side": "right", "title": {"text": "hires"},
                                   "showgrid": False, "rangemode": "tozero", "tickformat": "d",
                                   "dtick": max(1, math.ceil(float(hires.max()) / 8))}  # whole people
    fig["layout"]["barmode"] = "stack"
    return fig


def funnel(ctx: Context, table: pd.DataFrame) -> Figure | None:
    """Horizon totals through the funnel: fluid plan vs simulated p50."""
    out = ctx.outcomes()
    if out is None or ctx.scenario.funnel is None:
        return None
    stages = ctx.scenario.funnel.stages
    names = [label(n) for n in ["leads", *(f"reached {s.name}" for s in stages[1:]), "won"]]
    worked = out.groupby("segment")["worked"].sum()
    reach = pd.Series(1.0, index=worked.index)
    planned = [float(worked.sum())]
    for stage in stages[:-1]:
        reach = reach * np.array([stage.conversion_for(s) for s in worked.index])
        planned.append(float((worked * reach).sum()))
    planned.append(float((worked * ctx.rates.won_share.reindex(worked.index)).sum()))
    fig = new_figure("Funnel over the horizon (leads reaching each stage)", "")
    fig["data"].append({"type": "funnel", "y": names, "x": values(planned),
                        "name": "plan (fluid, no queues)", "textinfo": "value+percent initial",
                        "texttemplate": "%{value:,.0f}", "marker": {"color": PALETTE[2]}})
    sim_names = ["leads", *(f"reached:{s.name}" for s in stages[1:]), "won"]
    sims = [ctx.sim_series(n) for n in sim_names]
    if all(v is not None for v in sims):
        med = [float(np.median(np.nansum(v, axis=1))) for v in sims]
        fig["data"].append({"type": "funnel", "y": names, "x": values(med), "name": "simulation p50",
                            "texttemplate": "%{value:,.0f}", "marker": {"color": PALETTE[0]}})
    fig["layout"]["hovermode"] = "closest"
    fig["layout"]["yaxis"] = {"automargin": True}
    return fig


def sla_by_month(ctx: Context, table: pd.DataFrame) -> Figure | None:
    rows = _company(table, ctx, "sla_attainment")
    if rows[["planned", "sim_p50"]].isna().all().all():
        return None
    fig = new_figure("Support service level by month (blended: all tickets; and per tier)",
                     "share of tickets answered in time")
    if rows["sim_p50"].notna().any():
        band(fig, ctx.months, rows["sim_p10"], rows["sim_p90"], "simulated p10-p90")
        add_line(fig, ctx.months, rows["sim_p50"], "simulated p50", PALETTE[0])
    if rows["planned"].notna().any():
        add_line(fig, ctx.months, rows["planned"], "plan (Erlang)", PALETTE[2], width=3)
    if rows["forecast"].notna().any():
        add_line(fig, ctx.months, rows["forecast"], "blended target (tiers' targets weighted by tickets)",
                 PALETTE[3], "dash")
    tiers = sorted(x for x in table["scope"].unique() if str(x).startswith("tier:"))
    for i, scope in enumerate(tiers):  # each tier against its own target
        mine = table[(table["scope"] == scope) & (table["metric"] == "sla_attainment")
                     & (table["month"] != ALL)].set_index("month").reindex(ctx.months)
        name, colour = scope.split(":", 1)[1], PALETTE[4 + 2 * i % 14]
        add_line(fig, ctx.months, mine["sim_p50"], f"{name}: simulated p50", colour)
        add_line(fig, ctx.months, mine["forecast"], f"{name}: its target", colour, "dot")
    fig["layout"]["yaxis"]["tickformat"] = ".0%"
    return fig


def plan_vs_sim(ctx: Context, table: pd.DataFrame, metric: str, title: str,
                unit: str) -> Figure | None:
    """A company metric by month: forecast, plan and the simulated p10-p90 band."""
    rows = _company(table, ctx, metric)
    if rows[["planned", "forecast", "sim_p50"]].isna().all().all():
        return None
    fig = new_figure(title, unit)
    if rows["sim_p50"].notna().any():
        band(fig, ctx.months, rows["sim_p10"], rows["sim_p90"], "simulated p10-p90")
        add_line(fig, ctx.months, rows["sim_p50"], "simulated p50", PALETTE[0])
    if rows["forecast"].notna().any():
        add_line(fig, ctx.months, rows["forecast"], "every lead worked", PALETTE[3], "dash")
    if rows["planned"].notna().any():
        add_line(fig, ctx.months, rows["planned"], "plan (fluid)", PALETTE[2], width=3)
    return fig


def utilisation(ctx: Context, table: pd.DataFrame) -> Figure | None:
    rows = table[(table["metric"] == "utilisation") & (table["month"] != ALL)]
    if rows.empty:
        return None
    fig = new_figure("Utilisation by role: plan vs simulation", "share of capacity busy")
    for i, (scope, part) in enumerate(rows.groupby("scope", sort=True)):
        part = part.set_index("month").reindex(ctx.months)
        color = PALETTE[i % len(PALETTE)]
        name = label(scope.split(":", 1)[1])
        if part["planned"].notna().any():
            add_line(fig, ctx.months, part["planned"], f"{name} plan", color, "dash")
        if part["sim_p50"].notna().any():
            add_line(fig, ctx.months, part["sim_p50"], f"{name} simulated p50", color)
    fig["layout"]["yaxis"]["tickformat"] = ".0%"
    return fig


def territory_map(ctx: Context, units: pd.DataFrame | None) -> Figure | None:
    """Units coloured by territory (x, y), centre units marked with a star."""
    t = ctx.territories
    if t is None or units is None or not {"id", "x", "y"} <= set(units.columns):
        return None
    df = t.merge(units[["id", "x", "y"]].astype({"id": str}), left_on="unit_id", right_on="id",
                 how="inner")
    if df.empty:
        return None
    fig = new_figure("Territories (units coloured by territory, centres starred)", "y")
    for i, (name, part) in enumerate(df.groupby("territory", sort=True)):
        fig["data"].append(_trace("scatter", part["x"], part["y"], label(name), mode="markers",
                                  marker={"color": PALETTE[i % len(PALETTE)], "size": 7},
                                  text=[label(u) for u in part["unit_id"]]))
    centres = df[df["unit_id"] == df["center_unit_id"]]
    fig["data"].append(_trace("scatter", centres["x"], centres["y"], "centre", mode="markers",
                              marker={"symbol": "star", "size": 16, "color": "black",
                                      "line": {"color": "white", "width": 1}}))
    fig["layout"].update({"height": 520, "hovermode": "closest"})
    fig["layout"]["yaxis"].update({"scaleanchor": "x", "scaleratio": 1})
    fig["layout"]["xaxis"]["title"] = {"text": "x"}
    return fig


MAP_HEIGHT = 560
SMALL_MAP_HEIGHT = 260
"""Chart heights (px) when the shapes' frame is unknown; otherwise from its aspect (`_map_heights`)."""
MAP_WIDTH_PX = 1000
"""About the width (px) the report gives a chart: the map's height follows from it and the frame."""
MAP_HEIGHT_RANGE = (320, 760)
"""Main map height bounds (px): a thin east-west strip stays readable, a tall state fits a screen."""
MAP_PAD = 0.02
"""Share of the frame added on every side, so border units are not cut by the map's edge."""
CLEAR = "rgba(0,0,0,0)"
GEO_OFFLINE_JS = ('window.PlotlyGeoAssets.topojson["world_110m"] = window.PlotlyGeoAssets.topojson["world_110m"]'
                  ' || {"type": "Topology", "objects": {}, "arcs": []};')
"""Run before a map is plotted: plotly.js fetches its base-map topojson (from a CDN) for any geo
trace with a location mode, even with every base layer hidden; an empty one already in its
asset cache keeps the report offline. The maps draw only the embedded unit GeoJSON."""


def territory_choropleth(ctx: Context, shapes: UnitShapes | None, units: pd.DataFrame | None,
                         alternatives: list[tuple[str, pd.DataFrame]] | None = None) -> Figure | None:
    """Territories as filled unit polygons (plotly choropleth over the embedded GeoJSON, no
    tiles): one colour per territory, centres starred, units that left their current territory
    outlined; each alternative plan as a small map below."""
    t = ctx.territories
    if t is None or shapes is None or t.empty:
        return None
    plans = [("plan", t)] + list(alternatives or [])
    names = sorted({str(n) for _, frame in plans for n in frame["territory"]})
    colours = _territory_palette(shapes, t, names)
    fig: Figure = {"data": [], "layout": {**LAYOUT, "height": MAP_HEIGHT, "hovermode": "closest",
                                          "title": {"text": "Territories on the map (centres starred; "
                                                            "outlined units change territory)"}}}
    fig["layout"]["margin"] = {"l": 10, "r": 10, "t": 50, "b": 10}
    small = len(plans) - 1
    main_h, small_h = _map_heights(shapes, small)
    fig["layout"]["height"] = main_h + small_h + 60
    split = small_h / (main_h + small_h) if small else 0.0
    for k, (title, frame) in enumerate(plans):
        geo = "geo" if k == 0 else f"geo{k + 1}"
        domain = ({"x": [0, 1], "y": [split + 0.02 if small else 0, 1]} if k == 0 else
                  {"x": [(k - 1) / small + 0.01, k / small - 0.01], "y": [0, split - 0.04]})
        fig["layout"][geo] = {**_map_frame(shapes), "visible": False, "domain": domain,
                              "scope": "world", "resolution": 110,
                              "projection": {"type": "mercator"}}
        fig["data"] += _plan_traces(frame, names, colours, shapes, geo, title)
        if k:
            fig["layout"].setdefault("annotations", []).append(
                {"text": title, "showarrow": False, "xref": "paper", "yref": "paper", "xanchor": "center",
                 "yanchor": "bottom", "x": (domain["x"][0] + domain["x"][1]) / 2, "y": domain["y"][1],
                 "font": {"size": 12}})
    current = _moved_units(t, units)
    if current is not None and not current.empty:
        fig["data"].append({"type": "choropleth", "geojson": shapes.geojson, "featureidkey": "id",
                            "locationmode": "geojson-id",
                            "locations": values(current["unit_id"]), "z": [0] * len(current),
                            "colorscale": [[0, CLEAR], [1, CLEAR]], "showscale": False, "geo": "geo",
                            "marker": {"line": {"color": "black", "width": 2}},
                            "name": "changes territory", "hoverinfo": "text",
                            "text": [f"{label(u)}: {label(a)} → {label(b)}" for u, a, b in
                                     zip(current["unit_id"], current["current_territory"],
                                         current["territory"], strict=True)]})
    return fig


def _map_frame(shapes: UnitShapes) -> dict:
    """The geo subplot's frame: the shapes' bounds plus MAP_PAD as longitude and latitude ranges,
    so the map fills its chart (plotly's `fitbounds` keeps the world's frame and draws the
    region small inside it); `fitbounds` only when the bounds are unknown."""
    if shapes.bounds is None:
        return {"fitbounds": "locations"}
    lon0, lat0, lon1, lat1 = shapes.bounds
    dx, dy = MAP_PAD * max(lon1 - lon0, 1e-6), MAP_PAD * max(lat1 - lat0, 1e-6)
    return {"lonaxis": {"range": [round(lon0 - dx, 4), round(lon1 + dx, 4)]},
            "lataxis": {"range": [round(lat0 - dy, 4), round(lat1 + dy, 4)]}}


def _map_heights(shapes: UnitShapes, small: int) -> tuple[int, int]:
    """(main map, row of `small` alternative maps) heights in px: the frame's Mercator aspect at
    MAP_WIDTH_PX wide (the main map within MAP_HEIGHT_RANGE), or the fixed heights without it."""
    aspect = shapes.aspect()
    if aspect is None:
        return MAP_HEIGHT - 60, SMALL_MAP_HEIGHT if small else 0
    aspect *= (1 + 2 * MAP_PAD)
    low, high = MAP_HEIGHT_RANGE
    main = int(min(max(round(MAP_WIDTH_PX * aspect), low), high))
    row = int(min(max(round(MAP_WIDTH_PX / small * aspect), low // 2), high // 2)) if small else 0
    return main, row


def _territory_palette(shapes: UnitShapes, plan: pd.DataFrame, names: list[str]) -> list[str]:
    """A colour for each of `names`: the plan's neighbouring territories apart (reports.geo's map
    colouring), the alternatives' own names after them; palette order without shapes."""
    from reports.geo import territory_colours  # geopandas only when a map is drawn

    index = territory_colours(shapes, plan)
    if index is None:
        return [PALETTE[i % len(PALETTE)] for i in range(len(names))]
    extra = iter(range(max(index.values(), default=-1) + 1, 10 ** 6))
    return [PALETTE[(index[n] if n in index else next(extra)) % len(PALETTE)] for n in names]


def _plan_traces(frame: pd.DataFrame, names: list[str], colours: list[str], shapes: UnitShapes, geo: str,
                 title: str) -> list[dict]:
    """Choropleth of one plan (territory colours, hover with its totals) and its centre stars."""
    totals = frame.groupby("territory")[["workload", "potential"]].sum()
    scale = [[edge, c] for i, c in enumerate(colours)
             for edge in (i / len(names), (i + 1) / len(names))]
    z = [names.index(str(n)) + 0.5 for n in frame["territory"]]
    text = [f"{label(u)}<br>territory {label(n)} (centre {label(c)})<br>territory workload "
            f"{fmt(totals.loc[n, 'workload'], 1)}, potential {fmt(totals.loc[n, 'potential'], 0)}"
            f"<br>unit workload {fmt(w, 2)}"
            for u, n, c, w in zip(frame["unit_id"], frame["territory"], frame["center_unit_id"],
                                  frame["workload"], strict=True)]
    traces = [{"type": "choropleth", "geojson": shapes.geojson, "featureidkey": "id", "geo": geo,
               "locationmode": "geojson-id",
               "locations": values(frame["unit_id"]), "z": z, "zmin": 0, "zmax": len(names),
               "colorscale": scale, "showscale": False, "name": label(title), "hoverinfo": "text",
               "text": text, "marker": {"line": {"color": "white", "width": 0.3}}}]
    centres = shapes.points.merge(pd.DataFrame({"id": frame["center_unit_id"].astype(str).unique()}), on="id")
    # geojson-id on every trace: plotly.js then needs no base-map topojson (no network)
    traces.append({"type": "scattergeo", "geo": geo, "locationmode": "geojson-id", "lon": values(centres["lon"]), "lat": values(centres["lat"]),
                   "mode": "markers", "name": f"{label(title)} centres", "hoverinfo": "skip",
                   "marker": {"symbol": "star", "size": 12 if geo == "geo" else 7, "color": "black",
                              "line": {"color": "white", "width": 1}}, "showlegend": False})
    return traces


def _moved_units(t: pd.DataFrame, units: pd.DataFrame | None) -> pd.DataFrame | None:
    """Units whose planned territory differs from their current one (units CSV column)."""
    if units is None or "current_territory" not in units.columns:
        return None
    cur = units[["id", "current_territory"]].astype(str).rename(columns={"id": "unit_id"})
    cur = cur[cur["current_territory"].str.strip().ne("") & cur["current_territory"].ne("nan")]
    both = t[["unit_id", "territory"]].astype(str).merge(cur, on="unit_id")
    return both[both["territory"] != both["current_territory"]]


def workload_balance(ctx: Context, table: pd.DataFrame) -> Figure | None:
    rows = table[(table["metric"] == "workload") & table["scope"].str.startswith("territory:")]
    if rows.empty:
        return None
    fig = new_figure("Workload by territory (red: more than 10 % off the mean)", "workload")
    names = [label(s.split(":", 1)[1]) for s in rows["scope"]]
    mean = float(rows["forecast"].iloc[0])
    colors = [PALETTE[3] if abs(v - mean) > 0.1 * mean else PALETTE[0] for v in rows["planned"]]
    fig["data"].append(_trace("bar", names, rows["planned"], "workload", marker={"color": colors}))
    fig["data"].append(_trace("scatter", names, [mean] * len(names), "mean", mode="lines",
                              line={"color": "black", "dash": "dash"}))
    pot = table[(table["metric"] == "potential") & table["scope"].str.startswith("territory:")]
    if not pot.empty and pot["planned"].abs().sum() > 0:
        fig["data"].append(_trace("scatter", [label(s.split(":", 1)[1]) for s in pot["scope"]],
                                  pot["planned"], "potential", mode="markers", yaxis="y2",
                                  marker={"size": 10, "color": PALETTE[1]}))
        fig["layout"]["yaxis2"] = {"overlaying": "y", "side": "right",
                                   "title": {"text": "potential"}, "showgrid": False}
    fig["layout"]["hovermode"] = "closest"
    return fig
