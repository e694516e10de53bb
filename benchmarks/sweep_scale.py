"""Sweep scaling: N points of the scaleup example (2 replications each) with 1 and 2 workers.

    .venv/bin/python benchmarks/sweep_scale.py [--points 200] [--workers 1 2] [--dask]

Targets (issue 8): 2 workers at least 1.7x faster than 1; per-point overhead beyond the run itself
under 0.3 s. The sweep is a Latin hypercube over the people budget, AE attrition and lead growth.

Per-point overhead = (wall time x workers - sum of the points' own pipeline time) / points, where
a point's pipeline time (`run_s`) is measured inside the worker around `engine.run.execute`. It
includes everything a sweep adds: validating every point up front, pickling tasks, the pool's
start-up, writing each point's Parquet file, consolidating results.parquet and the report, and
any time a worker sits idle at the end. Wall times are noisy on a shared machine: the load
average is recorded beside them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

import engine.sweep_backends  # noqa: E402, F401  (imported now: the stages import lazily)
import reports.sweep_report  # noqa: E402, F401
from engine.sweep import run_sweep  # noqa: E402

SWEEP = """\
name: scaleup LHS benchmark
base: {base}
set: {{plan.cases: [base], plan.time_limit_s: {time_limit}, plan.mip_gap: 0.02}}
vary:
  plan.budget_per_month: {{dist: uniform, params: {{low: 350000, high: 600000}}}}
  roles.AE.attrition_per_year: {{dist: uniform, params: {{low: 0.15, high: 0.45}}}}
  demand.annual_growth: {{dist: triangular, params: {{low: 0.1, mode: 0.35, high: 0.6}}}}
method: lhs
samples: {points}
seed: 8
replications: 2
metrics: [headline.base.cost, headline.base.margin, simulation.totals.sla_attainment.p50]
"""


TINY = """\
name: overhead probe (forecast only)
horizon: {start: 2027-01, months: 12}
segments: [{name: SMB, deal_size: {mean: 1000}}]
regions: [{name: EU}]
demand: {baseline: [{segment: SMB, region: EU, leads_per_month: 100}]}
"""
TINY_SWEEP = """\
name: overhead probe
base: tiny.yaml
vary:
  demand.baseline.0.leads_per_month: {{dist: uniform, params: {{low: 10, high: 1000}}}}
  demand.annual_growth: {{dist: uniform, params: {{low: 0, high: 0.5}}}}
method: lhs
samples: {points}
seed: 1
metrics: [demand.totals.base]
"""
"""A forecast-only scenario (a run of a few ms): its sweep time is nearly all sweep overhead."""



def run(sweep: Path, out: Path, workers: int, dask: str | None) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    load = os.getloadavg()[0]
    start = time.perf_counter()
    summary = run_sweep(sweep, out, workers=workers, dask=dask, progress=False)
    wall = time.perf_counter() - start
    n = summary.total
    return {"workers": workers, "backend": summary.backend, "points": n, "ok": summary.ok,
            "failed": summary.failed, "wall_s": wall, "run_s": summary.run_s,
            "per_point_s": wall / n, "overhead_s": (wall * workers - summary.run_s) / n,
            "load": load}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--overhead-points", type=int, default=200,
                        help="points of the forecast-only sweep that measures the overhead alone")
    parser.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster")
    parser.add_argument("--time-limit", type=float, default=5.0,
                        help="hiring MILP time limit per point (s); the example's own is 60 s")
    parser.add_argument("--base", type=Path, default=ROOT / "scenarios" / "scaleup.yaml")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "sweeps.md")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    sweep = tmp / "sweep.yaml"
    sweep.write_text(SWEEP.format(base=args.base.resolve(), points=args.points, time_limit=args.time_limit), encoding="utf-8")
    (tmp / "tiny.yaml").write_text(TINY, encoding="utf-8")
    tiny = tmp / "tiny-sweep.yaml"
    tiny.write_text(TINY_SWEEP.format(points=args.overhead_points), encoding="utf-8")
    rows = [{**run(tiny, tmp / f"tiny{w}", w, None), "probe": True} for w in args.workers]
    rows += [run(sweep, tmp / f"w{w}", w, None) for w in args.workers]
    if args.dask:
        rows.append(run(sweep, tmp / "dask", max(args.workers), "local"))
    for r in rows:
        print(f"{'overhead probe ' if r.get('probe') else ''}{r['backend']:>16}: {r['points']} points ({r['failed']} failed) in {r['wall_s']:.1f} s, "
              f"{r['per_point_s']:.2f} s/point, overhead {r['overhead_s']:.3f} s/point, load {r['load']:.1f}")
    write_results(args, rows)
    shutil.rmtree(tmp, ignore_errors=True)


def write_results(args: argparse.Namespace, rows: list[dict]) -> None:
    def first(probe: bool) -> dict | None:
        return next((r for r in rows if r["workers"] == 1 and "dask" not in r["backend"]
                     and bool(r.get("probe")) == probe), None)

    lines = [f"| {'forecast-only probe' if r.get('probe') else 'scaleup'} | {r['backend']} | {r['points']} | {r['failed']} | {r['wall_s']:.1f} | {r['per_point_s']:.2f} | "
             f"{r['run_s'] / max(r['points'], 1):.2f} | {r['overhead_s']:.3f} | "
             f"{first(bool(r.get('probe')))['wall_s'] / r['wall_s']:.2f}x | {r['load']:.1f} |"
             if first(bool(r.get("probe"))) else "" for r in rows]
    text = f"""# Sweeps: scaling and per-point overhead

`benchmarks/sweep_scale.py --points {args.points}`: a Latin hypercube of {args.points} points of
the scaleup example (people budget, AE attrition, lead growth), 2 simulated replications each,
the hiring MILP on the base case only with a {args.time_limit:g} s time limit and a 2 % gap.
Machine: {describe()}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

| sweep | backend | points | failed | wall s | wall s / point | run s / point | overhead s / point | speed-up vs 1 | load avg |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}

Targets: 2 workers >= 1.7x faster than 1; per-point overhead < 0.3 s (overhead = wall x workers
minus the points' own pipeline time, per point; it includes up-front validation of every point,
the pool start-up, the store writes, results.parquet and report.html).

## Running the same sweep on a multi-node Dask cluster

Start a scheduler on one machine and workers on the others, all with this package installed in
the same version (`pip install -e '.[dask]'`), one single-threaded worker process per core since
the pipeline is CPU-bound Python and the MILPs are single-threaded:

    dask-scheduler --port 8786                                   # on the head node
    dask-worker tcp://HEAD:8786 --nworkers auto --nthreads 1     # on every compute node
    salesops sweep SWEEP.yaml --out /shared/sweeps/run1 --dask tcp://HEAD:8786

The client validates every point before submitting, ships each point's resolved scenario (a
small dict) to the workers, and writes each finished point's Parquet file itself, so the results
store only has to be on the client's disk; with `--keep-runs` the workers write run folders to
`DIR/runs/`, so DIR must then be on storage all nodes mount at the same path (NFS, a cluster file
system). Data files the scenario names (CRM export, territory units) are read by the workers
from the base scenario's folder: keep the scenarios on shared storage at the same path too. Seeds
derive from the sweep seed and the point id, so the results do not depend on how many nodes
or workers run them; a sweep interrupted on the cluster resumes with `--resume` like a local one.
"""
    args.results.parent.mkdir(parents=True, exist_ok=True)
    args.results.write_text(text, encoding="utf-8")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
