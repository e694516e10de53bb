"""`salesops compare`: run folders side by side, lined up by month and metric, bad input named."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from report_browser import chromium_path, inspect_page
from report_fixtures import REPO, example_run, tiny_outputs, tiny_scenario

from engine.errors import InputError
from engine.reconcile.stage import reconcile
from engine.run import RunResult, summary_of
from engine.runfolder.write import write_json, write_table
from reports.compare import MISSING, aligned, compare_runs
from reports.runfolder import read_run

LOW_BUDGET = 300000


class _Cells(HTMLParser):
    """Every table row as (cell text, cell class) pairs."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.cell: list | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.cell = ["", dict(attrs).get("class") or ""]

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append((self.cell[0], self.cell[1]))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data


def _fake_run(folder: Path, tmp: Path, months_kept: int | None = None) -> Path:
    """A run folder from the tiny fixture (optionally with fewer months in its table)."""
    loaded = tiny_scenario(tmp)
    outputs = tiny_outputs()
    recon = reconcile(loaded, outputs)
    table = recon.tables["reconciliation.csv"]
    if months_kept is not None:
        keep = sorted(m for m in table["month"].unique() if m != "all")[:months_kept]
        table = table[table["month"].isin([*keep, "all"])]
    folder.mkdir(parents=True)
    write_table(folder / "reconciliation.csv", table)
    write_json(folder / "summary.json", summary_of(RunResult(loaded, {**outputs, "reconciliation": recon})))
    return folder


def test_not_a_run_folder_is_named(tmp_path) -> None:
    good = _fake_run(tmp_path / "good", tmp_path)
    bad = tmp_path / "empty"
    bad.mkdir()
    with pytest.raises(InputError) as err:
        compare_runs([good, bad], tmp_path / "out.html")
    assert str(bad) in str(err.value) and "summary.json" in str(err.value)
    with pytest.raises(InputError, match="not a folder"):
        compare_runs([tmp_path / "nope"], tmp_path / "out.html")
    (bad / "summary.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="unreadable JSON"):
        compare_runs([bad], tmp_path / "out.html")
    assert not (tmp_path / "out.html").exists()


def test_outer_join_shows_missing_months(tmp_path) -> None:
    a = _fake_run(tmp_path / "a", tmp_path)
    b = _fake_run(tmp_path / "b", tmp_path, months_kept=2)
    runs = [read_run(a), read_run(b)]
    frame = aligned(runs, ["a", "b"], (("company", "demand", "forecast"),))
    assert sorted(frame[frame["run"] == "a"]["month"]) == ["2027-01", "2027-02", "2027-03", "2027-04"]
    assert sorted(frame[frame["run"] == "b"]["month"]) == ["2027-01", "2027-02"]
    out = tmp_path / "cmp.html"
    compare_runs([a, b], out)
    cells = _Cells()
    cells.feed(out.read_text(encoding="utf-8"))
    march = next(r for r in cells.rows if r and r[0][0] == "2027-03")
    # columns: month, then per metric one column per run (a, b): b lacks March
    assert ("missing" in march[2][1]) and march[2][0] == MISSING
    assert march[1][0] != MISSING


@pytest.mark.slow  # reason: two full scale-up runs (hiring MILP and simulation) before the comparison
def test_compare_two_hiring_budgets(tmp_path) -> None:
    rich = example_run("scaleup.yaml")
    poor = example_run("scaleup.yaml", f"plan.budget_per_month={LOW_BUDGET}")
    out = tmp_path / "compare.html"
    compare_runs([rich, poor], out)
    s_rich = json.loads((rich / "summary.json").read_text())
    s_poor = json.loads((poor / "summary.json").read_text())
    h_rich, h_poor = s_rich["headline"]["base"], s_poor["headline"]["base"]
    # A budget 150k a month lower buys fewer people: lower cost, more hours uncovered.
    assert h_poor["people_cost"] < h_rich["people_cost"]
    assert h_poor["shortfall_hours"] > h_rich["shortfall_hours"]
    hires = pd.read_csv(poor / "plan" / "hiring.csv")
    monthly_cost = hires.groupby("month")["cost"].sum()  # P&L cost: base pay + commission
    base_pay = pd.read_csv(poor / "plan" / "hiring_cases.csv").query("case == 'base'").groupby("month")["base_cost"].sum()
    assert (base_pay <= LOW_BUDGET * 1.05).mean() > 0.9  # the people the budget buys
    over = [f for f in s_poor["reconciliation"]["flags"] if f["kind"] == "budget_overrun"]
    above = monthly_cost[monthly_cost > LOW_BUDGET * (1 + 1e-6)]
    assert bool(over) == (not above.empty)  # a P&L cost above the budget is said out loud
    if over:
        assert over[0]["months"] == list(above.index)
    cells = _Cells()
    cells.feed(out.read_text(encoding="utf-8"))
    rows = {(r[0][0], r[1][0]): r for r in cells.rows if len(r) >= 5}
    cost = rows[("base", "people cost (plan)")]
    short = rows[("base", "shortfall hours")]
    # reference run first; its value, the other run's value, then the difference
    assert float(cost[2][0].replace(",", "")) == pytest.approx(h_rich["people_cost"], abs=0.5)
    assert float(cost[3][0].replace(",", "")) == pytest.approx(h_poor["people_cost"], abs=0.5)
    assert float(cost[4][0].replace(",", "")) == pytest.approx(h_poor["people_cost"] - h_rich["people_cost"], abs=1)
    assert "better" in cost[3][1] and "better" in cost[4][1]
    assert "worse" in short[3][1]
    page = out.read_text(encoding="utf-8")
    assert len(re.findall(r'id="chart-compare-\d"', page)) >= 3 and "chart-compare-shortfall" in page
    if chromium_path() is not None:
        shown = inspect_page(out, REPO / "tests" / "artifacts" / "compare_budgets.png")
        assert not shown.console_errors and not shown.exceptions and not shown.external_requests
        assert shown.charts and all(c["drawn"] and c["width"] > 0 and c["height"] > 0
                                    for c in shown.charts)


def test_compare_cli(tmp_path, capsys) -> None:
    from engine.cli import main

    a = _fake_run(tmp_path / "a", tmp_path)
    out = tmp_path / "c.html"
    assert main(["compare", str(a), str(a), "--out", str(out)]) == 0
    assert out.is_file() and "Run comparison" in out.read_text(encoding="utf-8")
    capsys.readouterr()
    assert main(["compare", str(a), str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert str(tmp_path / "missing") in capsys.readouterr().err


def test_run_folder_keeps_a_region_called_na(tmp_path) -> None:
    folder = _fake_run(tmp_path / "r", tmp_path)
    (folder / "demand").mkdir()
    pd.DataFrame({"month": ["2027-01"], "segment": ["SMB"], "region": ["NA"], "case": ["base"],
                  "leads": [5.0]}).to_csv(folder / "demand" / "forecast.csv", index=False)
    run = read_run(folder)
    assert run.tables["forecast"]["region"].tolist() == ["NA"]
    rec = run.tables["reconciliation"]
    assert rec["planned"].isna().any() and rec["scope"].notna().all()
