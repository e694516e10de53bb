"""extends (deep merge, precedence, data paths) and --set overrides."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from minimal_scenario import BASE

from engine.errors import InputError
from engine.scenario.load import load_scenario, resolved_yaml


@pytest.fixture
def parent(tmp_path: Path) -> Path:
    path = tmp_path / "base" / "parent.yaml"
    path.parent.mkdir()
    path.write_text(BASE)
    return path


def test_extends_deep_merges_mappings_and_replaces_lists(tmp_path: Path, parent: Path) -> None:
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: base/parent.yaml\nname: child\n"
        "plan: {objective: cost}\n"
        "demand:\n  annual_growth: 0.2\n  baseline:\n    - {segment: SMB, region: EU, leads_per_month: 7}\n")
    s = load_scenario(child).scenario
    assert s.name == "child"
    assert s.plan.objective == "cost"
    assert s.plan.budget_per_month == 100000  # kept from the parent: mappings merge
    assert s.demand.annual_growth == 0.2
    assert [row.leads_per_month for row in s.demand.baseline] == [7]  # lists are replaced whole
    assert s.demand.seasonality == [1.0] * 12  # sibling key kept


def test_extends_chain_precedence(tmp_path: Path, parent: Path) -> None:
    (tmp_path / "middle.yaml").write_text("extends: base/parent.yaml\nname: middle\nplan: {budget_per_month: 5}\n")
    (tmp_path / "leaf.yaml").write_text("extends: middle.yaml\nname: leaf\n")
    s = load_scenario(tmp_path / "leaf.yaml").scenario
    assert (s.name, s.plan.budget_per_month) == ("leaf", 5)


def test_data_paths_in_a_parent_stay_relative_to_the_parent(tmp_path: Path, parent: Path) -> None:
    (parent.parent / "units.csv").write_text("id,x,y\n1,0,0\n2,1,1\n")
    parent.write_text(BASE + "territory: {units: units.csv, territories: 1}\n")
    (tmp_path / "child.yaml").write_text("extends: base/parent.yaml\nname: child\n")
    loaded = load_scenario(tmp_path / "child.yaml")
    assert loaded.resolve_path(loaded.scenario.territory.units).resolve() == (parent.parent / "units.csv").resolve()


def test_set_overrides_by_name_index_and_new_key(parent: Path) -> None:
    loaded = load_scenario(parent, ["roles.SDR.attrition_per_year=0.5", "funnel.stages.0.conversion=0.25",
                                    "plan.objective=cost", "simulation.seed=99"])
    s = loaded.scenario
    assert s.role("SDR").attrition_per_year == 0.5
    assert s.funnel.stages[0].conversion == 0.25
    assert s.plan.objective == "cost"
    assert s.simulation.seed == 99
    assert yaml.safe_load(resolved_yaml(loaded))["roles"][0]["attrition_per_year"] == 0.5


def test_set_overrides_win_over_extends(tmp_path: Path, parent: Path) -> None:
    (tmp_path / "child.yaml").write_text("extends: base/parent.yaml\nname: child\nplan: {budget_per_month: 5}\n")
    assert load_scenario(tmp_path / "child.yaml", ["plan.budget_per_month=9"]).scenario.plan.budget_per_month == 9


@pytest.mark.parametrize("override,path,word", [
    ("roles.Nobody.cost_per_month=1", "roles.Nobody", "no list item"),
    ("plan.budget_per_month", "plan.budget_per_month", "missing '='"),
    ("name.sub=1", "name.sub", "scalar"),
])
def test_bad_override_paths_are_input_errors(parent: Path, override: str, path: str, word: str) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(parent, [override])
    problem = info.value.problems[0]
    assert problem.path == path and word in problem.message


def test_override_value_is_validated(parent: Path) -> None:
    with pytest.raises(InputError) as info:
        load_scenario(parent, ["roles.SDR.attrition_per_year=2"])
    assert info.value.problems[0].path == "roles.0.attrition_per_year"


def test_resolved_scenario_has_defaults_filled_in(parent: Path) -> None:
    data = yaml.safe_load(resolved_yaml(load_scenario(parent)))
    assert data["company"]["currency"] == "EUR"
    assert data["roles"][0]["hours_per_month"] == 160.0
