"""Named shocks: schema rules and the per-month factors the stages multiply by."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter, ValidationError

from engine.schema.shocks import Shock
from engine.shocks import (
    apply_demand_shocks,
    attrition_factor,
    check_shocks,
    demand_factor,
    hiring_cap_factor,
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
