"""Typed stage results: each stage hands the next a frozen dataclass, and the frames it hands on
are the ones it writes to the run folder."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from minimal_scenario import BASE

from engine.data.stage import DataOut
from engine.reconcile.stage import ReconciliationOut
from engine.run import RunOptions, execute
from engine.scenario.load import load_scenario
from engine.stage import (
    AllocationOut,
    DemandOut,
    SimulationOut,
    StageOutput,
    StageResult,
    SupplyOut,
    TerritoryOut,
)

RESULTS = (DemandOut, TerritoryOut, SupplyOut, AllocationOut, SimulationOut, DataOut, ReconciliationOut)


def test_stage_output_has_a_typed_result_and_no_string_keyed_dict() -> None:
    names = [f.name for f in dataclasses.fields(StageOutput)]
    # `texts`: run-folder text files (plan/hires.yaml) keyed by their path, not stage results
    assert names == ["name", "tables", "summary", "solves", "result", "texts"]


@pytest.mark.parametrize("kind", RESULTS)
def test_results_are_frozen_dataclasses(kind: type) -> None:
    assert issubclass(kind, StageResult) and dataclasses.is_dataclass(kind)
    assert kind.__dataclass_params__.frozen
    first = dataclasses.fields(kind)[0].name
    values = {f.name: None for f in dataclasses.fields(kind)}
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(kind(**values), first, pd.DataFrame())


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("typed")
    (folder / "s.yaml").write_text(BASE, encoding="utf-8")
    return execute(load_scenario(folder / "s.yaml"), RunOptions(replications=2))


def test_each_stage_hands_on_what_it_writes(run) -> None:
    out = run.outputs
    assert list(out) == ["demand", "hiring", "simulation", "reconciliation"]
    demand, supply = out["demand"].result, out["hiring"].result
    assert isinstance(demand, DemandOut)
    pd.testing.assert_frame_equal(demand.forecast, out["demand"].tables["demand/forecast.csv"])
    assert isinstance(supply, SupplyOut) and supply.staffing is None  # no support section
    written = out["hiring"].tables["plan/hiring.csv"]
    pd.testing.assert_frame_equal(supply.hiring[written.columns], written)
    assert list(supply.capacity_hours.columns) == ["month", "role", "capacity_hours"]
    assert (supply.capacity_hours["capacity_hours"] > 0).all()
    sim = out["simulation"].result
    assert isinstance(sim, SimulationOut)
    pd.testing.assert_frame_equal(sim.monthly, out["simulation"].tables["sim/monthly.csv"])
    assert set(sim.leads["replication"]) == {0, 1}
    recon = out["reconciliation"].result
    assert isinstance(recon, ReconciliationOut)
    pd.testing.assert_frame_equal(recon.table, out["reconciliation"].tables["reconciliation.csv"])
    assert recon.context.case == "base" and recon.flags == out["reconciliation"].summary["flags"]


def test_reconciliation_reads_the_typed_results(run, tmp_path: Path) -> None:
    """The capacity the reconciliation reports is the SupplyOut's: double it, and the table follows
    (without plan/hiring_cases.csv in the tables, capacity_hours is what it reads)."""
    from engine.reconcile.stage import reconcile

    supply = run.outputs["hiring"]
    doubled = supply.result.capacity_hours.assign(capacity_hours=lambda f: 2 * f["capacity_hours"])
    outputs = {**run.outputs, "hiring": StageOutput(
        "hiring", summary=supply.summary,
        result=dataclasses.replace(supply.result, capacity_hours=doubled))}
    outputs.pop("reconciliation")
    table = reconcile(run.loaded, outputs).result.table
    before = run.outputs["reconciliation"].result.table

    def planned(frame: pd.DataFrame) -> float:
        rows = frame[(frame["metric"] == "capacity") & (frame["scope"] == "role:SDR") & (frame["month"] == "all")]
        return float(rows["planned"].iloc[0])

    assert planned(table) == pytest.approx(2 * planned(before), abs=0.2)  # the table rounds to 0.1 h
