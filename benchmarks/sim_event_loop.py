"""The lead flow's event loop alone: CPU time and Python calls per SimPy event.

    .venv/bin/python benchmarks/sim_event_loop.py [--leads 100000] [--repeats 5]

Runs `FunnelModel.run()` (no lead draws, metrics or tickets) on the scaleup example scaled to
`--leads` leads (as benchmarks/sim_throughput.py scales it), `--repeats` times, and reports the
median and least CPU time (process_time, so a busy machine skews it less than wall time) per
event; then counts the Python-level calls per event of one more run under cProfile (a count, not
a time: the same on any machine). Used to check that a change to the event loop
(engine/simulation/event_loop.py) adds no call per event.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.sim_throughput import scaled_config  # noqa: E402
from engine.simulation.arrivals import draw_leads, spawn_streams  # noqa: E402
from engine.simulation.leadflow import FunnelModel  # noqa: E402


def fresh_model(cfg, seed: int = 7) -> FunnelModel:
    streams = spawn_streams(np.random.SeedSequence(seed))
    return FunnelModel(cfg, draw_leads(cfg, streams), streams["people"])


def cpu_seconds(cfg, repeats: int) -> tuple[list[float], int]:
    """CPU seconds of each run and the number of events one run schedules."""
    times = []
    for _ in range(repeats):
        model = fresh_model(cfg)
        start = time.process_time()
        model.run()
        times.append(time.process_time() - start)
    return times, next(model.env.ids)


def calls_by_function(cfg) -> tuple[int, dict[str, int]]:
    """Python calls of one run under cProfile: the total and the count of each function."""
    model = fresh_model(cfg)
    profile = cProfile.Profile()
    profile.enable()
    model.run()
    profile.disable()
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    counts = {f"{Path(file).name}:{name}": calls for (file, _, name), (_, calls, *_) in stats.items()}
    return sum(counts.values()), counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cfg = scaled_config(args.leads)
    times, events = cpu_seconds(cfg, args.repeats)
    calls, counts = calls_by_function(cfg)
    top = dict(sorted(counts.items(), key=lambda item: -item[1])[:8])
    print(json.dumps({"leads": args.leads, "events": events, "cpu_s_median": statistics.median(times),
                      "cpu_s_min": min(times), "us_per_event_median": 1e6 * statistics.median(times) / events,
                      "python_calls_per_event": calls / events, "most_called": top}))


if __name__ == "__main__":
    main()
