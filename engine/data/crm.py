"""CRM export import: read, map, validate (vectorised) and type the four CSV files.

Formats (UTF-8 CSV, a header line, one row per line; dates ISO 8601 such as `2026-03-01` or
`2026-03-01T09:30:00`, optionally with a time-zone offset, read as UTC; money in the scenario
currency):

* `leads.csv`: `id`, `created_at`, `segment`, `region` (required), `source`, `owner` (the SDR;
  optional); every other column is kept as a scoring field (e.g. `employees`,
  `engagement_score`).
* `opportunities.csv`: `id`, `lead_id`, `created_at`, `amount` (>= 0; the first-year contract
  value) (required), `account_id`, `closed_at`, `won` (true/false, empty while open), `owner`
  (the AE) (optional). A closed opportunity has both `closed_at` and `won`.
* `stage_history.csv`: `stage`, `entered_at` and one of `lead_id` / `opportunity_id` per row
  (one row each time a lead or opportunity enters a funnel stage, the first stage included).
* `activities.csv` (optional file): `rep`, `type` (email, call, demo, proposal, meeting), `at`
  and one of `lead_id` / `opportunity_id`.

A column mapping (YAML) lets an export from Salesforce or HubSpot be read without editing it::

    leads:
      file: Lead.csv                  # file name in the folder (default leads.csv)
      columns: {id: Id, created_at: CreatedDate, segment: Segment__c, region: Region__c}
      values: {segment: {"Small Business": SMB}}    # optional value renames per column
      date_format: "%m/%d/%Y %H:%M"   # optional; default ISO 8601
    opportunities:
      columns: {won: IsWon, amount: Amount}
      values: {won: {"Closed Won": "true", "Closed Lost": "false"}}

`columns` maps our column name to the export's; unmapped columns keep their names.

Every bad row becomes a `Problem` `FILE:LINE: column: problem (expected)`, LINE being the CSV
line (header = 1). Strict mode raises one `InputError` with all of them (at most
`MAX_LINES_PER_CHECK` lines per file, column and problem, plus a count of the rest). Lenient mode
skips bad rows, and rows that refer to a skipped or unknown row, and counts every skip in the
data-quality report. Nothing is dropped silently. A row with more fields than the header stops
a strict import (`FILE:LINE: <row>: wrong number of fields`); lenient mode skips and counts it
too. A missing file or column stops the import in both modes (`FILE:1: column: missing column`),
as do duplicate header names, a mapped column the file lacks (`no such column; did you mean
"X"?`) and a leads.csv with only a header.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import Field, ValidationError

from engine.data.export_mapping import did_you_mean, header_of
from engine.errors import InputError, Problem
from engine.safe_files import require_regular_file
from engine.scenario.schema.base import Model

MAX_LINES_PER_CHECK = 20
WIDE_ROW = "wrong number of fields"
"""Problem text for a CSV row with more fields than its header."""
ACTIVITY_TYPES = ("email", "call", "demo", "proposal", "meeting")
TRUE_TEXT = {"true", "1", "yes", "y", "won", "t"}
FALSE_TEXT = {"false", "0", "no", "n", "lost", "f"}
ISO_HINT = "an ISO 8601 date, e.g. 2026-03-01 or 2026-03-01T09:30:00"

FILES = ("leads", "opportunities", "stage_history", "activities")
REQUIRED = {
    "leads": ("id", "created_at", "segment", "region"),
    "opportunities": ("id", "lead_id", "created_at", "amount"),
    "stage_history": ("stage", "entered_at"),
    "activities": ("rep", "type", "at"),
}
OPTIONAL = {
    "leads": ("source", "owner"),
    "opportunities": ("account_id", "closed_at", "won", "owner"),
    "stage_history": ("lead_id", "opportunity_id"),
    "activities": ("lead_id", "opportunity_id"),
}
OPTIONAL_FILES = {"activities"}


class FileMapping(Model):
    """How one export file maps to our format."""

    file: str | None = None
    """File name inside the CRM folder (default `<name>.csv`)."""
    columns: dict[str, str] = Field(default_factory=dict)
    """Our column name -> the export's column name."""
    values: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per our column: export value -> our value (e.g. segment labels, won flags)."""
    date_format: str | None = None
    """strftime format of the file's dates (default ISO 8601)."""


