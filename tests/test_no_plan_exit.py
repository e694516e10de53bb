"""No silent failure: a planning stage without a feasible plan makes the run write its folder with
a red banner, empty headline figures and no simulation, print the diagnosis and exit 3."""

from __future__ import annotations

import json
from pathlib import Path

from test_supply import scenario

from engine.cli import main
from engine.stage import StageOutput, stage_failures
from reports.document import Document
from reports.render import render_html, render_markdown

BACKFILL_ROLES = [{"name": "SDR", "kind": "sdr", "ramp": [1.0], "attrition_per_year": 0.4, "cost_per_month": 3000,
                   "hiring_lead_time_months": 0, "headcount_start": 2, "hours_per_month": 100,
                   "selling_share": 1.0},
                  {"name": "AE", "kind": "ae", "ramp": [1.0], "attrition_per_year": 0.4, "cost_per_month": 8000,
                   "hiring_lead_time_months": 0, "headcount_start": 12, "hours_per_month": 100,
                   "selling_share": 1.0}]


def test_backfill_on_a_fixed_plan_exits_3_with_the_folder(tmp_path: Path, capsys) -> None:
    loaded = scenario(tmp_path, roles=BACKFILL_ROLES, simulation={"replications": 1, "seed": 1},
                      plan={"objective": "margin", "cases": ["base"], "arr_ops_rule": False, "backfill": "replace",
                            "fixed_hires": [{"month": "2027-02", "role": "AE", "hires": 1}]})
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["run", str(loaded.path), "--out", str(out), "-q"]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"completed without a feasible plan: wrote {out}"
    assert err[1] == "hiring: no feasible plan (solver status: infeasible)"
    assert any("plan.backfill" in line and "AE" in line for line in err[2:])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["hiring"]["status"] == "infeasible" and summary["hiring"]["diagnosis"]
    figures = summary["headline"]["base"]
    assert figures and all(v is None for v in figures.values())  # never the forecast in their place
    assert "simulation" not in summary and not (out / "sim").exists()
    assert not (out / "plan" / "hiring.csv").exists() and not (out / "plan" / "hires.yaml").exists()
    html = (out / "report.html").read_text()
    banner = html.index('id="banner-failed"')
    assert banner < html.index("<section") and "plan.backfill" in html[banner:html.index("</div>", banner)]
    md = (out / "report.md").read_text()
    assert "COMPLETED WITHOUT A FEASIBLE PLAN" in md.split("## ")[0]
    assert "Nothing to reconcile" in md and "No disagreement" not in md


def test_a_feasible_run_exits_0_without_a_banner(tmp_path: Path, capsys) -> None:
    loaded = scenario(tmp_path, roles=BACKFILL_ROLES,
                      plan={"objective": "margin", "cases": ["base"], "arr_ops_rule": False, "backfill": "replace"})
    out = tmp_path / "run"
    assert main(["run", str(loaded.path), "--out", str(out), "-q"]) == 0
    assert 'id="banner-failed"' not in (out / "report.html").read_text()
    assert (out / "plan" / "hires.yaml").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["headline"]["base"]["revenue"] > 0


def test_any_stage_status_drives_the_banner() -> None:
    """The convention other stages follow: `status` and `diagnosis` in the stage's summary."""
    outputs = {"demand": StageOutput("demand"),
               "territory": StageOutput("territory", summary={"status": "infeasible", "diagnosis": ["unit X alone"]}),
               "hiring": StageOutput("hiring", summary={"status": "feasible"})}
    (failure,) = stage_failures(outputs)
    assert (failure.stage, failure.status, failure.diagnosis) == ("territory", "infeasible", ("unit X alone",))
    doc = Document("t", "s", banner=[failure.headline(), *failure.diagnosis])
    assert "unit X alone" in render_html(doc) and "> - unit X alone" in render_markdown(doc)
    assert 'id="banner-failed"' not in render_html(Document("t", "s"))


UNITS = "id,x,y,workload\na,0,0,1\nb,1,0,1\nc,2,0,1\nd,3,0,10\n"


