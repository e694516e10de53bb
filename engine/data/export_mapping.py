"""How a tool's deal export maps to our columns: the preset files, user mappings, composition,
and finding each export in a folder by its header.

A mapping (a preset under engine/data/presets/, a user's `--mapping` YAML, or both composed, the
user's keys winning) has one entry per export kind:

* `opportunities` (required): one row per opportunity (deal) with its *current* stage;
* `stage_history` (optional): one row per stage change (`opportunity_id`, `stage`, `entered_at`);
* `users` (optional): one row per user (`rep`, `role`, `manager`, `team`, `region`, `active`).

Each entry: `file` (a file name; default: the CSV in the folder whose header holds every
`signature` column), `columns` (our name -> the export's column, or a list of alternatives: the
first one present is read), `required`, `values` (per our column: export value -> ours, e.g. to
merge a rare "North America" into "NA"), `date_format` (strftime; default inferred), `thousands`
(thousands separator allowed in amounts, default none), `won` / `lost` (the stage or status
values of closed deals), `stage_order` (open stages in funnel order) and `history_columns` (a
regular expression over header names with a `stage` group: wide stage history, HubSpot's
`Date entered "<stage>"`). Top level: `export_date` (default: estimated from the dates, see
engine/data/deals.py) and `not_before` (earliest plausible date, default 1990-01-01).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import re
from pathlib import Path
from typing import get_args

import yaml
from pydantic import Field, ValidationError, field_validator

from engine.errors import InputError, Problem
from engine.scenario.schema.base import Model
from engine.scenario.schema.data import Preset

PRESET_DIR = Path(__file__).resolve().parent / "presets"
PRESETS = get_args(Preset)
KINDS = ("opportunities", "stage_history", "users")
DEAL_COLUMNS = ("id", "name", "owner", "account", "stage", "status", "amount", "probability",
                "created_at", "close_date", "won_at", "lost_at", "pipeline", "source", "type",
                "product", "segment", "region")
HISTORY_COLUMNS = ("opportunity_id", "from_stage", "stage", "entered_at")
USER_COLUMNS = ("rep", "role", "manager", "team", "region", "active")
OUR_COLUMNS = {"opportunities": DEAL_COLUMNS, "stage_history": HISTORY_COLUMNS, "users": USER_COLUMNS}
GENERIC_REQUIRED = {"opportunities": ("stage", "created_at"),
                    "stage_history": ("opportunity_id", "stage", "entered_at"),
                    "users": ("rep", "role")}

Columns = dict[str, str | list[str]]


class ExportFile(Model):
    """How one export file maps to our columns (see the module docstring)."""

    file: str | None = None
    """File name inside the export folder (default: found by `signature`)."""
    signature: list[str | list[str]] = Field(default_factory=list)
    """Header columns (or alternatives) that identify this export, whatever the file is called."""
    columns: Columns = Field(default_factory=dict)
    """Our column name -> the export's column name, or a list of alternatives."""
    required: list[str] | None = None
    """Our columns that must be present (default: the kind's minimum)."""
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per our column: export value -> our value."""
    date_format: str | None = None
    """strftime format of the file's dates (default: inferred; ambiguous day/month stops)."""
    thousands: str | None = None
    """Thousands separator allowed in amounts (e.g. ","); default: plain decimals only."""
    won: list[str] | None = None
    """Stage (or status) values of won deals."""
    lost: list[str] | None = None
    """Stage (or status) values of lost deals."""
    stage_order: list[str] | None = None
    """Open stages in funnel order (stages not listed follow, by median time to enter)."""
    history_columns: str | None = None
    """Regular expression over header names with a `stage` group: wide stage history."""

    @field_validator("history_columns")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                pattern = re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
            if "stage" not in pattern.groupindex:
                raise ValueError("needs a named group `stage`")
        return value


class ExportMapping(Model):
    """A deal export's mapping: one entry per export kind, plus export-wide settings."""

    opportunities: ExportFile = ExportFile()
    stage_history: ExportFile | None = None
    users: ExportFile | None = None
    export_date: dt.date | None = None
    """Date the export was taken (default: estimated from its dates)."""
    not_before: dt.date = dt.date(1990, 1, 1)
    """Earliest plausible date: anything earlier is flagged as a data-quality problem."""


def _read_yaml(path: Path, what: str) -> dict:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InputError.single(str(path), "<root>", f"cannot read the {what}: {exc}",
                                "a YAML mapping of export kinds to columns") from None
    if not isinstance(raw, dict):
        raise InputError.single(str(path), "<root>", f"the {what} is not a mapping",
                                "keys opportunities, stage_history, users")
    return raw


