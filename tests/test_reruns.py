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

from solvers.territory.bound_balanced import STOP_CLOCK, STOP_STALLED

REPO = Path(__file__).resolve().parents[1]
COMPARE = REPO / "benchmarks" / "compare_runfolders.py"
EXAMPLES = sorted(p.name for p in (REPO / "scenarios").glob("*.yaml"))
REPLICATIONS = "2"
"""Replications per run: enough to exercise the simulation and its quantiles, short in a test."""


def backstop_reports(folder: Path) -> list[str]:
    """Where a run folder says a time limit cut its work short: a solve in manifest.json that
    ended on `maxTimeLimit`, the territory stage's `time_limit_stops`, or its balanced bound
    stopped by the clock. The examples run with their own limits, which are backstops: their
    solves stop on a gap or a node limit and their bounds on counted steps, all of which repeat
    exactly; only a backstop that cuts in (a machine far slower than the examples expect) stops
    wherever the machine's speed took it, and then the run folder says so."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    territory = json.loads((folder / "summary.json").read_text(encoding="utf-8")).get("territory") or {}
    found = [f"{name}: {record['termination']}" for name, record in manifest.get("solvers", {}).items()
             if record.get("termination") == "maxTimeLimit"]
    if territory.get("time_limit_stops"):
        found.append(f"territory.time_limit_stops: {territory['time_limit_stops']}")
    stopped = (territory.get("bound_relaxations") or {}).get("balanced_lagrangian_stopped", "")
    if stopped == STOP_CLOCK:
        found.append(f"territory.bound_relaxations.balanced_lagrangian_stopped: {stopped}")
    return found


def _env() -> dict[str, str]:
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{path}" if path else str(REPO)}


def _start(scenario: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "engine.cli", "run", str(REPO / "scenarios" / scenario), "--out", str(out),
         "--replications", REPLICATIONS, "--quiet"],
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
    if done.returncode != 0:  # allowed only where a run folder says a backstop cut in
        reports = backstop_reports(runs[0]) + backstop_reports(runs[1])
        assert reports, done.stdout
        pytest.skip(f"a time-limit backstop cut in on this machine ({'; '.join(reports)}): {done.stdout}")
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


def test_backstop_reports_name_every_clock_stop_and_nothing_else(tmp_path: Path) -> None:
    """A folder whose solves ended on their gap and whose bound ended on its steps reports no
    backstop; a solve cut by its time limit, the territory's count of such solves and a bound
    stopped by the clock are each named."""
    def folder(name: str, termination: str, territory: dict) -> Path:
        out = tmp_path / name
        out.mkdir()
        (out / "manifest.json").write_text(json.dumps(
            {"solvers": {"hiring.hiring": {"termination": termination}}}), encoding="utf-8")
        (out / "summary.json").write_text(json.dumps({"territory": territory}), encoding="utf-8")
        return out


    quiet = folder("quiet", "convergenceCriteriaSatisfied",
                   {"bound_relaxations": {"balanced_lagrangian_stopped": STOP_STALLED}})
    assert backstop_reports(quiet) == []
    cut = folder("cut", "maxTimeLimit", {"time_limit_stops": 2,
                                         "bound_relaxations": {"balanced_lagrangian_stopped": STOP_CLOCK}})
    assert backstop_reports(cut) == ["hiring.hiring: maxTimeLimit", "territory.time_limit_stops: 2",
                                     f"territory.bound_relaxations.balanced_lagrangian_stopped: {STOP_CLOCK}"]
