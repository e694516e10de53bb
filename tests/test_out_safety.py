"""`--out` never replaces what the engine did not write (issue 21): exit 2, files untouched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from minimal_scenario import BASE

from engine.cli import main
from engine.errors import InputError
from engine.runfolder.atomic import (
    SWEEP_MARK,
    atomic_folder,
    check_out_folder,
    clean_stale_siblings,
)


def _scenario(folder: Path) -> Path:
    path = folder / "s.yaml"
    path.write_text(BASE)
    return path


def _tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _run(scenario: Path, out: str, capsys) -> tuple[int, str]:
    code = main(["run", str(scenario), "--out", out, "--quiet", "--replications", "1"])
    return code, capsys.readouterr().err


def test_existing_folder_of_user_files_is_refused_and_left_alone(tmp_path: Path, capsys) -> None:
    scenario = _scenario(tmp_path)
    users = tmp_path / "scenarios"
    (users / "data").mkdir(parents=True)
    (users / "data" / "notes.txt").write_text("keep me")
    (users / "other.yaml").write_text("name: other\n")
    before = _tree(tmp_path)
    code, err = _run(scenario, str(users), capsys)
    assert code == 2
    assert f"{users}: --out: exists and is not a run folder" in err
    assert "Traceback" not in err
    assert _tree(tmp_path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "scenarios"]


def test_existing_file_and_device_are_refused(tmp_path: Path, capsys) -> None:
    scenario = _scenario(tmp_path)
    afile = tmp_path / "afile"
    afile.write_text("precious")
    code, err = _run(scenario, str(afile), capsys)
    assert code == 2 and "exists and is a file" in err
    assert afile.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile", "s.yaml"]
    code, err = _run(scenario, os.devnull, capsys)
    assert code == 2 and "exists and is a device or special file" in err
    assert Path(os.devnull).is_char_device()


@pytest.mark.parametrize("out", [".", "", "..", "sub/.."])
def test_dot_and_empty_are_refused(tmp_path: Path, capsys, monkeypatch, out: str) -> None:
    monkeypatch.chdir(tmp_path)
    scenario = _scenario(tmp_path)
    (tmp_path / "sub").mkdir()
    code, err = _run(scenario, out, capsys)
    assert code == 2 and "--out" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml", "sub"]


def test_working_folder_and_scenario_folder_are_refused(tmp_path: Path, monkeypatch) -> None:
    scenario = _scenario(tmp_path / "x") if (tmp_path / "x").mkdir() is None else None
    with pytest.raises(InputError, match="holds the input file"):
        check_out_folder(tmp_path / "x", protect=(scenario,))
    with pytest.raises(InputError, match="holds the input file"):
        check_out_folder(tmp_path, protect=(scenario,))
    monkeypatch.chdir(tmp_path / "x")
    with pytest.raises(InputError, match="working folder"):
        check_out_folder(tmp_path)


def test_symbolic_link_is_refused(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(InputError, match="symbolic link"):
        check_out_folder(tmp_path / "link")


def test_unwritable_out_is_exit_2(tmp_path: Path, capsys) -> None:
    scenario = _scenario(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, so no folder can be made under it")
    code, err = _run(scenario, str(blocker / "run"), capsys)
    assert code == 2 and f"{blocker / 'run'}: --out: cannot be read" in err and "Traceback" not in err


def test_folder_that_cannot_be_created_is_exit_2(tmp_path: Path, monkeypatch) -> None:
    import tempfile

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkdtemp", denied)
    with pytest.raises(InputError, match="cannot be written \\(Permission denied\\)"), \
            atomic_folder(tmp_path / "out"):
        pass


def test_run_folder_and_empty_folder_are_replaced(tmp_path: Path, capsys) -> None:
    scenario = _scenario(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(scenario, str(empty), capsys)[0] == 0
    assert (empty / "manifest.json").is_file()
    (empty / "stale.txt").write_text("from an older run")
    assert _run(scenario, str(empty), capsys)[0] == 0  # a run folder: replaced without --force
    assert not (empty / "stale.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "s.yaml"]


def test_a_folder_with_a_fake_manifest_is_not_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text('{"name": "some other tool"}')
    with pytest.raises(InputError, match="not a run folder"):
        check_out_folder(tmp_path / "out")
    with pytest.raises(InputError, match="not a sweep folder"):
        check_out_folder(tmp_path / "out", SWEEP_MARK)


def test_stale_siblings_of_dead_processes_are_cleaned(tmp_path: Path) -> None:
    target = tmp_path / "run"
    dead = _dead_pid()
    stale = [tmp_path / f".run.tmp-{dead}-abc", tmp_path / f".run.old-{dead}-xyz"]
    live = tmp_path / f".run.tmp-{os.getpid()}-abc"
    unknown = tmp_path / ".run.tmp-legacy"  # no pid: kept until it is a day old
    other = tmp_path / f".other.tmp-{dead}-abc"
    for folder in (*stale, live, unknown, other):
        folder.mkdir()
        (folder / "f").write_text("x")
    assert clean_stale_siblings(target) == 2
    assert {p.name for p in tmp_path.iterdir()} == {live.name, unknown.name, other.name}
    os.utime(unknown, (0, 0))
    assert clean_stale_siblings(target) == 1 and not unknown.exists()


def test_atomic_folder_leaves_no_temporary_sibling(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        (tmp / "manifest.json").write_text(json.dumps({"scenario_sha256": "0"}))
    with pytest.raises(RuntimeError), atomic_folder(target) as tmp:
        raise RuntimeError("fails half way")
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid
