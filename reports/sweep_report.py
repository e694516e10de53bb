"""DIR/report.html of a sweep: sensitivity (tornado), Pareto frontier and a sortable table.

One self-contained file: plotly's JavaScript is inlined once, every chart's data sits beside it
as JSON, and every user string (names, values, errors) is HTML-escaped. Reads the results frame
(results.parquet); never runs anything.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd

BINS = 5
"""Quantile bins of a continuous varied value (random / lhs sweeps) in the tornado chart."""


def _esc(value: object) -> str:
    return html.escape("" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value))


def _fmt(value: object) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value) if value is not None and value is not pd.NA else ""


def _numeric(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce")


def _levels(values: pd.Series) -> pd.Series:
    """Group labels of a varied column: its levels, or quantile bins when there are many."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all() and values.nunique() > BINS:
        return pd.qcut(numeric, BINS, duplicates="drop").astype(str)
    return values.astype(str)


def sensitivity(frame: pd.DataFrame, vary: list[str], metric: str) -> pd.DataFrame:
    """One row per varied path: mean of `metric` at the level where it is lowest and highest
    (ok points only), and the swing between them (metric units), sorted by swing."""
    ok = frame[frame["status"] == "ok"]
    y = _numeric(ok, metric)
    rows = []
    for path in vary:
        means = y.groupby(_levels(ok[path]), observed=True).mean().dropna()
        if len(means) < 2:
            continue
        rows.append({"path": path, "low": float(means.min()), "low_at": str(means.idxmin()),
                     "high": float(means.max()), "high_at": str(means.idxmax()),
                     "swing": float(means.max() - means.min())})
    out = pd.DataFrame(rows, columns=["path", "low", "low_at", "high", "high_at", "swing"])
    return out.sort_values("swing", ascending=True, kind="stable")


def pareto_front(x: np.ndarray, y: np.ndarray, x_better: str = "min", y_better: str = "max") -> np.ndarray:
    """Indices of the points no other point beats on both axes, in the given directions
    (`min` or `max` each; default: minimise x and maximise y), ordered from the best x."""
    xs = x if x_better == "min" else -x
    ys = y if y_better == "max" else -y
    order = np.lexsort((-ys, xs))
    front, best = [], -np.inf
    for i in order:
        if ys[i] > best:
            front.append(i)
            best = ys[i]
    return np.array(front, dtype=int)


def _pick_axes(metrics: list[str], info: dict[str, dict]) -> tuple[str, str] | None:
    """The first two metrics with a direction (objectives come first in `metrics`)."""
    directed = [m for m in metrics if info.get(m, {}).get("direction")]
    return (directed[0], directed[1]) if len(directed) >= 2 else None


def _figure_div(div_id: str, data: list[dict], layout: dict) -> str:
    payload = json.dumps({"data": data, "layout": layout}, default=float).replace("<", "\\u003c")
    return (f'<div id="{div_id}" class="chart"></div><script>(function(){{var f={payload};'
            f'Plotly.newPlot("{div_id}",f.data,f.layout,{{responsive:true,displaylogo:false}});}})();</script>')


def _label(name: str, info: dict[str, dict]) -> str:
    return info.get(name, {}).get("label") or humanise(name)


def humanise(path: str) -> str:
    """A label for a name without one: its keys as words, no dots."""
    words = [p.replace("_", " ") for p in str(path).split(".") if p]
    return (" ".join(words) or str(path)).capitalize()


def tornado_html(frame: pd.DataFrame, vary: list[str], metric: str, div_id: str,
                 info: dict[str, dict] | None = None, vary_labels: dict[str, str] | None = None) -> str:
    info, vary_labels = info or {}, vary_labels or {}
    label = _label(metric, info)
    sens = sensitivity(frame, vary, metric)
    if sens.empty:
        return f"<p>No sensitivity for {_esc(label)}: fewer than two levels with ok points.</p>"
    centre = float(_numeric(frame[frame["status"] == "ok"], metric).mean())
    labels = [_esc(vary_labels.get(p) or humanise(p)) for p in sens["path"]]
    bars = [{"type": "bar", "orientation": "h", "y": labels, "x": list(sens[side] - centre),
             "base": centre, "name": name, "customdata": [_esc(v) for v in sens[f"{side}_at"]],
             "text": [f"at {_esc(v)}" for v in sens[f"{side}_at"]], "textposition": "inside",
             "hovertemplate": f"%{{y}} at %{{customdata}}: %{{x:+.4g}} vs mean<extra>{name}</extra>"}
            for side, name in (("low", "level with the lowest mean"), ("high", "level with the highest mean"))]
    layout = {"title": {"text": f"Sensitivity of {_esc(label)} (mean over points at each level)"},
              "barmode": "overlay", "xaxis": {"title": {"text": _esc(label)}},
              "margin": {"l": 260, "t": 60, "b": 60}, "height": 220 + 50 * len(sens),
              "yaxis": {"automargin": True, "type": "category"},
              "legend": {"orientation": "h", "y": -0.35}}
    return _figure_div(div_id, bars, layout)