class Mapping(Model):
    """Column mapping of a CRM export (YAML), one entry per file."""

    leads: FileMapping = FileMapping()
    opportunities: FileMapping = FileMapping()
    stage_history: FileMapping = FileMapping()
    activities: FileMapping = FileMapping()


@dataclass
class CrmData:
    """A validated, typed CRM export. Times are naive UTC timestamps; amounts in currency.

    `stage_history` and `activities` carry a resolved `lead_id` on every row (from the
    opportunity when the row names an opportunity). `quality` has one row per file and problem:
    file, column, problem, rows, action (`skipped` or `read`).
    """

    leads: pd.DataFrame
    opportunities: pd.DataFrame
    stage_history: pd.DataFrame
    activities: pd.DataFrame
    quality: pd.DataFrame
    as_of: pd.Timestamp
    """Export date: the latest timestamp in the export."""
    files: dict[str, str] = field(default_factory=dict)
    export_columns: dict[str, dict[str, str]] = field(default_factory=dict)
    """Per file (`leads`, ...): our column name -> the export's, for the columns the mapping renames."""

    def export_column(self, file: str, ours: str) -> str:
        """The export's name of our column `ours` in `file` (ours when the mapping keeps it)."""
        return self.export_columns.get(file, {}).get(ours, ours)


class _Checker:
    """Collects bad-row masks of one file; strict problems or lenient skip counts."""

    def __init__(self, name: str, path: str, frame: pd.DataFrame, too_wide: int = 0):
        self.name = name
        self.path = path
        self.frame = frame
        self.bad = pd.Series(False, index=frame.index)
        self.problems: list[Problem] = []
        self.counts: list[dict] = []
        self.too_wide = too_wide
        """Rows left out while reading (lenient mode): more fields than the header."""
        if too_wide:
            self.counts.append({"file": name, "column": "<row>", "problem": WIDE_ROW, "rows": too_wide})

    def flag(self, mask: pd.Series, column: str, problem: str, expected: str | None,
             consequence: bool = False) -> None:
        """Record the rows in `mask` (not yet bad) as bad for `column`."""
        mask = mask.fillna(False).astype(bool) & ~self.bad
        n = int(mask.sum())
        if n == 0:
            return
        self.bad |= mask
        self.counts.append({"file": self.name, "column": column, "problem": problem, "rows": n})
        if consequence:
            return
        lines = (mask[mask].index.to_numpy()[:MAX_LINES_PER_CHECK] + 2).tolist()
        self.problems += [Problem(self.path, int(line), column, problem, expected) for line in lines]
        if n > MAX_LINES_PER_CHECK:
            self.problems.append(Problem(self.path, None, column,
                                         f"{n - MAX_LINES_PER_CHECK} more rows with: {problem}",
                                         expected))


def load_mapping(path: Path | None) -> Mapping:
    """Read a column-mapping YAML (InputError naming the file and field when invalid)."""
    if path is None:
        return Mapping()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError.single(str(path), "<root>", f"cannot read the mapping: {exc}",
                                "a YAML mapping of file names to columns") from None
    try:
        return Mapping.model_validate(raw)
    except ValidationError as exc:
        raise InputError([Problem(str(path), None, ".".join(str(p) for p in e["loc"]), e["msg"])
                          for e in exc.errors(include_url=False)]) from None


