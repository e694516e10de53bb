"""Read a deal export (an opportunity report, optional stage history and users sheet) into typed
frames, with every bad row named by the export's own file, line, column and value.

`read_deals(folder, preset, mapping, lenient)` finds each export by its header
(engine/data/export_mapping.py), then checks, all vectorised:

* the header: duplicate column names, no data rows, mapped columns the file lacks (with a
  did-you-mean from the file's header) stop the import in both modes;
* dates: the mapping's `date_format` (a bad directive stops the import) or the format inferred
  from the file (every day <= 12 and no format given: stop, naming both readings); dates before
  `not_before` or after the export date are flagged;
* amounts: a plain decimal (thousands separators only when the mapping allows them);
* stage, status, segment, region, owner: a control character or markup is a bad row, never a
  funnel stage or a segment;
* status: from a status column (open / won / lost values) or from the stage (`won` / `lost`
  stage names); a closed deal needs its close date;
* rare categories (engine/data/rare.py): a segment or region value on under 1 % of the rows is
  flagged (kept, listed with its lines in `warnings`, `rare_values` and the quality table);
  `values:` in the mapping merges it.

Strict mode raises one InputError with every problem, sorted by file and line. Lenient mode skips
the bad rows, and history rows of skipped deals, and counts both in `quality`.

The export date is the mapping's `export_date`, else the latest date of the export once a
detached tail (a `closed_at` typed as 2099) is set aside; open deals are censored there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from engine.data.crm import MAX_LINES_PER_CHECK, _read_csv, index_in
from engine.data.export_mapping import (
    GENERIC_REQUIRED,
    OUR_COLUMNS,
    ExportFile,
    ExportMapping,
    did_you_mean,
    find_exports,
    header_of,
    load_export_mapping,
)
from engine.data.export_values import (
    amounts,
    estimate_export_date,
    infer_date_format,
    not_plain,
    parse_dates,
    reading,
    show,
    trimmed,
)
from engine.data.rare import rare_frame, rare_record, rare_values, warning
from engine.errors import InputError, Problem

DATE_COLUMNS = {"opportunities": ("created_at", "close_date", "won_at", "lost_at"),
                "stage_history": ("entered_at",), "users": ()}
TEXT_COLUMNS = ("stage", "status", "segment", "region", "owner", "rep", "role", "team")
DEFAULT_WON, DEFAULT_LOST = ("won", "closed won"), ("lost", "closed lost")
NOT_READ = {"name", "account", "probability", "type", "product", "source", "pipeline", "from_stage"}
"""Columns a preset recognises but calibration does not use: left unread (memory)."""
ONE = "All"
"""Segment and region of every deal when the export has no such column."""


@dataclass
class DealExport:
    """A validated deal export. Times are naive UTC timestamps; amounts in the export's currency.

    `deals`: id, owner, stage, status (open/won/lost), amount, created_at, closed_at (NaT while
    open), segment, region, line (in the export). `history`: deal (row in
    `deals`), stage, entered_at. `users`: rep, role, manager, team, region, active, or None.
    `quality`: file, column, problem, rows, action (read, kept, skipped, error, flagged), lines.
    """

    deals: pd.DataFrame
    history: pd.DataFrame
    users: pd.DataFrame | None
    quality: pd.DataFrame
    as_of: pd.Timestamp
    files: dict[str, str]
    stage_order: list[str]
    history_source: str
    """`stage history`, `date-entered columns` or `current stages`."""
    warnings: list[str] = field(default_factory=list)
    rare_values: pd.DataFrame = field(default_factory=lambda: rare_frame([]))
    """The rare segment and region values flagged (engine/data/rare.py `RARE_COLUMNS`), one row each."""

    def skipped_lines(self) -> list[str]:
        """One line per reason rows were skipped: `skipped ROWS rows of FILE: COLUMN: PROBLEM`."""
        q = self.quality[self.quality["action"] == "skipped"]
        return [f"skipped {r.rows} rows of {r.file}: {r.column}: {r.problem}" for r in q.itertuples()]


class _Rows:
    """Bad-row masks of one file: problems name the export's column and show the value."""

    def __init__(self, path: str, frame: pd.DataFrame, columns: dict[str, str], extra: int = 0):
        self.path, self.frame, self.columns = path, frame, columns
        self.bad = pd.Series(False, index=frame.index)
        self.problems: list[Problem] = []
        self.counts: list[dict] = []
        self.extra = extra
        self.wide_history: list[str] = []
        """Columns of wide stage history (HubSpot's `Date entered "<stage>"`)."""

    def theirs(self, ours: str) -> str:
        return self.columns.get(ours, ours)

    def flag(self, mask: pd.Series, ours: str, problem: str, expected: str | None,
             consequence: bool = False, action: str | None = None) -> None:
        mask = mask.fillna(False).astype(bool) & ~self.bad
        n = int(mask.sum())
        if n == 0:
            return
        lines = mask[mask].index.to_numpy() + 2
        self.counts.append({"file": Path(self.path).name, "column": self.theirs(ours), "problem": problem,
                            "rows": n, "action": action,
                            "lines": " ".join(map(str, lines[:MAX_LINES_PER_CHECK]))})
        if action == "flagged":
            return
        self.bad |= mask
        if consequence:
            return
        raw = self.frame[ours] if ours in self.frame.columns else pd.Series("", index=self.frame.index)
        for line in lines[:MAX_LINES_PER_CHECK]:
            value = str(raw.get(line - 2, ""))
            self.problems.append(Problem(self.path, int(line), f"{self.theirs(ours)} ({show(value)})",
                                         problem, expected))
        if n > MAX_LINES_PER_CHECK:
            self.problems.append(Problem(self.path, None, self.theirs(ours),
                                         f"{n - MAX_LINES_PER_CHECK} more rows with: {problem}", expected))