def _arrow(direction: str) -> str:
    return "higher is better" if direction == "max" else "lower is better"


def pareto_html(frame: pd.DataFrame, metrics: list[str], div_id: str, info: dict[str, dict] | None = None) -> str:
    info = info or {}
    axes = _pick_axes(metrics, info)
    if axes is None:
        return ("<p>The Pareto frontier needs two metrics with a direction: set "
                "<code>objectives: {metric: max|min}</code> in the sweep file.</p>")
    xm, ym = axes
    xd, yd = info[xm]["direction"], info[ym]["direction"]
    ok = frame[frame["status"] == "ok"]
    x, y = _numeric(ok, xm).to_numpy(float), _numeric(ok, ym).to_numpy(float)
    keep = np.isfinite(x) & np.isfinite(y)
    ids = ok["point_id"].astype(str).to_numpy()[keep]
    x, y = x[keep], y[keep]
    xl, yl = _esc(_label(xm, info)), _esc(_label(ym, info))
    if len(x) == 0:
        return f"<p>No ok points with both {xl} and {yl}.</p>"
    front = pareto_front(x, y, xd, yd)
    data = [{"type": "scatter", "mode": "markers", "x": list(x), "y": list(y), "text": list(ids),
             "name": "points", "marker": {"color": "#9aa7b8"}},
            {"type": "scatter", "mode": "lines+markers", "x": list(x[front]), "y": list(y[front]),
             "text": list(ids[front]), "name": "Pareto frontier (best trade-offs)",
             "line": {"shape": "hv", "color": "#c0392b"}}]
    words = {"max": "higher", "min": "lower"}
    layout = {"title": {"text": f"Pareto frontier: better is {words[xd]} {xl} and {words[yd]} {yl}"},
              "xaxis": {"title": {"text": f"{xl} ({_arrow(xd)})"}},
              "yaxis": {"title": {"text": f"{yl} ({_arrow(yd)})"}}, "height": 480}
    return _figure_div(div_id, data, layout)


def metric_vs_value_html(frame: pd.DataFrame, path: str, metric: str, div_id: str, info: dict[str, dict],
                         vary_labels: dict[str, str], single_axis: bool) -> str | None:
    """`metric` against the varied value `path` (ok points), with the metric's p10-p90 band: a
    shaded band along a line when only this path varies, error bars otherwise."""
    ok = frame[frame["status"] == "ok"]
    y = _numeric(ok, metric)
    if not y.notna().any():
        return None
    x = pd.to_numeric(ok[path], errors="coerce")
    numeric_x = bool(x.notna().all())
    order = np.argsort(x.to_numpy(float), kind="stable") if numeric_x else np.arange(len(ok))
    xs = (x.to_numpy(float)[order].tolist() if numeric_x else [_esc(v) for v in ok[path].astype(str)])
    ys = y.to_numpy(float)[order]
    band = info.get(metric, {}).get("band")
    label, xlabel = _esc(_label(metric, info)), _esc(vary_labels.get(path) or humanise(path))
    data: list[dict] = []
    trace = {"type": "scatter", "mode": "lines+markers" if single_axis and numeric_x else "markers",
             "x": xs, "y": _floats(ys), "name": label, "line": {"color": "#1f77b4"}}
    if band and all(c in ok.columns for c in band):
        lo = _numeric(ok, band[0]).to_numpy(float)[order]
        hi = _numeric(ok, band[1]).to_numpy(float)[order]
        if single_axis and numeric_x:
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": _floats(hi), "line": {"width": 0},
                         "showlegend": False, "hoverinfo": "skip"})
            data.append({"type": "scatter", "mode": "lines", "x": xs, "y": _floats(lo), "line": {"width": 0},
                         "fill": "tonexty", "fillcolor": "rgba(31,119,180,0.2)",
                         "name": "p10-p90 over replications"})
        else:
            trace["error_y"] = {"type": "data", "symmetric": False, "array": _floats(hi - ys),
                                "arrayminus": _floats(ys - lo)}
            trace["name"] = f"{label} (bars: p10-p90 over replications)"
    data.append(trace)
    layout = {"title": {"text": f"{label} against {xlabel}"}, "height": 400,
              "xaxis": {"title": {"text": xlabel}}, "yaxis": {"title": {"text": label}},
              "legend": {"orientation": "h", "y": -0.25}}
    return _figure_div(div_id, data, layout)


def _floats(values: np.ndarray) -> list[float | None]:
    return [float(v) if np.isfinite(v) else None for v in np.asarray(values, dtype=float)]


