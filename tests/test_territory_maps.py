"""Territory design on a map: a small real-shaped case drawn with shapely.

An 8 x 6 grid of 1 km square cells (EPSG:3857, so areas and centroids are in metres) with two
lakes (cells missing, so the land has holes) and an island off the east coast (one cell touching
nothing). Every check recomputes the border graph independently from the grid coordinates (cells
one step apart share an edge) instead of trusting libpysal.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.geometry import box

from engine.errors import InputError
from engine.plan.territory import run_territory
from engine.scenario.schema.territory import TerritorySection

LAKES = {(2, 2), (5, 3)}
ISLAND = (10, 2)
SIDE = 1000.0


def _cells() -> list[tuple[int, int]]:
    return [(c, r) for r in range(6) for c in range(8) if (c, r) not in LAKES] + [ISLAND]


def _write(folder: Path, workload: dict[str, float] | None = None, fmt: str = "geojson") -> list[tuple[int, int]]:
    cells = _cells()
    ids = [f"c{c}r{r}" for c, r in cells]
    rng = np.random.default_rng(7)
    load = rng.uniform(1.0, 3.0, len(cells)).round(2)
    frame = gpd.GeoDataFrame({"code": ids, "pop": load * 1000},
                             geometry=[box(c * SIDE, r * SIDE, (c + 1) * SIDE, (r + 1) * SIDE) for c, r in cells],
                             crs=3857)
    frame.to_file(folder / f"shapes.{fmt}", engine="pyogrio")
    units = pd.DataFrame({"id": ids, "workload": load})
    for uid, value in (workload or {}).items():
        units.loc[units["id"] == uid, "workload"] = value
    units.to_csv(folder / "units.csv", index=False)
    return cells


def _grid_edges(cells: list[tuple[int, int]], extra: list[tuple[int, int]] = ()) -> np.ndarray:
    pos = {cell: k for k, cell in enumerate(cells)}
    edges = [(pos[(c, r)], pos[(c + dc, r + dr)]) for (c, r) in cells for dc, dr in ((1, 0), (0, 1))
             if (c + dc, r + dr) in pos]
    return np.asarray(edges + list(extra))


def _section(**kw) -> TerritorySection:
    base = {"units": "units.csv", "boundaries": "shapes.geojson", "boundary_id": "code", "territories": 3,
            "balance": 0.1, "contiguity": True, "time_limit_s": 30.0, "mip_gap": 0.0}
    return TerritorySection(**{**base, **kw})


def _connected(members: np.ndarray, edges: np.ndarray, n: int) -> bool:
    inside = np.zeros(n, dtype=bool)
    inside[members] = True
    keep = inside[edges[:, 0]] & inside[edges[:, 1]]
    e = edges[keep]
    g = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    comp = connected_components(g, directed=False)[1]
    return len(np.unique(comp[members])) == 1


def test_linked_island_plan_is_contiguous_and_balanced(tmp_path: Path) -> None:
    """With the island linked to its closest cell, 3 territories: every territory connected over
    the grid's own border graph (plus that link), every workload within 10 % of the mean."""
    cells = _write(tmp_path)
    res = run_territory(_section(link_islands=True), tmp_path)
    assert res.solve.has_solution, res.summary
    a = res.assignments
    n = len(cells)
    # the island (10, 2) is closest by centroid to the east-coast cell (7, 2): 3 km apart
    link = (cells.index(ISLAND), cells.index((7, 2)))
    edges = _grid_edges(cells, [link])
    for name in a["territory"].unique():
        members = np.flatnonzero(a["territory"].to_numpy() == name)
        assert _connected(members, edges, n), f"territory {name} is not connected"
    units = pd.read_csv(tmp_path / "units.csv")
    mean = units["workload"].sum() / 3
    totals = a.groupby("territory")["workload"].sum()
    assert (totals.between(0.9 * mean - 1e-6, 1.1 * mean + 1e-6)).all(), totals
    notes = " ".join(res.summary["boundary_notes"])
    assert "c10r2" in notes and "islands" in notes
    assert res.summary["gap"] is not None and res.summary["gap"] <= 1e-6