def test_territory_unit_above_its_band_exits_3(tmp_path: Path, capsys) -> None:
    """Workload 13 over 2 territories: mean 6.5, band +-10 % = [5.85, 7.15]; unit d (10) alone is
    above it, so no balanced design exists."""
    (tmp_path / "units.csv").write_text(UNITS)
    path = tmp_path / "t.yaml"
    path.write_text("name: texas-like\nterritory: {units: units.csv, territories: 2, balance: 0.1}\n")
    out = tmp_path / "run"
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out), "-q"]) == 3
    err = capsys.readouterr().err
    assert "territory: no feasible plan" in err
    summary = json.loads((out / "summary.json").read_text())
    assert summary["territory"]["status"] == "infeasible"
    assert not (out / "plan" / "territories.csv").exists()
    assert 'id="banner-failed"' in (out / "report.html").read_text()
    for sentence in summary["territory"].get("diagnosis") or []:  # written by the territory stage
        assert sentence in err


REPO = Path(__file__).resolve().parents[1]
DIRECTOR = "plan.fixed_hires=[{month: 2027-03, role: AE, hires: 2}, {month: 2027-05, role: SDR, hires: 1}]"


def test_the_issues_two_cases_on_the_scale_up(tmp_path: Path, capsys) -> None:
    """5 AEs starting 2027-01 (lead time 2 months, cap 3): bad input before any solve, nothing
    written. The director's plan with backfill=replace: the model is infeasible, exit 3 with why."""
    scenario_file = str(REPO / "scenarios" / "scaleup.yaml")
    out = tmp_path / "early"
    capsys.readouterr()
    assert main(["run", scenario_file, "--out", str(out), "-q",
                 "--set", "plan.fixed_hires=[{month: 2027-01, role: AE, hires: 5}]"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert [line.split(": ")[1] for line in lines] == ["plan.fixed_hires.0.month", "plan.fixed_hires.0.hires"]
    assert "lead time is broken" in lines[0] and "above the cap of 3" in lines[1] and not out.exists()
    out = tmp_path / "backfill"
    assert main(["run", scenario_file, "--out", str(out), "-q", "--replications", "1",
                 "--set", DIRECTOR, "--set", "plan.backfill=replace"]) == 3
    err = capsys.readouterr().err
    assert "hiring: no feasible plan (solver status: infeasible)" in err
    assert "plan.backfill: replace asks AE" in err and "plan.backfill: replace asks SDR" in err
    headline = json.loads((out / "summary.json").read_text())["headline"]
    assert all(v is None for figures in headline.values() for v in figures.values())


def test_stress_and_sweep_with_no_plan_to_freeze_exit_3(tmp_path: Path, capsys) -> None:
    """The backfill case above has no feasible plan: freezing it is impossible, so stress and a
    frozen-plan sweep stop with exit 3 and the diagnosis, before any probe or point runs."""
    loaded = scenario(tmp_path, roles=BACKFILL_ROLES, simulation={"replications": 1, "seed": 1},
                      plan={"objective": "margin", "cases": ["base"], "arr_ops_rule": False, "backfill": "replace",
                            "fixed_hires": [{"month": "2027-02", "role": "AE", "hires": 1}]})
    page = tmp_path / "stress.html"
    capsys.readouterr()
    assert main(["stress", str(loaded.path), "--vary", "demand.scale", "--from", "1", "--to", "2",
                 "--until", "simulation.win_rate.p50 < 0.01", "--out", str(page)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert "the plan to freeze has no feasible solution" in err[0] and err[0].startswith("stress ")
    assert err[1] == "hiring: no feasible plan (solver status: infeasible)"
    assert any("plan.backfill" in line for line in err[2:]) and not page.exists()
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(f"base: {loaded.path.name}\nvary:\n  demand.scale: [1.0, 1.5]\n"
                          "freeze_plan: true\nreplications: 1\n", encoding="utf-8")
    out = tmp_path / "sweep"
    assert main(["sweep", str(sweep_file), "--out", str(out)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("sweep ") and "the plan to freeze has no feasible solution" in err[0]
    assert err[1] == "hiring: no feasible plan (solver status: infeasible)" and not out.exists()
