"""YAML reading that remembers where each value came from (file and line), for error messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.errors import InputError, Problem

Origin = tuple[str, int]
"""(file, 1-based line) of a YAML node."""
PathKey = tuple[str | int, ...]
At = Callable[[PathKey, str, str | None], Problem]
"""Builds a Problem located at a scenario path: (path, what is wrong, what was expected)."""


@dataclass
class LocatedDoc:
    """Parsed YAML data plus the origin of every mapping key and list item, by path."""

    data: Any
    origins: dict[PathKey, Origin]


def _walk(node: yaml.Node, path: PathKey, file: str, origins: dict[PathKey, Origin]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            origins[(*path, key)] = (file, key_node.start_mark.line + 1)
            _walk(value_node, (*path, key), file, origins)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            origins[(*path, index)] = (file, item.start_mark.line + 1)
            _walk(item, (*path, index), file, origins)


def read_yaml(path: Path) -> LocatedDoc:
    """Read a YAML file with `yaml.safe_load` and map every key path to its line.

    Raises InputError for a missing file or a syntax error (with the line of the error).
    """
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError.single(file, "<file>", "file not found", "an existing YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError.single(file, "<file>", f"cannot read file: {exc}", "a UTF-8 YAML file") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError.single(file, "<yaml>", f"YAML syntax error: {problem}",
                                "valid YAML", line=line) from None
    origins: dict[PathKey, Origin] = {(): (file, 1)}
    if node is not None:
        _walk(node, (), file, origins)
    return LocatedDoc(data=data, origins=origins)


def origin_of(origins: dict[PathKey, Origin], path: PathKey, default_file: str) -> Origin | tuple[str, None]:
    """Origin of `path`, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = origins.get(tuple(path[:end]))
        if found is not None:
            return found
    return (default_file, None)