def _validated(raw: dict, source: str) -> ExportMapping:
    try:
        return ExportMapping.model_validate(raw)
    except ValidationError as exc:
        raise InputError([Problem(source, None, ".".join(str(p) for p in e["loc"]), e["msg"])
                          for e in exc.errors(include_url=False)]) from None


def preset_raw(name: str) -> dict:
    """The preset's mapping as a plain dict (InputError for an unknown name)."""
    if name not in PRESETS:
        raise InputError.single("--preset", "preset", f"unknown preset {name!r}", " / ".join(PRESETS))
    return _read_yaml(PRESET_DIR / f"{name}.yaml", "preset")


def compose(base: dict, over: dict) -> dict:
    """`over` on top of `base`, per export kind: `columns` and `values` merge key by key, every
    other key is replaced."""
    out = {k: v for k, v in base.items()}
    for key, value in over.items():
        if key in KINDS and isinstance(value, dict) and isinstance(base.get(key), dict):
            merged = {**base[key], **value}
            for sub in ("columns", "values"):
                if sub in value and isinstance(value[sub], dict):
                    merged[sub] = {**(base[key].get(sub) or {}), **value[sub]}
            out[key] = merged
        else:
            out[key] = value
    return out


def load_export_mapping(preset: str | None, mapping: Path | None) -> tuple[ExportMapping, dict]:
    """The composed mapping and the user's own mapping (raw, to tell which columns the user named)."""
    user = _read_yaml(mapping, "mapping") if mapping is not None else {}
    _validated(user, str(mapping))
    raw = compose(preset_raw(preset), user) if preset else user
    return _validated(raw, str(mapping) if mapping else f"preset {preset}"), user


def is_lead_export(folder: Path, preset: str | None, mapping: Path | None) -> bool:
    """True for a lead-level export (engine/data/crm.py): no preset, and a mapping with a
    `leads` entry or a folder with leads.csv; otherwise the folder is read as a deal export."""
    if preset:
        return False
    if mapping is not None:
        try:
            raw = yaml.safe_load(mapping.read_text(encoding="utf-8")) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            raw = {}
        if isinstance(raw, dict) and "leads" in raw:
            return True
    return (folder / "leads.csv").exists()


def header_of(path: Path) -> list[str]:
    """The first CSV record of `path` (empty for an empty or unreadable file)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _matches(signature: list[str | list[str]], header: set[str]) -> bool:
    def one(entry: str | list[str]) -> bool:
        return any(e in header for e in ([entry] if isinstance(entry, str) else entry))
    return bool(signature) and all(one(e) for e in signature)


def find_exports(folder: Path, mapping: ExportMapping) -> dict[str, Path]:
    """Export kind -> file: the mapping's `file`, else the one CSV whose header matches the
    kind's signature (history and users are tried before opportunities; each file is used once).
    `opportunities.csv` / `stage_history.csv` / `users.csv` are the fallbacks by name."""
    csvs = sorted(p for p in folder.iterdir() if p.suffix.lower() == ".csv" and p.is_file())
    headers = {p: set(header_of(p)) for p in csvs}
    found: dict[str, Path] = {}
    for kind in ("stage_history", "users", "opportunities"):
        spec: ExportFile | None = getattr(mapping, kind)
        if spec is None and kind != "opportunities":
            spec = ExportFile()
        if spec.file:
            path = folder / spec.file
            if not path.exists():
                raise InputError.single(str(path), "<file>", "file not found",
                                        f"the {kind} export named by `{kind}.file` in the mapping")
            found[kind] = path
            continue
        taken = set(found.values())
        hits = [p for p in csvs if p not in taken and _matches(spec.signature, headers[p])]
        if len(hits) > 1:
            raise InputError.single(str(folder), kind, "several files look like the " + kind +
                                    " export: " + ", ".join(p.name for p in hits),
                                    f"one, or name it with `{kind}.file` in a mapping")
        by_name = folder / f"{kind}.csv"
        if hits:
            found[kind] = hits[0]
        elif by_name.exists() and by_name not in taken:
            found[kind] = by_name
    if "opportunities" not in found:
        wanted = ", ".join(e if isinstance(e, str) else e[0] for e in mapping.opportunities.signature)
        raise InputError.single(str(folder), "<folder>", "no opportunity export found",
                                f"a CSV whose header has {wanted}" if wanted else
                                "opportunities.csv, or `opportunities.file` in the mapping")
    return found


def did_you_mean(name: str, header: list[str]) -> str:
    """`; did you mean "X"?` for the closest header column, or the header itself."""
    close = difflib.get_close_matches(name, header, n=1, cutoff=0.6)
    if close:
        return f'did you mean "{close[0]}"?'
    return "columns: " + ", ".join(header[:12]) + (", ..." if len(header) > 12 else "")
