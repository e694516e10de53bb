"""`salesops calibrate`: choose the export kind, calibrate, write the fragment and its report.

Two kinds of export: the full lead-level export (leads.csv, opportunities.csv, stage_history.csv,
activities.csv; engine/data/crm.py and calibrate.py), and a deal export (an opportunity report,
optional stage history and users sheet; engine/data/deals.py and deals_calibrate.py). A deal
export is read when `--preset` is given, or when the folder has no leads table.

The fragment goes to `--out` (a YAML file; a directory is refused) with a header comment naming
the files read and every assumed figure; its report frames go to `<out stem>_report/`. With
`--complete PARENT.yaml` the output is a complete scenario (engine/data/deals_calibrate.py
`complete_scenario`; for a lead-level export, engine/data/stage.py `merged_scenario`, as
`salesops run` merges a `data:` section) that `salesops run` takes as is.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine.data.calibrate import calibrate, calibrate_dir
from engine.data.crm import read_crm
from engine.data.deals import read_deals
from engine.data.deals_calibrate import calibrate_deals, complete_scenario
from engine.data.export_mapping import is_lead_export
from engine.errors import InputError
from engine.scenario.load import load_scenario


@dataclass
class CalibrateResult:
    """What the CLI tells the user: files taken, warnings, skips (lenient) and assumptions."""

    out: Path
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _check_out(out: Path) -> None:
    if out.is_dir():
        raise InputError.single(str(out), "--out", "is a directory", "a YAML file to write, e.g. calibrated.yaml")
    if not out.parent.exists():
        raise InputError.single(str(out), "--out", f"folder {out.parent} does not exist", "an existing folder")


def _write(out: Path, header: list[str], body: dict, report: dict, validate: bool) -> None:
    """Write the YAML (through a temporary sibling, checked with the scenario loader when it
    is a complete scenario, so a failing one leaves nothing behind) and the report tables."""
    text = "".join(f"# {line}\n" for line in header) + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
    tmp = out.with_name(f".{out.name}.tmp.yaml")
    tmp.write_text(text, encoding="utf-8")
    try:
        if validate:
            load_scenario(tmp)
    except InputError:
        tmp.unlink()
        raise
    report_dir = out.with_name(f"{out.stem}_report")
    report_dir.mkdir(parents=True, exist_ok=True)
    for name, frame in report.items():
        if frame is not None:
            frame.to_csv(report_dir / f"{name}.csv", index=False)
    tmp.replace(out)


def _complete_lead_export(crm_dir: Path, out: Path, mapping: Path | None, lenient: bool,
                          complete: Path) -> CalibrateResult:
    """A lead-level export calibrated onto `complete` as `salesops run` does with `data:`
    (engine/data/stage.py `merged_scenario`), written as a scenario that extends it."""
    # Imported here: engine.data.stage loads the forecast and scoring modules, which a deal
    # export's calibration (the 1M-row benchmark) never needs.
    from engine.data.stage import merged_scenario

    parent = load_scenario(complete)
    s = parent.scenario
    crm = read_crm(crm_dir, mapping, lenient)
    roles = {st.name: st.role for st in s.funnel.stages} if s.funnel else {}
    cal = calibrate(crm, roles, None, s.horizon.start if s.horizon else None,
                    segments=[sg.name for sg in s.segments])
    merged = merged_scenario(parent.resolved, cal)
    body: dict = {"extends": os.path.relpath(complete.resolve(), out.resolve().parent),
                  "name": f"{s.name}, calibrated from {crm_dir.name}"}
    if parent.resolved.get("data") is not None:
        body["data"] = None
    body.update({key: merged[key] for key in ("regions", "segments", "funnel", "demand", "sources")})
    notes = [f"{k}: {v}" for k, v in merged["sources"].items() if v.startswith("assumed")]
    header = [f"Calibrated by salesops calibrate from the lead-level export {crm_dir} (export date "
              f"{crm.as_of:%Y-%m-%d}) onto {complete.name}.",
              f"Report (intervals, AIC table): {out.stem}_report/", "Assumed (not in the export):"]
    _write(out, header + [f"  {n}" for n in notes or ["(none)"]], body, {**cal.report, "history": cal.history}, validate=True)
    return CalibrateResult(out, [f"read the lead-level export in {crm_dir}"] + notes)


def calibrate_export(crm_dir: Path, out: Path, preset: str | None = None, mapping: Path | None = None,
                     lenient: bool = False, complete: Path | None = None) -> CalibrateResult:
    """Calibrate the export in `crm_dir` and write `out` (see the module docstring)."""
    crm_dir, out = Path(crm_dir), Path(out)
    _check_out(out)
    if not crm_dir.is_dir():
        raise InputError.single(str(crm_dir), "<folder>", "not a folder", "the folder of the CRM export")
    if is_lead_export(crm_dir, preset, mapping):
        if complete is not None:
            return _complete_lead_export(crm_dir, out, mapping, lenient, Path(complete))
        calibrate_dir(crm_dir, out, mapping=mapping, lenient=lenient)
        return CalibrateResult(out, [f"read the lead-level export in {crm_dir}"])
    ex = read_deals(crm_dir, preset, mapping, lenient)
    parent = load_scenario(complete) if complete is not None else None
    cal = calibrate_deals(ex, parent.scenario.horizon.start if parent and parent.scenario.horizon else None)
    taken = [f"{kind}: {Path(path).name}" for kind, path in ex.files.items()]
    header = [f"Calibrated by salesops calibrate from {crm_dir} ({preset or 'mapping'}); export date "
              f"{ex.as_of:%Y-%m-%d}; open deals censored there.",
              "Files: " + "; ".join(taken) + f"; stage reach from {ex.history_source}.",
              f"Report (intervals, naive closed-only figures, quality): {out.stem}_report/"]
    if parent is not None:
        body, notes = complete_scenario(parent.resolved, cal, f"{parent.scenario.name}, calibrated from {crm_dir.name}")
        body = {"extends": os.path.relpath(Path(complete).resolve(), out.resolve().parent), **body}
    else:
        body = {"name": f"Calibrated from {crm_dir.name}", "sources": cal.sources, **cal.fragment}
        notes = cal.assumptions
        header.append("Opportunity-only: the funnel starts at 'opportunity created'; demand counts opportunities.")
    header += ["Assumed (not in the export):"] + [f"  {n}" for n in notes]
    _write(out, header, body, {**cal.report}, validate=parent is not None)
    messages = [f"took {t}" for t in taken] + [f"export date {ex.as_of:%Y-%m-%d} ({len(ex.deals)} deals kept)"]
    messages += ex.skipped_lines() + notes
    return CalibrateResult(out, messages, ex.warnings)
