"""Deal exports (issue 19): censored outcome estimates against known truth, the three presets
end to end, and one test per data guardrail."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from engine.data.calibrate_export import calibrate_export
from engine.data.deals import read_deals
from engine.data.export_values import estimate_export_date
from engine.data.survival import LOST, OPEN, WON, outcome_estimate
from engine.data.synthetic_deals import write_export
from engine.errors import InputError
from engine.scenario.load import load_scenario
from engine.scenario.model import Scenario

REPO = Path(__file__).resolve().parents[1]
SCALEUP = REPO / "scenarios" / "scaleup.yaml"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=REPO)


# --- item 3: open deals counted right -------------------------------------------------------

def _censored_book(n: int, p_win: float, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A growing pipeline: deal ages at the export date exponential (mean 90 days, cut at 500);
    won after lognormal(median 60 d), lost after lognormal(median 20 d). Returns (days followed,
    event, true time to close)."""
    rng = np.random.default_rng(seed)
    age = -90 * np.log1p(-rng.random(n) * (1 - np.exp(-500 / 90)))
    won = rng.random(n) < p_win
    close = np.where(won, rng.lognormal(np.log(60), 0.5, n), rng.lognormal(np.log(20), 0.6, n))
    seen = close <= age
    event = np.where(seen, np.where(won, WON, LOST), OPEN)
    return np.where(seen, close, age), event, close


def test_censored_win_rate_and_time_to_close_recover_the_truth_where_closed_only_is_biased():
    p_win = 0.30
    days, event, _ = _censored_book(6000, p_win, seed=11)
    assert (event == OPEN).mean() > 0.25  # many deals still open at the export date
    est = outcome_estimate(days, event)
    assert est.win_rate_low <= p_win <= est.win_rate_high
    assert est.win_rate_high - est.win_rate_low < 0.06
    # Closed-only: won deals take longer, so they are the ones still open: biased low, far
    # outside even a generous binomial interval around the truth.
    closed = est.won + est.lost
    assert est.naive_win_rate < p_win - 4 * np.sqrt(p_win * (1 - p_win) / closed)
    # Time to close: the truth's median from a large uncensored sample of the same process.
    _, _, close = _censored_book(400_000, p_win, seed=12)
    truth = float(np.median(close))
    assert est.close_days_low - 1 <= truth <= est.close_days_high + 1  # whole days: +-1
    assert est.naive_close_days_median < est.close_days_low - 2  # short cycles close first


def test_one_date_in_2099_does_not_move_the_export_date():
    dates = pd.date_range("2024-01-01", "2024-12-31", freq="6h").to_numpy(dtype="datetime64[s]")
    with_typo = np.append(dates, np.datetime64("2099-03-01T00:00:00"))
    assert estimate_export_date(with_typo) == pd.Timestamp("2024-12-31")


# --- item 1: presets, each read from an export in the tool's exact shape, run end to end -------

@pytest.mark.parametrize("preset", ["salesforce", "hubspot", "pipedrive"])
def test_preset_export_calibrates_to_a_complete_scenario_near_the_truth(preset, tmp_path):
    folder = write_export(preset, tmp_path / preset, seed=5, deals=4000)
    out = tmp_path / f"{preset}.yaml"
    result = calibrate_export(folder, out, preset=preset, complete=SCALEUP)
    assert any("took opportunities" in m for m in result.messages)
    loaded = load_scenario(out)  # validates and passes the meaning checks
    truth = yaml.safe_load((folder / "truth.yaml").read_text())
    stages = {st.name: st for st in loaded.scenario.funnel.stages}
    assert [st.name for st in loaded.scenario.funnel.stages][:2] == ["contact", "qualify"]
    for t in truth["stages"]:
        got = stages[t["name"]].conversion_for("SMB")
        assert abs(got - t["conversion"]["SMB"]) < 0.05, (t["name"], got)
    ae = next(r for r in loaded.scenario.roles if r.name == "AE")
    assert ae.headcount_start == sum(r["n"] for r in truth["reps"] if r["role"] == "AE")
    assert loaded.scenario.sources  # where every figure came from


