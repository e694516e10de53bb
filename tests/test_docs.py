"""The README's promises: short, its scenario valid, its CLI and exit-code tables complete, its
links alive; docs/ pages present."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from engine.cli import app
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
WRITTEN_ELSEWHERE = {"docs/run-folder.md"}
"""Pages linked from the README that another change writes (checked once they exist)."""


def _table_rows(text: str, header: str) -> list[list[str]]:
    lines = text[text.index(header):].splitlines()[2:]
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
    return rows


def test_readme_is_short() -> None:
    assert len(README) < 10_000


def test_readme_scenario_has_15_lines_and_loads(tmp_path: Path) -> None:
    block = README.split("## A scenario in 15 lines", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert len(block.splitlines()) == 15
    (tmp_path / "s.yaml").write_text(block, encoding="utf-8")
    scenario = load_scenario(tmp_path / "s.yaml").scenario
    assert scenario.plan is not None and scenario.simulation is not None


def test_cli_table_has_one_row_per_command() -> None:
    rows = _table_rows(README, "| command | does | exit |")
    documented = [re.match(r"`salesops ([a-z-]+)", row[0]).group(1) for row in rows]
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert sorted(documented) == sorted(commands)
    assert all(len(row) == 3 and row[2] for row in rows)


def test_exit_code_table() -> None:
    rows = _table_rows(README, "| exit | meaning |")
    assert [row[0] for row in rows] == ["0", "1", "2", "3"]
    assert "without a feasible plan" in rows[3][1]


def test_links_and_screenshot_exist() -> None:
    targets = re.findall(r"\]\(([^)#]+)\)", README)
    assert "docs/img/report.png" in targets
    for target in targets:
        if target in WRITTEN_ELSEWHERE and not (REPO / target).exists():
            continue
        assert (REPO / target).is_file(), target
    assert (REPO / "docs/img/report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("page", ["scenarios", "scenario-reference", "models", "reconciliation",
                                  "crm-import", "sweeps", "development"])
def test_docs_pages_exist_and_are_linked(page: str) -> None:
    text = (REPO / "docs" / f"{page}.md").read_text(encoding="utf-8")
    assert text.startswith("# ")
    assert f"(docs/{page}.md)" in README


FOLDERS = ("engine", "engine/scenario", "engine/data", "engine/plan", "engine/simulation",
           "engine/reconcile", "engine/batch", "engine/runfolder", "solvers", "solvers/territory",
           "reports", "engine/data/presets")


def test_every_code_folder_has_a_short_readme() -> None:
    packages = {str(p.parent.relative_to(REPO)) for top in ("engine", "solvers", "reports")
                for p in (REPO / top).rglob("__init__.py")}
    assert packages == set(FOLDERS)
    for folder in FOLDERS:
        lines = (REPO / folder / "README.md").read_text(encoding="utf-8").strip().splitlines()
        assert lines[0] == f"# {folder}/" and 5 <= len(lines) <= 12, folder
        assert "import" in " ".join(lines), f"{folder}/README.md says what it may import"
