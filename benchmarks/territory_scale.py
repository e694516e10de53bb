"""Territory-design scale benchmark: writes benchmarks/results/territory.md.

Parts (run all, or name some: `python benchmarks/territory_scale.py pmed random capmed big2000 big10000`):

- pmed: OR-Library pmed1-10 from tests/data (published optima), through the territory stage
  (units / distances CSV files, shortest-path completion).
- random: pmed11-40 are NOT in tests/data, so these are random instances of the same sizes
  (n, p) made like Beasley's (a random connected graph with n^2/50 edges, integer costs uniform
  in 1..100, distances = shortest paths). They are not the published instances: their optima are
  unknown, so only "proven optimal" (status, gap) and time are reported.
- capmed: pmedcap1-5 (50 nodes, published optima), and generated Osman-Christofides-like
  100-node instances (coordinates and demands uniform like the originals, p = 10, capacity 120,
  floored Euclidean distances), since the 100-node originals are not in tests/data.
- big2000: 2,000 units x 50 territories, workload balanced within 5 %, target a proven 1 % gap.
- big10000: 10,000 units x 200 territories, balanced within 5 %, target 2 % of a proven bound.
  Both in two variants on the same units: fixed centres (p home bases drawn from the seed) and
  free centres.

Every instance is seeded; times include model build. Memory is the process peak RSS.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial.distance import cdist

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.plan.territory import run_territory  # noqa: E402
from engine.scenario.schema.territory import TerritorySection  # noqa: E402
from solvers.territory.design import (  # noqa: E402
    Balance,
    SolveOptions,
    TerritoryProblem,
    TerritoryResult,
    design_territories,
)

DATA = ROOT / "tests" / "data"
OUT = ROOT / "benchmarks" / "results" / "territory.md"
PMED_SIZES = {  # OR-Library pmed11-40: (n, p)
    11: (300, 5), 12: (300, 10), 13: (300, 30), 14: (300, 60), 15: (300, 100),
    16: (400, 5), 17: (400, 10), 18: (400, 40), 19: (400, 80), 20: (400, 133),
    21: (500, 5), 22: (500, 10), 23: (500, 50), 24: (500, 100), 25: (500, 167),
    26: (600, 5), 27: (600, 10), 28: (600, 60), 29: (600, 120), 30: (600, 200),
    31: (700, 5), 32: (700, 10), 33: (700, 70), 34: (700, 140), 35: (800, 5),
    36: (800, 10), 37: (800, 80), 38: (900, 5), 39: (900, 10), 40: (900, 90),
}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores ({cpu}), {mem / 2**20:.0f} GB RAM, load average {load:.1f} at start "
            f"(the machine is shared: times are wall clock under that load); HiGHS 1 thread")


def peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def beasley_like(n: int, seed: int) -> np.ndarray:
    """Shortest-path matrix of a random connected graph: n^2/50 edges, costs uniform 1..100."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    a = list(order[1:])
    b = [order[rng.integers(0, k)] for k in range(1, n)]  # random spanning tree
    edges = set(zip(np.minimum(a, b), np.maximum(a, b), strict=True))
    target = n * n // 50
    while len(edges) < target:
        i, j = rng.integers(0, n, size=2)
        if i != j:
            edges.add((min(i, j), max(i, j)))
    e = np.array(sorted(edges))
    cost = rng.integers(1, 101, size=len(e)).astype(float)
    g = coo_matrix((cost, (e[:, 0], e[:, 1])), shape=(n, n)).tocsr()
    return shortest_path(g, directed=False)


_CPU = [0.0]


def _cpu_start() -> None:
    _CPU[0] = time.process_time()


def _row(name: str, n: int, p: int, res, seconds: float, note: str = "") -> str:
    s = res.solve
    gap = "-" if s.gap is None else f"{100 * s.gap:.3f} %"
    obj = "-" if s.objective is None else f"{s.objective:,.1f}"
    bound = "-" if s.bound is None else f"{s.bound:,.1f}"
    cpu = time.process_time() - _CPU[0]
    return f"| {name} | {n} | {p} | {s.status} | {obj} | {bound} | {gap} | {seconds:.1f} | {cpu:.1f} | {note} |"


