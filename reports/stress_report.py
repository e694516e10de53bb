"""The HTML page of a stress search: the answer, the metric against the varied value, the probes.

Reads the plain result data `salesops stress` hands over (StressResult.as_dict() plus its sentence
and table rows); renders with the run report's template, so both pages look alike.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from reports import plots
from reports.document import Chart, Document, Section, Table, Text
from reports.render import render_html

HEADER = ["value", "status", "sure", "metric", "95% low", "95% high", "p10", "p50", "p90", "hires"]


def _series(probes: list[dict], key: str) -> list[float]:
    """One figure per probe, NaN where a probe has none (shown as a gap)."""
    return [math.nan if p[key] is None else float(p[key]) for p in probes]


def stress_figure(data: dict[str, Any]) -> dict:
    """The metric's p10-p90 band, its deciding figure with the 95 % interval, the limit and the
    breaking-point interval, against the varied value."""
    probes = sorted(data["probes"], key=lambda p: p["x"])
    x = [p["x"] for p in probes]
    fig = plots.new_figure(f"{data['label']} against {data['vary_label']}", data["label"])
    fig["layout"]["xaxis"]["title"] = {"text": plots.label(data["vary_label"])}
    fig["layout"]["hovermode"] = "closest"
    plots.band(fig, x, _series(probes, "p10"), _series(probes, "p90"), "p10-p90 over replications")
    value, low, high = _series(probes, "value"), _series(probes, "low"), _series(probes, "high")
    fig["data"].append({
        "type": "scatter", "mode": "lines+markers", "x": plots.values(x), "y": plots.values(value),
        "name": "deciding figure (95 % interval)", "line": {"color": plots.PALETTE[0]},
        "error_y": {"type": "data", "symmetric": False,
                    "array": plots.values([h - v for h, v in zip(high, value, strict=True)]),
                    "arrayminus": plots.values([v - lo for lo, v in zip(low, value, strict=True)])},
        "marker": {"color": ["#b42318" if p["broken"] else "#05603a" for p in probes], "size": 9}})
    plots.add_line(fig, [min(x), max(x)], [data["limit"], data["limit"]], f"limit {data['until']}", "#b42318",
                   dash="dash")
    low_x, high_x = data["interval"]
    if data["status"] == "found":
        fig["layout"]["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1,
                                    "x0": low_x if low_x is not None else data["last_ok"],
                                    "x1": high_x if high_x is not None else data["first_broken"],
                                    "fillcolor": "rgba(180,35,24,0.08)", "line": {"width": 0}}]
    return fig


def build_stress_document(data: dict[str, Any]) -> Document:
    mode = "frozen plan" if data["frozen"] else "re-planned at each probe"
    answer = Section("answer", "Answer", [
        Text(data["sentence"]),
        Text(f"Plan: {data['plan_source']} ({mode}). {data['replications']} replications per probe, seed "
             f"{data['seed']}, the same at every probe (common random numbers). Interval of the metric: "
             "95 % percentile bootstrap over replications (within the replications' range). The shaded "
             "band is the breaking-point interval: between the highest probe surely ok and the lowest "
             "surely broken.", "note")])
    chart = Section("chart", "Metric against the varied value",
                    [Chart("stress", data["label"], stress_figure(data))])
    table = Section("probes", "Probes", [Table("Probes in increasing order of the varied value", HEADER,
                                               data["rows"], "probes", numeric_from=3)])
    return Document(f"Stress: {data['vary_label']}", data["scenario"], [answer, chart, table])


def write_stress_report(data: dict[str, Any], target: Path) -> Path:
    """Write the stress page for `data` to `target` (a self-contained HTML file)."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(build_stress_document(data)), encoding="utf-8")
    return target
