"""Default values in one place, each with its published source (../shared/REFERENCES.md).

These are priors for a scenario that does not state a value; calibration from a CRM export
(`salesops calibrate`) overrides them.
"""

# Ramp curves: productive share by month of tenure.
AE_RAMP = (0.2, 0.4, 0.6, 0.8, 1.0)
"""AE ramp to full productivity in about 5 months (Bridge Group 2024: median 5.0 months)."""
SDR_RAMP = (0.33, 0.67, 1.0)
"""SDR ramp of about 3 months (Bridge Group 2018: 3.2 months)."""
SUPPORT_RAMP = (0.5, 1.0)
"""Support agents: about two months to full handle-time productivity (practitioner prior)."""

ATTRITION_PER_YEAR = 0.30
"""Rep attrition about 1 in 3 a year (Bridge Group; CSO Insights 25.8 %): 0.25-0.35 typical."""

HIRING_LEAD_TIME_MONTHS = 2
"""Time to fill a sales role 41 days (WSJ) to 58 days (HRO Today): about two months."""

HOURS_PER_MONTH = 160.0
"""Contracted hours per person per month (40 h x 4 weeks)."""
SELLING_SHARE = 0.75
"""Selling-time utilisation 70-85 % (Pedowitz Group capacity-planning guide)."""

SDR_PER_AE = 1 / 2.5
"""About 1 SDR per 2.5 AEs (TOPO 2015)."""
REPS_PER_MANAGER = 8
"""One front-line manager per about 8 reps (Bridge Group, TOPO)."""

SUPPORT_SHRINKAGE = 0.30
"""Support shrinkage 25-35 % of scheduled time (breaks, meetings, absence)."""
SERVICE_LEVEL_TARGET = 0.80
SERVICE_LEVEL_WITHIN_SECONDS = 20.0
"""Usual support target: 80 % of contacts answered within 20 s."""

SPEED_TO_LEAD_HALF_LIFE_HOURS = 24.0
SPEED_TO_LEAD_FLOOR = 0.4
"""Contact within an hour ~7x as likely to qualify as an hour later, 60x vs a day (HBR 2011);
MECLABS found almost no effect: a moderate decay with a high floor is the prior."""

DEMAND_UNCERTAINTY_CV = 0.10
"""Month-ahead coefficient of variation of lead volume when there is no history to fit."""

ARR_OPS_ROLES = ((0.0, "ops generalist"), (1_000_000.0, "sales-effectiveness manager"),
                 (10_000_000.0, "sales-ops director"))
"""Ops roles ARR calls for: a technical ops generalist below $1M ARR, a sales-effectiveness
manager from $1M, a sales-ops director from $10M (brief)."""
