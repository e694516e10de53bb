"""Which README CLI rows (command and flags) the test suite exercises, read from the sources.

The README's CLI table (`| command | does | exit |`) is the contract. A row is covered when some
test under tests/ runs its command with each of its flags, recognised in either of two ways:

* **automatically**: a list or tuple literal, or the arguments of a call, in a test file whose
  first string is the command name (`main(["erlang", "--json", ...])`, `runner.invoke(app,
  ["run", ...])`, `_cli("run", ...)`) or whose strings contain `engine.cli` or `salesops`
  followed by it (`[sys.executable, "-m", "engine.cli", "sweep", ...]`); every string of it
  starting with `--` counts as a flag used (`--name=value` counts as `--name`), including the
  strings of a module-level list constant unpacked into it (`*FLAGS`, `*FLAGS[:2]`);
* **explicitly**: a `@pytest.mark.cli("command", "--flag", ...)` marker on a test function, for a
  test that builds its arguments in a way the scan cannot see (flags from a variable, a helper).

A new README row therefore needs no registration beyond a test that calls the command.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
CELL_SPLIT = re.compile(r"(?<!\\)\|")
FLAG = re.compile(r"--[a-z][a-z0-9-]*")
ENTRY_NAMES = {"engine.cli", "salesops"}


@dataclass(frozen=True)
class CliRow:
    """One row of the README's CLI table."""

    command: str
    """Sub-command name, e.g. `run`."""
    flags: tuple[str, ...]
    """Every `--flag` the row names, in order."""
    exits: tuple[int, ...]
    """Exit codes the row's `exit` cell names."""
    text: str
    """The row's command cell, for messages."""


def cli_rows(markdown: str) -> list[CliRow]:
    """Rows of the first `| command | does | exit |` table in `markdown`."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines)
                  if [c.strip() for c in CELL_SPLIT.split(line.strip())[1:-1]] == ["command", "does", "exit"]),
                 None)
    if start is None:
        return []
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in CELL_SPLIT.split(line.strip())[1:-1]]
        command_cell = re.search(r"`([^`]*)`", cells[0])
        words = command_cell.group(1).split() if command_cell else cells[0].split()
        rows.append(CliRow(command=words[1], flags=tuple(dict.fromkeys(FLAG.findall(cells[0]))),
                           exits=tuple(sorted({int(d) for d in re.findall(r"\b[0-9]\b", cells[2])})),
                           text=cells[0]))
    return rows


def _constants(tree: ast.Module) -> dict[str, list[str]]:
    """Module-level names bound to a list or tuple literal -> its string elements."""
    out = {}
    for node in tree.body:
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.List | ast.Tuple)):
            out[node.targets[0].id] = _strings(node.value.elts, {})
    return out


def _strings(elements: list[ast.expr], constants: dict[str, list[str]]) -> list[str]:
    """String constants among `elements`, with unpacked module-level lists spliced in."""
    out: list[str] = []
    for e in elements:
        if isinstance(e, ast.Constant) and isinstance(e.value, str):
            out.append(e.value)
        elif isinstance(e, ast.Starred):
            inner = e.value.value if isinstance(e.value, ast.Subscript) else e.value
            if isinstance(inner, ast.Name):
                out += constants.get(inner.id, [])
    return out


def _invocation(strings: list[str], commands: set[str]) -> tuple[str, set[str]] | None:
    """(command, flags) when the string elements of a literal are a CLI invocation."""
    if not strings:
        return None
    if strings[0] in commands:
        return strings[0], {s.split("=", 1)[0] for s in strings[1:] if s.startswith("--")}
    for i, s in enumerate(strings[:-1]):
        if s in ENTRY_NAMES and strings[i + 1] in commands:
            return strings[i + 1], {t.split("=", 1)[0] for t in strings[i + 2:] if t.startswith("--")}
    return None


def _marker(decorator: ast.expr) -> list[str] | None:
    """String arguments of a `pytest.mark.cli(...)` decorator, else None."""
    if not isinstance(decorator, ast.Call):
        return None
    func = decorator.func
    if isinstance(func, ast.Attribute) and func.attr == "cli" and ast.unparse(func) == "pytest.mark.cli":
        return [a.value for a in decorator.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
    return None


def covered_by_tests(commands: set[str], folder: Path = TESTS) -> dict[str, dict[str, set[str]]]:
    """command -> flag -> the test files that use it (flag "" = the command at all)."""
    found: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(folder.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        constants = _constants(tree)
        for node in ast.walk(tree):
            hit = None
            if isinstance(node, ast.List | ast.Tuple):
                hit = _invocation(_strings(node.elts, constants), commands)
            elif isinstance(node, ast.Call):
                hit = _invocation(_strings(node.args, constants), commands)
            elif isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                for decorator in node.decorator_list:
                    args = _marker(decorator)
                    if args and args[0] in commands:
                        hit = args[0], set(args[1:])
            if hit:
                command, flags = hit
                for flag in {"", *flags}:
                    found[command][flag].add(path.name)
    return found