def _read(folder: Path, name: str, fm: FileMapping
          ) -> tuple[pd.DataFrame | None, str, list[tuple[int, int]]]:
    """The file's frame (None when an optional file is absent), its path, and the (line, field
    count) of the rows left out for having more fields than the header."""
    path = folder / (fm.file or f"{name}.csv")
    if not path.exists():
        if name in OPTIONAL_FILES:
            return None, str(path), []
        raise InputError.single(str(path), "<file>", "file not found",
                                f"{name}.csv in the CRM folder (or a `file` in the mapping)")
    path = require_regular_file(path, "<file>", expected=f"{name}.csv, a regular CSV file")
    _check_header(path, fm)
    frame, wide = _read_csv(path)
    if frame.empty and not wide and name == "leads":
        raise InputError.single(str(path), "<file>", "no data rows (only a header)",
                                "at least one row under the header")
    frame = frame.rename(columns={theirs: ours for ours, theirs in fm.columns.items()})
    for column, renames in fm.values.items():
        if column in frame.columns:
            frame[column] = frame[column].replace(renames)
    return frame, str(path), wide


def _check_header(path: Path, fm: FileMapping) -> None:
    """InputError for duplicate names in the header or a mapped column the file lacks (with the
    closest header name)."""
    header = header_of(path)
    problems = [Problem(str(path), 1, name, f"duplicate column (columns {header.index(name) + 1} and {i})",
                        "each column name once in the header")
                for i, name in enumerate(header, start=1) if header.index(name) + 1 < i]
    problems += [Problem(str(path), 1, theirs, f"no such column; {did_you_mean(theirs, header)}",
                         f"the column mapped to `{ours}`")
                 for ours, theirs in fm.columns.items() if header and theirs not in header]
    if problems:
        raise InputError(problems)


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """All columns as text, empty cells as "" (no NA guessing: `NA` is a region name), and the
    (line, field count) of the rows left out for having more fields than the header.

    The multithreaded pyarrow parser first; when it rejects the file, Python's csv reader, which
    knows the line of every record. A too-wide row cannot be assigned to columns: the checker
    turns it into a Problem (strict) or a counted skip (lenient). The frame's index is the CSV
    line of each row minus 2 (header on line 1).
    """
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[], engine="pyarrow"), []
    except Exception:  # any pyarrow parse failure: read record by record below
        pass
    header, rows, lines, wide = _records(path)
    frame = pd.DataFrame(rows, columns=header, index=pd.Index(np.asarray(lines, dtype=np.int64) - 2))
    return frame, wide


def _records(path: Path) -> tuple[list[str], list[list[str]], list[int], list[tuple[int, int]]]:
    """Header, rows padded with "" to its width, each row's first CSV line, and the (line,
    field count) of every row wider than the header. Blank lines are skipped."""
    rows, lines, wide = [], [], []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = next(reader, [])
            width, after = len(header), reader.line_num
            for record in reader:
                first, after = after + 1, reader.line_num
                if not record:
                    continue
                if len(record) > width:
                    wide.append((first, len(record)))
                    continue
                rows.append(record + [""] * (width - len(record)))
                lines.append(first)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError.single(str(path), "<file>", f"cannot read the CSV: {exc}",
                                "UTF-8 text, comma-separated, one header line") from None
    return header, rows, lines, wide


def _blank(col: pd.Series) -> pd.Series:
    return col.str.strip() == ""


def _check_columns(name: str, path: str, frame: pd.DataFrame) -> list[Problem]:
    missing = [c for c in REQUIRED[name] if c not in frame.columns]
    out = [Problem(path, 1, c, "missing column", f"a `{c}` column, or a mapping to it")
           for c in missing]
    if name in ("stage_history", "activities") and not {"lead_id", "opportunity_id"} & set(frame.columns):
        out.append(Problem(path, 1, "lead_id", "missing column",
                           "a `lead_id` or `opportunity_id` column"))
    return out


def _dates(ck: _Checker, column: str, fmt: str | None, required: bool) -> pd.Series:
    raw = ck.frame[column] if column in ck.frame.columns else pd.Series("", index=ck.frame.index)
    blank = _blank(raw)
    if required:
        ck.flag(blank, column, "missing value", ISO_HINT)
    parsed = pd.to_datetime(raw.where(~blank), format=fmt or "ISO8601", errors="coerce", utc=True)
    parsed = parsed.dt.tz_localize(None)
    ck.flag(parsed.isna() & ~blank, column, "unparsable date", fmt or ISO_HINT)
    return parsed


