"""Run every benchmark in this folder in turn (`make bench`), then merge the figures.

Each benchmark writes its own `benchmarks/results/<topic>.md`; this script concatenates them,
under a header naming the machine, into a marked block of `benchmarks/RESULTS.md` (the rest of
that file, each issue's targets as measured, is left alone). Run it on a quiet machine:
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


BEGIN, END = "<!-- run_all.py: begin -->", "<!-- run_all.py: end -->"
"""RESULTS.md keeps its hand-written sections (each issue's measured targets, with conditions);
the merged per-topic files go between these markers, at the end the first time."""


def merge() -> Path:
    """Put the per-topic result files into benchmarks/RESULTS.md between BEGIN and END, leaving
    everything outside the markers as it is."""
    parts = [BEGIN, "## Latest `make bench` figures\n",
             f"Merged {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/run_all.py`. "
             f"Machine of the merge: {describe()}. Each part names the machine and conditions "
             "under which its figures were taken.\n"]
    for path in sorted((HERE / "results").glob("*.md")):
        parts.append(_as_section(path.read_text(encoding="utf-8")).strip() + "\n")
    parts.append(END)
    block = "\n".join(parts)
    out = HERE / "RESULTS.md"
    text = out.read_text(encoding="utf-8") if out.exists() else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    out.write_text(text, encoding="utf-8")
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
