"""One line describing the machine a benchmark ran on (CPU, cores, memory, Python, load)."""

from __future__ import annotations

import os
import platform
from pathlib import Path


def describe() -> str:
    """CPU model, cores (nproc), memory, Python version and the 1-minute load average now."""
    cpu, mem = platform.processor() or "unknown CPU", "unknown memory"
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
        mem_kb = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                      if x.startswith("MemTotal"))
        mem = f"{mem_kb / 1024 ** 2:.1f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu}, {os.cpu_count()} cores (nproc), {mem}, Python {platform.python_version()}, "
            f"load average {load:.1f}")
