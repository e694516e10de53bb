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

import engine.batch.backends  # noqa: E402, F401  (imported now: the stages import lazily)
import reports.sweep_report  # noqa: E402, F401
from engine.batch.sweep import run_sweep  # noqa: E402

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
metrics: [headline.base.people_cost, headline.base.operating_margin, simulation.totals.sla_attainment.p50]
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


CPU_LOOP_N = 25_000_000
"""Iterations of the pure-Python probe loop (about 2 s on the benchmark machine)."""


def child(kind: str, sweep: Path, points: int) -> None:
    """Run in a child process: `points` sweep points one after another (or a pure-Python loop),
    then print the seconds each took as JSON on stdout."""
    import json

    if kind == "loop":
        times = []
        for _ in range(points):
            start = time.perf_counter()
            acc = 0
            for i in range(CPU_LOOP_N):
                acc += i * i % 7
            times.append(time.perf_counter() - start)
        print(json.dumps(times))
        return
    from engine.batch.points import plan_sweep
    from engine.batch.sweep import _tasks
    from engine.batch.worker import run_task, warm_up

    plan = plan_sweep(sweep)
    warm_up()
    tasks = list(_tasks(plan, [p.point_id for p in plan.points[:points]], None))
    print(json.dumps([run_task(t)["run_s"] for t in tasks]))


def ceiling(sweep: Path, points: int) -> list[dict]:
    """The same work in one process alone, then in two processes at once (no sweep machinery):
    how much one core's work slows when the other core is busy too. The best speed-up any
    two-worker sweep can reach on this machine is 2 x alone / together."""
    import json
    import subprocess

    out = []
    for kind in ("loop", "points"):
        cmd = [sys.executable, __file__, "--child", kind, "--child-sweep", str(sweep), "--child-points", str(points)]
        alone = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        pair = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        together = [json.loads(p.communicate()[0]) for p in pair]
        t1 = sum(alone) / len(alone)
        t2 = sum(sum(t) for t in together) / sum(len(t) for t in together)
        out.append({"work": "pure-Python loop" if kind == "loop" else f"{points} sweep points (run_task)",
                    "alone_s": t1, "together_s": t2, "ceiling": 2 * t1 / t2, "load": os.getloadavg()[0]})
        print(f"ceiling {kind}: alone {t1:.2f} s, two at once {t2:.2f} s -> best 2-worker speed-up {2 * t1 / t2:.2f}x")
    return out


def same_results(tmp: Path, workers: list[int]) -> str:
    """Whether every worker count gave the same metrics for every point."""
    import pandas as pd

    frames = []
    for w in workers:
        f = pd.read_parquet(tmp / f"w{w}" / "results.parquet").drop(columns=["run_s"])
        frames.append(f.sort_values("point_id").reset_index(drop=True))
    same = all(f.equals(frames[0]) for f in frames[1:])
    return "identical" if same else "DIFFERENT"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--overhead-points", type=int, default=200,
                        help="points of the forecast-only sweep that measures the overhead alone")
    parser.add_argument("--dask", action="store_true", help="also run on a Dask LocalCluster")
    parser.add_argument("--time-limit", type=float, default=60.0,
                        help="hiring MILP time limit per point (s), a backstop: solves stop on the "
                             "2 %% gap or the example's node limit (plan.max_nodes) first")
    parser.add_argument("--base", type=Path, default=ROOT / "scenarios" / "scaleup.yaml")
    parser.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "sweeps.md")
    parser.add_argument("--ceiling-points", type=int, default=12,
                        help="points per process in the machine-ceiling probe (0 = skip it)")
    parser.add_argument("--child", choices=["loop", "points"], help=argparse.SUPPRESS)
    parser.add_argument("--child-sweep", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--child-points", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.child_sweep, args.child_points)
        return
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
    agree = same_results(tmp, list(args.workers))
    print(f"metrics of every point across worker counts {args.workers}: {agree}")
    ceilings = ceiling(sweep, args.ceiling_points) if args.ceiling_points else []
    for r in rows:
        print(f"{'overhead probe ' if r.get('probe') else ''}{r['backend']:>16}: {r['points']} points ({r['failed']} failed) in {r['wall_s']:.1f} s, "
              f"{r['per_point_s']:.2f} s/point, overhead {r['overhead_s']:.3f} s/point, load {r['load']:.1f}")
    write_results(args, rows, agree, ceilings)
    shutil.rmtree(tmp, ignore_errors=True)


def write_results(args: argparse.Namespace, rows: list[dict], agree: str, ceilings: list[dict]) -> None:
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
the hiring MILP on the base case only to a 2 % gap (the example's node limit and a
{args.time_limit:g} s time limit as backstops).
Machine: {describe()}. Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.

| sweep | backend | points | failed | wall s | wall s / point | run s / point | overhead s / point | speed-up vs 1 | load avg |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
{chr(10).join(lines)}

Targets: 2 workers >= 1.7x faster than 1; per-point overhead < 0.3 s (overhead = wall x workers
minus the points' own pipeline time, per point; it includes up-front validation of every point,
the pool start-up, the store writes, results.parquet and report.html).
The metrics of every point with {' and '.join(str(w) for w in args.workers)} worker(s): **{agree}**
(hiring solves stop on their gap or a node limit, never on the clock, so they do not depend on load).

Machine ceiling (`--ceiling-points {args.ceiling_points}`): the same work in one process alone and
in two processes at once, with no sweep machinery; 2 x alone / together is the best speed-up
any two-worker sweep can reach on this machine.

| work | s per unit alone | s per unit, two at once | best 2-worker speed-up | load avg |
| --- | --- | --- | --- | --- |
{chr(10).join(f"| {c['work']} | {c['alone_s']:.2f} | {c['together_s']:.2f} | {c['ceiling']:.2f}x | {c['load']:.1f} |" for c in ceilings)}

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
