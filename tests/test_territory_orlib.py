"""Published optima: OR-Library p-median pmed1-10 (Beasley 1990) and capacitated p-median
pmedcap1-5 (Osman and Christofides 1994), converted to the units / distances CSV formats of
DESIGN.md and solved through the territory stage. Each must reach the published optimum exactly
(integer distances, so exact up to solver round-off of 1e-6) with status optimal."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine.plan.territory import run_territory
from engine.scenario.schema.territory import TerritorySection

DATA = Path(__file__).resolve().parent / "data"


def _floyd_warshall(n: int, edges: dict[tuple[int, int], int]) -> np.ndarray:
    """All-pairs shortest paths, written independently of the engine's scipy completion."""
    d = np.full((n, n), np.inf)
    np.fill_diagonal(d, 0.0)
    for (i, j), c in edges.items():
        d[i, j] = d[j, i] = c
    for k in range(n):
        d = np.minimum(d, d[:, k:k + 1] + d[k:k + 1, :])
    return d


def pmed_to_csv(k: int, folder: Path) -> tuple[int, int]:
    """Write pmed{k} as units.csv and a sparse distances.csv (the instance's edges with their
    shortest-path length; the engine completes the other pairs). Returns (p, published optimum).
    A repeated edge takes its last value (OR-Library convention, shared/data/README.md)."""
    lines = (DATA / "pmed" / f"pmed{k}.txt").read_text().split("\n")
    n, _, p = map(int, lines[0].split())
    edges: dict[tuple[int, int], int] = {}
    for line in lines[1:]:
        if line.strip():
            i, j, c = map(int, line.split())
            edges[(min(i, j) - 1, max(i, j) - 1)] = c
    sp = _floyd_warshall(n, edges)
    (folder / "units.csv").write_text("id\n" + "".join(f"v{i + 1}\n" for i in range(n)))
    rows = "".join(f"v{i + 1},v{j + 1},{int(sp[i, j])}\n" for (i, j) in edges)
    (folder / "distances.csv").write_text("from,to,distance\n" + rows)
    optima = dict(line.split() for line in (DATA / "pmed" / "optima.txt").read_text().splitlines()
                  if line.startswith("pmed"))
    return p, int(optima[f"pmed{k}"])


def capmed_to_csv(k: int, folder: Path) -> tuple[int, float, int]:
    """Write pmedcap{k} as a units CSV plus the truncated Euclidean distances the published
    optimum uses. Returns (p, capacity, published optimum)."""
    lines = (DATA / "capmed" / f"pmedcap{k}.txt").read_text().split("\n")
    best = int(lines[0].split()[1])
    n, p, cap = map(int, lines[1].split())
    pts = [tuple(map(int, line.split())) for line in lines[2:2 + n]]
    (folder / "units.csv").write_text("id,x,y,workload\n" + "".join(f"u{i},{x},{y},{q}\n" for i, x, y, q in pts))
    rows = "".join(f"u{a[0]},u{b[0]},{math.floor(math.hypot(a[1] - b[1], a[2] - b[2]))}\n"
                   for ia, a in enumerate(pts) for b in pts[ia + 1:])
    (folder / "distances.csv").write_text("from,to,distance\n" + rows)
    return p, float(cap), best


@pytest.mark.parametrize("k", range(1, 11))
def test_pmed_reaches_published_optimum(k: int, tmp_path: Path) -> None:
    p, optimum = pmed_to_csv(k, tmp_path)
    section = TerritorySection(units="units.csv", distances="distances.csv", territories=p,
                               compactness_weight="unit", time_limit_s=300)
    result = run_territory(section, tmp_path)
    assert str(result.solve.status) == "optimal"
    assert result.solve.objective == pytest.approx(optimum, abs=1e-6)
    assert result.assignments["center_unit_id"].nunique() == p


@pytest.mark.parametrize("k", range(1, 6))
def test_capacitated_pmed_reaches_published_optimum(k: int, tmp_path: Path) -> None:
    p, cap, optimum = capmed_to_csv(k, tmp_path)
    section = TerritorySection(units="units.csv", distances="distances.csv", territories=p,
                               compactness_weight="unit", capacity=cap, time_limit_s=300)
    result = run_territory(section, tmp_path)
    assert str(result.solve.status) == "optimal"
    assert result.solve.objective == pytest.approx(optimum, abs=1e-6)
    loads = result.assignments.groupby("territory")["workload"].sum()
    assert len(loads) == p and loads.max() <= cap + 1e-9
