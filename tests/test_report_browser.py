"""Reports open in headless Chromium from file:// with no network: charts drawn, no console errors.

Each example scenario is run once (short solver limit, 2 replications), its report.html is loaded
through the DevTools protocol (tests/report_browser.py), and a full-page screenshot is saved under
tests/artifacts/. Skipped only when no Chromium is installed (`apt-get install chromium`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_browser import chromium_path, inspect_page
from report_fixtures import REPO, example_run, tiny_outputs, tiny_scenario

from engine.reconcile.stage import reconcile
from engine.run import RunResult
from reports.render import write_reports

ARTIFACTS = REPO / "tests" / "artifacts"
EXAMPLES = sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
needs_chromium = pytest.mark.skipif(chromium_path() is None,
                                    reason="chromium not installed (apt-get install chromium)")


def _check_page(html: Path, shot: Path) -> dict:
    page = inspect_page(html, shot)
    assert page.console_errors == [] and page.exceptions == [], (page.console_errors, page.exceptions)
    assert page.dialogs == [], page.dialogs
    assert page.external_requests == [], page.external_requests
    assert page.charts, "no chart on the page"
    for chart in page.charts:
        assert chart["drawn"] and chart["width"] > 0 and chart["height"] > 0, chart
        assert chart["traces"] > 0, chart
    assert page.dom["scripts_with_src"] == 0
    # the funnel table fits the page at 1280 px (so at 1400) without a horizontal scroll bar
    assert not [t for t in page.dom["wide_tables"] if t.startswith("Funnel parameters")], page.dom["wide_tables"]
    assert shot.is_file() and shot.stat().st_size > 10_000
    return page.dom


@needs_chromium
@pytest.mark.slow  # reason: runs each example scenario and renders its report in headless Chromium
@pytest.mark.parametrize("scenario", EXAMPLES)
def test_example_report_renders_in_chromium(scenario: str) -> None:
    run = example_run(scenario)
    dom = _check_page(run / "report.html", ARTIFACTS / f"report_{Path(scenario).stem}.png")
    assert "Reconciliation and actions" in dom["body_text"]


@needs_chromium
def test_hostile_names_render_as_text(tmp_path) -> None:
    name = '<script>alert("name")</script> & "Co"'
    segment = "Seg'<img src=x onerror=alert(2)>\""
    loaded = tiny_scenario(tmp_path, name=name, segment=segment)
    outputs = tiny_outputs(segment=segment)
    result = RunResult(loaded, {**outputs, "reconciliation": reconcile(loaded, outputs)})
    write_reports(tmp_path, result)
    dom = _check_page(tmp_path / "report.html", ARTIFACTS / "report_hostile.png")
    assert dom["h1"] == name
    assert segment in dom["body_text"]


@needs_chromium
def test_chart_legends_show_names_as_written(tmp_path) -> None:
    """Issue 21: a name with quotes showed `&quot;` in legends (plotly decodes only a few entities)."""
    from reports import plots
    from reports.document import Chart, Document, Section
    from reports.render import render_html

    names = ['Seg "A" & \'B\'', "<b>bold</b>", "Team <img src=x onerror=alert(1)>"]
    fig = plots.new_figure('Leads of "A" & <B>', "leads")
    for i, name in enumerate(names):
        plots.add_line(fig, ["2027-01", "2027-02"], [1 + i, 2 + i], plots.label(name), plots.PALETTE[i])
    doc = Document("t", "", [Section("s", "S", [Chart("chart-legend", "Legend", fig)])])
    page = tmp_path / "legend.html"
    page.write_text(render_html(doc), encoding="utf-8")
    dom = _check_page(page, ARTIFACTS / "legend_names.png")
    for name in names:
        assert name in dom["svg_text"], dom["svg_text"]
    assert 'Leads of "A" & <B>' in dom["svg_text"]


@needs_chromium
def test_territory_map_drawn(tmp_path) -> None:
    from report_fixtures import territory_outputs

    from engine.scenario.load import load_scenario

    stage, units = territory_outputs()
    units.to_csv(tmp_path / "units.csv", index=False)
    (tmp_path / "t.yaml").write_text("name: Territories\nterritory: {units: units.csv, territories: 3}\n",
                                     encoding="utf-8")
    loaded = load_scenario(tmp_path / "t.yaml", [])
    outputs = {"territory": stage}
    write_reports(tmp_path, RunResult(loaded, {**outputs, "reconciliation": reconcile(loaded, outputs)}))
    _check_page(tmp_path / "report.html", ARTIFACTS / "report_territory_only.png")
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="chart-territory-map"' in page and 'id="chart-workload"' in page