def _required_text(ck: _Checker, column: str, expected: str) -> None:
    ck.flag(_blank(ck.frame[column]), column, "missing value", expected)


def _unique_ids(ck: _Checker) -> None:
    ids = ck.frame["id"]
    dup = pd.Series(index_in(ids, ids) != np.arange(len(ids)), index=ids.index) & ~_blank(ids)
    ck.flag(dup, "id", "duplicate id", "each id once")


def _check_leads(ck: _Checker, fm: FileMapping) -> pd.DataFrame:
    f = ck.frame
    for c in ("id", "segment", "region"):
        _required_text(ck, c, f"a {c.replace('_', ' ')}")
    _unique_ids(ck)
    created = _dates(ck, "created_at", fm.date_format, True)
    out = f.assign(created_at=created)
    for c in OPTIONAL["leads"]:
        if c not in out.columns:
            out[c] = ""
    return out


def index_in(keys: pd.Series, values: pd.Series) -> np.ndarray:
    """Position in `values` of each key's first occurrence (-1 when absent): a pyarrow hash
    lookup, several times faster than pandas' Index.get_indexer on text columns."""
    pos = pc.index_in(pa.array(keys, type=pa.string()), value_set=pa.array(values, type=pa.string()))
    return pc.fill_null(pos, -1).to_numpy().astype(np.int64)


class _Ids:
    """Row position of each id's first occurrence: vectorised membership tests and lookups."""

    def __init__(self, frame: pd.DataFrame, bad: pd.Series):
        self.frame = frame
        self.bad = bad.to_numpy()

    def positions(self, keys: pd.Series) -> np.ndarray:
        """Row of each key (-1 when unknown or blank)."""
        pos = index_in(keys, self.frame["id"])
        pos[(keys == "").to_numpy(dtype=bool)] = -1
        return pos

    def lookup(self, pos: np.ndarray, column: str, index: pd.Index) -> pd.Series:
        """`column` of the rows at `pos` (missing where pos is -1)."""
        values = self.frame[column].array.take(np.where(pos >= 0, pos, -1), allow_fill=True)
        return pd.Series(values, index=index)

    def is_bad(self, pos: np.ndarray) -> np.ndarray:
        """True where the row at `pos` was flagged bad."""
        return (pos >= 0) & self.bad[np.maximum(pos, 0)] if len(self.bad) else np.zeros(len(pos), bool)


def _check_opportunities(ck: _Checker, fm: FileMapping, leads: _Ids) -> pd.DataFrame:
    f = ck.frame
    for c in ("id", "lead_id"):
        _required_text(ck, c, f"a {c.replace('_', ' ')}")
    _unique_ids(ck)
    created = _dates(ck, "created_at", fm.date_format, True)
    closed = _dates(ck, "closed_at", fm.date_format, False)
    blank_amount = _blank(f["amount"])
    ck.flag(blank_amount, "amount", "missing value", "an amount >= 0")
    amount = pd.to_numeric(f["amount"].where(~blank_amount), errors="coerce")
    ck.flag(amount.isna() & ~blank_amount, "amount", "not a number", "an amount >= 0")
    ck.flag(amount < 0, "amount", "negative amount", "an amount >= 0")
    won_text = (f["won"] if "won" in f.columns else pd.Series("", index=f.index)).str.strip().str.lower()
    won = pd.Series(pd.NA, index=f.index, dtype="boolean")
    won[won_text.isin(TRUE_TEXT)] = True
    won[won_text.isin(FALSE_TEXT)] = False
    ck.flag(won.isna() & (won_text != ""), "won", "not a yes/no value", "true or false, empty while open")
    ck.flag(closed.notna() & won.isna(), "won", "missing value for a closed opportunity",
            "true or false when closed_at is set")
    ck.flag(won.notna() & closed.isna() & (won_text != ""), "closed_at",
            "missing value for a won/lost opportunity", "the close date when `won` is set")
    ck.flag(closed < created, "closed_at", "closed before creation", "closed_at >= created_at")
    pos = leads.positions(f["lead_id"])
    ck.flag(pd.Series((pos < 0), index=f.index) & ~_blank(f["lead_id"]), "lead_id",
            "unknown lead id", "an id in leads.csv")
    ck.flag(pd.Series(leads.is_bad(pos), index=f.index), "lead_id", "refers to a skipped lead",
            None, consequence=True)
    ck.flag(created < leads.lookup(pos, "created_at", f.index), "created_at",
            "created before its lead", "created_at >= the lead's created_at")
    out = f.assign(created_at=created, closed_at=closed, amount=amount, won=won)
    for c in OPTIONAL["opportunities"]:
        if c not in out.columns:
            out[c] = ""
    return out


