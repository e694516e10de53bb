"""One number per concept across every output of the example runs (issue 17, item 6).

Each example scenario is run once (2 replications, short solver limits, with report.xlsx); the
test then reads summary.json, reconciliation.csv, plan/hiring.csv, plan/hiring_cases.csv,
report.md, report.html and report.xlsx and checks that revenue, people cost, shortfall, hires and
SLA (plan and simulated) are the same figure everywhere. Files round differently, so figures are
compared at the precision each file writes: the reports at the decimals they show, the CSVs at
their rounding (reconciliation.csv: 1 decimal of a currency unit or hour per row, 4 of a share).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from engine import numbers
from engine.run import RunOptions, run_scenario
from reports.content import HEADLINE_KEYS
from reports.render import write_reports

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = ("scaleup.yaml", "enterprise.yaml", "seed-stage.yaml")
OVERRIDES = ("plan.time_limit_s=5", "plan.mip_gap=0.02")
PLACES = dict(HEADLINE_KEYS)
pytestmark = pytest.mark.slow  # reason: the module's fixture runs each example scenario with --excel (about 20 s each)


@pytest.fixture(scope="module", params=EXAMPLES)
def run(request, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("one-number") / Path(request.param).stem
    run_scenario(REPO / "scenarios" / request.param, out,
                 RunOptions(replications=2, overrides=OVERRIDES, excel=True), render=write_reports)
    return out


def _key(figure: str, column: str) -> tuple[str, str]:
    """(summary.json headline key, case) of a headline-table cell: `base sim p50` -> sim_<figure>_p50."""
    match = re.fullmatch(r"(.+) sim (p\d+)", column)
    return (f"sim_{figure}_{match[2]}", match[1]) if match else (figure, column)


def _md_headline(text: str) -> dict[tuple[str, str], str]:
    block = text.split("### Headline by demand case", 1)[1].split("\n\n", 2)[1]
    lines = [[c.strip() for c in line.strip().strip("|").split("|")] for line in block.splitlines()]
    cases = lines[0][2:]
    return {_key(row[0], case): cell for row in lines[2:] for case, cell in zip(cases, row[2:], strict=True)}


def _html_headline(text: str) -> dict[tuple[str, str], str]:
    table = text.split("Headline by demand case", 1)[1].split("</table>", 1)[0]
    rows = [[html.unescape(re.sub("<[^>]+>", "", c)) for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r)]
            for r in re.findall(r"<tr>(.*?)</tr>", table)]
    cases = rows[0][2:]
    return {_key(row[0], case): cell for row in rows[1:] for case, cell in zip(cases, row[2:], strict=True)}


def _xlsx_headline(path: Path) -> dict[tuple[str, str], object]:
    rows = list(openpyxl.load_workbook(path, read_only=True)["headline"].iter_rows(values_only=True))
    cases = rows[0][2:]
    width = len(rows[0])  # read-only sheets drop a row's trailing empty cells
    rows = [(*row, *([None] * (width - len(row)))) for row in rows]
    return {_key(row[0], case): cell for row in rows[1:] for case, cell in zip(cases, row[2:], strict=True)}


def _company(rec: pd.DataFrame, metric: str, scope: str = "company") -> pd.Series:
    return rec[(rec["scope"] == scope) & (rec["metric"] == metric) & (rec["month"] == "all")].iloc[0]


def test_reports_show_the_headline_of_summary_json(run: Path) -> None:
    head = json.loads((run / "summary.json").read_text())["headline"]
    shown = {"md": _md_headline((run / "report.md").read_text()),
             "html": _html_headline((run / "report.html").read_text()),
             "xlsx": _xlsx_headline(run / "report.xlsx")}
    checked = 0
    for case, figures in head.items():
        for key, value in figures.items():
            if value is None:
                continue
            text = numbers.fmt(value, PLACES[key])
            assert shown["md"][(key, case)] == text, (key, case)
            assert shown["html"][(key, case)] == text, (key, case)
            assert float(shown["xlsx"][(key, case)]) == pytest.approx(float(text.replace(",", ""))), (key, case)
            checked += 1
    assert checked >= 8


def test_plan_files_reconciliation_and_summary_agree(run: Path) -> None:
    summary = json.loads((run / "summary.json").read_text())
    head = summary["headline"]
    rec = pd.read_csv(run / "reconciliation.csv")
    case = summary["reconciliation"]["case"]
    mine = head[case]
    if (run / "plan" / "hiring_cases.csv").exists():
        plan = pd.read_csv(run / "plan" / "hiring_cases.csv")
        for c, figures in head.items():
            rows = plan[plan["case"] == c]
            assert figures["people_cost"] == pytest.approx(rows["cost"].sum(), rel=1e-9)
            assert figures["hires"] == rows["hires"].sum()
            assert figures["shortfall_hours"] == pytest.approx(rows["shortfall_hours"].sum(), abs=1e-6)
            # shortfall is hours needed beyond capacity, row by row
            short = np.maximum(rows["required_hours"] - rows["capacity_hours"], 0.0)
            np.testing.assert_allclose(rows["shortfall_hours"], short, atol=1e-3)
        hiring = pd.read_csv(run / "plan" / "hiring.csv")
        assert mine["people_cost"] == pytest.approx(hiring["cost"].sum(), rel=1e-9)
        assert mine["hires"] == hiring["hires"].sum()
        assert summary["hiring"]["shortfall_hours"] == pytest.approx(mine["shortfall_hours"], abs=1e-3)
        assert _company(rec, "cost")["planned"] == pytest.approx(mine["people_cost"], abs=1.0)
        cap = rec[(rec["metric"] == "capacity") & (rec["month"] != "all") & rec["scope"].str.startswith("role:")]
        rows_short = np.maximum(cap["forecast"] - cap["planned"], 0.0).fillna(0.0)
        assert rows_short.sum() == pytest.approx(mine["shortfall_hours"], abs=0.1 * len(cap))
        flagged = sum(-f["gap"] for f in summary["reconciliation"]["flags"] if f["kind"] == "capacity_shortfall")
        assert flagged == pytest.approx(rows_short.sum(), abs=1e-6)
    assert _company(rec, "revenue")["planned"] == pytest.approx(mine["revenue"], abs=1.0)
    for key in ("gross_margin", "operating_margin"):
        if mine.get(key) is not None and mine.get("people_cost") is not None:
            assert _company(rec, key)["planned"] == pytest.approx(mine[key], abs=1.0)
    assert mine["operating_margin"] == pytest.approx(mine["gross_margin"] - mine["people_cost"])
    if mine.get("sla") is not None:
        assert _company(rec, "sla_attainment")["planned"] == pytest.approx(mine["sla"], abs=5e-5)
    totals = summary.get("simulation", {}).get("totals", {})
    for figure in ("revenue", "gross_margin", "people_cost", "operating_margin", "sla"):
        q = totals.get("sla_attainment" if figure == "sla" else figure)
        if q is None:
            continue
        for p in ("p10", "p50", "p90"):
            assert mine[f"sim_{figure}_{p}"] == q[p]
        metric = {"people_cost": "cost", "sla": "sla_attainment"}.get(figure, figure)
        places = 5e-5 if figure == "sla" else 1.0
        assert _company(rec, metric)[f"sim_{'p50'}"] == pytest.approx(q["p50"], abs=places)


def test_simulated_money_per_replication_adds_up(run: Path) -> None:
    """sim/monthly.csv holds each replication's monthly P&L; operating = gross - people cost, and
    the revenue rows are the won deals of sim/leads.parquet."""
    monthly = pd.read_csv(run / "sim" / "monthly.csv")
    wide = monthly[monthly["metric"].isin(["revenue", "gross_margin", "people_cost", "operating_margin"])]
    wide = wide.pivot_table(index=["replication", "month"], columns="metric", values="value")
    np.testing.assert_allclose(wide["operating_margin"], wide["gross_margin"] - wide["people_cost"], atol=1e-6)
    leads = pd.read_parquet(run / "sim" / "leads.parquet")
    won = leads[leads["won"].fillna(False).astype(bool)].groupby("replication")["revenue"].sum()
    np.testing.assert_allclose(wide["revenue"].groupby(level=0).sum().to_numpy(), won.to_numpy(), rtol=1e-9)


def test_actions_quote_the_shortfall_the_flags_give(run: Path) -> None:
    """A hiring or automation action names the same shortfall hours as its role's flag."""
    summary = json.loads((run / "summary.json").read_text())
    recon = summary.get("reconciliation", {})
    flags = {f["scope"].split(":", 1)[1]: -f["gap"] for f in recon.get("flags", [])
             if f["kind"] == "capacity_shortfall"}
    quoted = 0
    for action in recon.get("adjustments", []):
        for hours, role in re.findall(r"of the ([\d,]+) h ([A-Za-z ]+?) shortfall", action["action"]):
            assert hours == numbers.fmt(flags[role], 0), (role, action["action"])
            quoted += 1
    if flags and (run / "plan" / "hiring_cases.csv").exists():
        assert quoted > 0
