"""Benchmark: reconcile and write the report of a 36-month, 3-case run with 20 replications.

Target (issue 7): reconciliation + report.html + report.md written in under 5 s. The stages
before it (forecast, hiring MILP, simulation) run once, untimed, on the scaleup example with a
36-month horizon; then reconciliation and rendering are timed REPEATS times (wall and CPU time,
median), with and without report.xlsx. Figures go to benchmarks/results/reports.md.

    .venv/bin/python benchmarks/report_speed.py [--repeats 3] [--replications 20] [--reuse]
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 5.0



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--replications", type=int, default=20)
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the upstream stage outputs pickled in benchmarks/out/ by a previous run")
    args = parser.parse_args()

    from engine.reconcile.stage import reconcile
    from engine.run import RunOptions, RunResult, execute, load_for_run
    from reports.render import write_reports

    options = RunOptions(replications=args.replications, overrides=(
        f"horizon.months={args.months}", "plan.cases=[low, base, high]", "plan.time_limit_s=20",
        "plan.mip_gap=0.01"))
    t0 = time.perf_counter()
    cache = REPO / "benchmarks" / "out" / f"report_speed_{args.months}m_{args.replications}r.pickle"
    if args.reuse and cache.is_file():
        with cache.open("rb") as fh:
            result = pickle.load(fh)
    else:
        loaded = load_for_run(REPO / "scenarios" / "scaleup.yaml", options)
        result = execute(loaded, options)
        cache.parent.mkdir(parents=True, exist_ok=True)
        with cache.open("wb") as fh:
            pickle.dump(result, fh)
    upstream = time.perf_counter() - t0
    outputs = {k: v for k, v in result.outputs.items() if k != "reconciliation"}
    leads = outputs["simulation"].result.leads
    rows: list[tuple[str, float, float]] = []
    for excel in (False, True):
        walls, cpus = [], []
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as tmp:
                w0, c0 = time.perf_counter(), time.process_time()
                recon = reconcile(result.loaded, outputs)
                write_reports(Path(tmp), RunResult(result.loaded, {**outputs, "reconciliation": recon}),
                              excel=excel)
                walls.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
        rows.append(("reconcile + html + md" + (" + xlsx" if excel else ""),
                     statistics.median(walls), statistics.median(cpus)))
    table_rows = len(recon.tables["reconciliation.csv"])
    lines = [
        "# Report speed (issue 7)", "",
        f"Machine: {describe()}.", "",
        f"Input: scenarios/scaleup.yaml, {args.months} months, 3 demand cases, {args.replications} "
        f"replications ({len(leads):,} simulated leads); reconciliation table {table_rows:,} rows. "
        + (f"Upstream stages (untimed) took {upstream:.1f} s." if not args.reuse else
         "Upstream stage outputs reused from benchmarks/out/ (computed once by an earlier run, "
         "untimed)."), "",
        f"Median of {args.repeats} repeats; target under {TARGET_S:.0f} s wall.", "",
        "| step | wall s | CPU s | target |", "| --- | --- | --- | --- |",
        *(f"| {name} | {wall:.2f} | {cpu:.2f} | {'met' if wall < TARGET_S else 'MISSED'} |"
          for name, wall, cpu in rows),
        "",
        "Wall time depends on the load of the machine (the CPU column is this process alone).",
    ]
    out = REPO / "benchmarks" / "results" / "reports.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