def _header_problems(path: Path) -> list[Problem]:
    header = header_of(path)
    if not header or header == [""]:
        return [Problem(str(path), 1, "<header>", "empty file", "a header line and data rows")]
    seen: dict[str, int] = {}
    out = []
    for i, name in enumerate(header, start=1):
        if name in seen:
            out.append(Problem(str(path), 1, name, f"duplicate column (columns {seen[name]} and {i})",
                               "each column name once in the header"))
        seen.setdefault(name, i)
    return out


def _resolve(kind: str, spec: ExportFile, user: dict, header: list[str], path: str
             ) -> tuple[dict[str, str], list[Problem]]:
    """Our column -> the file's, and a problem per required or user-named column it lacks."""
    required = set(spec.required if spec.required is not None else GENERIC_REQUIRED[kind])
    named = set((user.get(kind) or {}).get("columns") or {})
    out, problems = {}, []
    for ours in OUR_COLUMNS[kind]:
        alts = spec.columns.get(ours, ours)
        alts = [alts] if isinstance(alts, str) else list(alts)
        hit = next((a for a in alts if a in header), None)
        if hit is not None:
            out[ours] = hit
        elif ours in required or ours in named:
            problems.append(Problem(path, 1, alts[0], f"no such column; {did_you_mean(alts[0], header)}",
                                    f"the column read as `{ours}`"))
    return out, problems


def _read_columns(path: Path, columns: list[str]) -> tuple[pd.DataFrame, list[tuple[int, int]]]:
    """Only `columns`, as text in pyarrow strings (an export can carry dozens we do not need,
    and Python strings cost about five times the memory); see crm._read_csv."""
    try:
        frame = pd.read_csv(path, dtype=pd.ArrowDtype(pa.string()), keep_default_na=False, na_values=[],
                            engine="pyarrow", usecols=columns)
        return frame, []
    except Exception:  # any pyarrow parse failure: the record-by-record reader knows the lines
        frame, wide = _read_csv(path)
        return frame[columns], wide


