"""The sweep report's numbers: Pareto frontier and sensitivity against hand-worked cases."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from reports.sweep_report import pareto_front, sensitivity, write_sweep_report


def test_pareto_front_minimises_x_and_maximises_y() -> None:
    x = np.array([1.0, 2.0, 2.0, 3.0, 4.0, 5.0])
    y = np.array([1.0, 3.0, 2.0, 2.5, 4.0, 4.0])
    # (2, 2) is dominated by (2, 3); (3, 2.5) by (2, 3); (5, 4) by (4, 4).
    assert pareto_front(x, y).tolist() == [0, 1, 4]


def test_sensitivity_swing_per_varied_path() -> None:
    frame = pd.DataFrame({"point_id": list("abcdef"), "a": [1, 1, 1, 2, 2, 2], "b": [0, 1, 2, 0, 1, 2],
                          "status": ["ok"] * 5 + ["failed"], "m": [10.0, 11.0, 12.0, 20.0, 21.0, np.nan]})
    sens = sensitivity(frame, ["a", "b"], "m").set_index("path")
    # a: mean at 1 = 11, at 2 = 20.5 (the failed point is left out); b: means 15, 16, 12.
    assert sens.loc["a", "swing"] == 9.5 and sens.loc["a", "high_at"] == "2"
    assert sens.loc["b", "swing"] == 4.0 and sens.loc["b", "low_at"] == "2"
    assert list(sens.index) == ["b", "a"]  # largest swing drawn on top


def test_report_escapes_every_user_string(tmp_path: Path) -> None:
    frame = pd.DataFrame({"point_id": ["p1", "p2", "p3"], "x<y": ["<b>", "'q'", "'q'"],
                          "status": ["ok", "ok", "failed"],
                          "error": [None, None, "<script>alert(1)</script>"], "cost": [1.0, 2.0, None],
                          "sla": [0.5, 0.7, None]})
    target = write_sweep_report(frame, ["x<y"], ["cost", "sla"], tmp_path / "r.html",
                                title="<script>t</script>", description='"d" & e')
    text = target.read_text(encoding="utf-8")
    body = text.split("</head>", 1)[1]
    assert "<script>alert" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;script&gt;t&lt;/script&gt;" in body and "&quot;d&quot; &amp; e" in body
    assert "x&lt;y" in body and "&lt;b&gt;" in body and "<b>" not in body
    # two metric-vs-value charts and two tornados; no Pareto chart: no metric has a direction
    assert body.count('Plotly.newPlot("') == 4 and "objectives" in body
