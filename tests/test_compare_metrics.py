"""`salesops compare --metric NAME`: catalogue names resolved to summary.json paths, each run's value,
the difference to the first run, and better / worse by the metric's direction."""

from __future__ import annotations

import json
from pathlib import Path

from test_compare import _Cells

from engine.cli import main


def _run(folder: Path, win_rate: float, dropped: float, hires: float) -> Path:
    folder.mkdir(parents=True)
    summary = {"scenario": folder.name, "currency": "EUR", "reconciliation": {"case": "base"},
               "headline": {"base": {"hires": hires}},
               "simulation": {"totals": {"win_rate": {"p10": 0.0, "p50": win_rate, "p90": 1.0},
                                         "dropped": {"p10": 0.0, "p50": dropped, "p90": 1e6}}}}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    return folder


def test_compare_named_metrics_in_their_direction(tmp_path: Path, capsys) -> None:
    a = _run(tmp_path / "a", 0.02, 500, 10)
    b = _run(tmp_path / "b", 0.03, 800, 10)
    out = tmp_path / "c.html"
    assert main(["compare", str(a), str(b), "--out", str(out), "--metric", "win_rate", "--metric", "dropped",
                 "--metric", "hires", "--metric", "first_response_p50_h"]) == 0
    parser = _Cells()
    parser.feed(out.read_text(encoding="utf-8"))
    rows = {r[1][0]: r for r in parser.rows if len(r) == 5 and r[1][0].startswith(("simulation.", "headline."))}
    win = rows["simulation.totals.win_rate.p50"]
    assert [c[0] for c in win[2:]] == ["0.0200", "0.0300", "0.0100"] and "better" in win[4][1].split()  # higher is better
    dropped = rows["simulation.totals.dropped.p50"]
    assert dropped[4][0] == "300" and "worse" in dropped[4][1].split()  # more dropped leads is worse
    assert not {"better", "worse"} & set(rows["headline.base.hires"][4][1].split())  # no difference: not highlighted
    assert "missing" in rows["simulation.totals.first_response_p50_h.p50"][2][1].split()  # absent: said so
    capsys.readouterr()
    assert main(["compare", str(a), str(b), "--out", str(out), "--metric", "win_rat"]) == 2
    assert "did you mean 'win_rate'" in capsys.readouterr().err
