"""Cost of valuing what binds: the hiring stage of an example scenario with `plan.what_binds` off
and on (one reference re-solve plus one per binding limit), wall and CPU seconds, and the values.

Run: `.venv/bin/python benchmarks/what_binds.py [scenario.yaml] [--set path=value]...`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from machine import describe

from engine.plan.demand import forecast_demand
from engine.plan.supply import plan_supply
from engine.scenario.load import load_scenario

REPO = Path(__file__).resolve().parents[1]


def timed_stage(path: Path, overrides: list[str]) -> tuple[float, float, dict]:
    """Wall and CPU seconds of the hiring stage, and its summary."""
    loaded = load_scenario(path, overrides)
    forecast = forecast_demand(loaded).result.forecast
    wall, cpu = time.perf_counter(), time.process_time()
    out = plan_supply(loaded, forecast)
    return time.perf_counter() - wall, time.process_time() - cpu, out.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("scenario", nargs="?", default=str(REPO / "scenarios" / "scaleup.yaml"))
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    print(describe())
    print("| what_binds | wall s | CPU s | bindings valued (kind role: objective gain [proven interval]) |")
    print("| --- | ---: | ---: | --- |")
    for flag in ("false", "true"):
        wall, cpu, summary = timed_stage(Path(args.scenario), [*args.overrides, f"plan.what_binds={flag}"])
        found = "; ".join(f"{b['kind']} {b['role'] or ''}: {b['objective_gain']} {b['objective_gain_interval']}"
                          for b in summary.get("binding", []))
        print(f"| {flag} | {wall:.1f} | {cpu:.1f} | {found} |")


if __name__ == "__main__":
    main()
