"""report.html / report.md / report.xlsx: same numbers as reconciliation.csv, escaped, self-contained."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import territory_outputs, tiny_outputs, tiny_scenario

from engine.reconcile.stage import COLUMNS, reconcile
from engine.run import RunResult
from engine.runfolder.write import write_table
from reports.render import write_reports

HOSTILE_NAME = '<script>alert("name")</script> & \'Co\' "quoted"'
HOSTILE_SEGMENT = 'S"M<B/><script>alert(1)</script>'


class _TableGrabber(HTMLParser):
    """Cells of the table inside the element with a given id (here: the reconciliation table)."""

    def __init__(self, wanted: str):
        super().__init__()
        self.wanted, self.depth, self.inside, self.rows, self.cell = wanted, 0, False, [], None

    def handle_starttag(self, tag, attrs):
        if dict(attrs).get("id") == self.wanted:
            self.inside = True
        if self.inside and tag == "tr":
            self.rows.append([])
        if self.inside and tag in ("td", "th"):
            self.cell = ""

    def handle_endtag(self, tag):
        if self.inside and tag in ("td", "th"):
            self.rows[-1].append(self.cell)
            self.cell = None
        if self.inside and tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell += data


def _write(folder: Path, loaded, outputs, excel: bool = False) -> pd.DataFrame:
    recon = reconcile(loaded, outputs)
    result = RunResult(loaded, {**outputs, "reconciliation": recon})
    write_table(folder / "reconciliation.csv", recon.tables["reconciliation.csv"])
    write_reports(folder, result, excel=excel)
    return pd.read_csv(folder / "reconciliation.csv", dtype={"month": str, "scope": str, "metric": str})


def _num(text: str) -> float | None:
    text = text.strip()
    return None if text == "" else float(text.replace(",", ""))


def _same(csv: pd.DataFrame, rows: list[list[str]]) -> None:
    assert len(rows) == len(csv)
    for cells, rec in zip(rows, csv.itertuples(index=False), strict=True):
        assert cells[:3] == [rec.month, rec.scope, rec.metric]
        for text, col in zip(cells[3:], COLUMNS[3:], strict=True):
            value = getattr(rec, col)
            if pd.isna(value):
                assert text.strip() == "", (rec, col, text)
            else:
                assert _num(text) == pytest.approx(value, rel=1e-12, abs=1e-12), (rec, col, text)


def _md_rows(md: str) -> list[list[str]]:
    start = md.index("### Reconciliation table (reconciliation.csv)")
    lines = [ln for ln in md[start:].splitlines()[2:] if ln.startswith("|")]
    out = []
    for ln in lines[2:]:
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", ln)[1:-1]]
        out.append(cells)
    return out


def test_same_numbers_in_csv_html_md_xlsx(tmp_path) -> None:
    loaded = tiny_scenario(tmp_path)
    stage, _ = territory_outputs()
    csv = _write(tmp_path, loaded, {**tiny_outputs(), "territory": stage}, excel=True)
    assert len(csv) > 50
    grab = _TableGrabber("reconciliation-table")
    grab.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert grab.rows[0] == COLUMNS
    _same(csv, grab.rows[1:])
    _same(csv, _md_rows((tmp_path / "report.md").read_text(encoding="utf-8")))
    sheet = pd.read_excel(tmp_path / "report.xlsx", sheet_name="reconciliation", dtype={"month": str})
    assert list(sheet.columns) == COLUMNS
    for col in COLUMNS[3:]:
        pd.testing.assert_series_equal(sheet[col].astype(float), csv[col].astype(float),
                                       check_names=False, rtol=1e-12)


def test_html_is_self_contained_with_plotly_inlined_once(tmp_path) -> None:
    _write(tmp_path, tiny_scenario(tmp_path), tiny_outputs())
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert not re.search(r"<link[^>]*\bhref\s*=", page)
    assert page.count("plotly.js v") == 1  # the bundle's banner: inlined exactly once
    assert page.count("Plotly.newPlot(") >= 5
    for section in ("Data and KPIs", "Demand", "Supply plan", "Reconciliation and actions"):
        assert section in page


def test_hostile_strings_are_escaped(tmp_path) -> None:
    loaded = tiny_scenario(tmp_path, name=HOSTILE_NAME, segment=HOSTILE_SEGMENT)
    _write(tmp_path, loaded, tiny_outputs(segment=HOSTILE_SEGMENT))
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&quot;name&quot;)&lt;/script&gt;" in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert all("</" not in s and "<!--" not in s for s in scripts[1:])  # chart JSON blocks
    md = (tmp_path / "report.md").read_text(encoding="utf-8")
    assert "<script>" not in md and "&lt;script&gt;" in md


def test_territory_only_report(tmp_path) -> None:
    stage, units = territory_outputs()
    scenario_dir = tmp_path
    units.to_csv(scenario_dir / "units.csv", index=False)
    loaded = tiny_scenario(tmp_path)
    csv = _write(tmp_path, loaded, {"territory": stage})
    assert set(csv["metric"]) == {"workload", "potential"}
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="chart-workload"' in page


def test_empty_run_still_renders(tmp_path) -> None:
    csv = _write(tmp_path, tiny_scenario(tmp_path), {})
    assert csv.empty and list(csv.columns) == COLUMNS
    assert "No demand forecast" in (tmp_path / "report.html").read_text(encoding="utf-8")
