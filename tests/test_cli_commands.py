"""Every command and flag of the README's CLI table, run through `salesops`' own entry point
(`engine.cli.main`, the error boundary the console script calls, or a subprocess of it), with
exit codes and outputs checked against values known from outside the engine: hand arithmetic,
the published Erlang C example, a birth-death chain, closed-form sweep totals, the truth a
synthetic export was drawn from. tests/test_cli_table.py fails for a README row no test runs.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
import yaml
from conftest import REPO, SCENARIOS
from minimal_scenario import BASE
from sweep_fixtures import DEMAND, MMC, write

from engine.cli import main
from engine.scenario.model import Scenario
from engine.scenario.reference import scenario_reference

SDR_COST = 6000.0
"""Monthly cost of an SDR set by `--set` in the run below (EUR per person-month)."""


def _cli(*args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `salesops ARGS` run in this process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, object]:
    """Two CLI runs of the minimal scenario with seed 7: every run flag with 2 workers, and 1 worker."""
    tmp = tmp_path_factory.mktemp("cli_runs")
    scenario = write(tmp, "s.yaml", BASE)
    full = _cli("run", scenario, "--out", tmp / "full", "--seed", "7", "--replications", "2",
                "--workers", "2", "--set", f"roles.SDR.cost_per_month={SDR_COST:g}", "--excel", "--quiet")
    single = _cli("run", scenario, "--out", tmp / "single", "--seed", "7", "--replications", "2",
                  "--workers", "1", "--set", f"roles.SDR.cost_per_month={SDR_COST:g}", "--quiet")
    return {"scenario": scenario, "full": (tmp / "full", full), "single": (tmp / "single", single)}


def test_run_writes_the_folder_with_seed_replications_and_override(runs) -> None:
    folder, (code, out, err) = runs["full"]
    assert (code, out, err) == (0, f"wrote {folder}\n", "")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["seed"], manifest["replications"]) == (7, 2)
    resolved = yaml.safe_load((folder / "scenario.resolved.yaml").read_text())
    assert resolved["simulation"]["seed"] == 7 and resolved["simulation"]["replications"] == 2
    monthly = pd.read_csv(folder / "sim" / "monthly.csv")
    assert sorted(monthly["replication"].unique()) == [0, 1]
    # --set reached the plan: an SDR costs 6000 a month, so cost = headcount x 6000 every month
    hiring = pd.read_csv(folder / "plan" / "hiring.csv")
    np.testing.assert_allclose(hiring["cost"], hiring["headcount"] * SDR_COST, rtol=1e-9)


def test_run_workers_do_not_change_the_numbers(runs) -> None:
    (two, _), (one, result) = runs["full"], runs["single"]
    assert result[0] == 0
    for rel in ("sim/leads.parquet", "sim/monthly.csv", "reconciliation.csv", "plan/hiring.csv"):
        assert (two / rel).read_bytes() == (one / rel).read_bytes(), rel


def test_run_excel_holds_the_summary_figures(runs) -> None:
    folder, _ = runs["full"]
    assert not (runs["single"][0] / "report.xlsx").exists()
    book = openpyxl.load_workbook(folder / "report.xlsx")
    summary = json.loads((folder / "summary.json").read_text())
    rows = {r[0]: r[2] for r in book["headline"].iter_rows(min_row=2, values_only=True) if r[0]}
    for figure in ("revenue", "hires"):
        assert rows[figure] == pytest.approx(summary["headline"]["base"][figure], abs=0.5), figure
    reconciliation = pd.read_csv(folder / "reconciliation.csv")
    assert book["reconciliation"].max_row == len(reconciliation) + 1


def test_run_bad_workers_is_bad_input(tmp_path: Path) -> None:
    code, out, err = _cli("run", write(tmp_path, "s.yaml", BASE), "--out", tmp_path / "o", "--workers", "0")
    assert code == 2 and out == ""
    assert err.strip() == "--workers: workers: got 0 (a whole number >= 1)"
    assert not (tmp_path / "o").exists()


def _boom(*args, **kwargs):
    raise RuntimeError("planted bug")


def test_a_bug_exits_1_with_the_debug_hint_and_no_traceback(tmp_path: Path, monkeypatch) -> None:
    import engine.plan.demand

    monkeypatch.setattr(engine.plan.demand, "parametric_forecast", _boom)
    code, out, err = _cli("run", write(tmp_path, "s.yaml", BASE), "--out", tmp_path / "o", "--quiet")
    assert code == 1 and out == ""
    assert err == "internal error: RuntimeError: planted bug (rerun with --debug for the traceback)\n"
    assert not (tmp_path / "o").exists()


PLANT_AND_RUN = ("import sys, engine.plan.demand as d\n"
                 "def boom(*a, **k):\n    raise RuntimeError('planted bug')\n"
                 "d.parametric_forecast = boom\n"
                 "from engine.cli import entry\nentry()\n")


@pytest.mark.parametrize("debug", [False, True])
def test_debug_prints_the_traceback_in_a_subprocess(tmp_path: Path, debug: bool) -> None:
    scenario = write(tmp_path, "s.yaml", BASE)
    args = ["run", str(scenario), "--out", str(tmp_path / "o"), "--quiet", *(["--debug"] if debug else [])]
    proc = subprocess.run([sys.executable, "-c", PLANT_AND_RUN, *args], cwd=REPO, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 1 and proc.stdout == ""
    if debug:
        assert "Traceback (most recent call last)" in proc.stderr
        assert proc.stderr.rstrip().endswith("RuntimeError: planted bug")
    else:
        assert "Traceback" not in proc.stderr and "rerun with --debug" in proc.stderr


GRID = """\
name: cli sweep
base: base.yaml
vary:
  demand.baseline.0.leads_per_month: [50, 100, 200]
