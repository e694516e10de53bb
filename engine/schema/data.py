"""The `data:` section: a CRM export to calibrate the funnel and forecast demand from."""

from __future__ import annotations

from engine.schema.base import Model


class DataSection(Model):
    crm_dir: str
    """Folder of the CRM export (leads.csv, opportunities.csv, stage_history.csv, activities.csv),
    relative to the scenario file."""
    mapping: str | None = None
    """Optional YAML column mapping from the export's column names to ours, relative to the scenario file."""
    lenient: bool = False
    """Skip bad rows (counted in the data-quality report) instead of stopping."""