HEADER = ("| instance | n | p | status | objective | bound | gap | seconds (incl. build) | CPU s | note |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def part_pmed() -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from test_territory_orlib import pmed_to_csv  # the tests' converter (Floyd-Warshall reference)

    rows = []
    for k in range(1, 11):
        with tempfile.TemporaryDirectory() as tmp:
            p, optimum = pmed_to_csv(k, Path(tmp))
            t0 = time.perf_counter()
            _cpu_start()
            res = run_territory(TerritorySection(units="units.csv", distances="distances.csv", territories=p,
                                                 compactness_weight="unit", time_limit_s=600), Path(tmp))
            secs = time.perf_counter() - t0
        ok = res.solve.objective is not None and abs(res.solve.objective - optimum) < 1e-6
        rows.append(_row(f"pmed{k}", 100 if k <= 5 else 200, p, res, secs,
                         f"published {optimum}: {'reached' if ok else 'MISSED'}; target < 10 s: "
                         f"{'met' if secs < 10 else 'missed'}"))
        print(rows[-1], flush=True)
    return rows


def part_random(first: int = 11, last: int = 40, limit_s: float = 120) -> list[str]:
    rows = []
    for k, (n, p) in PMED_SIZES.items():
        if not first <= k <= last:
            continue
        dist = beasley_like(n, seed=1000 + k)
        prob = TerritoryProblem(np.array([f"v{i}" for i in range(n)], dtype=object), dist, np.ones(n),
                                np.ones(n), np.zeros(n), p)
        t0 = time.perf_counter()
        _cpu_start()
        res = design_territories(prob, SolveOptions(time_limit_s=limit_s, mip_gap=0.0))
        secs = time.perf_counter() - t0
        target = 10 if k <= 20 else 60
        rows.append(_row(f"random like pmed{k}", n, p, res, secs,
                         f"target < {target} s: {'met' if secs < target and str(res.solve.status) == 'optimal' else 'missed'}"))
        print(rows[-1], flush=True)
    return rows


def _capmed(n: int, p: int, cap: float, xy: np.ndarray, demand: np.ndarray, name: str,
            note: str) -> str:
    dist = np.floor(cdist(xy, xy))
    prob = TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), dist, np.ones(n),
                            demand.astype(float), np.zeros(n), p, capacity=cap)
    t0 = time.perf_counter()
    _cpu_start()
    res = design_territories(prob, SolveOptions(time_limit_s=300, mip_gap=0.0))
    secs = time.perf_counter() - t0
    return _row(name, n, p, res, secs, note + f"; target < 60 s: {'met' if secs < 60 else 'missed'}")


def part_capmed() -> list[str]:
    rows = []
    for k in range(1, 6):
        lines = (DATA / "capmed" / f"pmedcap{k}.txt").read_text().split("\n")
        best = int(lines[0].split()[1])
        n, p, cap = map(int, lines[1].split())
        a = np.array([list(map(int, line.split())) for line in lines[2:2 + n]])
        rows.append(_capmed(n, p, cap, a[:, 1:3].astype(float), a[:, 3], f"pmedcap{k}", f"published {best}"))
        print(rows[-1], flush=True)
    for k in range(1, 6):
        rng = np.random.default_rng(500 + k)
        xy = rng.integers(1, 101, size=(100, 2)).astype(float)
        demand = rng.integers(1, 21, size=100)
        rows.append(_capmed(100, 10, 120.0, xy, demand, f"generated OC-like 100-{k}",
                            "generated (not the published 100-node set)"))
        print(rows[-1], flush=True)
    return rows


