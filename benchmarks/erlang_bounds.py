"""Every `erlang` call answers in about a second or refuses (issue 21): a grid of arguments from
tiny to the limits, timed one call at a time.

    .venv/bin/python benchmarks/erlang_bounds.py

Prints the slowest calls, how many answered and how many were refused, and the machine line.
The grid: arrivals per hour 0.1 to 1e7 (and 1e12), handle time 1 s to a day, threshold 0 to an
hour, targets 0.5 and 0.99, Erlang C and Erlang A with mean patience 0.1 s to 1e9 s (and 1e-9 s).
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

from solvers.erlang import agents_for_target  # noqa: E402

ARRIVALS = (0.1, 10.0, 1_000.0, 100_000.0, 1e6, 1e7, 1e12)
AHT = (1.0, 180.0, 3_600.0, 86_400.0)
PATIENCE = (None, 1e-9, 0.1, 1.0, 60.0, 600.0, 1e5, 1e9)
WITHIN = (0.0, 20.0, 3_600.0)
TARGET = (0.5, 0.99)


def main() -> int:
    machine = describe()
    timings = []
    for arrivals, aht, patience, within, target in itertools.product(ARRIVALS, AHT, PATIENCE, WITHIN, TARGET):
        start = time.perf_counter()
        try:
            answer = str(agents_for_target(arrivals, aht, target, within, patience_seconds=patience).agents)
        except ValueError as exc:
            answer = f"refused ({str(exc)[:60]})"
        timings.append((time.perf_counter() - start, (arrivals, aht, patience, within, target), answer))
    timings.sort(key=lambda t: t[0], reverse=True)
    refused = sum(a.startswith("refused") for _, _, a in timings)
    print(f"{len(timings)} calls: {len(timings) - refused} answered, {refused} refused; "
          f"slowest {timings[0][0]:.2f} s, {sum(t > 1.0 for t, _, _ in timings)} over 1 s")
    for seconds, args, answer in timings[:8]:
        print(f"  {seconds:6.2f} s  arrivals/h, aht s, patience s, within s, target = {args}: {answer}")
    print(f"machine: {machine}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
