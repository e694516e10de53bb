"""A small valid scenario text that tests patch line by line (line numbers matter)."""

BASE = """\
name: t
horizon: {start: 2027-01, months: 12}
segments:
  - name: SMB
    deal_size: {kind: lognormal, mean: 1000, cv: 0.5}
regions:
  - name: EU
demand:
  baseline:
    - {segment: SMB, region: EU, leads_per_month: 100}
  seasonality: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
funnel:
  stages:
    - name: contact
      role: SDR
      conversion: 0.5
      work_hours: 0.5
      duration_days: {kind: exponential, mean: 1}
roles:
  - name: SDR
    kind: sdr
    cost_per_month: 5000
    headcount_start: 3
    ramp: [0.5, 1.0]
    attrition_per_year: 0.3
plan:
  budget_per_month: 100000
simulation:
  replications: 2
"""