def _balanced(n: int, p: int, seed: int, gap: float, limit: float, max_candidates: int | None,
              fixed: bool) -> tuple:
    """Clustered units with gamma workloads (the same units in both variants); with `fixed`, p
    home bases drawn once from the same seed (after the units) are the territory centres."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1000, size=(max(8, n // 150), 2))
    xy = centres[rng.integers(0, len(centres), n)] + rng.normal(0, 40, size=(n, 2))
    workload = rng.gamma(4.0, 2.5, size=n)
    homes = np.sort(rng.choice(n, p, replace=False))
    dist = cdist(xy, xy)
    prob = TerritoryProblem(np.array([f"u{i}" for i in range(n)], dtype=object), dist, workload,
                            workload, np.zeros(n), p, balance=(Balance("workload", 0.05),),
                            fixed_centres=homes if fixed else None,
                            labels=tuple(f"T{k + 1}" for k in range(p)) if fixed else ())
    t0 = time.perf_counter()
    _cpu_start()
    res = design_territories(prob, SolveOptions(time_limit_s=limit, mip_gap=gap, max_candidates=max_candidates))
    return res, time.perf_counter() - t0


def part_big(n: int, p: int, gap: float, limit: float, target_s: float,
             max_candidates: int | None = None) -> list[str]:
    """Two rows: fixed centres (reps' home bases; bound = LP over every unit-centre pair by
    column generation) and free centres (centres located by priced location-allocation rounds
    from the p-median heuristic's; bound = the best of the balance-free p-median Lagrangian and,
    up to 10,000 units, the balanced Lagrangian over all centres: the best valid ones we have)."""
    rows = []
    for fixed in (True, False):
        res, secs = _balanced(n, p, 7, gap, limit, max_candidates, fixed)
        ok = res.solve.gap is not None and res.solve.gap <= gap and secs < target_s
        ratio = res.summary.get("workload_max_min_ratio")
        if fixed:
            how = (f"bound: LP over all {n * p:,} pairs by column generation "
                   f"({res.summary.get('lp_rounds')} LP rounds, {res.summary.get('lp_s', 0):.0f} s)")
        else:
            fcb = res.summary.get("fixed_centre_bound") or {}
            start = res.summary.get("start_plan") or {}
            how = (f"centres: {fcb.get('centres', '?')} (location-allocation plan "
                   f"{start.get('objective', float('nan')):,.0f}); bound: {_bound_method(res)} over all centres; "
                   f"with those centres fixed the plan is within {100 * (fcb.get('gap') or 0):.2f} % of that "
                   "model's LP bound")
        note = (f"workload max/min {ratio:.3f}; {how}; target gap {100 * gap:.0f} % in < {target_s:.0f} s: "
                f"{'met' if ok else 'missed'}; peak RSS {peak_gb():.1f} GB"
                if ratio else f"no solution; peak RSS {peak_gb():.1f} GB")
        label = "fixed centres (home bases)" if fixed else "free centres"
        rows.append(_row(f"balanced {n} x {p}, {label}", n, p, res, secs, note))
        print(rows[-1], flush=True)
    return rows


def _bound_method(res: TerritoryResult) -> str:
    """The relaxation that gave the run's bound, as summary.json's `bound_method` records it."""
    method = res.summary.get("bound_method", "?")
    skipped = (res.summary.get("bound_relaxations") or {}).get("balanced_lagrangian_skipped")
    return f"{method} (balanced Lagrangian skipped: {skipped})" if skipped else method


def part_enterprise() -> list[str]:
    """The enterprise example's territory stage as configured (scenarios/enterprise.yaml)."""
    from engine.scenario.load import load_scenario

    loaded = load_scenario(ROOT / "scenarios" / "enterprise.yaml")
    section = loaded.scenario.territory
    t0 = time.perf_counter()
    _cpu_start()
    res = run_territory(section, loaded.directory)
    secs = time.perf_counter() - t0
    ratio = res.summary.get("workload_max_min_ratio")
    note = (f"time_limit_s {section.time_limit_s} (termination {res.solve.termination}), max_nodes "
            f"{section.max_nodes}, max_candidates {section.max_candidates}; workload max/min {ratio:.3f}; moved "
            f"{res.summary.get('moved_share', 0):.1%} of units; bound = {_bound_method(res)} over every "
            f"unit-centre pair; target < 20 s: {'met' if secs < 20 else 'missed'}")
    row = _row("enterprise.yaml territory", 500, section.territories, res, secs, note)
    print(row, flush=True)
    return [row]


PARTS = {
    "pmed": ("OR-Library pmed1-10 (published optima)", part_pmed),
    "random": ("Random instances of the pmed11-40 sizes (NOT the published instances)", part_random),
    "random11_20": ("Random instances of the pmed11-20 sizes (NOT the published instances)",
                    lambda: part_random(11, 20)),
    "random21_40": ("Random instances of the pmed21-40 sizes (NOT the published instances)",
                    lambda: part_random(21, 40, limit_s=60)),
    "capmed": ("Capacitated p-median", part_capmed),
    "enterprise": ("Enterprise example (500 accounts, 12 named territories, 10 % balance, 25 % max disruption)",
                   part_enterprise),
    "big2000": ("2,000 units x 50 territories, 5 % workload balance",
                lambda: part_big(2000, 50, 0.01, 110, 120)),
    "big10000": ("10,000 units x 200 territories, 5 % workload balance",
                 lambda: part_big(10_000, 200, 0.02, 560, 600)),
}


def main(names: list[str]) -> None:
    """Run the named parts (all by default); each part's table is kept in results/territory_parts/
    and territory.md is rebuilt from every part run so far, so parts can be run separately."""
    parts_dir = OUT.parent / "territory_parts"
    parts_dir.mkdir(parents=True, exist_ok=True)
    for name in names or list(PARTS):
        title, fn = PARTS[name]
        rows = fn()
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (parts_dir / f"{name}.md").write_text("\n".join(
            [f"## {title}", "", f"Run {when}. Machine: {machine()}.", "", HEADER, *rows, ""]) + "\n")
        merged = ["# Territory design benchmark (`benchmarks/territory_scale.py`)", ""]
        notes = parts_dir / "_notes.md"  # hand-written reading guide, kept across runs
        if notes.exists():
            merged.append(notes.read_text())
        merged += [(parts_dir / f"{k}.md").read_text() for k in PARTS if (parts_dir / f"{k}.md").exists()]
        OUT.write_text("\n".join(merged))


if __name__ == "__main__":
    main(sys.argv[1:])
    print(f"wrote {OUT}", file=sys.stderr)