def table_html(frame: pd.DataFrame) -> str:
    head = "".join(f'<th onclick="sortTable(this)">{_esc(c)}</th>' for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cls = "" if getattr(row, "status", "ok") == "ok" else ' class="failed"'
        cells = "".join(f'<td data-v="{_esc(v)}">{_esc(_fmt(v))}</td>' for v in row)
        body.append(f"<tr{cls}>{cells}</tr>")
    return (f'<div class="scroll"><table id="points"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')


_SORT_JS = """
function sortTable(th){var t=th.closest('table'),i=Array.from(th.parentNode.children).indexOf(th),
b=t.tBodies[0],rows=Array.from(b.rows),asc=th.dataset.dir!=='asc';th.dataset.dir=asc?'asc':'desc';
rows.sort(function(r,s){var a=r.cells[i].dataset.v,c=s.cells[i].dataset.v,x=parseFloat(a),y=parseFloat(c);
var d=(!isNaN(x)&&!isNaN(y))?x-y:a.localeCompare(c);return asc?d:-d;});rows.forEach(function(r){b.appendChild(r);});}
"""
_CSS = """table#points{border-collapse:collapse;font-size:13px;font-variant-numeric:tabular-nums}
table#points th,table#points td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:right;white-space:nowrap}
table#points th{cursor:pointer;background:#eef2f7;position:sticky;top:0}tr.failed td{background:#fdecea}
.chart{min-height:400px}"""


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_esc(title)}</h2>\n{body}\n</section>'


def _metric_charts(frame: pd.DataFrame, vary: list[str], metrics: list[str], info: dict[str, dict],
                   vary_labels: dict[str, str]) -> str:
    charts = []
    for i, metric in enumerate(metrics):
        for j, path in enumerate(vary):
            div = metric_vs_value_html(frame, path, metric, f"mv{i}_{j}", info, vary_labels, len(vary) == 1)
            if div is not None:
                charts.append(div)
    return "".join(charts) or "<p>No numeric metric to show.</p>"


def sweep_report_html(frame: pd.DataFrame, vary: list[str], metrics: list[str], title: str = "sweep",
                      description: str = "", info: dict[str, dict] | None = None,
                      vary_labels: dict[str, str] | None = None) -> str:
    """The sweep report page for the results `frame` (one row per point), self-contained HTML in
    the run report's page style. `info`: metric -> {label, unit, direction (max/min/None), band
    (the p10 and p90 columns, or None)}, from the metric catalogue; `vary_labels`: varied path ->
    label."""
    import re

    from reports.render import _plotly_js, _template

    info, vary_labels = info or {}, vary_labels or {}
    ok = int((frame["status"] == "ok").sum()) if len(frame) else 0
    shown = [m for m in metrics if m in frame.columns and _numeric(frame, m).notna().any()]
    tornados = "".join(tornado_html(frame, vary, m, f"tornado{i}", info, vary_labels) for i, m in enumerate(shown))
    varied = ", ".join(vary_labels.get(v) or humanise(v) for v in vary)
    sections = [
        _section("overview", "Overview", f"<p>{_esc(description)}</p><p>{len(frame)} points: {ok} ok, "
                 f"{len(frame) - ok} failed. Varied: {_esc(varied)}.</p>"),
        _section("metrics", "Metrics against the varied values", _metric_charts(frame, vary, shown, info, vary_labels)),
        _section("sensitivity", "Sensitivity", tornados or "<p>No numeric metric to show.</p>"),
        _section("pareto", "Pareto frontier", pareto_html(frame, metrics, "pareto", info)),
        _section("points", "Points", f"<p class=\"note\">Click a column header to sort.</p>{table_html(frame)}"),
    ]
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in (("overview", "Overview"), ("metrics", "Metrics"),
                                                         ("sensitivity", "Sensitivity"), ("pareto", "Pareto"),
                                                         ("points", "Points")))
    values = {"title": _esc(title), "subtitle": "sweep report", "nav": nav, "body": "\n".join(sections)}
    page = re.sub(r"\{\{(title|subtitle|nav|body)\}\}", lambda m: values[m.group(1)], _template())
    page = page.replace("</head>", f"<style>{_CSS}</style><script>{_plotly_js()}</script>"
                                   f"<script>{_SORT_JS}</script></head>", 1)
    return page


def write_sweep_report(frame: pd.DataFrame, vary: list[str], metrics: list[str], target: Path,
                       title: str = "sweep", description: str = "", info: dict[str, dict] | None = None,
                       vary_labels: dict[str, str] | None = None) -> Path:
    """Write the sweep report for the results `frame` to `target` (`salesops sweep` writes it
    through `sweep_report_html` and the results store's atomic writer)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(sweep_report_html(frame, vary, metrics, title, description, info, vary_labels),
                      encoding="utf-8")
    return target
