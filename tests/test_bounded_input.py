"""Hostile input is refused with exit 2 and a line naming the file and field, quickly (issue 21):
YAML alias bombs and deep nesting, duplicate keys, FIFOs, devices and folders where a file is
expected, oversized files, non-finite, boolean and absurdly large numbers, bad `--set` paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from minimal_scenario import BASE

from engine.cli import main
from engine.errors import InputError
from engine.safe_files import read_text_capped, require_regular_file
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]
BOMB = """\
name: bomb
a: &a ["x", "x", "x", "x", "x", "x", "x", "x", "x"]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""


def _cli(*args: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """The CLI in a child process, so that a hang fails the test instead of blocking it."""
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def _validate(tmp_path: Path, text: str, capsys) -> tuple[int, str]:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    code = main(["validate", str(path)])
    return code, capsys.readouterr().err


def test_alias_bomb_is_refused_before_expansion(tmp_path: Path, capsys) -> None:
    start = time.perf_counter()
    code, err = _validate(tmp_path, BOMB, capsys)
    assert code == 2 and time.perf_counter() - start < 2.0
    assert err == f"{tmp_path / 's.yaml'}:3: <yaml>: alias *a is not allowed " \
                  "(each value written out in full, without anchors and aliases)\n"


@pytest.mark.parametrize("text", [
    "name: x\nz: " + "[" * 10_000 + "]" * 10_000 + "\n",
    "name: x\nz: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
    "name: x\nz:\n" + "".join("  " * i + "- \n" for i in range(1, 400)),
])
def test_deep_nesting_is_refused(tmp_path: Path, capsys, text: str) -> None:
    code, err = _validate(tmp_path, text, capsys)
    assert code == 2 and "<yaml>: nesting deeper than 50 levels" in err and "Traceback" not in err


def test_duplicate_keys_are_errors(tmp_path: Path, capsys) -> None:
    text = BASE.replace("    cost_per_month: 5000\n", "    cost_per_month: 5000\n    cost_per_month: 1\n")
    code, err = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err == f"{tmp_path / 's.yaml'}:23: roles.0.cost_per_month: duplicate key (first given on line 22) " \
                  "(each key once per mapping)\n"


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("field", ["extends", "territory.units", "crm file", "mapping file", "sweep base"])
def test_a_fifo_is_refused_not_read(tmp_path: Path, field: str) -> None:
    if field == "extends":
        _fifo(tmp_path / "parent.yaml")
        target = tmp_path / "s.yaml"
        target.write_text("extends: parent.yaml\nname: x\n")
        result, where = _cli("validate", str(target)), f"{target}:1: extends: "
    elif field == "territory.units":
        _fifo(tmp_path / "units.csv")
        target = tmp_path / "s.yaml"
        target.write_text("name: x\nterritory: {units: units.csv, territories: 2}\n")
        result, where = _cli("run", str(target), "--out", str(tmp_path / "o"), "-q"), f"{target}:2: territory.units: "
    elif field == "crm file":
        crm = tmp_path / "crm"
        shutil.copytree(REPO / "scenarios/data/crm_scaleup", crm)
        (crm / "leads.csv").unlink()
        _fifo(crm / "leads.csv")
        result = _cli("calibrate", str(crm), "--out", str(tmp_path / "cal.yaml"))
        where = f"{crm / 'leads.csv'}: <file>: "
    elif field == "mapping file":
        crm = tmp_path / "crm"
        shutil.copytree(REPO / "scenarios/data/crm_scaleup", crm)
        _fifo(crm / "export_leads.csv")
        mapping = tmp_path / "map.yaml"
        mapping.write_text("leads: {file: export_leads.csv}\n")
        result = _cli("calibrate", str(crm), "--out", str(tmp_path / "cal.yaml"), "--mapping", str(mapping))
        where = f"{crm / 'export_leads.csv'}: <file>: "
    else:
        _fifo(tmp_path / "base.yaml")
        target = tmp_path / "sweep.yaml"
        target.write_text("base: base.yaml\nvary: {demand.annual_growth: [0.1]}\nmetrics: [demand.totals.base]\n")
        result, where = _cli("sweep", str(target), "--out", str(tmp_path / "o"), "-q"), f"{target}:1: base: "
    assert result.returncode == 2, result.stderr
    assert where in result.stderr and "is a FIFO (named pipe)" in result.stderr
    assert "Traceback" not in result.stderr


def test_devices_and_folders_are_refused(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, "name: x\nextends: /dev/zero\n", capsys)
    assert code == 2 and ":2: extends: /dev/zero is a character device" in err
    crm = tmp_path / "crm"
    shutil.copytree(REPO / "scenarios/data/crm_scaleup", crm)
    (crm / "leads.csv").unlink()
    (crm / "leads.csv").symlink_to("/dev/zero")
    assert main(["calibrate", str(crm), "--out", str(tmp_path / "c.yaml")]) == 2
    assert "leads.csv is a character device" in capsys.readouterr().err
    (tmp_path / "units").mkdir()
    scenario = tmp_path / "t.yaml"
    scenario.write_text("name: x\nterritory: {units: units, territories: 2}\n")
    assert main(["run", str(scenario), "--out", str(tmp_path / "o"), "-q"]) == 2
    assert f"{scenario}:2: territory.units: {tmp_path / 'units'} is a directory" in capsys.readouterr().err


def test_files_are_read_only_up_to_a_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("name: x\n" + "#" * 2000 + "\n")
    assert read_text_capped(big, max_bytes=4096).startswith("name: x")
    with pytest.raises(InputError, match="too large") as info:
        read_text_capped(big, "extends", max_bytes=1000, source="s.yaml", line=3)
    assert info.value.problems[0].format().startswith("s.yaml:3: extends: ")
    with pytest.raises(InputError, match="too large"):
        require_regular_file(big, "data.crm_dir", max_bytes=100)


@pytest.mark.parametrize(("override", "message"), [
    ("roles.SDR.cost_per_month=true", "--set: roles.0.cost_per_month: true/false is not a number (got True)"),
    ("roles.SDR.cost_per_month=.inf", "--set: roles.0.cost_per_month: not a finite number (got inf)"),
    ("demand.baseline.0.leads_per_month=.nan", "--set: demand.baseline.0.leads_per_month: not a finite number"),
    ("demand.baseline.0.leads_per_month=1.0e9", "--set: demand.baseline.0.leads_per_month: out of range"),
    ("demand.baseline.0.leads_per_month=1.0e308", "less than or equal to 1000000"),
    ("roles.SDR.headcount_start=1000000000", "--set: roles.0.headcount_start: out of range"),
    ("plan.budget_per_month=1.0e300", "--set: plan.budget_per_month: out of range"),
    ("plan.cases=[]", "--set: plan.cases: wrong length (got 0 items)"),
    ("roles.SDR.selling_share=0", "--set: roles.0.selling_share: 0 leaves the role no time for the stages"),
    ("horizon.months=true", "--set: horizon.months: true/false is not a number"),
    ("demand.seasonality.3=false", "--set: demand.seasonality.3: true/false is not a number"),
    ("roles.-1.cost_per_month=1", "--set: roles.-1: no list item '-1' (an index from 0 to 0 or one of ['SDR'])"),
    ("roles.SDR..cost_per_month=1", "--set: roles.SDR..cost_per_month: empty step in the path"),
    (".plan.budget_per_month=1", "--set: .plan.budget_per_month: empty step in the path"),
    ("plan.budget_per_month.=1", "empty step in the path"),
    ("name=*x", "--set: name: alias *x is not allowed"),
    ("shocks=[{kind: hiring_freeze, from_month: 2029-01}]",
     "--set: shocks.0.from_month: 2029-01 is after the horizon ends (a month of the horizon, 2027-01 to 2027-12)"),
    ("shocks=[{kind: demand_drop, from_month: 2026-01, to_month: 2026-12, factor: 0.5}]",
     "--set: shocks.0.to_month: 2026-12 is before the horizon starts"),
    ("shocks=[{kind: demand_drop, from_month: 2027-02, factor: -1}]",
     "--set: shocks.0.factor: out of range (got -1)"),
])
def test_bad_values_exit_2_naming_the_field(tmp_path: Path, capsys, override: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(BASE)
    code = main(["run", str(scenario), "--out", str(tmp_path / "o"), "--set", override, "-q"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "o").exists()


def test_values_in_the_file_keep_their_line(tmp_path: Path, capsys) -> None:
    code, err = _validate(tmp_path, BASE.replace("cost_per_month: 5000", "cost_per_month: .inf"), capsys)
    assert code == 2 and f"{tmp_path / 's.yaml'}:22: roles.0.cost_per_month: not a finite number" in err
    code, err = _validate(tmp_path, BASE.replace("conversion: 0.5", "conversion: {SMB: 1.5}"), capsys)
    assert code == 2 and err.count("\n") == 1 and "constrained" not in err
    assert ":16: funnel.stages.0.conversion: out of range (got 1.5)" in err


def test_sane_values_still_load(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(BASE)
    loaded = load_scenario(scenario, ["roles.0.cost_per_month=7500", "demand.baseline.0.leads_per_month=1000000",
                                      "roles.SDR.headcount_start=100000"])
    assert loaded.scenario.roles[0].cost_per_month == 7500.0
    assert loaded.scenario.roles[0].headcount_start == 100_000


@pytest.mark.parametrize(("override", "message"), [
    ("support.tiers.0.customers_start=100000000", "support.tiers.0.customers_start: 100,000,000 customers x 20 "
     "tickets a month is more tickets than the engine simulates (at most 1,000,000 tickets a month per tier)"),
    ("support.patience_seconds=0.01", "--set: support.patience_seconds: out of range (got 0.01)"),
    ("support.tiers.0.aht_seconds=1000000", "--set: support.tiers.0.aht_seconds: out of range"),
    ("support.tiers.0.aht_seconds=86400 customers_start=50000",
     "support.tiers: the base case's ticket load: offered load "),
])
def test_support_loads_beyond_the_formulas_are_bad_input(tmp_path: Path, capsys, override: str,
                                                          message: str) -> None:
    from sweep_fixtures import MMC

    scenario = tmp_path / "s.yaml"
    scenario.write_text(MMC + "plan: {time_limit_s: 5}\n")
    first, _, customers = override.partition(" ")
    extra = ["--set", f"support.tiers.0.{customers}"] if customers else []
    code = main(["run", str(scenario), "--out", str(tmp_path / "o"), "-q", "--set", first, *extra])
    err = capsys.readouterr().err
    assert code == 2 and message in err and "internal error" not in err, err
    assert customers == "" or "Erlangs is above 100,000" in err
    assert not (tmp_path / "o").exists()