def test_home_bases_plan_is_contiguous_balanced_and_certified_by_its_own_bound(tmp_path: Path) -> None:
    """Centres fixed at three reps' home bases in far corners (west, north-east, south-east):
    every territory connected over the grid's border graph, within 10 % of the mean, holding
    its home base; the gap is the assignment MILP's own (no relaxation named), at mip_gap 0.
    Without contiguity the same centres' optimum is split (203.26 with the cuts against 201.56
    without), so the cuts were needed and were added."""
    cells = _write(tmp_path)
    homes = {"West": "c0r3", "NorthEast": "c7r5", "SouthEast": "c6r0"}
    res = run_territory(_section(link_islands=True, centres=homes), tmp_path)
    free = run_territory(_section(link_islands=True, centres=homes, contiguity=False), tmp_path)
    assert res.solve.has_solution and free.solve.has_solution, res.summary
    a = res.assignments.set_index("unit_id")
    edges = _grid_edges(cells, [(cells.index(ISLAND), cells.index((7, 2)))])
    for name, home in homes.items():
        members = np.flatnonzero(a["territory"].to_numpy() == name)
        assert a.loc[home, "territory"] == name
        assert _connected(members, edges, len(cells)), f"territory {name} is not connected"
    mean = pd.read_csv(tmp_path / "units.csv")["workload"].sum() / 3
    assert a.groupby("territory")["workload"].sum().between(0.9 * mean - 1e-6, 1.1 * mean + 1e-6).all()
    assert res.summary.get("bound_method") is None and res.summary["gap"] <= 1e-6
    assert res.summary["contiguity"]["cuts"] > 0
    assert res.summary["objective"] > free.summary["objective"] + 1.0


def test_centroids_and_graph_come_from_the_shapes(tmp_path: Path) -> None:
    """x, y in km from the cell centres; the border graph equals the grid's (rook)."""
    from engine.plan.territory_boundaries import load_boundaries

    cells = _write(tmp_path, fmt="gpkg")
    geo = load_boundaries(tmp_path / "shapes.gpkg", "code")
    assert np.allclose(geo.x, [(c + 0.5) for c, _ in cells]) and np.allclose(geo.y, [(r + 0.5) for _, r in cells])
    assert np.allclose(geo.area, 1.0)
    got = {tuple(sorted(e)) for e in geo.edges.tolist()}
    want = {tuple(sorted(e)) for e in _grid_edges(cells).tolist()}
    assert got == want


def test_more_parts_than_territories_is_input_error(tmp_path: Path) -> None:
    """Island not linked, 1 territory: 2 parts of the border graph -> InputError naming them."""
    _write(tmp_path)
    with pytest.raises(InputError) as err:
        run_territory(_section(territories=1, balance=None), tmp_path)
    text = str(err.value)
    assert "2 separate parts" in text and "c10r2" in text


def test_unit_alone_above_band_is_diagnosed(tmp_path: Path) -> None:
    """One cell holds more than the band's upper end: no plan, status infeasible, the diagnosis
    names the cell."""
    _write(tmp_path, workload={"c0r0": 60.0})
    res = run_territory(_section(link_islands=True), tmp_path)
    assert not res.solve.has_solution
    assert res.summary["status"] == "infeasible"
    assert any("c0r0" in line and "exceed" in line for line in res.summary["diagnosis"])
    assert "territories" not in res.summary


def test_island_too_light_for_a_territory_is_diagnosed(tmp_path: Path) -> None:
    """Island not linked, 2 territories: 2 parts is allowed, but the island (one cell, workload
    at most 3 of ~100) would have to be a whole territory, far below the band: infeasible,
    and the diagnosis names the island's part."""
    _write(tmp_path)
    res = run_territory(_section(territories=2), tmp_path)
    assert res.summary["status"] == "infeasible"
    assert any("separate part" in line and "c10r2" in line for line in res.summary["diagnosis"])


def test_granularity_spread_is_diagnosed() -> None:
    """Workloads 3, 3, 3, 1 into 2 territories within 10 % of the mean 5 (band 4.5..5.5): no
    unit alone is above the band, but the best split ({3,3} / {3,1}) differs by 2 > the band's
    width 1, so the diagnosis reports a smallest spread of at least 2."""
    from solvers.territory.design import Balance, SolveOptions, TerritoryProblem, design_territories

    xy = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0]])
    dist = np.abs(xy[:, None, 0] - xy[None, :, 0])
    prob = TerritoryProblem(unit_ids=np.array(list("abcd"), dtype=object), distance=dist, weight=np.ones(4),
                            workload=np.array([3.0, 3, 3, 1]), potential=np.zeros(4), p=2,
                            balance=(Balance("workload", 0.1),))
    res = design_territories(prob, SolveOptions(time_limit_s=10))
    assert res.summary["status"] == "infeasible"
    spread = [line for line in res.summary["diagnosis"] if "smallest achievable spread" in line]
    assert spread and "is at least 2," in spread[0], res.summary["diagnosis"]


