"""synth-crm: deterministic for a seed, valid against the import checks, truth.yaml matches the
scenario it was drawn from, and the noise it promises is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from engine.data.crm import read_crm
from engine.data.fit import median
from engine.data.synthetic import DEFAULT_SCENARIO, synth_crm
from engine.scenario.load import load_scenario

NAMES = ("leads", "opportunities", "stage_history", "activities")


def test_same_seed_same_files_other_seed_differs(tmp_path: Path):
    a = synth_crm(tmp_path / "a", 3, leads=1500)
    b = synth_crm(tmp_path / "b", 3, leads=1500)
    c = synth_crm(tmp_path / "c", 4, leads=1500)
    for name in NAMES:
        assert (a / f"{name}.csv").read_bytes() == (b / f"{name}.csv").read_bytes()
    assert (a / "leads.csv").read_bytes() != (c / "leads.csv").read_bytes()


def test_export_is_valid_and_truth_matches_scenario(tmp_path: Path):
    folder = synth_crm(tmp_path / "crm", 9, leads=3000)
    crm = read_crm(folder)  # strict: raises on any bad row
    assert crm.quality[crm.quality["action"] == "error"].empty
    truth = yaml.safe_load((folder / "truth.yaml").read_text())
    s = load_scenario(DEFAULT_SCENARIO).scenario
    for st, t in zip(s.funnel.stages, truth["stages"], strict=True):
        assert t["name"] == st.name
        assert t["conversion"] == {g.name: st.conversion_for(g.name) for g in s.segments}
        assert t["duration_median_days"] == median(st.duration_days)
    assert truth["demand"]["annual_growth"] == s.demand.annual_growth
    # expected lead total: 3000 (Poisson with small month effects: within 5 %)
    assert abs(len(crm.leads) - 3000) < 150
    # the history ends the month before the horizon starts
    assert crm.leads["created_at"].max() < pd.Timestamp(s.horizon.start + "-01")
    assert crm.leads["created_at"].min() >= pd.Timestamp("2025-01-01")


def test_noise_is_present(tmp_path: Path):
    folder = synth_crm(tmp_path / "crm", 21, leads=6000)
    leads = pd.read_csv(folder / "leads.csv", dtype=str, keep_default_na=False)
    # missing values in optional fields
    assert 0.02 < (leads["source"] == "").mean() < 0.08
    assert 0.02 < (leads["employees"] == "").mean() < 0.06
    crm = read_crm(folder)
    # seasonality: August (factor 0.75) is below September (1.10) in both years
    month = crm.leads["created_at"].dt.month
    year = crm.leads["created_at"].dt.year
    for y in (2025, 2026):
        assert ((month == 8) & (year == y)).sum() < 0.85 * ((month == 9) & (year == y)).sum()
    # trend: 2026 has about 35 % more leads than 2025
    assert 1.2 < (year == 2026).sum() / (year == 2025).sum() < 1.5
    # rep-to-rep differences: AE win rates are not all equal
    o = crm.opportunities[crm.opportunities["closed_at"].notna()]
    rates = o.groupby("owner")["won"].mean()
    assert np.ptp(rates.to_numpy(dtype=float)) > 0.02
    # censoring: some opportunities are still open at the export date
    assert crm.opportunities["closed_at"].isna().sum() > 0
