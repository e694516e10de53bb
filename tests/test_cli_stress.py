"""`salesops stress` and `salesops metrics` from the command line: exit codes, the answer, the
probe lines on a non-terminal stderr, the HTML page; bad input is exit 2 with no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sweep_fixtures import MMC, write

from engine.batch.metrics import CATALOGUE
from engine.cli import main

VARY = "support.tiers.0.tickets_per_customer_month"


def test_metrics_lists_every_catalogue_name_with_its_unit(capsys) -> None:
    assert main(["metrics"]) == 0
    out = capsys.readouterr().out
    for entry in CATALOGUE:
        line = next(x for x in out.splitlines() if x.startswith(entry.name + " "))
        assert f" {entry.unit} " in line
    assert main(["metrics", "--json", str(Path(__file__).parents[1] / "scenarios" / "scaleup.yaml")]) == 0
    rows = json.loads(capsys.readouterr().out)
    names = {r["name"] for r in rows}
    assert {"conversion_qualify", "reached_close", "win_rate", "first_response_p90_h"} <= names
    assert next(r for r in rows if r["name"] == "win_rate")["unit"] == "share"


def test_stress_command_answers_with_a_sentence_a_table_and_a_page(tmp_path: Path) -> None:
    scenario = write(tmp_path, "mmc.yaml", MMC)
    page = tmp_path / "stress.html"
    proc = subprocess.run(
        [sys.executable, "-m", "engine.cli", "stress", str(scenario), "--vary", VARY, "--from", "10", "--to", "40",
         "--until", "sla_attainment < 0.8", "--replications", "2", "--seed", "4", "--tolerance", "4",
         "--out", str(page)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    assert first.startswith(f"{VARY} can reach about ") and "falls below 0.8" in first
    assert "with the plan frozen" in first and "2 replications per probe" in first
    probes = [x for x in proc.stderr.splitlines() if x.startswith("probe ")]
    assert len(probes) >= 3 and probes[0].startswith(f"probe {VARY} = 10: ok")  # one line per probe
    html = page.read_text(encoding="utf-8")
    assert 'Plotly.newPlot("stress"' in html and "SLA attainment" in html and "p10-p90" in html


def test_stress_bad_input_is_exit_2_without_traceback(tmp_path: Path, capsys) -> None:
    scenario = write(tmp_path, "mmc.yaml", MMC)
    code = main(["stress", str(scenario), "--vary", VARY, "--from", "10", "--to", "40",
                 "--until", "win_rat < 0.1", "--out", str(tmp_path / "s.html"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "did you mean 'win_rate'" in err and "Traceback" not in err
    assert not (tmp_path / "s.html").exists()
    code = main(["stress", str(tmp_path / "nowhere"), "--vary", VARY, "--from", "1", "--to", "2",
                 "--until", "win_rate < 0.1", "--out", str(tmp_path / "s.html"), "--quiet"])
    assert code == 2


@pytest.mark.cli("stress", "--replan", "--workers")
def test_stress_replan_re_optimises_at_each_probe(tmp_path: Path) -> None:
    """`--replan` solves the plan again at every probe and says so; `--workers 2` runs the
    replications in two processes with the same answer as one (common random numbers)."""
    scenario = write(tmp_path, "mmc.yaml", MMC)
    args = [sys.executable, "-m", "engine.cli", "stress", str(scenario), "--vary", VARY, "--from", "10",
            "--to", "40", "--until", "sla_attainment < 0.8", "--replications", "2", "--seed", "4",
            "--tolerance", "8"]
    replan = subprocess.run([*args, "--replan", "--workers", "2", "--out", str(tmp_path / "r.html")],
                            capture_output=True, text=True, timeout=600)
    assert replan.returncode == 0, replan.stderr
    assert "with the plan re-optimised at each probe" in replan.stdout.splitlines()[0]
