"""YAML reading that remembers where each value came from (file and line), for error messages.

Parsing is bounded before anything is built: aliases (`*name`) are refused, since a few lines of
them expand into billions of nodes; nesting deeper than `MAX_DEPTH` is refused before Python's
recursion limit is reached; a key given twice in one mapping is an error instead of "last wins".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputError, Problem
from engine.safe_files import MAX_YAML_BYTES, read_text_capped

Origin = tuple[str, int]
"""(file, 1-based line) of a YAML node."""
PathKey = tuple[str | int, ...]
At = Callable[[PathKey, str, str | None], Problem]
"""Builds a Problem located at a scenario path: (path, what is wrong, what was expected)."""

MAX_DEPTH = 50
"""Deepest nesting of mappings and lists accepted (a scenario needs about 6)."""


class _Refused(yaml.YAMLError):
    """A YAML construct the engine does not accept (alias, too deep), with its line."""

    def __init__(self, problem: str, expected: str, mark: yaml.Mark | None):
        super().__init__(problem)
        self.problem, self.expected, self.problem_mark = problem, expected, mark


class _BoundedLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` that refuses aliases and nesting deeper than MAX_DEPTH while composing."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> yaml.Node:
        if self.check_event(yaml.AliasEvent):
            event = self.get_event()
            raise _Refused(f"alias *{event.anchor} is not allowed",
                           "each value written out in full, without anchors and aliases", event.start_mark)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels",
                           f"at most {MAX_DEPTH} nested mappings or lists", self.peek_event().start_mark)
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


@dataclass
class LocatedDoc:
    """Parsed YAML data plus the origin of every mapping key and list item, by path."""

    data: Any
    origins: dict[PathKey, Origin]


def _walk(node: yaml.Node, path: PathKey, file: str, origins: dict[PathKey, Origin],
          problems: list[Problem]) -> None:
    if isinstance(node, yaml.MappingNode):
        seen: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            ident = (key_node.tag, str(key))
            if ident in seen:
                dotted = ".".join(str(p) for p in (*path, key))
                problems.append(Problem(file, line, dotted, f"duplicate key (first given on line {seen[ident]})",
                                        "each key once per mapping"))
                continue
            seen[ident] = line
            origins[(*path, key)] = (file, line)
            _walk(value_node, (*path, key), file, origins, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            origins[(*path, index)] = (file, item.start_mark.line + 1)
            _walk(item, (*path, index), file, origins, problems)


def _syntax_problem(exc: yaml.YAMLError, file: str) -> Problem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    if isinstance(exc, _Refused):
        return Problem(file, line, "<yaml>", exc.problem, exc.expected)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return Problem(file, line, "<yaml>", f"YAML syntax error: {problem}", "valid YAML")


def _compose(text: str, file: str) -> tuple[yaml.Node | None, _BoundedLoader]:
    loader = _BoundedLoader(text)
    try:
        return loader.get_single_node(), loader
    except yaml.YAMLError as exc:
        raise InputError([_syntax_problem(exc, file)]) from None
    except RecursionError:
        raise InputError.single(file, "<yaml>", "nesting too deep",
                                f"at most {MAX_DEPTH} nested mappings or lists") from None


def parse_yaml_text(text: str, file: str) -> LocatedDoc:
    """Parse YAML text (bounded: no aliases, nesting, duplicate keys); `file` names it in errors."""
    node, loader = _compose(text, file)
    origins: dict[PathKey, Origin] = {(): (file, 1)}
    problems: list[Problem] = []
    if node is None:
        return LocatedDoc(data=None, origins=origins)
    _walk(node, (), file, origins, problems)
    if problems:
        raise InputError(problems)
    try:
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise InputError([_syntax_problem(exc, file)]) from None
    finally:
        loader.dispose()
    return LocatedDoc(data=data, origins=origins)


def read_yaml(path: Path, field: str = "<file>", source: str | None = None, line: int | None = None,
              max_bytes: int = MAX_YAML_BYTES) -> LocatedDoc:
    """Read a YAML file and map every key path to its line.

    Only a regular UTF-8 file of at most `max_bytes` is read (`field`, `source` and `line` say who
    named it, for the error). Raises InputError for a missing or unreadable file, a syntax error
    (with its line), an alias, nesting deeper than MAX_DEPTH or a duplicate key.
    """
    text = read_text_capped(path, field, max_bytes=max_bytes, source=source, line=line,
                            expected="an existing UTF-8 YAML file")
    return parse_yaml_text(text, str(path))


def origin_of(origins: dict[PathKey, Origin], path: PathKey, default_file: str) -> Origin | tuple[str, None]:
    """Origin of `path`, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = origins.get(tuple(path[:end]))
        if found is not None:
            return found
    return (default_file, None)
