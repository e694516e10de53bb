"""Stress with a frozen plan: how far can the scale-up's lead volume grow before the win rate breaks?

    .venv/bin/python benchmarks/stress_frozen.py [--limit 0.02] [--workers 2] [--replications 5]

Target (issue 18): `salesops stress scenarios/scaleup.yaml --vary demand.scale --from 1 --to 3
--until 'simulation.win_rate.p50 < X'`, plan frozen, 5 replications per probe, under 60 s on 2
cores including the one solve. Prints the wall time (solve included), the time of each probe and
the answer, the CPU seconds of this process and its workers (on an idle 2-core machine the wall
time approaches solve + probes' CPU / 2); the load average beside them (the machine may be shared).
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

from engine.batch.stress import stress_search  # noqa: E402


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (the replication workers)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=0.02)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--replications", type=int, default=5)
    parser.add_argument("--replan", action="store_true")
    args = parser.parse_args()
    print(describe(), flush=True)
    start = time.perf_counter()
    result = stress_search(ROOT / "scenarios" / "scaleup.yaml", "demand.scale", 1.0, 3.0,
                           f"simulation.win_rate.p50 < {args.limit}", replications=args.replications,
                           workers=args.workers, replan=args.replan,
                           progress=lambda p: print(f"  probe {p.x:.4g}: {p.seconds:.1f} s", flush=True))
    wall = time.perf_counter() - start
    probe_s = sum(p.seconds for p in result.probes)
    print(result.text())
    print(f"wall {wall:.1f} s ({'replan' if args.replan else 'frozen'}): solve and set-up {wall - probe_s:.1f} s, "
          f"{len(result.probes)} probes {probe_s:.1f} s; CPU {_cpu_s():.1f} s; "
          f"target < 60 s: {'met' if wall < 60 else 'missed'}")
    print(describe())


if __name__ == "__main__":
    main()
