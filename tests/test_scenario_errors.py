"""Table-driven: malformed scenarios exit 2 with one line naming file, line and field path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from minimal_scenario import BASE

from engine.cli import main


def patched(replace: dict[int, str] | None = None, append: str = "") -> str:
    """BASE with 1-based lines replaced and text appended."""
    lines = BASE.splitlines()
    for number, text in (replace or {}).items():
        lines[number - 1] = text
    return "\n".join(lines) + "\n" + append


# (case id, scenario text, expected line, expected dotted path, a word the message must contain)
CASES = [
    ("conversion-above-1", patched({16: "      conversion: 1.7"}), 16, "funnel.stages.0.conversion", "range"),
    ("negative-headcount", patched({23: "    headcount_start: -1"}), 23, "roles.0.headcount_start", "range"),
    ("ramp-decreases", patched({24: "    ramp: [0.5, 0.3, 1.0]"}), 24, "roles.0.ramp", "decreases"),
    ("13-seasonal-factors", patched({11: "  seasonality: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"}), 11,
     "demand.seasonality", "length"),
    ("zero-seasonal-factor", patched({11: "  seasonality: [1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1]"}), 11,
     "demand.seasonality.3", "range"),
    ("unknown-segment-in-demand", patched({10: "    - {segment: SMBX, region: EU, leads_per_month: 100}"}),
     10, "demand.baseline.0.segment", "SMBX"),
    ("unknown-region-in-demand", patched({10: "    - {segment: SMB, region: US, leads_per_month: 100}"}),
     10, "demand.baseline.0.region", "US"),
    ("misspelt-key", patched({25: "    atrition_per_year: 0.3"}), 25, "roles.0.atrition_per_year",
     "did you mean 'attrition_per_year'"),
    ("misspelt-top-level", patched({8: "demmand:"}), 8, "demmand", "did you mean 'demand'"),
    ("bad-month", patched({2: "horizon: {start: 2027-13, months: 12}"}), 2, "horizon.start", "YYYY-MM"),
    ("zero-months", patched({2: "horizon: {start: 2027-01, months: 0}"}), 2, "horizon.months", "range"),
    ("missing-name", patched({1: "description: no name"}), 1, "name", "missing"),
    ("unknown-stage-role", patched({15: "      role: BDR"}), 15, "funnel.stages.0.role", "BDR"),
    ("unknown-role-kind", patched({21: "    kind: closer"}), 21, "roles.0.kind", "allowed"),
    ("unknown-distribution", patched({18: "      duration_days: {kind: weird, mean: 1}"}), 18,
     "funnel.stages.0.duration_days.kind", "allowed"),
    ("negative-deal-size", patched({5: "    deal_size: {kind: lognormal, mean: -5, cv: 0.5}"}), 5,
     "segments.0.deal_size.mean", "range"),
    ("cost-not-a-number", patched({22: "    cost_per_month: lots"}), 22, "roles.0.cost_per_month", "type"),
    ("yaml-syntax", patched({16: "      conversion: [0.5"}), 17, "<yaml>", "syntax"),
    ("missing-units-file", patched(append="territory: {units: nope.csv, territories: 3}\n"), 30,
     "territory.units", "not found"),
    ("duplicate-segment", patched(append=""), None, None, None),  # replaced below
    ("conversion-unknown-segment-key", patched({16: "      conversion: {XYZ: 0.5}"}), 16,
     "funnel.stages.0.conversion.XYZ", "XYZ"),
    ("attrition-above-1", patched({25: "    attrition_per_year: 1.5"}), 25, "roles.0.attrition_per_year", "range"),
    ("negative-leads", patched({10: "    - {segment: SMB, region: EU, leads_per_month: -10}"}), 10,
     "demand.baseline.0.leads_per_month", "range"),
    ("unknown-objective", patched({27: "  objective: profit"}), 27, "plan.objective", "allowed"),
    ("negative-budget", patched({27: "  budget_per_month: -1"}), 27, "plan.budget_per_month", "range"),
    ("zero-replications", patched({29: "  replications: 0"}), 29, "simulation.replications", "range"),
    ("lead-time-beyond-horizon", patched(append="").replace(
        "    attrition_per_year: 0.3\n", "    attrition_per_year: 0.3\n    hiring_lead_time_months: 12\n"),
     26, "roles.0.hiring_lead_time_months", "horizon"),
    ("fixed-hire-outside-horizon", patched(append="").replace(
        "  budget_per_month: 100000\n",
        "  budget_per_month: 100000\n  fixed_hires:\n    - {month: 2030-01, role: SDR, hires: 1}\n"),
     29, "plan.fixed_hires.0.month", "outside"),
    ("bad-currency", patched(append="company: {currency: euro}\n"), 30, "company.currency", "pattern"),
    ("support-role-unknown", patched(append=(
        "support:\n  role: Helpdesk\n  tiers:\n    - {name: standard, tickets_per_customer_month: 1}\n")), 31,
     "support.role", "Helpdesk"),
    ("shrinkage-above-1", patched(append=(
        "support:\n  role: SDR\n  shrinkage: 1.2\n  tiers:\n    - {name: standard, tickets_per_customer_month: 1}\n")),
     32, "support.shrinkage", "range"),
]
CASES += [
    ("calendar-ends-before-start", patched({29: "  calendar: {kind: business, day_start_hour: 18, day_end_hour: 9}"}),
     29, "simulation.calendar.day_end_hour", "before it starts"),
    ("weekday-out-of-range", patched(append="  calendar: {weekdays: [0, 1, 9]}\n"), 30,
     "simulation.calendar.weekdays.2", "does not exist"),
    ("duplicate-lead-source", patched(append="  sources: [{name: web, share: 1}, {name: web, share: 2}]\n"), 30,
     "simulation.sources.1.name", "duplicate"),
    ("score-mean-unknown-segment", patched(append="  scoring: {mean: {SMB: 0.5, XL: 0.4}}\n"), 30,
     "simulation.scoring.mean.XL", "XL"),
]
CASES[19] = ("duplicate-segment", BASE.replace(
    "regions:\n", "  - name: SMB\n    deal_size: {kind: fixed, mean: 10}\nregions:\n"), 6, "segments.1.name", "duplicate")


@pytest.mark.parametrize("case_id,text,line,path,word", CASES, ids=[c[0] for c in CASES])
def test_malformed_scenario_exit_2_with_file_line_and_path(tmp_path: Path, capsys, case_id, text, line,
                                                           path, word) -> None:
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(text)
    code = main(["validate", str(scenario)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    expected_prefix = f"{scenario}:{line}: {path}: "
    lines = err.strip().splitlines()
    matching = [ln for ln in lines if ln.startswith(expected_prefix)]
    assert matching, f"no line starts with {expected_prefix!r}; got:\n{err}"
    assert word.lower() in matching[0].lower(), matching[0]


def test_at_least_25_distinct_cases() -> None:
    assert len({c[0] for c in CASES}) >= 25


def test_extends_cycle_is_reported(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\nname: a\n")
    (tmp_path / "b.yaml").write_text("extends: a.yaml\nname: b\n")
    code = main(["validate", str(tmp_path / "a.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert "extends: extends cycle" in err and "Traceback" not in err


def test_extends_missing_parent_names_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "a.yaml").write_text("name: a\nextends: gone.yaml\n")
    assert main(["validate", str(tmp_path / "a.yaml")]) == 2
    assert f"{tmp_path / 'a.yaml'}:2: extends: parent file gone.yaml not found" in capsys.readouterr().err


def test_error_in_parent_names_the_parent_file(tmp_path: Path, capsys) -> None:
    (tmp_path / "parent.yaml").write_text(BASE.replace("    headcount_start: 3", "    headcount_start: -3"))
    (tmp_path / "child.yaml").write_text("extends: parent.yaml\nname: child\n")
    assert main(["validate", str(tmp_path / "child.yaml")]) == 2
    assert f"{tmp_path / 'parent.yaml'}:23: roles.0.headcount_start" in capsys.readouterr().err


def test_console_script_prints_no_traceback(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(patched({16: "      conversion: 1.7"}))
    proc = subprocess.run([sys.executable, "-m", "engine.cli", "validate", str(scenario)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr.startswith(f"{scenario}:16: funnel.stages.0.conversion:")
    assert "Traceback" not in proc.stderr
