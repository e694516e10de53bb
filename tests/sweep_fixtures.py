"""Small scenario and sweep files for the sweep, stress and shock tests, written into tmp folders."""

from __future__ import annotations

from pathlib import Path

DEMAND = """\
name: demand only
horizon: {start: 2027-01, months: 12}
segments:
  - {name: SMB, deal_size: {mean: 1000}}
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 100}]
  annual_growth: 0.1
"""

MMC = """\
name: M/M/c support queue
horizon: {start: 2027-01, months: 1}
segments:
  - {name: SMB, deal_size: {kind: fixed, mean: 1000}, support_tier: standard}
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 0}]
  uncertainty_cv: 0
funnel:
  stages:
    - {name: close, role: Rep, conversion: 0.5, work_hours: 1, duration_days: {kind: fixed, mean: 1}}
roles:
  - {name: Rep, kind: ae, cost_per_month: 1000, headcount_start: 1, attrition_per_year: 0,
     hiring_lead_time_months: 0, ramp: [1.0]}
  - {name: Agent, kind: support, cost_per_month: 1000, headcount_start: 5, attrition_per_year: 0,
     hiring_lead_time_months: 0, ramp: [1.0]}
support:
  role: Agent
  shrinkage: 0
  monthly_churn: 0
  tiers:
    - {name: standard, tickets_per_customer_month: 20, aht_seconds: 360, target: 0.8,
       within_seconds: 20, customers_start: 1000}
simulation:
  replications: 2
  seed: 1
  calendar: {kind: 24/7}
"""
"""One support tier of 1000 customers, 5 agents, exponential handle time of 360 s, 24/7 and
no churn, attrition or sales: within the month an M/M/5 queue with arrival rate
1000 x tickets_per_customer_month / 744 per hour (January has 744 hours)."""

UNITS = "id,x,y\nA,0,0\nB,1,0\nC,0,1\nD,5,5\nE,6,5\nF,5,6\n"
"""Two clusters of three units: with p = 2 the optimal p-median cost is 1 + 1 + 1 + 1 = 4."""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path

PLANNED = """\
name: a small plan
horizon: {start: 2027-01, months: 6}
segments:
  - {name: SMB, deal_size: {kind: fixed, mean: 10000}}
regions: [{name: EU}]
demand:
  baseline: [{segment: SMB, region: EU, leads_per_month: 150}]
  uncertainty_cv: 0.05
funnel:
  stages:
    - {name: contact, role: SDR, conversion: 0.5, work_hours: 1.0, duration_days: {kind: fixed, mean: 1}}
    - {name: close, role: AE, conversion: 0.3, work_hours: 4.0, duration_days: {kind: fixed, mean: 5}}
  lead_wait_limit_hours: 120
roles:
  - {name: SDR, kind: sdr, cost_per_month: 5000, headcount_start: 1, attrition_per_year: 0,
     hiring_lead_time_months: 0, ramp: [1.0], max_hires_per_month: 5}
  - {name: AE, kind: ae, cost_per_month: 8000, headcount_start: 2, attrition_per_year: 0,
     hiring_lead_time_months: 0, ramp: [1.0], max_hires_per_month: 5}
plan:
  budget_per_month: 200000
  cases: [base]
simulation:
  replications: 2
  seed: 5
"""
"""A plan the optimiser grows with demand (hiring pays: deals of 10,000 at 15 % of leads)."""
