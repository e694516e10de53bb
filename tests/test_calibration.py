"""Calibration recovers the known parameters synth-crm drew the export from (truth.yaml), and
its output is a scenario fragment the schema accepts through `extends`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from engine.data.calibrate import calibrate, calibrate_dir
from engine.data.crm import read_crm
from engine.data.fit import fit_families
from engine.data.synthetic import synth_crm
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[int, tuple[dict, object]]:
    """Calibrations of synthetic exports of about 5k and 50k leads, with their truth."""
    out = {}
    for leads, seed in ((5000, 11), (50000, 12)):
        folder = synth_crm(tmp_path_factory.mktemp(f"crm{leads}"), seed, leads=leads)
        truth = yaml.safe_load((folder / "truth.yaml").read_text())
        out[leads] = (truth, calibrate(read_crm(folder)))
    return out


def test_conversions_inside_their_95_intervals(exports):
    hits, cases, misses = 0, 0, []
    for leads, (truth, cal) in exports.items():
        conv = cal.report["conversions"].set_index(["stage", "segment"])
        for stage in truth["stages"]:
            for segment, p in stage["conversion"].items():
                row = conv.loc[(stage["name"], segment)]
                assert row["entered"] > 20
                cases += 1
                if row["low"] <= p <= row["high"]:
                    hits += 1
                else:
                    misses.append((leads, stage["name"], segment, p, row["low"], row["high"]))
        # every stage has one row per segment and a pooled row "*" that counts them all
        entered = conv["entered"].unstack("segment")
        assert (entered["*"] == entered.drop(columns="*").sum(axis=1)).all()
    assert hits / cases >= 0.9, misses


def test_interval_width_shrinks_with_data(exports):
    widths = {n: (cal.report["conversions"]["high"] - cal.report["conversions"]["low"]).mean()
              for n, (_, cal) in exports.items()}
    # Wilson width ~ 1 / sqrt(n): 10x the leads gives about a third of the width
    assert widths[50000] / widths[5000] == pytest.approx(10 ** -0.5, rel=0.25)


def test_median_durations_within_10_percent(exports):
    for _, (truth, cal) in exports.items():
        dur = cal.report["durations"].set_index("stage")
        for stage in truth["stages"]:
            med = dur.loc[stage["name"], "median"]
            assert med == pytest.approx(stage["duration_median_days"], rel=0.10), stage["name"]


def test_duration_family_chosen_by_aic_at_scale(exports):
    truth, cal = exports[50000]
    dur = cal.report["durations"].set_index("stage")
    aic = cal.report["duration_aic"]
    for stage in truth["stages"]:
        assert dur.loc[stage["name"], "kind"] == stage["duration_days"]["kind"]
        chosen = aic[(aic.stage == stage["name"]) & aic.chosen]
        assert chosen["aic"].iloc[0] == aic[aic.stage == stage["name"]]["aic"].min()


def test_deal_sizes_and_demand_recovered_at_scale(exports):
    truth, cal = exports[50000]
    deals = cal.report["deal_sizes"].set_index("segment")
    for seg in truth["segments"]:
        assert deals.loc[seg["name"], "median"] == pytest.approx(seg["deal_size_median"], rel=0.2)
    demand = cal.fragment["demand"]
    assert demand["annual_growth"] == pytest.approx(truth["demand"]["annual_growth"], abs=0.06)
    # Each calendar-month factor rests on two years of totals with a 5 % month effect per series
    # and Poisson noise: standard error about 0.02, so 0.08 is 4 standard errors.
    assert np.allclose(demand["seasonality"], truth["demand"]["seasonality"], atol=0.08)
    assert np.corrcoef(demand["seasonality"], truth["demand"]["seasonality"])[0, 1] > 0.9
    got = {(r["segment"], r["region"]): r["leads_per_month"] for r in demand["baseline"]}
    for row in truth["demand"]["baseline"]:
        assert got[(row["segment"], row["region"])] == pytest.approx(row["leads_per_month"], rel=0.1)


def test_fit_families_picks_the_generating_family():
    rng = np.random.default_rng(3)
    samples = {"exponential": rng.exponential(5.0, 20000),
               "lognormal": rng.lognormal(1.0, 0.6, 20000),
               "gamma": rng.gamma(4.0, 2.0, 20000)}
    for kind, x in samples.items():
        best = fit_families(x)[0]
        assert best.kind == kind
        assert best.median == pytest.approx(float(np.median(x)), rel=0.03)
    # gamma(4, 2): mean 8, cv 0.5 (closed form)
    g = next(f for f in fit_families(samples["gamma"]) if f.kind == "gamma")
    assert g.mean == pytest.approx(8.0, rel=0.02) and g.cv == pytest.approx(0.5, rel=0.03)


def test_fragment_is_usable_through_extends(tmp_path: Path):
    folder = synth_crm(tmp_path / "crm", 5, leads=3000)
    fragment = calibrate_dir(folder, tmp_path / "params.yaml")
    assert set(fragment) == {"regions", "segments", "funnel", "demand"}
    (tmp_path / "child.yaml").write_text(
        "extends: params.yaml\nname: from params\nhorizon: {start: 2027-01, months: 12}\n"
        "roles:\n  - {name: SDR, kind: sdr, cost_per_month: 6000}\n"
        "  - {name: AE, kind: ae, cost_per_month: 11000}\n")
    loaded = load_scenario(tmp_path / "child.yaml")
    s = loaded.scenario
    assert [st.name for st in s.funnel.stages] == ["contact", "qualify", "discovery", "close"]
    assert [st.role for st in s.funnel.stages] == ["SDR", "SDR", "AE", "AE"]
    assert {sg.name for sg in s.segments} == {"SMB", "Mid-Market", "Enterprise"}
    assert len(s.demand.baseline) == 6


def test_example_crm_scenario_is_calibrated_end_to_end():
    from engine.data.stage import calibrate_stage
    from engine.plan.demand import forecast_demand

    loaded = load_scenario(REPO / "scenarios" / "scaleup-crm.yaml")
    new, out = calibrate_stage(loaded)
    assert new.path == loaded.path and new is not loaded
    truth = yaml.safe_load((REPO / "scenarios/data/crm_scaleup/truth.yaml").read_text())
    close = next(st for st in new.scenario.funnel.stages if st.name == "close")
    old_close = next(st for st in loaded.scenario.funnel.stages if st.name == "close")
    assert close.role == old_close.role and close.work_hours == old_close.work_hours
    assert close.conversion != old_close.conversion  # calibrated, not copied
    tiers = {sg.name: sg.support_tier for sg in new.scenario.segments}
    assert tiers["Enterprise"] == "premium"  # kept from the scenario
    total = sum(r.leads_per_month for r in new.scenario.demand.baseline)
    expected = sum(r["leads_per_month"] for r in truth["demand"]["baseline"])
    assert total == pytest.approx(expected, rel=0.15)
    assert out.name == "data" and "data/quality.csv" in out.tables
    assert {"data/kpi_rep_month.csv", "data/kpi_outcomes_month.csv", "data/conversions.csv"} <= set(out.tables)
    history = out.result.history
    assert list(history.columns) == ["month", "segment", "region", "leads"]
    assert history["month"].nunique() == 24
    fc = forecast_demand(new, history)
    f = fc.tables["demand/forecast.csv"]
    assert f["month"].min() == "2027-01" and f["month"].nunique() == 24
    assert fc.summary["method"].startswith("ets_log")


def test_history_keeps_complete_months_only(tmp_path: Path):
    from engine.data.calibrate import monthly_history

    folder = tmp_path / "crm"
    folder.mkdir()
    rows = ["L1,2026-01-15T10:00:00", "L2,2026-02-01T00:00:00", "L3,2026-02-20T00:00:00",
            "L4,2026-03-31T12:00:00", "L5,2026-04-10T00:00:00"]
    (folder / "leads.csv").write_text("id,created_at,segment,region\n"
                                      + "\n".join(f"{r},SMB,EMEA" for r in rows) + "\n")
    (folder / "opportunities.csv").write_text("id,lead_id,created_at,amount\n")
    (folder / "stage_history.csv").write_text("lead_id,stage,entered_at\nL1,contact,2026-01-15T10:00:00\n")
    h = monthly_history(read_crm(folder))
    # January starts mid-month and April ends mid-month (export date 10 April): both left out
    assert h["month"].tolist() == ["2026-02", "2026-03"] and h["leads"].tolist() == [2, 1]
