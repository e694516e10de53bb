"""Diff two run folders file by file, byte for byte, except manifest.json (the one file that holds
measured times and may differ between reruns).

    python benchmarks/compare_runfolders.py A B

Prints one line per difference (a file only in one folder, or a file whose bytes differ, with the
first differing line of a text file) and exits 0 when the folders are identical, 1 when not,
2 when A or B is not a folder. Used to prove behaviour unchanged across a refactoring (run the
examples before and after, compare) and by tests/test_reruns.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

IGNORED = frozenset({"manifest.json"})


def files_of(folder: Path) -> set[str]:
    """Paths (relative, POSIX) of every file in `folder` except the ignored ones."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_file() and p.name not in IGNORED}


def first_difference(a: bytes, b: bytes) -> str:
    """Where two files first differ: a line number and both lines for text, a byte offset else."""
    try:
        lines_a, lines_b = a.decode("utf-8").splitlines(), b.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        offset = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
        return f"binary, first difference at byte {offset} (sizes {len(a)} and {len(b)})"
    for number, (x, y) in enumerate(zip(lines_a, lines_b, strict=False), start=1):
        if x != y:
            return f"line {number}: {x[:120]!r} != {y[:120]!r}"
    return f"one file is a prefix of the other ({len(lines_a)} and {len(lines_b)} lines)"


def differences(a: Path, b: Path) -> list[str]:
    """One sentence per difference between run folders `a` and `b` (empty: identical)."""
    in_a, in_b = files_of(a), files_of(b)
    out = [f"only in {a}: {rel}" for rel in sorted(in_a - in_b)]
    out += [f"only in {b}: {rel}" for rel in sorted(in_b - in_a)]
    for rel in sorted(in_a & in_b):
        bytes_a, bytes_b = (a / rel).read_bytes(), (b / rel).read_bytes()
        if bytes_a != bytes_b:
            out.append(f"differs: {rel}: {first_difference(bytes_a, bytes_b)}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python benchmarks/compare_runfolders.py A B", file=sys.stderr)
        return 2
    a, b = Path(argv[0]), Path(argv[1])
    missing = [str(p) for p in (a, b) if not p.is_dir()]
    if missing:
        print(f"not a folder: {', '.join(missing)}", file=sys.stderr)
        return 2
    found = differences(a, b)
    for line in found:
        print(line)
    print(f"{len(found)} difference(s) between {a} and {b} (manifest.json not compared)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