def _load(kind: str, path: Path, spec: ExportFile, user: dict) -> _Rows:
    header = header_of(path)
    columns, problems = _resolve(kind, spec, user, header, str(path))
    if problems:
        raise InputError(problems)
    wanted = {o: t for o, t in columns.items() if o not in NOT_READ}
    wide_cols = [c for c in header if spec.history_columns and re.match(spec.history_columns, c)]
    frame, wide = _read_columns(path, list(dict.fromkeys([*wanted.values(), *wide_cols])))
    if frame.empty and not wide and kind == "opportunities":
        raise InputError.single(str(path), "<file>", "no data rows (only a header)",
                                "at least one row under the header")
    ours = pd.DataFrame({o: trimmed(frame[t]) for o, t in wanted.items()}, index=frame.index)
    for c in wide_cols:
        ours[c] = trimmed(frame[c])
        wanted[c] = c
    del frame
    for col, renames in spec.values.items():
        if col in ours.columns:
            ours[col] = ours[col].replace(renames)
    rows = _Rows(str(path), ours, wanted, len(wide))
    rows.wide_history = wide_cols
    if wide:
        rows.counts.append({"file": path.name, "column": "<row>", "problem": "wrong number of fields",
                            "rows": len(wide), "action": None,
                            "lines": " ".join(str(line) for line, _ in wide[:MAX_LINES_PER_CHECK])})
        rows.problems += [Problem(str(path), line, "<row>", f"wrong number of fields ({n})",
                                  f"one value per header column ({len(header)})") for line, n in wide]
    return rows


def _date_format(kind: str, rows: _Rows, spec: ExportFile, source: str, extra: list[pd.Series]
                 ) -> str:
    """The file's date format: the mapping's (checked) or inferred from every date cell."""
    cells = [rows.frame[c] for c in DATE_COLUMNS[kind] if c in rows.frame.columns] + extra
    if spec.date_format:
        try:
            parse_dates(pd.Series(["2000-01-01"]), spec.date_format)
        except ValueError as exc:
            raise InputError.single(source, f"{kind}.date_format", f"bad format {spec.date_format!r}: {exc}",
                                    "strftime directives, e.g. %m/%d/%Y") from None
        return spec.date_format
    if not cells:
        return "ISO8601"
    fmt, twin, example = infer_date_format(pd.concat(cells, ignore_index=True))
    if twin:
        raise InputError.single(rows.path, None, "dates",
                                f"ambiguous dates: every day is <= 12, so {show(example)} reads as "
                                f"{reading(example, fmt)} ({fmt}) or {reading(example, twin)} ({twin})",
                                f"`{kind}: {{date_format: \"{fmt}\"}}` or \"{twin}\" in a --mapping file")
    return fmt


def _dates(rows: _Rows, ours: str, fmt: str, required: bool, what: str) -> pd.Series:
    raw = rows.frame[ours] if ours in rows.frame.columns else pd.Series("", index=rows.frame.index)
    blank = raw == ""
    if required:
        rows.flag(blank, ours, "missing value", what)
    parsed = parse_dates(raw, fmt)
    rows.flag(parsed.isna() & ~blank, ours, "unparsable date", f"a date like the rest of the file ({fmt})")
    return parsed


def _plain_text(rows: _Rows) -> None:
    for c in TEXT_COLUMNS:
        if c in rows.frame.columns:
            rows.flag(not_plain(rows.frame[c]), c, "not plain text (control character or markup)",
                      "a plain name")


def _lower(col: pd.Series) -> pd.Series:
    """Lower-cased text, computed once per distinct value."""
    return col.map({v: v.lower() for v in pd.unique(col)})


def _status(rows: _Rows, spec: ExportFile) -> pd.Series:
    won = {v.lower() for v in (spec.won or DEFAULT_WON)}
    lost = {v.lower() for v in (spec.lost or DEFAULT_LOST)}
    f = rows.frame
    if "status" in f.columns:
        text = _lower(f["status"])
        status = pd.Series(np.select([text.isin(won), text.isin(lost), text.isin({"open", ""})],
                                     ["won", "lost", "open"], "?"), index=f.index)
        rows.flag(status == "?", "status", "unknown status", "open, " + " / ".join(sorted(won | lost)))
        return status
    text = _lower(f["stage"])
    return pd.Series(np.select([text.isin(won), text.isin(lost)], ["won", "lost"], "open"), index=f.index)