def _scenario(folder: Path, **kw) -> Path:
    body = {"units": "units.csv", "boundaries": "shapes.geojson", "boundary_id": "code", "territories": 3,
            "balance": 0.1, "contiguity": True, "time_limit_s": 30, **kw}
    lines = ["name: map-case", "territory:"] + [f"  {k}: {json.dumps(v)}" for k, v in body.items()]
    path = folder / "scenario.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_exit_2_names_the_parts(tmp_path: Path) -> None:
    _write(tmp_path)
    scenario = _scenario(tmp_path, territories=1, balance=None)
    out = _cli("run", str(scenario), "--out", str(tmp_path / "run"), "--quiet")
    assert out.returncode == 2, out.stderr
    assert "separate parts" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()


def test_units_command_writes_csvs(tmp_path: Path) -> None:
    cells = _write(tmp_path)
    out = _cli("units", str(tmp_path / "shapes.geojson"), "--id", "code", "--measure", "workload=pop",
               "--out", str(tmp_path / "csv"))
    assert out.returncode == 0, out.stderr
    units = pd.read_csv(tmp_path / "csv" / "units.csv")
    adj = pd.read_csv(tmp_path / "csv" / "adjacency.csv")
    assert list(units.columns[:3]) == ["id", "x", "y"] and "workload" in units.columns
    assert len(units) == len(cells) and len(adj) == len(_grid_edges(cells))
    bad = _cli("units", str(tmp_path / "shapes.geojson"), "--id", "nope", "--out", str(tmp_path / "csv2"))
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_start_heuristic_alone_is_contiguous_and_balanced(tmp_path: Path) -> None:
    """The region-growing start (no MILP) on the grid, island linked: 4 territories, each
    connected over the grid's border graph and within 10 % of the mean workload."""
    from engine.plan.territory import load_territory_problem
    from solvers.territory.start_contiguous import Band, contiguous_start

    cells = _write(tmp_path)
    prob = load_territory_problem(_section(link_islands=True, territories=4), tmp_path)
    mean = prob.workload.sum() / 4
    plan = contiguous_start(prob.distance, prob.weight, prob.adjacency, 4, [Band(prob.workload, 0.9 * mean, 1.1 * mean)])
    assert plan is not None and plan.balanced
    edges = _grid_edges(cells, [(cells.index(ISLAND), cells.index((7, 2)))])
    for c in np.unique(plan.centre_of):
        members = np.flatnonzero(plan.centre_of == c)
        assert c in members and _connected(members, edges, len(cells))
        assert 0.9 * mean - 1e-9 <= prob.workload[members].sum() <= 1.1 * mean + 1e-9
    assert plan.cost == pytest.approx(prob.plan_cost(plan.centre_of))


def test_time_limit_keeps_a_contiguous_plan(tmp_path: Path) -> None:
    """With a 1 s limit the stage still returns a contiguous, balanced plan (the best one found)
    and a certified gap, never a disconnected plan or none."""
    cells = _write(tmp_path)
    res = run_territory(_section(link_islands=True, territories=4, time_limit_s=1.0), tmp_path)
    assert res.solve.has_solution and res.summary["gap"] is not None
    a = res.assignments
    edges = _grid_edges(cells, [(cells.index(ISLAND), cells.index((7, 2)))])
    for name in a["territory"].unique():
        assert _connected(np.flatnonzero(a["territory"].to_numpy() == name), edges, len(cells))


def test_missing_boundary_file_is_named_with_its_line(tmp_path: Path) -> None:
    from engine.scenario.load import load_scenario

    _write(tmp_path)
    scenario = _scenario(tmp_path, boundaries="missing.gpkg")
    with pytest.raises(InputError) as err:
        load_scenario(scenario, [])
    line = next(i for i, t in enumerate(scenario.read_text().splitlines(), start=1) if "missing.gpkg" in t)
    assert f"{scenario}:{line}: territory.boundaries: file not found" in str(err.value)


