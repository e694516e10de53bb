"""Named shocks: schema rules and the per-month factors the stages multiply by."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from engine.scenario.schema.shocks import Shock
from engine.scenario.shocks import (
    apply_demand_shocks,
    attrition_factor,
    check_shocks,
    demand_factor,
    first_hiring_month,
    hiring_cap_factor,
    leave_hour,
    price_factor,
)

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]
SHOCK = TypeAdapter(Shock)


def _scenario(*shocks: dict) -> SimpleNamespace:
    return SimpleNamespace(
        shocks=[SHOCK.validate_python(s) for s in shocks],
        roles=[SimpleNamespace(name="AE"), SimpleNamespace(name="SDR")],
        segments=[SimpleNamespace(name="SMB"), SimpleNamespace(name="ENT")],
        regions=[SimpleNamespace(name="EU"), SimpleNamespace(name="NA")])


def test_no_shocks_means_all_ones() -> None:
    s = _scenario()
    for f in (demand_factor(s, MONTHS, "SMB", "EU"), price_factor(s, MONTHS, "SMB"),
              hiring_cap_factor(s, "AE", MONTHS), attrition_factor(s, "AE", MONTHS)):
        np.testing.assert_array_equal(f, np.ones(12))


def test_hiring_freeze_zeroes_the_cap_in_its_window_only() -> None:
    s = _scenario({"kind": "hiring_freeze", "from_month": "2027-04", "to_month": "2027-06", "role": "AE"},
                  {"kind": "hiring_freeze", "from_month": "2027-11"})
    ae = hiring_cap_factor(s, "AE", MONTHS)
    sdr = hiring_cap_factor(s, "SDR", MONTHS)
    np.testing.assert_array_equal(ae, [1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0])
    np.testing.assert_array_equal(sdr, [1] * 10 + [0, 0])


def test_spikes_and_demand_shocks_compound() -> None:
    s = _scenario({"kind": "attrition_spike", "from_month": "2027-03", "to_month": "2027-04", "factor": 2.0},
                  {"kind": "attrition_spike", "from_month": "2027-04", "to_month": "2027-05", "factor": 1.5,
                   "role": "SDR"},
                  {"kind": "demand_surge", "from_month": "2027-07", "factor": 1.3, "segment": "SMB"},
                  {"kind": "demand_drop", "from_month": "2027-10", "factor": 0.5, "region": "NA"},
                  {"kind": "price_change", "from_month": "2027-02", "to_month": "2027-02", "factor": 0.9})
    np.testing.assert_allclose(attrition_factor(s, "SDR", MONTHS)[1:6], [1, 2, 3, 1.5, 1])
    np.testing.assert_allclose(attrition_factor(s, "AE", MONTHS)[1:6], [1, 2, 2, 1, 1])
    np.testing.assert_allclose(demand_factor(s, MONTHS, "SMB", "NA")[5:], [1, 1.3, 1.3, 1.3, 0.65, 0.65, 0.65])
    np.testing.assert_allclose(demand_factor(s, MONTHS, "ENT", "EU"), np.ones(12))
    np.testing.assert_allclose(price_factor(s, MONTHS, "ENT")[:3], [1, 0.9, 1])


def test_apply_demand_shocks_scales_leads_of_every_case() -> None:
    s = _scenario({"kind": "demand_drop", "from_month": "2027-02", "factor": 0.5, "segment": "ENT"})
    frame = pd.DataFrame({"month": ["2027-01", "2027-02", "2027-02", "2027-03"],
                          "segment": ["ENT", "ENT", "SMB", "ENT"], "region": ["EU"] * 4,
                          "case": ["base", "low", "base", "high"], "leads": [10.0, 10.0, 10.0, 8.0]})
    out = apply_demand_shocks(frame, s)
    assert out["leads"].tolist() == [10.0, 5.0, 10.0, 4.0]
    assert frame["leads"].tolist() == [10.0, 10.0, 10.0, 8.0]  # the input is not changed


def test_schema_rejects_bad_shocks() -> None:
    with pytest.raises(ValidationError, match="demand_drop"):
        SHOCK.validate_python({"kind": "demand_surge", "from_month": "2027-01", "factor": 0.8})
    with pytest.raises(ValidationError, match="before"):
        SHOCK.validate_python({"kind": "hiring_freeze", "from_month": "2027-05", "to_month": "2027-02"})
    with pytest.raises(ValidationError):
        SHOCK.validate_python({"kind": "hiring_freeze", "from_month": "2027-5"})
    with pytest.raises(ValidationError):
        SHOCK.validate_python({"kind": "price_change", "from_month": "2027-01", "factor": 1.1, "role": "AE"})


def test_check_shocks_names_unknown_references() -> None:
    s = _scenario({"kind": "hiring_freeze", "from_month": "2027-01", "role": "CSM"},
                  {"kind": "demand_surge", "from_month": "2027-01", "factor": 2, "region": "APAC"})
    problems = check_shocks(s, lambda path, msg, exp=None: (".".join(map(str, path)), msg, exp))
    assert problems == [("shocks.0.role", "unknown role 'CSM'", "one of: AE, SDR"),
                        ("shocks.1.region", "unknown region 'APAC'", "one of: EU, NA")]


def test_leave_hour_inverts_the_piecewise_hazard() -> None:
    bounds = np.array([0.0, 100.0, 200.0, 300.0])
    flat = np.ones(3)
    assert leave_hour(50.0, 0.3, 0.01, flat, bounds) == pytest.approx(80.0)
    # Hazard doubles in month 1: 50 h at 0.01 uses 0.5, the remaining 0.25 at 0.02 takes 12.5 h.
    assert leave_hour(50.0, 0.75, 0.01, np.array([1.0, 2.0, 1.0]), bounds) == pytest.approx(112.5)
    # A month with factor 0 is skipped entirely; beyond the horizon the plain hazard applies.
    assert leave_hour(0.0, 1.5, 0.01, np.array([1.0, 0.0, 1.0]), bounds) == pytest.approx(250.0)
    assert leave_hour(0.0, 4.0, 0.01, flat, bounds) == pytest.approx(400.0)
    assert leave_hour(0.0, 1.0, 0.0, flat, bounds) == np.inf
    # Monte Carlo: with a factor of 3 in month 0, P(leave within month 0) = 1 - exp(-3 x 0.01 x 100).
    draws = np.random.default_rng(1).exponential(1.0, 5000)
    early = np.mean([leave_hour(0.0, e, 0.01, np.array([3.0, 1.0, 1.0]), bounds) < 100 for e in draws])
    assert early == pytest.approx(1 - np.exp(-3.0), abs=0.015)


def test_first_hiring_month_skips_a_freeze() -> None:
    s = _scenario({"kind": "hiring_freeze", "from_month": "2027-03", "to_month": "2027-05", "role": "AE"})
    assert first_hiring_month(s, "AE", MONTHS, 1) == 1
    assert first_hiring_month(s, "AE", MONTHS, 2) == 5
    assert first_hiring_month(s, "SDR", MONTHS, 2) == 2
    frozen = _scenario({"kind": "hiring_freeze", "from_month": "2027-10"})
    assert first_hiring_month(frozen, "AE", MONTHS, 10) is None


def test_a_demand_shock_reaches_the_forecast(tmp_path) -> None:
    from sweep_fixtures import DEMAND, write

    from engine.plan.demand import forecast_demand
    from engine.scenario.load import load_scenario

    plain = write(tmp_path, "plain.yaml", DEMAND)
    shocked = write(tmp_path, "shocked.yaml", DEMAND + "shocks:\n  - {kind: demand_drop, from_month: 2027-07, "
                                                       "factor: 0.5, name: Q3 slump}\n")
    a = forecast_demand(load_scenario(plain)).result.forecast
    b = forecast_demand(load_scenario(shocked)).result.forecast
    ratio = (b["leads"] / a["leads"]).to_numpy()
    expected = np.where(a["month"].astype(str) >= "2027-07", 0.5, 1.0)
    np.testing.assert_allclose(ratio, expected)
