"""`salesops compare`: which plan, and how sure. Common random numbers across plans, paired
differences and win shares worked by hand, the verdict sentence, and bad input named (exit 2)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import example_run, forecast_frame, hiring_frames, tiny_scenario

from engine.cli import main
from engine.runfolder.write import write_json, write_table
from engine.simulation.arrivals import draw_leads, spawn_streams
from engine.simulation.config import config_from_scenario
from engine.simulation.replications import run_replication
from reports.compare import compare_runs, verdict
from reports.paired import paired, replication_totals
from reports.runfolder import read_run

LEAD_FIELDS = ("arrived_h", "segment", "region", "territory", "score", "deal_size", "p_convert", "u_convert",
               "delay_h", "work_open_h")


def test_lead_streams_do_not_depend_on_the_plan(tmp_path: Path) -> None:
    """Two hiring plans, one seed: every lead and its random attributes are the same, so a
    difference between the plans' simulations is the plans' own."""
    s = tiny_scenario(tmp_path).scenario
    _, base = hiring_frames()
    more = base.copy()
    more.loc[more["month"] == "2027-02", "hires"] = 2
    cfg_a, cfg_b = (config_from_scenario(s, forecast_frame(), plan) for plan in (base, more))
    assert cfg_a.roles != cfg_b.roles  # the plans differ...
    def seed() -> np.random.SeedSequence:  # a fresh one each time: spawning advances a SeedSequence
        return np.random.SeedSequence(11).spawn(3)[2]

    a, b = (draw_leads(cfg, spawn_streams(seed())) for cfg in (cfg_a, cfg_b))
    assert a.n > 300
    for name in LEAD_FIELDS:  # ...the leads do not
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    ra, rb = (run_replication(cfg, seed(), 2) for cfg in (cfg_a, cfg_b))
    for name in ("arrived_h", "segment", "score"):
        assert np.array_equal(ra.columns[name], rb.columns[name])


OPERATING = {"optimiser": [100.0, 120.0, 90.0, 110.0, 130.0], "director": [95.0, 125.0, 80.0, 100.0, 120.0]}
"""Per replication; director - optimiser = -5, +5, -10, -10, -10: optimiser better in 4 of 5."""
COST = {"optimiser": [50.0] * 5, "director": [40.0] * 5}


def _run(folder: Path, name: str, scenario: str = "Scale-up", seed: int = 7) -> Path:
    rows = []
    for r in range(5):
        for month, half in (("2027-01", 0.4), ("2027-02", 0.6)):
            op, cost = OPERATING[name][r] * half, COST[name][r] * half
            rows += [(r, month, "operating_margin", op), (r, month, "people_cost", cost),
                     (r, month, "gross_margin", op + cost), (r, month, "revenue", 2 * (op + cost)),
                     (r, month, "tickets", 100.0),
                     (r, month, "sla_attainment", 0.9 if name == "optimiser" else 0.8 + 0.02 * r)]
    out = folder / name
    write_table(out / "sim" / "monthly.csv", pd.DataFrame(rows, columns=["replication", "month", "metric", "value"]))
    write_json(out / "summary.json", {"scenario": scenario, "currency": "EUR", "headline": {"base": {"hires": 3 if name == "optimiser" else 5}}})
    write_json(out / "manifest.json", {"seed": seed, "replications": 5})
    return out


def test_paired_differences_and_win_shares_by_hand(tmp_path: Path) -> None:
    a, b = (replication_totals(read_run(_run(tmp_path, n))) for n in ("optimiser", "director"))
    figs = {f.key: f for f in paired(a, b)}
    op = figs["operating_margin"]
    d = np.array([-5.0, 5.0, -10.0, -10.0, -10.0])
    assert (op.p10, op.p50, op.p90) == pytest.approx(tuple(np.percentile(d, [10, 50, 90])))
    assert (op.share_better, op.share_worse, op.n) == (0.2, 0.8, 5)
    cost = figs["people_cost"]  # lower is better: the director's plan costs 10 less in every replication
    assert cost.p50 == pytest.approx(-10.0) and cost.share_better == 1.0
    sla = figs["sla"]  # 0.80, 0.82, 0.84, 0.86, 0.88 against 0.90: worse every time
    assert sla.p50 == pytest.approx(-0.06) and sla.share_worse == 1.0
    assert verdict(["optimiser", "director"], [a, b], "EUR") == (
        "optimiser makes more simulated operating margin than director in 4 of 5 paired replications "
        "(80%), by EUR 10 at the median (p10 EUR -1, p90 EUR 10).")


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.cell: list | None = None
        self.paragraphs: list[str] = []
        self.in_p = False

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.cell = ["", dict(attrs).get("class") or ""]
        if tag == "p":
            self.in_p = True
            self.paragraphs.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append((self.cell[0], self.cell[1]))
            self.cell = None
        if tag == "p":
            self.in_p = False

    def handle_data(self, data):
        if self.cell is not None:
            self.cell[0] += data
        elif self.in_p:
            self.paragraphs[-1] += data


def _main(page: Path) -> _Cells:
    """The cells and paragraphs of the page's main part (below the title bar)."""
    html = page.read_text()
    cells = _Cells()
    cells.feed(html[html.index("<main>"):])
    return cells


