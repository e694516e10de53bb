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


def pareto_front(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Indices of the points not dominated when minimising x and maximising y, by ascending x."""
    order = np.lexsort((-y, x))
    front, best = [], -np.inf
    for i in order:
        if y[i] > best:
            front.append(i)
            best = y[i]
    return np.array(front, dtype=int)


def _pick_axes(metrics: list[str]) -> tuple[str, str] | None:
    cost = next((m for m in metrics if "cost" in m.lower()), None)
    benefit = next((m for m in metrics if m != cost and any(k in m.lower() for k in ("sla", "margin"))), None)
    if cost and benefit:
        return cost, benefit
    rest = [m for m in metrics if m != cost]
    if cost and rest:
        return cost, rest[0]
    return (metrics[0], metrics[1]) if len(metrics) >= 2 else None


def _figure_div(div_id: str, data: list[dict], layout: dict) -> str:
    payload = json.dumps({"data": data, "layout": layout}, default=float).replace("<", "\\u003c")
    return (f'<div id="{div_id}" class="chart"></div><script>(function(){{var f={payload};'
            f'Plotly.newPlot("{div_id}",f.data,f.layout,{{responsive:true,displaylogo:false}});}})();</script>')


def tornado_html(frame: pd.DataFrame, vary: list[str], metric: str, div_id: str) -> str:
    sens = sensitivity(frame, vary, metric)
    if sens.empty:
        return f"<p>No sensitivity for {_esc(metric)}: fewer than two levels with ok points.</p>"
    centre = float(_numeric(frame[frame["status"] == "ok"], metric).mean())
    labels = [_esc(p) for p in sens["path"]]
    bars = [{"type": "bar", "orientation": "h", "y": labels, "x": list(sens[side] - centre),
             "base": centre, "name": name, "customdata": [_esc(v) for v in sens[f"{side}_at"]],
             "text": [f"at {_esc(v)}" for v in sens[f"{side}_at"]], "textposition": "inside",
             "hovertemplate": f"%{{y}} at %{{customdata}}: %{{x:+.4g}} vs mean<extra>{name}</extra>"}
            for side, name in (("low", "level with the lowest mean"), ("high", "level with the highest mean"))]
    layout = {"title": {"text": f"Sensitivity of {_esc(metric)} (mean over points at each level)"},
              "barmode": "overlay", "xaxis": {"title": {"text": _esc(metric)}},
              "margin": {"l": 260, "t": 60, "b": 60}, "height": 220 + 50 * len(sens),
              "yaxis": {"automargin": True, "type": "category"},
              "legend": {"orientation": "h", "y": -0.35}}
    return _figure_div(div_id, bars, layout)


def pareto_html(frame: pd.DataFrame, metrics: list[str], div_id: str) -> str:
    axes = _pick_axes(metrics)
    if axes is None:
        return "<p>The Pareto frontier needs two metrics (e.g. a cost and an SLA or margin).</p>"
    cost, benefit = axes
    ok = frame[frame["status"] == "ok"]
    x, y = _numeric(ok, cost).to_numpy(float), _numeric(ok, benefit).to_numpy(float)
    keep = np.isfinite(x) & np.isfinite(y)
    ids = ok["point_id"].astype(str).to_numpy()[keep]
    x, y = x[keep], y[keep]
    if len(x) == 0:
        return f"<p>No ok points with both {_esc(cost)} and {_esc(benefit)}.</p>"
    front = pareto_front(x, y)
    data = [{"type": "scatter", "mode": "markers", "x": list(x), "y": list(y), "text": list(ids),
             "name": "points", "marker": {"color": "#9aa7b8"}},
            {"type": "scatter", "mode": "lines+markers", "x": list(x[front]), "y": list(y[front]),
             "text": list(ids[front]), "name": "Pareto frontier", "line": {"shape": "hv", "color": "#c0392b"}}]
    layout = {"title": {"text": f"Pareto frontier: lower {_esc(cost)}, higher {_esc(benefit)}"},
              "xaxis": {"title": {"text": _esc(cost)}}, "yaxis": {"title": {"text": _esc(benefit)}},
              "height": 480}
    return _figure_div(div_id, data, layout)


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
_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;font-size:13px}
th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}th{cursor:pointer;background:#f3f5f8}
tr.failed td{background:#fdecea}.chart{max-width:1000px}.scroll{overflow-x:auto}"""


def sweep_report_html(frame: pd.DataFrame, vary: list[str], metrics: list[str], title: str = "sweep",
                      description: str = "") -> str:
    """The sweep report page for the results `frame` (one row per point), self-contained HTML."""
    from plotly.offline import get_plotlyjs

    ok = int((frame["status"] == "ok").sum()) if len(frame) else 0
    tornados = "".join(tornado_html(frame, vary, m, f"tornado{i}") for i, m in enumerate(metrics)
                       if _numeric(frame, m).notna().any())
    page = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{_esc(title)}</title><style>{_CSS}</style>
<script>{get_plotlyjs()}</script><script>{_SORT_JS}</script></head><body>
<h1>{_esc(title)}</h1><p>{_esc(description)}</p>
<p>{len(frame)} points: {ok} ok, {len(frame) - ok} failed. Varied: {_esc(', '.join(vary))}.</p>
<h2>Sensitivity</h2>{tornados or '<p>No numeric metric to show.</p>'}
<h2>Pareto frontier</h2>{pareto_html(frame, metrics, "pareto")}
<h2>Points</h2><p>Click a column header to sort.</p>{table_html(frame)}
</body></html>"""
    return page


def write_sweep_report(frame: pd.DataFrame, vary: list[str], metrics: list[str], target: Path,
                       title: str = "sweep", description: str = "") -> Path:
    """Write the sweep report for the results `frame` to `target` (`salesops sweep` writes it
    through `sweep_report_html` and the results store's atomic writer)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(sweep_report_html(frame, vary, metrics, title, description), encoding="utf-8")
    return target