def _check_linked(ck: _Checker, fm: FileMapping, time_col: str, leads: _Ids,
                  opps: _Ids) -> pd.DataFrame:
    """Rows that name a lead or an opportunity (stage_history, activities)."""
    f = ck.frame
    for c in ("lead_id", "opportunity_id"):
        if c not in f.columns:
            f[c] = ""
    when = _dates(ck, time_col, fm.date_format, True)
    lead_blank, opp_blank = _blank(f["lead_id"]), _blank(f["opportunity_id"])
    ck.flag(lead_blank & opp_blank, "lead_id", "missing value", "a lead_id or an opportunity_id")
    opp_pos = opps.positions(f["opportunity_id"])
    ck.flag(~opp_blank & (opp_pos < 0), "opportunity_id", "unknown opportunity id",
            "an id in opportunities.csv")
    lead_pos = leads.positions(f["lead_id"])
    ck.flag(~lead_blank & (lead_pos < 0), "lead_id", "unknown lead id", "an id in leads.csv")
    via_opp = opps.lookup(opp_pos, "lead_id", f.index)
    ck.flag(~opp_blank & ~lead_blank & (opp_pos >= 0) & (via_opp != f["lead_id"]), "lead_id",
            "does not match the opportunity's lead", "the lead_id of the opportunity in opportunities.csv")
    lead_id = f["lead_id"].where(~lead_blank, via_opp.fillna(""))
    lead_pos = np.where(lead_blank.to_numpy(), leads.positions(lead_id), lead_pos)
    ck.flag(pd.Series(opps.is_bad(opp_pos), index=f.index), "opportunity_id",
            "refers to a skipped opportunity", None, consequence=True)
    ck.flag(pd.Series(leads.is_bad(lead_pos), index=f.index), "lead_id",
            "refers to a skipped lead", None, consequence=True)
    created = opps.lookup(opp_pos, "created_at", f.index).where(
        ~opp_blank, leads.lookup(lead_pos, "created_at", f.index))
    what = "stage entered" if ck.name == "stage_history" else "activity"
    ck.flag(when < created, time_col, f"{what} before creation",
            f"{time_col} >= the created_at of its lead or opportunity")
    return f.assign(**{time_col: when, "lead_id": lead_id})


