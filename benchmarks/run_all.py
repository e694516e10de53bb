"""Run every benchmark in this folder in turn (`make bench`), then merge the figures.

Each benchmark writes its own `benchmarks/results/<topic>.md`; this script concatenates them,
under a header naming the machine, into `benchmarks/RESULTS.md`. Run it on a quiet machine:
the figures are wall-clock seconds.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # benchmarks/: the machine helper
from machine import describe  # noqa: E402

HERE = Path(__file__).resolve().parent
SCRIPTS = ("territory_scale.py", "hiring_scale.py", "sim_throughput.py", "calibrate_scale.py",
           "report_speed.py", "sweep_scale.py")



def _as_section(text: str) -> str:
    """One topic's Markdown with its headings pushed one level down when it starts at level 1."""
    lines = text.splitlines()
    if not any(line.startswith("# ") for line in lines):
        return text
    return "\n".join("#" + line if line.startswith("#") else line for line in lines)


def merge() -> Path:
    """Write benchmarks/RESULTS.md from the per-topic result files."""
    parts = ["# Benchmark results\n",
             f"Merged {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/run_all.py --merge-only`. "
             f"Machine of the merge: {describe()}. Each section names the machine and conditions "
             "under which its figures were taken.\n"]
    for path in sorted((HERE / "results").glob("*.md")):
        parts.append(_as_section(path.read_text(encoding="utf-8")).strip() + "\n")
    out = HERE / "RESULTS.md"
    out.write_text("\n".join(parts), encoding="utf-8")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--merge-only", action="store_true", help="Only merge existing result files.")
    args = parser.parse_args()
    failed = []
    if not args.merge_only:
        for script in SCRIPTS:
            if not (HERE / script).exists():
                continue
            print(f"== {script}", flush=True)
            if subprocess.run([sys.executable, str(HERE / script)], check=False).returncode != 0:
                failed.append(script)
    print(f"wrote {merge()}")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