@pytest.mark.slow  # reason: calibrates a deal export, then runs the calibrated scenario end to end
def test_opportunity_only_export_with_open_and_undated_rows(tmp_path):
    """A third of the deals open, 5 % without a created date: strict stops with their lines,
    lenient skips and counts them, and the result runs end to end."""
    folder = write_export("salesforce", tmp_path / "sf", seed=9, deals=1500)
    opp = folder / "report1700000001.csv"
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    keep = frame["Stage"].isin(["Closed Won", "Closed Lost"])
    recent = frame[~keep]
    frame = pd.concat([frame[keep].iloc[: 2 * len(recent)], recent]).reset_index(drop=True)
    undated = np.random.default_rng(1).choice(len(frame), len(frame) // 20, replace=False)
    frame.loc[undated, "Created Date"] = ""
    frame.to_csv(opp, index=False)
    (folder / "report1700000002.csv").unlink()  # current stages only
    assert abs((~frame["Stage"].str.startswith("Closed")).mean() - 1 / 3) < 0.02
    strict = _cli("calibrate", folder, "--preset", "salesforce", "--out", tmp_path / "strict.yaml")
    assert strict.returncode == 2
    lines = sorted(int(x.split(":")[1]) for x in strict.stderr.splitlines() if "Created Date" in x and "missing" in x)
    assert lines[:20] == sorted(undated + 2)[:20]
    assert not (tmp_path / "strict.yaml").exists()
    out = tmp_path / "lenient.yaml"
    lenient = _cli("calibrate", folder, "--preset", "salesforce", "--lenient", "--complete", SCALEUP, "--out", out)
    assert lenient.returncode == 0, lenient.stderr
    assert f"skipped {len(undated)} rows of report1700000001.csv: Created Date: missing value" in lenient.stderr
    run = _cli("run", out, "--out", tmp_path / "run", "--replications", "2", "--quiet")
    assert run.returncode == 0, run.stderr
    report = (tmp_path / "run" / "report.md").read_text()
    assert "Where the figures came from" in report and "assumed: lead stage kept from" in report


# --- item 5 and issue 21: guardrails, one test per bullet -----------------------------------

@pytest.fixture
def sf(tmp_path) -> Path:
    return write_export("salesforce", tmp_path / "sf", seed=3, deals=600)


def _edit(path: Path, edit) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame = edit(frame) if edit(frame) is not None else frame
    frame.to_csv(path, index=False)
    return frame


def _problems(folder: Path, **kw) -> list[str]:
    with pytest.raises(InputError) as err:
        read_deals(folder, **kw)
    return [p.format() for p in err.value.problems]


def test_bad_rows_name_file_line_export_column_and_value_sorted_by_line(sf):
    opp = sf / "report1700000001.csv"
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    frame.loc[10, "Amount"] = "12,500.00"
    frame.loc[3, "Created Date"] = "13/45/2020"
    frame.to_csv(opp, index=False)
    lines = _problems(sf, preset="salesforce")
    assert f'{opp}:12: Amount ("12,500.00"): not a number (a plain decimal)' in lines
    assert lines.index(next(x for x in lines if ":5: Created Date" in x)) < lines.index(next(x for x in lines if ":12:" in x))


def test_mapping_naming_a_missing_column_gets_a_did_you_mean(sf, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("opportunities: {columns: {amount: Amout}}\n")
    lines = _problems(sf, preset="salesforce", mapping=mapping)
    assert any('Amout: no such column; did you mean "Amount"?' in x for x in lines)


def test_ambiguous_dates_stop_naming_both_readings(sf):
    opp = sf / "report1700000001.csv"
    _edit(opp, lambda f: f.assign(**{"Created Date": "3/1/2025", "Close Date": "4/2/2025"}))
    hist = sf / "report1700000002.csv"
    _edit(hist, lambda f: f.assign(**{"Last Modified": "4/2/2025"}))
    (line,) = _problems(sf, preset="salesforce")
    assert "2025-03-01 (%m/%d/%Y)" in line and "2025-01-03 (%d/%m/%Y)" in line


def test_bad_date_format_directive_is_bad_input(sf, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text('opportunities: {date_format: "%Q/%d"}\n')
    lines = _problems(sf, preset="salesforce", mapping=mapping)
    assert "opportunities.date_format" in lines[0] and "bad directive" in lines[0]


def test_dates_after_the_export_date_or_before_the_company_are_flagged(sf):
    opp = sf / "report1700000001.csv"
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    won = frame.index[frame["Stage"] == "Closed Won"]
    frame.loc[won[0], "Close Date"] = "3/1/2099"
    frame.loc[7, "Created Date"] = "3/1/1970"
    frame.to_csv(opp, index=False)
    lines = _problems(sf, preset="salesforce")
    assert any(f":{won[0] + 2}: Close Date" in x and "after the export date 2026-12-31" in x for x in lines)
    assert any(":9: Created Date" in x and "before 1990-01-01" in x for x in lines)
    ex = read_deals(sf, preset="salesforce", lenient=True)
    assert ex.as_of == pd.Timestamp("2026-12-31")


def test_markup_and_control_characters_are_bad_rows_not_stages_or_segments(sf):
    opp = sf / "report1700000001.csv"
    frame = pd.read_csv(opp, dtype=str, keep_default_na=False)
    frame.loc[4, "Stage"] = "<script>x</script>"
    frame.loc[6, "Segment"] = "SMB\x00"
    frame.loc[8, "Segment"] = "Mid\x07Market"
    frame.to_csv(opp, index=False)
    lines = _problems(sf, preset="salesforce")
    for line, col in ((6, "Stage"), (8, "Segment"), (10, "Segment")):
        assert any(f":{line}: {col} (" in x and "not plain text" in x for x in lines), line
    ex = read_deals(sf, preset="salesforce", lenient=True)
    assert "<script>x</script>" not in ex.stage_order
    assert set(ex.deals["segment"]) == {"SMB", "Mid-Market", "Enterprise"}


def test_rare_segment_is_flagged_with_its_rows_and_values_merges_it(sf, tmp_path):
    opp = sf / "report1700000001.csv"
    _edit(opp, lambda f: f.assign(Segment=np.where(f.index == 20, "Small Business", f["Segment"])))
    ex = read_deals(sf, preset="salesforce")
    assert any('rare value "Small Business" on 1 of 600 rows (lines 22)' in w for w in ex.warnings)
    flagged = ex.quality[ex.quality["action"] == "flagged"]
    assert flagged["lines"].tolist() == ["22"]
    mapping = tmp_path / "map.yaml"
    mapping.write_text('opportunities: {values: {segment: {"Small Business": SMB}}}\n')
    merged = read_deals(sf, preset="salesforce", mapping=mapping)
    assert not merged.warnings and "Small Business" not in set(merged.deals["segment"])


def test_lenient_prints_skips_by_reason_and_rows_dropped_with_them(sf, tmp_path):
    opp = sf / "report1700000001.csv"
    _edit(opp, lambda f: f.assign(Amount=np.where(f.index < 3, "n/a", f["Amount"])))
    history = pd.read_csv(sf / "report1700000002.csv", dtype=str)
    ids = pd.read_csv(opp, dtype=str)["Opportunity ID"].iloc[:3]
    dropped = int(history["Opportunity ID"].isin(ids).sum())
    res = _cli("calibrate", sf, "--preset", "salesforce", "--lenient", "--out", tmp_path / "f.yaml")
    assert res.returncode == 0, res.stderr
    assert "skipped 3 rows of report1700000001.csv: Amount: not a number" in res.stderr
    assert (f"skipped {dropped} rows of report1700000002.csv: Opportunity ID: refers to a skipped opportunity"
            in res.stderr)


def test_assumed_figures_are_marked_in_the_fragment(sf, tmp_path):
    out = tmp_path / "f.yaml"
    calibrate_export(sf, out, preset="salesforce")
    text = out.read_text()
    body = yaml.safe_load(text)
    assumed = [k for k, v in body["sources"].items() if v.startswith("assumed")]
    assert any(k.endswith(".work_hours") for k in assumed)
    for key in assumed:
        assert f"#   {key}: " in text  # listed in the header comment too


@pytest.mark.parametrize("case", ["header_only", "duplicate_column", "out_is_directory"])
def test_malformed_files_and_outputs_exit_2(sf, tmp_path, case):
    opp = sf / "report1700000001.csv"
    out = tmp_path / "f.yaml"
    if case == "header_only":
        opp.write_text(opp.read_text().splitlines()[0] + "\n")
        expected = "no data rows"
    elif case == "duplicate_column":
        head, *rest = opp.read_text().splitlines()
        opp.write_text("\n".join([head + ",Amount"] + [r + ",1" for r in rest]) + "\n")
        expected = "Amount: duplicate column (columns 5 and 13)"
    else:
        out = tmp_path / "outdir"
        out.mkdir()
        expected = "is a directory"
    res = _cli("calibrate", sf, "--preset", "salesforce", "--out", out)
    assert res.returncode == 2 and expected in res.stderr, res.stderr
    assert "Traceback" not in res.stderr


def test_lead_level_export_header_problems_exit_2(tmp_path):
    """The lead-level reader (engine/data/crm.py) has the same header guardrails."""
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "leads.csv").write_text("id,created_at,segment,region\n")
    (folder / "opportunities.csv").write_text("id,lead_id,created_at,amount\n")
    (folder / "stage_history.csv").write_text("lead_id,stage,entered_at\n")
    res = _cli("calibrate", folder, "--out", tmp_path / "f.yaml")
    assert res.returncode == 2 and "leads.csv: <file>: no data rows" in res.stderr, res.stderr
    (folder / "leads.csv").write_text("id,created_at,segment,segment,region\nL1,2026-01-01,SMB,SMB,EMEA\n")
    res = _cli("calibrate", folder, "--out", tmp_path / "f.yaml")
    assert res.returncode == 2 and "leads.csv:1: segment: duplicate column (columns 3 and 4)" in res.stderr
    (folder / "leads.csv").write_text("id,created_at,segment,region\nL1,2026-01-01,SMB,EMEA\n")
    mapping = tmp_path / "map.yaml"
    mapping.write_text("leads: {columns: {region: Regoin}}\n")
    res = _cli("calibrate", folder, "--mapping", mapping, "--out", tmp_path / "f.yaml")
    assert res.returncode == 2 and 'Regoin: no such column; did you mean "region"?' in res.stderr, res.stderr


def test_lead_level_work_hours_from_default_activity_times_are_marked_assumed(tmp_path):
    out = tmp_path / "params.yaml"
    res = _cli("calibrate", REPO / "scenarios" / "data" / "crm_scaleup", "--out", out)
    assert res.returncode == 0, res.stderr
    text = out.read_text()
    sources = yaml.safe_load(text)["sources"]
    hours = {k: v for k, v in sources.items() if k.endswith(".work_hours")}
    assert len(hours) == 4 and all(v.startswith("assumed: activity times (email 0.1 h") for v in hours.values())
    for key in hours:
        assert f"#   {key}: assumed" in text
    assert sources["funnel.stages.close.conversion"].startswith("estimated")
    Scenario.model_validate({**yaml.safe_load(text), "name": "fragment"})  # `sources` is schema


def test_pipedrive_prefixed_columns_and_a_file_named_in_the_mapping(tmp_path):
    """Newer Pipedrive exports prefix every column with "Deal - "; a mapping can name the file."""
    folder = write_export("pipedrive", tmp_path / "pd", seed=4, deals=400)
    plain = read_deals(folder, preset="pipedrive")
    deals = folder / "deals-2027-01-01.csv"
    frame = pd.read_csv(deals, dtype=str, keep_default_na=False)
    frame.columns = [f"Deal - {c}" for c in frame.columns]
    frame.to_csv(folder / "export.csv", index=False)
    deals.unlink()
    mapping = tmp_path / "map.yaml"
    mapping.write_text("opportunities: {file: export.csv}\n")
    prefixed = read_deals(folder, preset="pipedrive", mapping=mapping)
    assert prefixed.files["opportunities"].endswith("export.csv")
    pd.testing.assert_frame_equal(prefixed.deals, plain.deals)


def test_pipedrive_lost_time_after_the_export_date_names_its_column(tmp_path):
    folder = write_export("pipedrive", tmp_path / "pd", seed=4, deals=400)
    deals = folder / "deals-2027-01-01.csv"
    frame = pd.read_csv(deals, dtype=str, keep_default_na=False)
    lost = frame.index[frame["Status"] == "lost"][0]
    frame.loc[lost, "Lost time"] = "2099-01-01 10:00:00"
    frame.to_csv(deals, index=False)
    lines = _problems(folder, preset="pipedrive")
    assert lines == [f'{deals}:{lost + 2}: Lost time ("2099-01-01 10:00:00"): after the export date 2026-12-31 '
                     "(a date on or before the export date (`export_date` in the mapping))"]


def test_synth_crm_preset_writes_the_tools_export_shape(tmp_path) -> None:
    """`salesops synth-crm --preset pipedrive --deals N` writes a deals export of N rows in
    Pipedrive's column names, with its known truth beside it."""
    from engine.cli import main

    out = tmp_path / "pd"
    assert main(["synth-crm", "--out", str(out), "--seed", "3", "--preset", "pipedrive", "--deals", "250"]) == 0
    exports = [p for p in out.iterdir() if p.suffix == ".csv"]
    deals = next(pd.read_csv(p) for p in exports if "Status" in pd.read_csv(p, nrows=0).columns)
    assert len(deals) == 250
    assert set(deals["Status"].unique()) <= {"open", "won", "lost"}
    assert (out / "truth.yaml").exists()
