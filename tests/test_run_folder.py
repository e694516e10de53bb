"""The run folder: files per section, atomic writing, byte-identical reruns, manifest."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from minimal_scenario import BASE

from engine.cli import main
from engine.errors import InputError
from engine.run import RunOptions, run_scenario
from reports.render import write_reports


def _scenario(tmp_path: Path, text: str = BASE, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _digest(folder: Path) -> dict[str, str]:
    skip = {"manifest.json"}
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name not in skip}


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("runs")
    scenario = _scenario(tmp)
    first = run_scenario(scenario, tmp / "a", RunOptions(seed=5, replications=2), render=write_reports)
    second = run_scenario(scenario, tmp / "b", RunOptions(seed=5, replications=2), render=write_reports)
    return first, second


def test_run_folder_has_the_files_its_sections_call_for(two_runs) -> None:
    folder = two_runs[0]
    for rel in ("scenario.resolved.yaml", "manifest.json", "summary.json", "demand/forecast.csv",
                "plan/hiring.csv", "sim/leads.parquet", "sim/monthly.csv", "reconciliation.csv",
                "report.html", "report.md"):
        assert (folder / rel).is_file(), rel
    # no territory, allocation or support section: their files are absent, not empty
    for rel in ("plan/territories.csv", "plan/allocation.csv", "plan/staffing.csv"):
        assert not (folder / rel).exists(), rel


def test_reruns_are_byte_identical(two_runs) -> None:
    first, second = two_runs
    digest = _digest(first)
    assert {"summary.json", "report.html", "report.md"} <= set(digest)
    assert digest == _digest(second)


def test_other_seed_changes_the_simulation(tmp_path: Path, two_runs) -> None:
    other = run_scenario(_scenario(tmp_path), tmp_path / "c", RunOptions(seed=6, replications=2))
    assert (other / "sim/leads.parquet").read_bytes() != (two_runs[0] / "sim/leads.parquet").read_bytes()


def test_manifest_records_seed_hash_versions_and_solver_status(two_runs) -> None:
    manifest = json.loads((two_runs[0] / "manifest.json").read_text())
    resolved = (two_runs[0] / "scenario.resolved.yaml").read_text()
    assert manifest["seed"] == 5 and manifest["replications"] == 2
    assert manifest["scenario_sha256"] == hashlib.sha256(resolved.encode()).hexdigest()
    assert {"pyomo", "highspy", "simpy", "numpy", "pandas"} <= set(manifest["packages"])
    hiring = [v for k, v in manifest["solvers"].items() if k.startswith("hiring.")]
    assert hiring and hiring[0]["status"] in {"optimal", "feasible"}
    assert {"demand", "hiring", "simulation"} <= set(manifest["stage_wall_s"])
    assert manifest["timings"]["hiring.solve_s"] == pytest.approx(manifest["solvers"]["hiring.hiring"]["solve_s"],
                                                                  abs=1e-4)
    assert "solve_s" not in json.loads((two_runs[0] / "summary.json").read_text())["hiring"]
    assert yaml.safe_load(resolved)["simulation"]["seed"] == 5


def test_failure_leaves_no_folder(tmp_path: Path) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_scenario(_scenario(tmp_path), tmp_path / "out", RunOptions(replications=1), render=boom)
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["s.yaml"]


def test_failure_keeps_the_previous_complete_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"scenario_sha256": "0"}')  # a run folder: may be replaced
    (out / "marker").write_text("previous run")
    render = lambda *a, **k: (_ for _ in ()).throw(OSError("x"))  # noqa: E731
    with pytest.raises(OSError):
        run_scenario(_scenario(tmp_path), out, RunOptions(replications=1), render=render)
    assert (out / "marker").read_text() == "previous run"


def test_bad_input_exit_2_and_no_folder(tmp_path: Path, capsys) -> None:
    scenario = _scenario(tmp_path, BASE.replace("conversion: 0.5", "conversion: 1.5"))
    code = main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 2
    assert f"{scenario}:16: funnel.stages.0.conversion: out of range" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_set_override_exit_2(tmp_path: Path, capsys) -> None:
    code = main(["run", str(_scenario(tmp_path)), "--out", str(tmp_path / "o"), "--set", "roles.Nobody.x=1"])
    assert code == 2 and "roles.Nobody: no list item 'Nobody'" in capsys.readouterr().err


def test_run_requires_valid_file(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        run_scenario(tmp_path / "missing.yaml", tmp_path / "o", RunOptions())
