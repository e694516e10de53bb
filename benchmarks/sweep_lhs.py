"""A 50-point Latin-hypercube sweep of the scale-up against its frozen plan, 3 replications a point.

    .venv/bin/python benchmarks/sweep_lhs.py [--points 50] [--workers 2]

Target (issue 18): under 3 minutes with `--workers 2`. The plan is solved once (`freeze_plan`);
each point re-forecasts demand (lead volume x 1 to 3), evaluates the fixed hires and simulates 3
replications with the sweep seed (common random numbers). Prints the wall time, the solve, the
points' own pipeline time, points per second, the CPU seconds of the whole sweep (this process and
its pool workers, sampled from /proc while they run) and of one point (scale ~2) run alone, from
which the wall time on an idle 2-core machine is estimated; the load average beside them (the
machine may be shared).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

from engine.batch.points import plan_sweep  # noqa: E402
from engine.batch.sweep import execute_sweep  # noqa: E402

SWEEP = """\
name: scale-up lead volume x AE attrition, frozen plan (LHS benchmark)
base: {base}
vary:
  demand.scale: {{dist: uniform, params: {{low: 1.0, high: 3.0}}}}
  roles.AE.attrition_per_year: {{dist: uniform, params: {{low: 0.2, high: 0.4}}}}
method: lhs
samples: {points}
seed: 18
freeze_plan: true
replications: 3
"""


class DescendantCpu:
    """CPU seconds of this process's descendants (the forkserver and its pool workers are not
    waited for by this process, so RUSAGE_CHILDREN misses them): /proc sampled every 0.5 s (up to
    that much per worker is missed at the end), the last value seen per process kept."""

    def __init__(self) -> None:
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> DescendantCpu:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.sample()

    def sample(self) -> None:
        tick = os.sysconf("SC_CLK_TCK")
        parent, cpu = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(entry.name)] = int(fields[1])
            cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
        me = os.getpid()
        for pid in cpu:
            up = parent.get(pid)
            while up is not None and up != me:
                up = parent.get(up)
            if up == me:
                self.seen[pid] = max(self.seen.get(pid, 0.0), cpu[pid])

    @property
    def seconds(self) -> float:
        return sum(self.seen.values())


def _one_point_cpu(plan: object) -> float:
    """CPU seconds of the point nearest demand.scale 2 run here alone (the workers' CPU time is
    not visible from this process: they are forkserver children)."""
    from engine.batch.sweep import _tasks
    from engine.batch.worker import run_task, warm_up

    warm_up()
    point = min(plan.points, key=lambda p: abs(p.values["demand.scale"] - 2.0))
    task = next(_tasks(plan, [point.point_id], None))
    start = time.process_time()
    run_task(task)
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(describe(), flush=True)
    folder = Path(tempfile.mkdtemp(prefix="sweep_lhs_"))
    try:
        sweep = folder / "sweep.yaml"
        sweep.write_text(SWEEP.format(base=ROOT / "scenarios" / "scaleup.yaml", points=args.points))
        start, cpu_start = time.perf_counter(), time.process_time()
        plan = plan_sweep(sweep)
        planned, plan_cpu = time.perf_counter() - start, time.process_time() - cpu_start
        point_cpu = _one_point_cpu(plan)
        start_points, cpu_start = time.perf_counter(), time.process_time()
        with DescendantCpu() as workers_cpu:
            summary = execute_sweep(plan, folder / "out", workers=args.workers, progress=False)
            points_wall = time.perf_counter() - start_points
            workers_cpu.sample()
        sweep_cpu = time.process_time() - cpu_start + workers_cpu.seconds
        wall = planned + points_wall
        print(f"{summary}")
        print(f"wall {wall:.1f} s: plan (solve once + validate {len(plan.points)} points) {planned:.1f} s "
              f"({plan_cpu:.1f} CPU s), points {points_wall:.1f} s = {len(plan.points) / points_wall:.2f} points/s "
              f"({sweep_cpu:.1f} CPU s in this process and {args.workers} workers; "
              f"{summary.run_s:.1f} s of pipeline time, {summary.run_s / max(summary.ran, 1):.2f} s a point)")
        print(f"CPU: plan {plan_cpu:.1f} s + points {sweep_cpu:.1f} s = {plan_cpu + sweep_cpu:.1f} s; "
              f"one point at demand.scale ~2 takes {point_cpu:.2f} CPU s alone, so on an idle machine "
              f"~{planned + point_cpu * len(plan.points) / args.workers:.0f} s; "
              f"target < 180 s: {'met' if wall < 180 else 'missed'}")
        print(describe())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