def test_units_command_queen_and_island_links(tmp_path: Path) -> None:
    """`--queen` adds the corner-touching pairs to the rook graph (counted on the grid itself);
    `--link-islands` joins the island to the mainland, so the border graph becomes one part."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    cells = _write(tmp_path)
    present = set(cells)
    diagonal = sum((c + 1, r + dr) in present for c, r in cells for dr in (1, -1))
    queen = _cli("units", str(tmp_path / "shapes.geojson"), "--id", "code", "--queen",
                 "--out", str(tmp_path / "q"))
    assert queen.returncode == 0, queen.stderr
    assert len(pd.read_csv(tmp_path / "q" / "adjacency.csv")) == len(_grid_edges(cells)) + diagonal
    linked = _cli("units", str(tmp_path / "shapes.geojson"), "--id", "code", "--link-islands",
                  "--out", str(tmp_path / "l"))
    assert linked.returncode == 0, linked.stderr
    ids = pd.read_csv(tmp_path / "l" / "units.csv")["id"].tolist()
    adj = pd.read_csv(tmp_path / "l" / "adjacency.csv")
    pos = {u: k for k, u in enumerate(ids)}
    a, b = adj.iloc[:, 0].map(pos).to_numpy(), adj.iloc[:, 1].map(pos).to_numpy()
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(len(ids), len(ids)))
    assert connected_components(graph, directed=False)[0] == 1
    assert len(adj) > len(_grid_edges(cells))


def test_no_plan_over_reduced_pairs_is_not_called_infeasible(tmp_path: Path, monkeypatch) -> None:
    """Without a balanced start the free-centre model runs over each unit's nearest centres; when
    that restricted model has no plan (here: every unit may only join itself, while 3 territories
    must hold 49 units), the whole problem is not proven infeasible: status no_solution."""
    from engine.plan.territory import load_territory_problem
    from solvers.territory import design
    from solvers.territory.design import SolveOptions

    _write(tmp_path)
    prob = load_territory_problem(_section(link_islands=True), tmp_path)
    monkeypatch.setattr(design, "CONTIGUOUS_FULL_PAIRS", 0)
    monkeypatch.setattr(design, "MIN_CANDIDATES", 1)
    _, sol, best, _ = design._contiguous_without_start(prob, None, SolveOptions(time_limit_s=20), None)
    assert best is None
    assert sol.result.status.value == "no_solution", sol.result


def test_fixed_centre_loop_without_a_bound_writes_null_and_why(tmp_path: Path) -> None:
    """A 1 s search (no time for the free-centre model) whose fixed-centre MILP rounds stop at
    HiGHS's node limit 0, before any bound: `fixed_centre_bound` has bound and gap null and the
    reason, never a number; the certified bound (a relaxation over every pair) stays below the plan."""
    from solvers.solve import solver_defaults

    _write(tmp_path)
    with solver_defaults(mip_max_nodes=0):
        res = run_territory(_section(link_islands=True, territories=4, time_limit_s=1.0), tmp_path)
    entry = res.summary["fixed_centre_bound"]
    assert entry["bound"] is None and entry["gap"] is None, entry
    assert "stopped (" in entry["reason"] and "before it had a bound" in entry["reason"]
    assert entry["note"] == "valid only with the final centres fixed"
    assert res.solve.has_solution and 0 < res.summary["bound"] <= res.summary["objective"]


def test_fixed_centre_bound_keeps_a_real_bound_and_drops_the_trivial_zero() -> None:
    """HiGHS stopped in its root (time limit) reports bound 0 (non-negative costs), gap 1.0 (seen
    on a 400 x 20 balanced assignment with a 0.2 s limit): no information, so null with the reason;
    a positive bound is kept as given."""
    from solvers.solve import SolveResult, Status
    from solvers.territory.design import fixed_centre_bound

    trivial = SolveResult(Status.FEASIBLE, "maxTimeLimit", 573.4, 0.0, 1.0, 0.0, 1.0)
    assert fixed_centre_bound(trivial, note="n") == {
        "bound": None, "gap": None, "reason": "the fixed-centre MILP stopped (maxTimeLimit) before it had a bound",
        "note": "n"}
    real = SolveResult(Status.FEASIBLE, "maxTimeLimit", 131.38, 130.0, 0.0105, 0.0, 1.0)
    assert fixed_centre_bound(real, centres="c") == {"bound": 130.0, "gap": 0.0105, "centres": "c"}


def test_home_bases_over_reduced_pairs_are_certified_by_the_lp_over_every_pair(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Home bases with each unit offered only its 2 nearest centres, and no follow-up model over
    every pair (as on instances over FULL_PAIRS pairs): the MILP's own bound covers those pairs
    only, so the certified bound is the LP over every unit-centre pair (contiguity
    dropped). Checked against that LP written out independently with scipy's linprog: x_ij in
    [0, 1], each unit in one territory, each home base in its own, workload within 10 % of the
    mean; it must also beat the nearest-centre bound and stay below the plan."""
    from scipy.optimize import linprog

    from engine.plan.territory import load_territory_problem
    from solvers.territory import design
    from solvers.territory.design import (
        BOUND_LP_FIXED,
        BOUND_NEAREST,
        SolveOptions,
        design_territories,
    )

    monkeypatch.setattr(design, "FULL_PAIRS", 0)
    _write(tmp_path)
    homes = {"West": "c0r3", "NorthEast": "c7r5", "SouthEast": "c6r0"}
    prob = load_territory_problem(_section(link_islands=True, centres=homes), tmp_path)
    res = design_territories(prob, SolveOptions(time_limit_s=30.0, mip_gap=0.0, max_candidates=2))
    s = res.summary
    assert s["bound_method"] == BOUND_LP_FIXED, s

    n, centres = prob.n, np.asarray(prob.fixed_centres)
    p = len(centres)
    cost = (prob.weight[:, None] * prob.distance[:, centres]).ravel()  # x[i, k] at i * p + k
    one = np.kron(np.eye(n), np.ones(p))
    mean = prob.workload.sum() / p
    load = np.kron(prob.workload[:, None], np.eye(p)).T  # row k: sum_i w_i x[i, k]
    bounds = [(0.0, 1.0)] * (n * p)
    for k, c in enumerate(centres):
        bounds[c * p + k] = (1.0, 1.0)
    lp = linprog(cost, A_ub=np.vstack([load, -load]), b_ub=np.r_[np.full(p, 1.1 * mean), np.full(p, -0.9 * mean)],
                 A_eq=one, b_eq=np.ones(n), bounds=bounds, method="highs")
    assert lp.status == 0
    assert s["bound"] == pytest.approx(lp.fun, rel=1e-6)
    assert s["bound_relaxations"][BOUND_NEAREST] < s["bound"] <= s["objective"] + 1e-6


