"""The README's CLI table against the code and the tests.

* every command of the `salesops` app has a row, every row names a command of the app, and every
  flag a row names is an option of that command (docs and code cannot drift);
* every row's command, and each flag it names, is run by some test (tests/cli_coverage.py says
  how a test is recognised: a CLI call with literal arguments, or `@pytest.mark.cli(...)`).
A row added to the README fails here until a test runs it.
"""

from __future__ import annotations

import typer.main
from cli_coverage import cli_rows, covered_by_tests
from conftest import REPO

from engine.cli import app

COMMANDS = typer.main.get_command(app).commands
ROWS = cli_rows((REPO / "README.md").read_text(encoding="utf-8"))


def test_readme_has_a_cli_table_row_per_command() -> None:
    assert ROWS, "README.md has no `| command | does | exit |` table"
    documented = [row.command for row in ROWS]
    assert sorted(set(documented)) == sorted(COMMANDS), "README CLI table and `salesops` commands differ"
    for row in ROWS:
        assert set(row.exits) >= {0}, f"{row.text}: no exit codes in its exit cell"


def test_every_documented_flag_is_an_option_of_its_command() -> None:
    for row in ROWS:
        options = {opt for param in COMMANDS[row.command].params for opt in param.opts}
        missing = [flag for flag in row.flags if flag not in options]
        assert not missing, f"README row {row.text}: {missing} not options of `salesops {row.command}`"


def test_every_row_and_flag_of_the_cli_table_has_a_test() -> None:
    covered = covered_by_tests(set(COMMANDS))
    untested = [f"salesops {row.command} {flag}".strip()
                for row in ROWS for flag in ("", *row.flags) if not covered.get(row.command, {}).get(flag)]
    assert not untested, f"README CLI rows or flags no test runs: {untested}"


def test_coverage_scan_recognises_calls_markers_and_subprocesses(tmp_path) -> None:
    (tmp_path / "test_probe.py").write_text(
        "import pytest, sys\n"
        "def test_a():\n    main(['erlang', '--json', '--target=0.8'])\n"
        "@pytest.mark.cli('stress', '--replan')\ndef test_b():\n    pass\n"
        "def test_c():\n    run([sys.executable, '-m', 'engine.cli', 'sweep', 'x', '--resume'])\n"
        "def test_d():\n    f(['note', 'erlang', '--shrinkage'])\n")
    found = covered_by_tests({"erlang", "stress", "sweep"}, tmp_path)
    assert {c: sorted(f) for c, f in found.items()} == {
        "erlang": ["", "--json", "--target"], "stress": ["", "--replan"], "sweep": ["", "--resume"]}
