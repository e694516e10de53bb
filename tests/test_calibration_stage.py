"""The data stage through a scenario: strict errors name the CRM file, lenient mode skips and
reports, `data.forecast: parameters` switches the history off, stage_roles are honoured."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.data.stage import calibrate_stage
from engine.errors import InputError
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "scenarios" / "data" / "crm_scaleup"


def scenario(tmp_path: Path, data: str) -> Path:
    shutil.copytree(EXAMPLE, tmp_path / "crm")
    shutil.copy(REPO / "scenarios" / "scaleup.yaml", tmp_path / "scaleup.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: scaleup.yaml\nname: t\ndata: {data}\n")
    return path


def corrupt_line(file: Path, line: int, column: int, value: str) -> None:
    lines = file.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    file.write_text("\n".join(lines) + "\n")


def test_strict_stage_names_file_line_column(tmp_path: Path):
    path = scenario(tmp_path, "{crm_dir: crm}")
    corrupt_line(tmp_path / "crm" / "opportunities.csv", 7, 4, "-100")
    with pytest.raises(InputError) as info:
        calibrate_stage(load_scenario(path))
    assert [p.format().split(" (")[0] for p in info.value.problems] == \
        [f"{tmp_path / 'crm' / 'opportunities.csv'}:7: amount: negative amount"]


def test_lenient_stage_skips_and_reports(tmp_path: Path):
    path = scenario(tmp_path, "{crm_dir: crm, lenient: true, forecast: parameters}")
    corrupt_line(tmp_path / "crm" / "leads.csv", 10, 1, "not-a-date")
    new, out = calibrate_stage(load_scenario(path))
    assert out.summary["rows_skipped"]["leads"] == 1
    q = out.tables["data/quality.csv"]
    row = q[(q.file == "leads") & (q.problem == "unparsable date")]
    assert row["rows"].tolist() == [1] and row["action"].tolist() == ["skipped"]
    assert out.result.history is None  # forecast from the calibrated parameters
    assert out.summary["forecast_from_history"] is False


def test_stage_roles_override(tmp_path: Path):
    path = scenario(tmp_path, "{crm_dir: crm, stage_roles: {qualify: AE}}")
    new, _ = calibrate_stage(load_scenario(path))
    roles = {st.name: st.role for st in new.scenario.funnel.stages}
    assert roles == {"contact": "SDR", "qualify": "AE", "discovery": "AE", "close": "AE"}


def test_no_data_section_is_a_no_op():
    loaded = load_scenario(REPO / "scenarios" / "scaleup.yaml")
    new, out = calibrate_stage(loaded)
    assert new is loaded and out.name == "data" and not out.tables
