"""KPI view on a hand-built export whose figures are worked out by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.data.crm import read_crm
from engine.data.kpis import kpi_tables

FILES = {
    "leads.csv": ["id,created_at,segment,region,owner",
                  "L1,2026-01-05T10:00:00,SMB,EMEA,S1",
                  "L2,2026-01-20T08:00:00,SMB,EMEA,S1",
                  "L3,2026-02-03T09:00:00,SMB,NA,S2"],
    "opportunities.csv": ["id,lead_id,created_at,amount,closed_at,won,owner",
                          "O1,L1,2026-01-10,1200,2026-02-01,true,AE1",
                          "O2,L2,2026-01-25,600,2026-02-15,false,AE1",
                          "O3,L3,2026-02-05,2400,2026-03-10,true,AE2"],
    "stage_history.csv": ["lead_id,stage,entered_at",
                          "L1,contact,2026-01-05T10:00:00",
                          "L2,contact,2026-01-20T08:00:00",
                          "L3,contact,2026-02-03T09:00:00"],
    "activities.csv": ["rep,type,at,lead_id,opportunity_id",
                       "S1,email,2026-01-05T12:00:00,L1,",
                       "S1,call,2026-01-05T13:00:00,L1,",
                       "S1,call,2026-01-20T11:00:00,L2,",
                       "S2,email,2026-02-03T10:00:00,L3,",
                       "AE1,demo,2026-01-12T10:00:00,,O1",
                       "AE1,proposal,2026-01-20T10:00:00,,O1",
                       "AE2,demo,2026-02-10T10:00:00,,O3"],
}


@pytest.fixture(scope="module")
def kpis(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crm")
    for name, lines in FILES.items():
        (folder / name).write_text("\n".join(lines) + "\n")
    return kpi_tables(read_crm(Path(folder)))


def test_inputs_per_rep_and_month(kpis):
    t = kpis["data/kpi_rep_month.csv"].set_index(["rep", "month"])
    s1 = t.loc[("S1", "2026-01")]
    assert (s1["team"], s1["email"], s1["call"], s1["leads_assigned"]) == ("SDR", 1, 2, 2)
    assert s1["first_touch_hours_median"] == pytest.approx(2.5)  # 2 h (L1) and 3 h (L2)
    assert t.loc[("S2", "2026-02"), "first_touch_hours_median"] == pytest.approx(1.0)
    ae1 = t.loc[("AE1", "2026-01")]
    assert (ae1["team"], ae1["demo"], ae1["proposal"], ae1["opportunities_created"]) == ("AE", 1, 1, 2)
    team = kpis["data/kpi_team_month.csv"].set_index(["team", "month"])
    assert team.loc[("AE", "2026-02"), "opportunities_created"] == 1
    assert team.loc[("SDR", "2026-01"), "reps"] == 1


def test_outcomes_per_month(kpis):
    o = kpis["data/kpi_outcomes_month.csv"].set_index("month")
    assert list(o.index) == ["2026-01", "2026-02", "2026-03"]
    feb, mar = o.loc["2026-02"], o.loc["2026-03"]
    assert (feb["closed"], feb["won"], feb["win_rate"], feb["bookings"]) == (2, 1, 0.5, 1200)
    assert feb["average_deal"] == 1200
    assert feb["cycle_days_median"] == pytest.approx(26 + 14 / 24)  # Jan 5 10:00 -> Feb 1
    # each booking is recognised over 12 months: 1200 / 12 from February, + 2400 / 12 from March
    assert feb["revenue"] == pytest.approx(100) and mar["revenue"] == pytest.approx(300)
    assert mar["bookings_growth"] == pytest.approx(1.0)
    assert o.loc["2026-01", "bookings"] == 0
    daily = kpis["data/kpi_bookings_daily.csv"]
    assert daily["bookings"].tolist() == [1200, 2400]


def test_top_vs_bottom_quartile(kpis):
    q = kpis["data/kpi_quartiles.csv"]
    ae = q[q.team == "AE"].set_index("metric")
    # AE2 booked 2400 in its one active month, AE1 1200: top and bottom quartile of two reps
    assert ae.loc["bookings_per_month", "top_quartile"] == pytest.approx(2400)
    assert ae.loc["bookings_per_month", "bottom_quartile"] == pytest.approx(1200)
    assert ae.loc["bookings_per_month", "ratio"] == pytest.approx(2.0)
