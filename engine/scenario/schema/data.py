"""The `data:` section: a CRM export to calibrate the funnel and forecast demand from.

File formats and the column mapping are documented in `engine/crm.py`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.scenario.schema.base import Model, PosFloat, PosInt


class ScoreRule(Model):
    """One points-based lead-scoring rule: leads whose `column` matches get `points`."""

    column: str = Field(min_length=1)
    """A column of leads.csv (e.g. source, engagement_score)."""
    equals: str | None = None
    """Match leads whose value equals this text (categorical columns)."""
    min: float | None = None
    """Match leads whose numeric value is at least this."""
    max: float | None = None
    """Match leads whose numeric value is below this."""
    points: float
    """Points added to a matching lead's score."""


class Scoring(Model):
    """How leads are scored (engine/scoring.py)."""

    method: Literal["logistic", "rules"] = "logistic"
    """`logistic`: a logistic regression of becoming an opportunity on segment, region, source
    and the numeric scoring columns of leads.csv, fitted on historical leads; `rules`: the
    points in `rules`."""
    rules: list[ScoreRule] = Field(default_factory=list)
    """Points-based rules (used when method is `rules`); the score is rescaled to a probability
    by the observed rate of becoming an opportunity per score band."""
    horizon_days: PosInt = 90
    """Near-term window (days) of the expected demand from the scored open pipeline."""


Preset = Literal["salesforce", "hubspot", "pipedrive"]
"""Deal-export presets (engine/data/presets/<name>.yaml)."""


class DataSection(Model):
    crm_dir: str
    """Folder of the CRM export, relative to the scenario file: a lead-level export (leads.csv,
    opportunities.csv, stage_history.csv, activities.csv) or a deal export (an opportunity
    report, optional stage history and users sheet; read when `preset` is given or the folder
    has no leads.csv)."""
    preset: Preset | None = None
    """The deal export of this tool (engine/data/presets/), found in `crm_dir` by its header:
    the funnel starts at "opportunity created" (docs/crm-presets.md)."""
    mapping: str | None = None
    """Optional YAML column mapping from the export's column names to ours, relative to the
    scenario file (with `preset`, it overrides the preset's columns key by key)."""
    lenient: bool = False
    """Skip bad rows (counted in the data-quality report) instead of stopping."""
    stage_roles: dict[str, str] | None = None
    """Role name working each funnel stage (stage name -> role name). Default: the role of the
    same-named stage in the scenario's funnel; otherwise stages entered before an opportunity
    exists go to `SDR` and stages of opportunities to `AE`."""
    activity_hours: dict[str, PosFloat] | None = None
    """Working time per activity type (hours; types email, call, demo, proposal, meeting), used
    to estimate work hours per stage when the scenario has none. Default in engine/calibrate.py.
    Lead-level exports only (a deal export records no activities)."""
    forecast: Literal["auto", "history", "parameters"] = "auto"
    """Demand forecast source: `history` (monthly lead counts from the export; from a deal
    export, opportunities per month / the lead stages' conversions), `parameters`
    (the calibrated `demand` section), or `auto` (history when there are at least 6 months)."""
    scoring: Scoring = Scoring()
    """Lead scoring of the open pipeline (lead-level exports only)."""