def _deals(rows: _Rows, spec: ExportFile, fmt: str) -> pd.DataFrame:
    f = rows.frame
    _plain_text(rows)
    if "id" in f.columns:
        rows.flag(f["id"] == "", "id", "missing value", "the opportunity's id")
        dup = pd.Series(index_in(f["id"], f["id"]) != np.arange(len(f)), index=f.index)
        rows.flag(dup, "id", "duplicate id", "each id once")
    rows.flag(f["stage"] == "", "stage", "missing value", "the current stage")
    created = _dates(rows, "created_at", fmt, True, "the date the opportunity was created")
    status = _status(rows, spec)
    close = _dates(rows, "close_date", fmt, False, "")
    won_at = _dates(rows, "won_at", fmt, False, "") if "won_at" in f.columns else close
    lost_at = _dates(rows, "lost_at", fmt, False, "") if "lost_at" in f.columns else close
    closed = won_at.where(status == "won", lost_at.where(status == "lost"))
    date_col = "won_at" if "won_at" in f.columns else "close_date"
    rows.flag((status == "won") & won_at.isna(), date_col, "missing close date of a won deal", "the date it was won")
    date_col = "lost_at" if "lost_at" in f.columns else "close_date"
    rows.flag((status == "lost") & lost_at.isna(), date_col, "missing close date of a lost deal",
              "the date it was lost")
    rows.flag(closed < created, date_col if "won_at" not in f.columns else "created_at",
              "closed before it was created", "a close date on or after the created date")
    amount = amounts(f["amount"], spec.thousands) if "amount" in f.columns else pd.Series(np.nan, index=f.index)
    if "amount" in f.columns:
        blank = f["amount"] == ""
        plain = f"a plain decimal{', thousands separated by ' + repr(spec.thousands) if spec.thousands else ''}"
        rows.flag(amount.isna() & ~blank, "amount", "not a number", plain)
        rows.flag(amount < 0, "amount", "negative amount", "an amount >= 0")
    out = pd.DataFrame({
        "id": f["id"] if "id" in f.columns else "row" + (f.index + 2).astype(str),
        "owner": f.get("owner", pd.Series("", index=f.index)),
        "stage": f["stage"], "status": status, "amount": amount,
        "created_at": created, "closed_at": closed,
        "segment": f["segment"] if "segment" in f.columns else ONE,
        "region": f["region"] if "region" in f.columns else ""}, index=f.index)
    out.loc[out["segment"] == "", "segment"] = "(blank)"
    return out


def _wide_history(rows: _Rows, spec: ExportFile, fmt: str) -> pd.DataFrame:
    """HubSpot's `Date entered "<stage>"` columns as long rows: deal line, stage, entered_at."""
    pattern = re.compile(spec.history_columns or "")
    parts = []
    for column in rows.wide_history:
        when = _dates(rows, column, fmt, False, "")
        parts.append(pd.DataFrame({"row": rows.frame.index, "stage": pattern.match(column).group("stage"),
                                   "entered_at": when}).dropna())
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["row", "stage", "entered_at"])


def _history_long(rows: _Rows, fmt: str, deals: pd.DataFrame, deal_rows: _Rows) -> pd.DataFrame:
    f = rows.frame
    _plain_text(rows)
    rows.flag(f["stage"] == "", "stage", "missing value", "the stage entered")
    when = _dates(rows, "entered_at", fmt, True, "the date the stage was entered")
    pos = index_in(f["opportunity_id"], deals["id"])
    rows.flag(pd.Series(pos < 0, index=f.index), "opportunity_id", "unknown opportunity id",
              f"an id in {Path(deal_rows.path).name}")
    bad_deal = deal_rows.bad.to_numpy()[np.maximum(pos, 0)] & (pos >= 0)
    rows.flag(pd.Series(bad_deal, index=f.index), "opportunity_id", "refers to a skipped opportunity",
              None, consequence=True)
    return pd.DataFrame({"row": deals.index.to_numpy()[np.maximum(pos, 0)], "stage": f["stage"],
                         "entered_at": when}, index=f.index)


def _rare(rows: _Rows, frame: pd.DataFrame, columns: tuple[str, ...], warnings: list[str]) -> list[dict]:
    """Flag rare segment and region values (engine/data/rare.py) among the kept rows."""
    kept = frame[~rows.bad]
    found = []
    for c in columns:
        for value, n, common in rare_values(kept[c]):
            mask = (frame[c] == value) & ~rows.bad
            rows.flag(mask, c, f"rare value {show(value)} on {n} of {len(kept)} rows", None, action="flagged")
            record = rare_record(Path(rows.path).name, "opportunities", c, rows.theirs(c), value, n, len(kept),
                                 (mask[mask].index.to_numpy() + 2).tolist(), common)
            warnings.append(warning(rows.path, record))
            found.append(record)
    return found


