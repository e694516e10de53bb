"""CLI contracts: validate, schema, exit codes, and the generated references in docs/."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import REPO, SCENARIOS

from engine.cli import main
from engine.scenario.reference import with_reference


def test_every_example_scenario_validates(capsys) -> None:
    files = sorted(str(p) for p in SCENARIOS.glob("*.yaml"))
    assert len(files) >= 3
    assert main(["validate", *files]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"ok {f}" for f in files]


def test_validate_reports_every_bad_file_and_exits_2(tmp_path: Path, capsys) -> None:
    good = SCENARIOS / "scaleup.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nhorizon: {start: 2027-01, months: -1}\n")
    assert main(["validate", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert f"ok {good}" in captured.out
    assert f"{bad}:2: horizon.months: out of range" in captured.err


def test_schema_prints_json_schema(capsys) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "Scenario" and "name" in schema["required"]
    assert schema["additionalProperties"] is False


def test_unknown_command_is_a_usage_error(capsys) -> None:
    assert main(["frobnicate"]) == 2


@pytest.mark.parametrize(("page", "label"), [("docs/scenario-reference.md", "SCENARIO REFERENCE"),
                                             ("docs/sweeps.md", "SWEEP REFERENCE"),
                                             ("docs/reconciliation.md", "RECONCILIATION METRICS")])
def test_generated_references_are_up_to_date(page: str, label: str) -> None:
    text = (REPO / page).read_text(encoding="utf-8")
    assert f"<!-- BEGIN {label} -->" in text and f"<!-- END {label} -->" in text
    assert text == with_reference(text), f"{page} reference is stale: run `make docs`"
