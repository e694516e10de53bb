"""Formula-safe spreadsheets (issue 21, OWASP CSV injection): text cells starting with = + - @
tab or CR are text in report.xlsx and carry a leading ' in the CSVs; numbers stay numbers."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest
from minimal_scenario import BASE

from engine.cli import main
from engine.runfolder.write import formula_safe, write_table

EVIL = '=HYPERLINK("http://evil.example","x")'


@pytest.mark.parametrize(("value", "expected"), [
    (EVIL, "'" + EVIL), ("+cmd", "'+cmd"), ("-x", "'-x"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tcmd", "'\tcmd"), ("\rcmd", "'\rcmd"), ("SDR", "SDR"), ("a=b", "a=b"), ("2027-01", "2027-01"),
    ("-5", "-5"), ("+3.25", "+3.25"), ("-1e3", "-1e3"), (-5.0, -5.0), (None, None), ("", ""),
])
def test_formula_safe(value: object, expected: object) -> None:
    assert formula_safe(value) == expected


def test_csv_text_cells_escaped_numbers_kept(tmp_path: Path) -> None:
    frame = pd.DataFrame({"role": [EVIL, "AE", "-minus"], "hires": [-1, 2, 3], "cost": [-2.5, 0.0, 1.0],
                          "note": pd.Categorical(["@x", "ok", "ok"])})
    write_table(tmp_path / "t.csv", frame)
    back = pd.read_csv(tmp_path / "t.csv")
    assert back["role"].tolist() == ["'" + EVIL, "AE", "'-minus"]
    assert back["note"].tolist() == ["'@x", "ok", "ok"]
    assert back["hires"].tolist() == [-1, 2, 3] and back["cost"].tolist() == [-2.5, 0.0, 1.0]
    assert frame["role"].iloc[0] == EVIL  # the caller's frame is not changed
    write_table(tmp_path / "t.parquet", frame)
    assert pd.read_parquet(tmp_path / "t.parquet")["role"].iloc[0] == EVIL


def test_a_hostile_role_name_is_text_everywhere(tmp_path: Path, capsys) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(BASE.replace("SDR", "'" + EVIL.replace("'", "''") + "'"))
    out = tmp_path / "run"
    assert main(["run", str(scenario), "--out", str(out), "--excel", "-q", "--replications", "1"]) == 0
    with zipfile.ZipFile(out / "report.xlsx") as book:
        sheets = [book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in s for s in sheets)
    assert any("evil.example" in s for s in sheets)
    hiring = pd.read_csv(out / "plan" / "hiring.csv")
    assert set(hiring["role"]) == {"'" + EVIL}
    assert pd.api.types.is_numeric_dtype(hiring["headcount"]) and pd.api.types.is_numeric_dtype(hiring["cost"])
    for csv in out.rglob("*.csv"):
        text = csv.read_text(encoding="utf-8")
        assert "\n=" not in text and ",=" not in text, csv
