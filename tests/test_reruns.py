"""Every example reruns byte-identically: the same scenario and seed, run twice in separate
processes, give the same bytes in every file of the run folder except manifest.json (which holds
every measured time, summary.json none)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
COMPARE = REPO / "benchmarks" / "compare_runfolders.py"
EXAMPLES = sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
REPLICATIONS = "2"
"""Replications per run: enough to exercise the simulation and its quantiles, short in a test."""
BACKSTOP_S = "1800"
"""Time limit (seconds) of the planning stages in these runs. The examples stop their solves on a
gap or a node limit and their bounds when the steps stop raising them, all of which repeat
exactly; a time limit, though, stops wherever the machine's speed took it (docs/scenarios.md). On
a loaded 2-core machine the enterprise territory bound reached its 120 s backstop, so the test
moves the backstop out of reach."""


def _backstops(scenario: str) -> list[str]:
    from engine.scenario.load import load_scenario

    s = load_scenario(REPO / "scenarios" / scenario).scenario
    sections = [name for name in ("plan", "territory", "allocation") if getattr(s, name) is not None]
    return [arg for name in sections for arg in ("--set", f"{name}.time_limit_s={BACKSTOP_S}")]


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO)}


def _start(scenario: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", str(REPO / "scenarios" / scenario), "--out", str(out),
         "--replications", REPLICATIONS, "--quiet", *_backstops(scenario)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())


def _compare(a: Path, b: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(COMPARE), str(a), str(b)], capture_output=True, text=True)


def test_the_examples_are_found() -> None:
    assert {"scaleup.yaml", "enterprise.yaml", "seed-stage.yaml", "scaleup-crm.yaml"} <= set(EXAMPLES)


@pytest.mark.slow  # reason: runs each example twice in separate processes to compare every byte
@pytest.mark.parametrize("scenario", EXAMPLES)
def test_example_reruns_byte_identical(scenario: str, tmp_path: Path) -> None:
    runs = [tmp_path / "a", tmp_path / "b"]
    procs = [_start(scenario, out) for out in runs]  # two processes at once: no shared state
    for proc in procs:
        _, err = proc.communicate(timeout=1800)
        assert proc.returncode in (0, 3), err
    done = _compare(*runs)
    assert done.returncode == 0, done.stdout
    summary = (runs[0] / "summary.json").read_text(encoding="utf-8")
    timings = json.loads((runs[0] / "manifest.json").read_text(encoding="utf-8"))["timings"]
    assert '_s": ' not in summary.replace('"time_limit_s": ', "")  # no measured seconds left
    if "hiring" in json.loads(summary):
        assert timings["hiring.solve_s"] >= 0


def test_compare_script_finds_every_kind_of_difference(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        (folder / "plan").mkdir(parents=True)
        (folder / "summary.json").write_text('{\n "x": 1\n}\n')
        (folder / "manifest.json").write_text(f'{{"wall_s": {len(folder.name)}}}\n')
    (a / "manifest.json").write_text('{"wall_s": 9}\n')  # manifest.json is not compared
    assert _compare(a, b).returncode == 0
    (b / "summary.json").write_text('{\n "x": 2\n}\n')
    (a / "plan" / "hiring.csv").write_text("month,hires\n")
    (b / "sim.parquet").write_bytes(b"\x00\x01")
    done = _compare(a, b)
    assert done.returncode == 1
    assert f"only in {a}: plan/hiring.csv" in done.stdout and f"only in {b}: sim.parquet" in done.stdout
    assert "differs: summary.json: line 2: ' \"x\": 1' != ' \"x\": 2'" in done.stdout
    assert _compare(a, tmp_path / "none").returncode == 2


def test_measured_times_leave_summary_for_the_manifest() -> None:
    from engine.runfolder.manifest import split_timings

    summary = {"hiring": {"status": "optimal", "build_s": 0.1, "solve_s": 2.0, "time_limit_s": 60},
               "territory": {"rounds": [{"lp_s": 0.5, "gap": 0.01}], "wall_s": None}, "headline": 1}
    kept, timings = split_timings(summary)
    assert kept == {"hiring": {"status": "optimal", "time_limit_s": 60},
                    "territory": {"rounds": [{"gap": 0.01}]}, "headline": 1}
    assert list(kept) == ["hiring", "territory", "headline"]
    assert timings == {"hiring.build_s": 0.1, "hiring.solve_s": 2.0, "territory.rounds.0.lp_s": 0.5,
                       "territory.wall_s": None}
