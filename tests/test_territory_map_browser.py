"""The territory map in report.html: one filled polygon per unit, drawn offline in Chromium.

The grid-with-lakes-and-island case of test_territory_maps runs through `salesops run` (territory
stage only) with one alternative plan; the page must draw without network requests or console
errors, the main map must hold exactly one choropleth path per unit, and the small map of the
alternative as many again, both drawn from one copy of the GeoJSON in the page.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from report_browser import chromium_path, inspect_page
from test_territory_maps import _cells, _scenario, _write

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
COUNT_JS = ("JSON.stringify(Array.from(document.querySelectorAll('#chart-territory-map .geo'))"
            ".map(g => g.querySelectorAll('path.choroplethlocation').length))")
"""Choropleth paths in each geo subplot of the territory map (main map first)."""
FILL_JS = ("(() => { const c = document.getElementById('chart-territory-map');"
           " const r = c.querySelector('.geo .choroplethlayer').getBoundingClientRect();"
           " return JSON.stringify([r.width, c.getBoundingClientRect().width]); })()")
"""Drawn width of the main map's polygons and the chart's width (px)."""


@pytest.mark.skipif(chromium_path() is None, reason="chromium not installed (apt-get install chromium)")
def test_map_draws_one_polygon_per_unit(tmp_path: Path) -> None:
    _write(tmp_path)
    scenario = _scenario(tmp_path, link_islands=True, alternatives=1, alternatives_within=0.5)
    out = subprocess.run([sys.executable, "-m", "engine.cli", "run", str(scenario), "--out",
                          str(tmp_path / "run"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    run = tmp_path / "run"
    assert (run / "plan" / "territories_alternative_1.csv").is_file()
    page = inspect_page(run / "report.html", ARTIFACTS / "report_territory_map.png",
                        extra_js={"paths": COUNT_JS, "fill": FILL_JS})
    assert page.console_errors == [] and page.exceptions == [], (page.console_errors, page.exceptions)
    assert page.external_requests == [], page.external_requests
    chart = next(c for c in page.charts if c["id"] == "chart-territory-map")
    assert chart["drawn"]
    per_geo = json.loads(page.extra["paths"])
    units = len(_cells())
    # main map: the plan's polygons (+ outlines of moved units: none without current territories)
    assert per_geo == [units, units], per_geo
    plan = pd.read_csv(run / "plan" / "territories.csv")
    assert len(plan) == units
    # the map fills the chart's width (the grid is wider than tall): plotly's fitbounds drew
    # regions at about 40 % of it
    drawn, width = json.loads(page.extra["fill"])
    assert drawn >= 0.85 * width, (drawn, width)
    # one copy of the unit shapes serves the main map and the alternative's small map
    assert (run / "report.html").read_text().count('"type":"Feature","id":"c0r0"') == 1