def test_bundled_map_example_runs_contiguous_and_balanced(tmp_path: Path) -> None:
    """scenarios/territory-map.yaml (250 counties in a GeoJSON, last year's strips as current
    territories) without its alternatives: exit 0, every territory connected in the border graph
    libpysal derives from the bundled shapes, every workload within 10 % of the mean, and the
    moved units counted against last year's territories."""
    from engine.plan.territory_boundaries import load_boundaries

    repo = Path(__file__).resolve().parents[1]
    out = _cli("run", str(repo / "scenarios" / "territory-map.yaml"), "--out", str(tmp_path / "run"), "--quiet",
               "--set", "territory.alternatives=0")
    assert out.returncode == 0, out.stderr
    geo = load_boundaries(repo / "scenarios" / "data" / "map_units" / "counties.geojson", "county")
    plan = pd.read_csv(tmp_path / "run" / "plan" / "territories.csv", dtype={"unit_id": str})
    terr = plan.set_index("unit_id").loc[geo.ids, "territory"].to_numpy()
    for name in np.unique(terr):
        assert _connected(np.flatnonzero(terr == name), geo.edges, geo.n), f"territory {name} is not connected"
    totals = plan.groupby("territory")["workload"].sum()
    mean = totals.sum() / 5
    assert len(totals) == 5 and totals.between(0.9 * mean - 1e-6, 1.1 * mean + 1e-6).all(), totals
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())["territory"]
    units = pd.read_csv(repo / "scenarios" / "data" / "map_units" / "units.csv", dtype={"id": str})
    current = units.set_index("id").loc[plan["unit_id"], "current_territory"].to_numpy()
    assert summary["moved_units"] == int((current != plan["territory"].to_numpy()).sum())