def test_page_opens_with_the_verdict_and_colours_by_direction(tmp_path: Path) -> None:
    out = tmp_path / "cmp.html"
    assert compare_runs([_run(tmp_path, "optimiser"), _run(tmp_path, "director")], out) == []
    page = _main(out)
    assert page.paragraphs[0].startswith("optimiser makes more simulated operating margin than director in 4 of 5")
    rows = {r[1][0].split(" (")[0]: r for r in page.rows if r and r[0][0] == "director"}
    assert "worse" in rows["operating margin"][3][1]
    assert "better" in rows["people cost"][3][1]  # cost lower: good
    assert rows["people cost"][5][0] == "100%"
    hires = next(r for r in page.rows if len(r) > 1 and r[1][0] == "hires")
    assert not any("better" in cls or "worse" in cls for _, cls in hires)  # hires are neutral


def test_fallback_without_simulated_money(tmp_path: Path) -> None:
    """Only revenue simulated: gross margin = won revenue x segment margin (leads.parquet), people
    cost = the plan's (the same in every replication)."""
    folder = tmp_path / "old"
    rows = [(r, "2027-01", "revenue", 1000.0 * (r + 1)) for r in range(3)]
    write_table(folder / "sim" / "monthly.csv", pd.DataFrame(rows, columns=["replication", "month", "metric", "value"]))
    leads = pd.DataFrame({"replication": [0, 1, 1, 2], "segment": ["A", "A", "B", "B"],
                          "revenue": [1000.0, 1000.0, 1000.0, 3000.0]})
    write_table(folder / "sim" / "leads.parquet", leads)
    (folder / "scenario.resolved.yaml").write_text(
        "segments:\n  - {name: A, gross_margin: 0.5}\n  - {name: B, gross_margin: 0.9}\n")
    write_table(folder / "plan" / "hiring.csv", pd.DataFrame({"month": ["2027-01"] * 2, "role": ["AE", "SDR"],
                                                              "hires": [0, 0], "cost": [300.0, 100.0]}))
    write_json(folder / "summary.json", {"scenario": "old", "currency": "EUR"})
    totals = replication_totals(read_run(folder))
    assert totals.values["gross_margin"] == pytest.approx([500.0, 1400.0, 2700.0])
    assert totals.values["operating_margin"] == pytest.approx([100.0, 1000.0, 2300.0])
    assert "plan" in totals.sources["people_cost"] and "plan" in totals.sources["operating_margin"]


def test_bad_input_is_exit_2_and_different_scenarios_warn_once(tmp_path: Path, capsys) -> None:
    a, b = _run(tmp_path, "optimiser"), _run(tmp_path, "director", scenario="Enterprise")
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--out", str(tmp_path)]) == 2
    assert "--out: is a directory" in capsys.readouterr().err
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "c.html")]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "Scale-up" in warnings[0] and "Enterprise" in warnings[0]
    summary = json.loads((b / "summary.json").read_text())
    summary["headline"] = "tampered"
    (b / "summary.json").write_text(json.dumps(summary))
    assert main(["compare", str(a), str(b), "--out", str(tmp_path / "d.html")]) == 2
    err = capsys.readouterr().err
    assert f"{b / 'summary.json'}: headline: is str, not an object" in err
    assert not (tmp_path / "d.html").exists()


def test_runs_without_common_random_numbers_warn(tmp_path: Path) -> None:
    a, b = _run(tmp_path, "optimiser"), _run(tmp_path, "director", seed=8)
    (warning,) = compare_runs([a, b], tmp_path / "c.html")
    assert "seed 7" in warning and "seed 8" in warning and "do not share random numbers" in warning


DIRECTOR = "plan.fixed_hires=[{month: 2027-03, role: AE, hires: 2}, {month: 2027-05, role: SDR, hires: 1}]"


@pytest.mark.slow  # reason: the director's case runs the scale-up twice (partial and optimised plans)
def test_directors_partial_plan_against_the_optimiser(tmp_path: Path) -> None:
    """The issue's case: scaleup.yaml with AE and SDR fixed (the rest optimised) against the
    optimiser's plan; the first sentence names the plan with the higher simulated operating margin
    in most paired replications, and its share, recomputed here from sim/monthly.csv."""
    optimiser = example_run("scaleup.yaml")
    director = example_run("scaleup.yaml", DIRECTOR)
    summary = json.loads((director / "summary.json").read_text())
    assert summary["hiring"]["mode"] == "partial"
    assert summary["hiring"]["hires"]["Support"] > 0  # the roles it does not name are still hired
    out = tmp_path / "compare.html"
    compare_runs([optimiser, director], out)
    page = _main(out)
    totals = [replication_totals(read_run(p)) for p in (optimiser, director)]
    op = [t.values["operating_margin"] for t in totals]
    n = len(op[0])
    assert n == len(op[1]) == 2
    wins = [int((op[0] > op[1]).sum()), int((op[1] > op[0]).sum())]
    names = [optimiser.name, director.name]
    best = max((0, 1), key=lambda i: (wins[i], float(np.median(op[i] - op[1 - i]))))
    assert page.paragraphs[0].startswith(f"{names[best]} makes more simulated operating margin than "
                                         f"{names[1 - best]} in {wins[best]} of {n} paired replications")


def test_the_same_plan_twice_is_a_tie_not_a_win(tmp_path: Path) -> None:
    a = replication_totals(read_run(_run(tmp_path, "optimiser")))
    assert verdict(["x", "y"], [a, a], "EUR") == (
        "x and y make the same simulated operating margin in every one of the 5 paired replications.")