def _users(rows: _Rows) -> pd.DataFrame:
    f = rows.frame
    _plain_text(rows)
    rows.flag(f["rep"] == "", "rep", "missing value", "the user's name")
    active = f.get("active", pd.Series("", index=f.index)).str.lower()
    return pd.DataFrame({c: f[c] if c in f.columns else "" for c in
                         ("rep", "role", "manager", "team", "region")}, index=f.index).assign(
        active=~active.isin({"false", "0", "no", "n", "inactive"}))


def _flag_dates(rows: _Rows, frame: pd.DataFrame, columns: tuple[str, ...], lo: pd.Timestamp | None,
                hi: pd.Timestamp | None) -> None:
    for c in columns:
        for source, which in _sources_of(rows, frame, c):
            if lo is not None:
                rows.flag((frame[c] < lo) & which, source, f"before {lo:%Y-%m-%d}",
                          "a date after the company existed (`not_before` in the mapping)")
            if hi is not None:
                rows.flag((frame[c] > hi) & which, source, f"after the export date {hi:%Y-%m-%d}",
                          "a date on or before the export date (`export_date` in the mapping)")


def _sources_of(rows: _Rows, frame: pd.DataFrame, column: str) -> list[tuple[str, pd.Series]]:
    """(our source column, rows it holds the value for): a close date comes from `won_at` /
    `lost_at` where the export has them (Pipedrive), else from `close_date`."""
    every = pd.Series(True, index=frame.index)
    if column != "closed_at":
        return [(column, every)]
    return [(c if c in rows.frame.columns else "close_date", frame["status"] == status)
            for status, c in (("won", "won_at"), ("lost", "lost_at"))]


def read_deals(folder: Path, preset: str | None = None, mapping: Path | None = None,
               lenient: bool = False) -> DealExport:
    """Read and validate a deal export folder (see the module docstring)."""
    folder = Path(folder)
    maps, user = load_export_mapping(preset, mapping)
    source = str(mapping) if mapping else f"preset {preset}"
    paths = find_exports(folder, maps)
    header_problems = [p for path in paths.values() for p in _header_problems(path)]
    if header_problems:
        raise InputError(header_problems)
    rows = _load("opportunities", paths["opportunities"], maps.opportunities, user)
    fmt = _date_format("opportunities", rows, maps.opportunities, source,
                       [rows.frame[c] for c in rows.wide_history])
    deals = _deals(rows, maps.opportunities, fmt)
    hist_rows, history, source_kind = None, pd.DataFrame(columns=["row", "stage", "entered_at"]), "current stages"
    if rows.wide_history:
        history, source_kind = _wide_history(rows, maps.opportunities, fmt), "date-entered columns"
    if "stage_history" in paths:
        spec = maps.stage_history or ExportFile()
        hist_rows = _load("stage_history", paths["stage_history"], spec, user)
        hist_fmt = _date_format("stage_history", hist_rows, spec, source, [])
        history, source_kind = _history_long(hist_rows, hist_fmt, deals, rows), "stage history"
    users = None
    user_rows = None
    if "users" in paths:
        user_rows = _load("users", paths["users"], maps.users or ExportFile(), user)
        users = _users(user_rows)
    lo = pd.Timestamp(maps.not_before)
    _flag_dates(rows, deals, ("created_at", "closed_at"), lo, None)
    as_of = _export_date(maps, deals[~rows.bad], history)
    _flag_dates(rows, deals, ("created_at", "closed_at"), None, as_of)
    if hist_rows is not None:
        _flag_dates(hist_rows, history, ("entered_at",), lo, as_of)
    if users is not None:
        _derive_regions(deals, users)
    warnings: list[str] = []
    rare = _rare(rows, deals, ("segment", "region"), warnings)
    all_rows = [r for r in (rows, hist_rows, user_rows) if r is not None]
    problems = sorted((p for r in all_rows for p in r.problems), key=lambda p: (p.file, p.line or 0))
    if problems and not lenient:
        raise InputError(problems)
    ex = _assemble(deals, history, users, rows, hist_rows, user_rows, paths, as_of, maps,
                   source_kind, warnings, lenient)
    ex.rare_values = rare_frame(rare)
    return ex


