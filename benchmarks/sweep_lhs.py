"""A 50-point Latin-hypercube sweep of the scale-up against its frozen plan, 3 replications a point.

    .venv/bin/python benchmarks/sweep_lhs.py [--points 50] [--workers 2]

Target (issue 18): under 3 minutes with `--workers 2`. The plan is solved once (`freeze_plan`);
each point re-forecasts demand (lead volume x 1 to 3), evaluates the fixed hires and simulates 3
replications with the sweep seed (common random numbers). Prints the wall time, the solve, the
points' own pipeline time and the CPU seconds of this process and its workers (on an idle 2-core
machine the wall time approaches CPU / 2); the load average beside them (the machine may be shared).
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
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


def _cpu_s() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


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
        start = time.perf_counter()
        plan = plan_sweep(sweep)
        planned = time.perf_counter() - start
        summary = execute_sweep(plan, folder / "out", workers=args.workers, progress=False)
        wall = time.perf_counter() - start
        print(f"{summary}")
        print(f"wall {wall:.1f} s: plan (solve once + validate {len(plan.points)} points) {planned:.1f} s, "
              f"points {summary.run_s:.1f} s of pipeline time ({summary.run_s / max(summary.ran, 1):.1f} s a point), "
              f"CPU {_cpu_s():.1f} s; target < 180 s: {'met' if wall < 180 else 'missed'}")
        print(describe())
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