def read_crm(folder: Path, mapping: Path | None = None, lenient: bool = False) -> CrmData:
    """Read and validate a CRM export folder. Raises InputError (strict) or skips bad rows."""
    maps = load_mapping(mapping)
    raw, paths, wide, header_problems = {}, {}, {}, []
    for name in FILES:
        frame, path, wide[name] = _read(Path(folder), name, getattr(maps, name))
        raw[name], paths[name] = frame, path
        if frame is not None:
            header_problems += _check_columns(name, path, frame)
    if header_problems:
        raise InputError(header_problems)
    if not lenient and any(wide.values()):
        raise InputError([p for n in FILES for p in _wide_problems(paths[n], raw[n], wide[n])])
    if raw["activities"] is None:
        raw["activities"] = pd.DataFrame({c: pd.Series(dtype=str) for c in
                                          (*REQUIRED["activities"], "lead_id")})
    checkers = {n: _Checker(n, paths[n], raw[n], len(wide[n])) for n in FILES}
    leads = _check_leads(checkers["leads"], maps.leads)
    lead_ids = _Ids(leads, checkers["leads"].bad)
    opps = _check_opportunities(checkers["opportunities"], maps.opportunities, lead_ids)
    opp_ids = _Ids(opps, checkers["opportunities"].bad)
    ck = checkers["stage_history"]
    _required_text(ck, "stage", "a stage name")
    stages = _check_linked(ck, maps.stage_history, "entered_at", lead_ids, opp_ids)
    ck = checkers["activities"]
    types = ck.frame["type"].str.strip().str.lower()
    ck.flag(~types.isin(ACTIVITY_TYPES), "type", "unknown activity type", ", ".join(ACTIVITY_TYPES))
    _required_text(ck, "rep", "a rep name")
    acts = _check_linked(ck, maps.activities, "at", lead_ids, opp_ids).assign(type=types)
    problems = [p for c in checkers.values() for p in c.problems]
    if problems and not lenient:
        raise InputError(problems)
    crm = _assemble(checkers, leads, opps, stages, acts, paths, lenient)
    return replace(crm, export_columns={n: dict(getattr(maps, n).columns) for n in FILES})


def _wide_problems(path: str, frame: pd.DataFrame, wide: list[tuple[int, int]]) -> list[Problem]:
    """One Problem per row wider than the header (the first MAX_LINES_PER_CHECK, then a count)."""
    expected = f"one value per header column ({len(frame.columns)})"
    out = [Problem(path, line, "<row>", f"{WIDE_ROW} ({fields})", expected)
           for line, fields in wide[:MAX_LINES_PER_CHECK]]
    if len(wide) > MAX_LINES_PER_CHECK:
        out.append(Problem(path, None, "<row>", f"{len(wide) - MAX_LINES_PER_CHECK} more rows with: {WIDE_ROW}",
                           expected))
    return out


def _assemble(checkers: dict[str, _Checker], leads: pd.DataFrame, opps: pd.DataFrame,
              stages: pd.DataFrame, acts: pd.DataFrame, paths: dict[str, str],
              lenient: bool) -> CrmData:
    keep = {n: ~c.bad for n, c in checkers.items()}
    frames = {"leads": leads[keep["leads"]], "opportunities": opps[keep["opportunities"]],
              "stage_history": stages[keep["stage_history"]], "activities": acts[keep["activities"]]}
    counts = [row for c in checkers.values() for row in c.counts]
    quality = pd.DataFrame(counts, columns=["file", "column", "problem", "rows"])
    quality["action"] = "skipped" if lenient else "error"
    read = pd.DataFrame([{"file": n, "column": "", "problem": "rows read", "rows": len(c.frame) + c.too_wide,
                          "action": "read"} for n, c in checkers.items()]
                        + [{"file": n, "column": "", "problem": "rows kept",
                            "rows": int(keep[n].sum()), "action": "kept"} for n in checkers])
    quality = pd.concat([read, quality], ignore_index=True)
    stamps = [frames["leads"]["created_at"].max(), frames["opportunities"]["created_at"].max(),
              frames["opportunities"]["closed_at"].max(), frames["stage_history"]["entered_at"].max(),
              frames["activities"]["at"].max() if len(frames["activities"]) else pd.NaT]
    as_of = max(s for s in stamps if not pd.isna(s))
    typed = {n: _finish(n, f) for n, f in frames.items()}
    return CrmData(typed["leads"], typed["opportunities"], typed["stage_history"],
                   typed["activities"], quality, pd.Timestamp(as_of), paths)


def _finish(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Typed columns with a fresh index (the CSV line is kept in `line`); empty text stays ""."""
    out = frame.assign(line=frame.index.to_numpy() + 2).reset_index(drop=True)
    for c in ("segment", "region", "stage", "type"):
        if c in out.columns:
            out[c] = out[c].str.strip()
    return out
