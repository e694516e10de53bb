"""`salesops run` on a scenario whose `data:` names a deal-export preset (issue 19): the calibrated
figures against the synthetic export's truth, rare values in the run folder and the report, and
bad input naming the scenario's file, line and field."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engine.data.stage import calibrate_stage
from engine.data.synthetic_deals import write_export
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]
SCALEUP = REPO / "scenarios" / "scaleup.yaml"
OPPORTUNITIES = {"salesforce": "report1700000001.csv", "hubspot": "hubspot-crm-exports-all-deals-2027-01-01.csv",
                 "pipedrive": "deals-2027-01-01.csv"}
SEGMENT_COLUMN = "Segment"


def _cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)


def _scenario(folder: Path, data: dict, **sections: object) -> Path:
    path = folder / "scenario.yaml"
    body = {"extends": str(SCALEUP), "name": "calibrated from a deal export", **sections, "data": data}
    path.write_text(yaml.safe_dump(body, sort_keys=False))
    return path


@pytest.mark.slow  # reason: three full runs (calibration, hiring MILP, simulation) of the scale-up scenario
@pytest.mark.parametrize("preset", ["salesforce", "hubspot", "pipedrive"])
def test_a_scenario_naming_a_preset_runs_and_recovers_the_synthetic_truth(preset, tmp_path):
    export = write_export(preset, tmp_path / "export", seed=5, deals=4000)
    scenario = _scenario(tmp_path, {"crm_dir": "export", "preset": preset})
    res = _cli("run", scenario, "--out", tmp_path / "run", "--replications", "2", "--quiet")
    assert res.returncode == 0, res.stderr
    run = tmp_path / "run"
    truth = yaml.safe_load((export / "truth.yaml").read_text())
    resolved = yaml.safe_load((run / "scenario.resolved.yaml").read_text())
    summary = json.loads((run / "summary.json").read_text())["data"]
    deals = pd.read_csv(export / OPPORTUNITIES[preset], dtype=str, keep_default_na=False)
    share = deals[SEGMENT_COLUMN].value_counts(normalize=True)

    # Whole-deal win rate (Aalen-Johansen, open deals censored): its 95 % interval holds the
    # truth of this export's segment mix.
    pooled = sum(share[g] * w for g, w in truth["win_rate"].items())
    assert summary["win_rate_low"] <= pooled <= summary["win_rate_high"], (summary, pooled)
    assert summary["open"] > 0 and summary["preset"] == preset

    # Per segment: the calibrated opportunity stages' conversions multiply to the true win rate,
    # within 4 binomial standard errors of that segment's deal count.
    stages = {st["name"]: st for st in resolved["funnel"]["stages"]}
    for g, true_win in truth["win_rate"].items():
        n = int((deals[SEGMENT_COLUMN] == g).sum())
        got = np.prod([_conversion(stages[t["name"]]["conversion"], g) for t in truth["stages"]])
        assert abs(got - true_win) < 4 * np.sqrt(true_win * (1 - true_win) / n) + 0.01, (g, got, true_win)

    # Deal size: the fitted mean within 4 standard errors (of n won deals) of the true mean.
    won = _won(deals, preset)
    sizes = {sg["name"]: sg["deal_size"] for sg in resolved["segments"]}
    for t in truth["segments"]:
        n = int((won & (deals[SEGMENT_COLUMN] == t["name"])).sum())
        mean, cv = t["deal_size"]["mean"], t["deal_size"]["cv"]
        assert abs(sizes[t["name"]]["mean"] - mean) < 4 * cv * mean / np.sqrt(n), (t["name"], sizes[t["name"]], n)

    # Headcount from the users sheet; every assumed figure listed in the report.
    ae = next(r for r in resolved["roles"] if r["name"] == "AE")
    assert ae["headcount_start"] == sum(r["n"] for r in truth["reps"] if r["role"] == "AE")
    report = (run / "report.md").read_text()
    assumed = [k for k, v in resolved["sources"].items() if v.startswith("assumed")]
    assert any(k.endswith(".work_hours") for k in assumed)
    for key in assumed:
        assert f"| {key} | assumed" in report, key
    assert (run / "data" / "outcomes.csv").is_file() and (run / "data" / "quality.csv").is_file()


def _conversion(value: object, segment: str) -> float:
    return float(value[segment]) if isinstance(value, dict) else float(value)


def _won(deals: pd.DataFrame, preset: str) -> pd.Series:
    if preset == "pipedrive":
        return deals["Status"] == "won"
    column = "Stage" if preset == "salesforce" else "Deal Stage"
    return deals[column] == "Closed Won"


@pytest.mark.slow  # reason: a full run (calibration and hiring MILP) of the scale-up scenario
def test_rare_values_reach_the_run_folder_and_both_reports_with_their_rows(tmp_path):
    export = write_export("salesforce", tmp_path / "export", seed=3, deals=600)
    opp = export / OPPORTUNITIES["salesforce"]
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    frame.loc[[20, 40], SEGMENT_COLUMN] = "Small Business"
    frame.to_csv(opp, index=False)
    scenario = _scenario(tmp_path, {"crm_dir": "export", "preset": "salesforce"}, simulation=None)
    res = _cli("run", scenario, "--out", tmp_path / "run", "--quiet")
    assert res.returncode == 0, res.stderr
    assert 'rare value "Small Business" on 2 of 600 rows (lines 22 42)' in res.stderr
    rare = pd.read_csv(tmp_path / "run" / "data" / "rare_values.csv", dtype=str)
    assert rare[["column", "value", "rows", "of_rows", "lines"]].values.tolist() == [
        ["Segment", "Small Business", "2", "600", "22 42"]]
    hint = 'opportunities: {values: {segment: {"Small Business": "SMB"}}}'
    assert yaml.safe_load(rare["merge_with"].iloc[0]) == {"opportunities": {"values": {"segment": {"Small Business": "SMB"}}}}
    md = (tmp_path / "run" / "report.md").read_text()
    row = next(line for line in md.splitlines() if "| Small Business |" in line)
    assert "| 2 of 600 | 22 42 |" in row and html.unescape(row).count(hint) == 1
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())["data"]
    note = next(line for line in md.splitlines() if line.startswith("Calibrated from a salesforce export"))
    assert f"{summary['open']} still open (censored at the export date)" in note
    assert f"Win rate {100 * summary['win_rate']:.1f}%" in note and "closed deals alone would say" in note
    page = html.unescape((tmp_path / "run" / "report.html").read_text())
    assert "Rare values flagged in the CRM export" in page
    at = page.index("Small Business")
    assert "22 42" in page[at:at + 400] and hint in page[at:at + 600]


@pytest.mark.parametrize("data, field, expected", [
    ({"crm_dir": "export", "preset": "zoho"}, "data.preset", "salesforce"),
    ({"crm_dir": "no_such_folder", "preset": "hubspot"}, "data.crm_dir", "file not found: no_such_folder"),
])
def test_a_bad_preset_or_folder_names_the_scenario_line_and_field(tmp_path, data, field, expected):
    (tmp_path / "export").mkdir()
    scenario = _scenario(tmp_path, data)
    line = 1 + next(i for i, text in enumerate(scenario.read_text().splitlines())
                    if text.strip().startswith(field.split(".")[1] + ":"))
    res = _cli("validate", scenario)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.startswith(f"{scenario}:{line}: {field}:") and expected in res.stderr, res.stderr


def test_a_bad_export_row_in_a_run_exits_2_naming_the_export_and_writes_no_folder(tmp_path):
    export = write_export("salesforce", tmp_path / "export", seed=3, deals=600)
    opp = export / OPPORTUNITIES["salesforce"]
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    frame.loc[9, "Amount"] = "12,500.00"
    frame.to_csv(opp, index=False)
    scenario = _scenario(tmp_path, {"crm_dir": "export", "preset": "salesforce"})
    res = _cli("run", scenario, "--out", tmp_path / "run", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f'{opp}:11: Amount ("12,500.00"): not a number (a plain decimal)' in res.stderr, res.stderr
    assert not (tmp_path / "run").exists()


def test_a_lead_level_export_completes_onto_an_example_scenario_that_loads_as_is(tmp_path):
    """Item 6 for the lead-level export too: `--complete` writes a scenario extending the example
    (lists replaced whole and consistently), loaded without editing; figures near the truth."""
    crm = REPO / "scenarios" / "data" / "crm_scaleup"
    out = tmp_path / "mine.yaml"
    res = _cli("calibrate", crm, "--complete", SCALEUP, "--out", out)
    assert res.returncode == 0, res.stderr
    s = load_scenario(out).scenario
    parent = load_scenario(SCALEUP).scenario
    truth = yaml.safe_load((crm / "truth.yaml").read_text())
    assert yaml.safe_load(out.read_text())["extends"].endswith("scenarios/scaleup.yaml")
    assert [(st.name, st.role, st.work_hours) for st in s.funnel.stages] == \
        [(st.name, st.role, st.work_hours) for st in parent.funnel.stages]
    for t in truth["stages"]:
        got = next(st for st in s.funnel.stages if st.name == t["name"]).conversion_for("SMB")
        assert abs(got - t["conversion"]["SMB"]) < 0.06, (t["name"], got)
        assert s.sources[f"funnel.stages.{t['name']}.conversion"].startswith("estimated")
    assert {r.name for r in s.regions} == {r.name for r in parent.regions}


def test_a_lenient_run_skips_and_counts_bad_rows_and_forecasts_leads_from_opportunities(tmp_path, caplog):
    export = write_export("salesforce", tmp_path / "export", seed=3, deals=600)
    opp = export / OPPORTUNITIES["salesforce"]
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    frame.loc[:2, "Amount"] = "n/a"
    frame.to_csv(opp, index=False)
    history = pd.read_csv(export / "report1700000002.csv", dtype=str)
    dropped = int(history["Opportunity ID"].isin(frame["Opportunity ID"].iloc[:3]).sum())
    scenario = _scenario(tmp_path, {"crm_dir": "export", "preset": "salesforce", "lenient": True})
    new, out = calibrate_stage(load_scenario(scenario))
    assert out.summary["rows_skipped"] == {"report1700000001.csv": 3, "report1700000002.csv": dropped}
    assert out.summary["opportunities"] == 597
    assert out.summary["files"] == {"stage_history": "report1700000002.csv", "users": "report1700000003.csv",
                                    "opportunities": "report1700000001.csv"}
    assert "skipped 3 rows of report1700000001.csv: Amount: not a number" in caplog.text
    # The forecast's history is in leads: opportunities / the scale-up's lead-stage conversions.
    lead = [st for st in load_scenario(SCALEUP).scenario.funnel.stages if st.name in ("contact", "qualify")]
    h = out.tables["data/history.csv"]
    factor = h["segment"].map(lambda g: np.prod([st.conversion_for(g) for st in lead]))
    assert np.allclose(h["leads"], h["opportunities"] / factor) and h["opportunities"].sum() > 500
    assert out.result.history is not None and list(out.result.history.columns) == ["month", "segment", "region", "leads"]
    assert new.scenario.name == "calibrated from a deal export" and new.scenario.data.preset == "salesforce"


def test_rare_values_of_a_lead_level_export_reach_the_run_folder_table(tmp_path, caplog):
    crm = tmp_path / "crm"
    shutil.copytree(REPO / "scenarios" / "data" / "crm_scaleup", crm)
    leads = pd.read_csv(crm / "leads.csv", dtype=str, keep_default_na=False)
    leads.loc[[7, 30], "region"] = "North America"
    leads.to_csv(crm / "leads.csv", index=False)
    scenario = _scenario(tmp_path, {"crm_dir": "crm"})
    _, out = calibrate_stage(load_scenario(scenario))
    rare = out.tables["data/rare_values.csv"]
    assert rare.drop(columns="merge_with").values.tolist() == [
        ["leads.csv", "region", "North America", 2, len(leads), "9 32"]]
    assert yaml.safe_load(rare["merge_with"].iloc[0]) == {"leads": {"values": {"region": {"North America": "NA"}}}}
    assert out.summary["rare_values"] == 1
    assert 'region: rare value "North America" on 2 of' in caplog.text and "(lines 9 32)" in caplog.text


def test_a_deal_export_without_roles_says_which_role_entry_to_add_and_the_entry_works(tmp_path):
    """A scenario with `data:` naming a preset and no `roles:` stops with one problem at the
    `data:` line naming the missing role and a `roles:` entry to add; that entry then runs."""
    write_export("salesforce", tmp_path / "export", seed=3, deals=600)
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: deals only\nhorizon: {start: 2027-01, months: 12}\n"
                        "data:\n  crm_dir: export\n  preset: salesforce\n")
    res = _cli("run", scenario, "--out", tmp_path / "run", "--quiet")
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{scenario}:3: data: "), res.stderr
    assert "worked by role 'AE', which the scenario does not define (a `roles:` entry named AE" in lines[0]
    assert not (tmp_path / "run").exists()
    entry = yaml.safe_load(lines[0].split("e.g. `")[1].split("`")[0])
    assert entry == {"roles": [{"name": "AE", "kind": "ae", "cost_per_month": entry["roles"][0]["cost_per_month"]}]}
    users = pd.read_csv(tmp_path / "export" / "report1700000003.csv", dtype=str)
    active = int(((users["Role"] == "AE") & (users["Active"] == "true")).sum())
    assert f"headcount_start comes from the users sheet: {active} active" in lines[0]
    scenario.write_text(scenario.read_text() + yaml.safe_dump(entry))
    new, _ = calibrate_stage(load_scenario(scenario))
    assert [r.headcount_start for r in new.scenario.roles] == [active]
    assert {st.role for st in new.scenario.funnel.stages} == {"AE"}


def test_rare_values_of_a_mapped_lead_level_export_name_the_exports_column(tmp_path, caplog):
    """With a mapping `region: Sales Region`, the warning and rare_values.csv name `Sales Region`
    (the column the user finds in the file); the merge entry keeps our `region`, as `values:` reads."""
    crm = tmp_path / "crm"
    shutil.copytree(REPO / "scenarios" / "data" / "crm_scaleup", crm)
    leads = pd.read_csv(crm / "leads.csv", dtype=str, keep_default_na=False)
    leads.loc[[7, 30], "region"] = "North America"
    leads.rename(columns={"segment": "Industry", "region": "Sales Region"}).to_csv(crm / "leads.csv", index=False)
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text('leads: {columns: {segment: Industry, region: "Sales Region"}}\n')
    scenario = _scenario(tmp_path, {"crm_dir": "crm", "mapping": "mapping.yaml"})
    _, out = calibrate_stage(load_scenario(scenario))
    rare = out.tables["data/rare_values.csv"]
    assert rare.drop(columns="merge_with").values.tolist() == [
        ["leads.csv", "Sales Region", "North America", 2, len(leads), "9 32"]]
    assert yaml.safe_load(rare["merge_with"].iloc[0]) == {"leads": {"values": {"region": {"North America": "NA"}}}}
    assert 'leads.csv: Sales Region: rare value "North America" on 2 of' in caplog.text
    assert "region: rare value" not in caplog.text