def _export_date(maps: ExportMapping, deals: pd.DataFrame, history: pd.DataFrame) -> pd.Timestamp:
    if maps.export_date is not None:
        return pd.Timestamp(maps.export_date) + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    stamps = np.concatenate([deals["created_at"].to_numpy(dtype="datetime64[s]"),
                             deals["closed_at"].to_numpy(dtype="datetime64[s]"),
                             pd.to_datetime(history["entered_at"]).to_numpy(dtype="datetime64[s]")])
    return estimate_export_date(stamps)


def _derive_regions(deals: pd.DataFrame, users: pd.DataFrame) -> None:
    """A deal without a region takes its owner's (from the users sheet)."""
    region_of = users.drop_duplicates("rep").set_index("rep")["region"]
    missing = deals["region"] == ""
    deals.loc[missing, "region"] = deals.loc[missing, "owner"].map(region_of).fillna("")


def _assemble(deals: pd.DataFrame, history: pd.DataFrame, users: pd.DataFrame | None, rows: _Rows,
              hist_rows: _Rows | None, user_rows: _Rows | None, paths: dict[str, Path],
              as_of: pd.Timestamp, maps: ExportMapping, source_kind: str, warnings: list[str],
              lenient: bool) -> DealExport:
    keep = ~rows.bad
    if hist_rows is not None:
        hist_keep = ~hist_rows.bad
        history = history[hist_keep.reindex(history.index, fill_value=True)]
    history = history[history["row"].map(keep).fillna(False).astype(bool) &
                      history["entered_at"].notna() & (history["entered_at"] <= as_of)]
    kept = deals[keep]
    pos = pd.Series(np.arange(len(kept)), index=kept.index)
    history = pd.DataFrame({"deal": history["row"].map(pos).to_numpy(dtype=np.int64),
                            "stage": history["stage"].to_numpy(), "entered_at": history["entered_at"].to_numpy()})
    kept = kept.assign(line=kept.index.to_numpy() + 2,
                       region=kept["region"].where(kept["region"] != "", ONE)).reset_index(drop=True)
    all_rows = [(k, r) for k, r in (("opportunities", rows), ("stage_history", hist_rows),
                                    ("users", user_rows)) if r is not None]
    counts = [c for _, r in all_rows for c in r.counts]
    quality = pd.DataFrame(counts, columns=["file", "column", "problem", "rows", "action", "lines"])
    quality["action"] = quality["action"].fillna("skipped" if lenient else "error")
    read = [{"file": Path(r.path).name, "column": "", "problem": "rows read", "rows": len(r.frame) + r.extra,
             "action": "read", "lines": ""} for _, r in all_rows]
    read += [{"file": Path(r.path).name, "column": "", "problem": "rows kept", "rows": int((~r.bad).sum()),
              "action": "kept", "lines": ""} for _, r in all_rows]
    quality = pd.concat([pd.DataFrame(read), quality], ignore_index=True)
    if users is not None:
        users = users[~user_rows.bad].reset_index(drop=True)
    order = _stage_order(kept, history, maps.opportunities.stage_order or [])
    return DealExport(kept, history, users, quality, as_of, {k: str(p) for k, p in paths.items()},
                      order, source_kind, warnings)


def _stage_order(deals: pd.DataFrame, history: pd.DataFrame, preset_order: list[str]) -> list[str]:
    """Open stages in funnel order: the mapping's order for the stages it lists, then the others
    by median days from creation to entering them (history), else by name."""
    open_stages = set(deals.loc[deals["status"] == "open", "stage"]) | set(history["stage"])
    closed = set(deals.loc[deals["status"] != "open", "stage"]) - set(deals.loc[deals["status"] == "open", "stage"])
    open_stages -= closed
    listed = [s for s in preset_order if s in open_stages]
    rest = sorted(open_stages - set(listed))
    if rest and len(history):
        created = deals["created_at"].to_numpy()[history["deal"].to_numpy()]
        offset = (pd.to_datetime(history["entered_at"]) - created).dt.total_seconds()
        med = offset.groupby(history["stage"].to_numpy()).median()
        rest = sorted(rest, key=lambda s: (med.get(s, np.inf), s))
    return listed + rest