metrics: [demand.totals.base]
"""


def _growth_total(leads: float, growth: float = 0.1) -> float:
    """Base-case leads of DEMAND over 12 months (flat seasonality): sum of leads x (1+g)^(m/12)."""
    return sum(leads * (1 + growth) ** (m / 12) for m in range(12))


def test_sweep_workers_keep_runs_and_resume(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", GRID)
    out = tmp_path / "out"
    code, text, err = _cli("sweep", sweep, "--out", out, "--workers", "2", "--keep-runs", "--quiet")
    assert code == 0 and err == ""
    assert text.startswith("sweep: 3 points (3 run): 3 ok, 0 failed")
    frame = pd.read_parquet(out / "results.parquet").set_index("demand.baseline.0.leads_per_month")
    for leads in (50, 100, 200):
        assert frame.loc[leads, "demand.totals.base"] == pytest.approx(_growth_total(leads), rel=1e-9)
        kept = json.loads((out / "runs" / frame.loc[leads, "point_id"] / "summary.json").read_text())
        assert kept["demand"]["totals"]["base"] == pytest.approx(_growth_total(leads), rel=1e-9)
    (out / "points" / f"{frame.loc[100, 'point_id']}.parquet").unlink()
    code, text, _ = _cli("sweep", sweep, "--out", out, "--resume", "--quiet")
    assert code == 0 and text.startswith("sweep: 3 points (2 resumed, 1 run): 3 ok, 0 failed")
    again = pd.read_parquet(out / "results.parquet").set_index("demand.baseline.0.leads_per_month")
    assert again.loc[100, "demand.totals.base"] == frame.loc[100, "demand.totals.base"]


@pytest.mark.slow  # reason: starts a Dask LocalCluster (5-15 s on a loaded 2-core machine)
def test_sweep_on_a_local_dask_cluster_gives_the_closed_form(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    write(tmp_path, "base.yaml", DEMAND)
    code, text, _ = _cli("sweep", write(tmp_path, "s.yaml", GRID), "--out", tmp_path / "out",
                         "--dask", "local", "--workers", "1", "--quiet")
    assert code == 0 and "(dask" in text
    frame = pd.read_parquet(tmp_path / "out" / "results.parquet")
    totals = dict(zip(frame["demand.baseline.0.leads_per_month"], frame["demand.totals.base"], strict=True))
    assert totals == pytest.approx({leads: _growth_total(leads) for leads in (50, 100, 200)}, rel=1e-9)


def test_sweep_bad_path_is_bad_input(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", DEMAND)
    sweep = write(tmp_path, "s.yaml", GRID.replace("leads_per_month", "leads_per_mnth"))
    code, _, err = _cli("sweep", sweep, "--out", tmp_path / "out", "--quiet")
    assert code == 2 and "leads_per_mnth" in err and not (tmp_path / "out").exists()


def test_compare_two_run_folders(runs, tmp_path: Path) -> None:
    (full, _), (single, _) = runs["full"], runs["single"]
    out = tmp_path / "cmp.html"
    assert _cli("compare", full, single, "--out", out) == (0, f"wrote {out}\n", "")
    html = out.read_text(encoding="utf-8")
    assert full.name in html and single.name in html
    code, _, err = _cli("compare", full, tmp_path / "nothing", "--out", tmp_path / "x.html")
    assert code == 2 and "nothing" in err and not (tmp_path / "x.html").exists()


PUBLISHED = ["--arrivals-per-hour", "200", "--aht-seconds", "180", "--target", "0.8", "--within-seconds", "20"]
"""REFERENCES.md: 100 calls per 30 min, AHT 180 s, 80 % answered in 20 s (pyworkforce, R ErlangC)."""


def test_erlang_json_keys_and_the_published_example() -> None:
    code, out, _ = _cli("erlang", *PUBLISHED, "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"agents", "service_level", "asa_seconds", "occupancy", "p_wait"}
    assert data["agents"] == 14
    assert data["service_level"] == pytest.approx(0.88835, abs=5e-6)
    assert data["p_wait"] == pytest.approx(0.17413, abs=5e-6)
    assert data["asa_seconds"] == pytest.approx(7.836, abs=5e-4)
    assert data["occupancy"] == pytest.approx(0.714, abs=5e-4)


def test_erlang_shrinkage_and_text_output() -> None:
    code, out, _ = _cli("erlang", *PUBLISHED, "--shrinkage", "0.3")
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.splitlines())
    assert {k.strip(): v.strip() for k, v in lines.items()}["scheduled_agents"] == "20"  # ceil(14 / 0.7)
    assert lines["          agents"].strip() == "14"


def _erlang_a_p_wait(agents: int, per_hour: float, aht_s: float, patience_s: float) -> float:
    """P(an arrival finds every agent busy) in M/M/c+M, from the truncated birth-death chain."""
    lam, mu, theta = per_hour / 3600, 1 / aht_s, 1 / patience_s
    weights = [1.0]
    for n in range(1, 2000):
        weights.append(weights[-1] * lam / (min(n, agents) * mu + max(n - agents, 0) * theta))
    p = np.array(weights) / sum(weights)
    return float(p[agents:].sum())


def test_erlang_patience_staffs_by_erlang_a() -> None:
    per_hour, aht, patience = 400.0, 300.0, 60.0  # offered load 33.3 erlangs, impatient customers
    code, out, _ = _cli("erlang", "--arrivals-per-hour", per_hour, "--aht-seconds", aht, "--target", "0.8",
                        "--within-seconds", "20", "--patience-seconds", patience, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["p_wait"] == pytest.approx(_erlang_a_p_wait(data["agents"], per_hour, aht, patience), abs=1e-6)
    _, plain, _ = _cli("erlang", "--arrivals-per-hour", per_hour, "--aht-seconds", aht, "--target", "0.8",
                       "--within-seconds", "20", "--json")
    assert data["agents"] < json.loads(plain)["agents"]  # abandonment relieves the queue
    code, _, err = _cli("erlang", *PUBLISHED[:5], "1.5", *PUBLISHED[6:])
    assert code == 2 and "erlang: arguments" in err


UNTIL = "simulation.totals.sla_attainment.p50 < 0.8"


def test_stress_reports_no_breaking_point_below_the_erlang_limit(tmp_path: Path, monkeypatch) -> None:
    """MMC: 5 agents, 1000 customers, AHT 360 s. At 5 tickets per customer-month the load is
    1000 x 5 / 744 x 0.1 = 0.67 erlangs, far below 5 agents: the service level stays near 1."""
    monkeypatch.chdir(tmp_path)  # a stress page, where one is written, lands here
    scenario = write(tmp_path, "mmc.yaml", MMC)
    code, out, _ = _cli("stress", scenario, "--vary", "support.tiers.0.tickets_per_customer_month",
                        "--from", "2", "--to", "5", "--until", UNTIL, "--replications", "1", "--seed", "1",
                        "--json")
    assert code == 0
    result = json.loads(out.splitlines()[0])
    assert (result["status"], result["last_ok"], result["first_broken"]) == ("not_broken", 5, None)
    code, _, err = _cli("stress", scenario, "--vary", "support.tiers.0.tickets_per_custmer_month",
                        "--from", "2", "--to", "5", "--until", UNTIL)
    assert code == 2 and "tickets_per_custmer_month" in err


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("crm") / "export"
    code, out, _ = _cli("synth-crm", "--out", folder, "--seed", "3", "--leads", "800")
    assert (code, out) == (0, f"wrote {folder}\n")
    return folder


def test_synth_crm_from_a_scenario_draws_its_funnel(tmp_path: Path) -> None:
    scenario_path = SCENARIOS / "seed-stage.yaml"
    code, out, _ = _cli("synth-crm", "--out", tmp_path / "x", "--seed", "5", "--scenario", scenario_path,
                        "--leads", "600")
    assert (code, out) == (0, f"wrote {tmp_path / 'x'}\n")
    truth = yaml.safe_load((tmp_path / "x" / "truth.yaml").read_text())
    from engine.scenario.load import load_scenario

    s = load_scenario(scenario_path).scenario
    assert [t["name"] for t in truth["stages"]] == [st.name for st in s.funnel.stages]
    for st, t in zip(s.funnel.stages, truth["stages"], strict=True):
        assert t["conversion"] == {g.name: st.conversion_for(g.name) for g in s.segments}
    leads = pd.read_csv(tmp_path / "x" / "leads.csv")
    assert abs(len(leads) - 600) <= 4 * math.sqrt(600)  # Poisson counts around 600
    code, _, err = _cli("synth-crm", "--out", tmp_path / "y", "--seed", "5", "--scenario", tmp_path / "no.yaml")
    assert code == 2 and "no.yaml" in err


def test_calibrate_with_a_mapping_equals_the_plain_export(export: Path, tmp_path: Path) -> None:
    assert _cli("calibrate", export, "--out", tmp_path / "plain.yaml")[0] == 0
    mapped = tmp_path / "sf"
    shutil.copytree(export, mapped)
    leads = pd.read_csv(mapped / "leads.csv", dtype=str, keep_default_na=False)
    (mapped / "leads.csv").unlink()
    leads.rename(columns={"id": "Id", "created_at": "CreatedDate"}).to_csv(mapped / "Lead.csv", index=False)
    mapping = write(tmp_path, "map.yaml", "leads:\n  file: Lead.csv\n  columns: {id: Id, created_at: CreatedDate}\n")
    code, out, _ = _cli("calibrate", mapped, "--out", tmp_path / "mapped.yaml", "--mapping", mapping)
    assert (code, out) == (0, f"wrote {tmp_path / 'mapped.yaml'}\n")
    plain = yaml.safe_load((tmp_path / "plain.yaml").read_text())
    mapped_fragment = yaml.safe_load((tmp_path / "mapped.yaml").read_text())
    # every estimate is the same; only `sources` names the file each came from (Lead.csv)
    assert {k: v for k, v in mapped_fragment.items() if k != "sources"} == \
        {k: v for k, v in plain.items() if k != "sources"}
    assert set(mapped_fragment["sources"]) == set(plain["sources"])
    truth = yaml.safe_load((export / "truth.yaml").read_text())
    entered = pd.read_csv(tmp_path / "plain_report" / "conversions.csv").set_index(["stage", "segment"])["entered"]
    # the first stage (every lead enters it) is within 3 binomial standard errors of the truth
    first = truth["stages"][0]
    for segment, rate in first["conversion"].items():
        se = math.sqrt(rate * (1 - rate) / entered[(first["name"], segment)])
        assert plain["funnel"]["stages"][0]["conversion"][segment] == pytest.approx(rate, abs=3 * se)


def test_calibrate_lenient_skips_and_counts_a_bad_row(export: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(export, bad)
    lines = (bad / "leads.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[4].split(",")
    cells[header.index("created_at")] = "not a date"
    lines[4] = ",".join(cells)
    (bad / "leads.csv").write_text("\n".join(lines) + "\n")
    code, _, err = _cli("calibrate", bad, "--out", tmp_path / "strict.yaml")
    assert code == 2 and f"{bad / 'leads.csv'}:5: created_at:" in err
    assert not (tmp_path / "strict.yaml").exists()
    code, _, _ = _cli("calibrate", bad, "--out", tmp_path / "lenient.yaml", "--lenient")
    assert code == 0
    quality = pd.read_csv(tmp_path / "lenient_report" / "quality.csv").set_index(["file", "problem"])
    assert quality.loc[("leads", "unparsable date"), "rows"] == 1
    assert quality.loc[("leads", "rows kept"), "rows"] == len(lines) - 2


def test_schema_markdown_is_the_generated_reference() -> None:
    code, out, _ = _cli("schema", "--markdown")
    assert code == 0 and out == scenario_reference() + "\n"
    default = Scenario.model_fields["simulation"].annotation
    replications = next(a for a in default.__args__ if a is not type(None)).model_fields["replications"].default
    assert f"| `replications` | int | `{replications}` |" in out
    reference = (REPO / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert out.strip().splitlines()[0] in reference
