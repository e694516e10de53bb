"""Input problems: one line per problem, `FILE:LINE: dotted.path: what is wrong (expected)`.

Every loader (scenario YAML, CRM CSV, units CSV, sweep YAML) collects `Problem`s and raises one
`InputError`; the CLI prints each problem on its own line and exits with code 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one input file.

    `line` is the 1-based line in the file (for CSV files: the line of the row, header = 1), or
    None when unknown; `path` is the dotted field path (for CSV files: the column name).
    """

    file: str
    line: int | None
    path: str
    message: str
    expected: str | None = None

    def format(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else f"{self.file}"
        tail = f" ({self.expected})" if self.expected else ""
        field = self.path or "<root>"
        return f"{where}: {field}: {self.message}{tail}"


class InputError(Exception):
    """Bad input: the run stops before writing anything and the CLI exits with code 2."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.format() for p in self.problems))

    @classmethod
    def single(
        cls, file: str, path: str, message: str, expected: str | None = None, line: int | None = None
    ) -> InputError:
        return cls([Problem(str(file), line, path, message, expected)])


class NoFeasiblePlan(Exception):
    """The run completed and wrote its folder, but a planning stage has no feasible plan: the CLI
    prints `lines` (which stage, and why where a check found it) on stderr and exits with code 3."""

    def __init__(self, lines: Iterable[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))
