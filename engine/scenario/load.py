"""Load a scenario: read YAML, resolve `extends`, apply `--set` overrides, validate, check.

Precedence, lowest first: defaults in the schema < the `extends` parent chain (the furthest
ancestor first) < the scenario file < `--set` overrides in the order given. Mappings merge key
by key; lists and scalars are replaced whole. Every problem is reported with file and line.
"""

from __future__ import annotations

import copy
import difflib
import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from engine.errors import InputError, Problem
from engine.scenario.checks import check_scenario
from engine.scenario.loaded import (
    LoadedScenario,  # defined apart so the checks need not import the loader
)
from engine.scenario.model import Scenario
from engine.scenario.origins import (
    LocatedDoc,
    Origin,
    PathKey,
    origin_of,
    parse_yaml_text,
    read_yaml,
)

log = logging.getLogger(__name__)


def _merge(base: Any, over: Any, base_origins: dict, over_origins: dict, path: PathKey) -> Any:
    """Deep-merge `over` into `base`; origins of `over` win where it sets a value."""
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            sub = (*path, key)
            if key in base:
                merged[key] = _merge(base[key], value, base_origins, over_origins, sub)
            else:
                merged[key] = value
            _copy_origins(over_origins, base_origins, sub)
        return merged
    return over


def _copy_origins(src: dict, dst: dict, prefix: PathKey) -> None:
    for key in [k for k in dst if k[: len(prefix)] == prefix]:
        del dst[key]
    for key, origin in src.items():
        if key[: len(prefix)] == prefix:
            dst[key] = origin


def _read_with_extends(path: Path, chain: tuple[Path, ...] = (),
                       named_by: tuple[str, int | None] | None = None) -> LocatedDoc:
    """Read `path` and its `extends` parents; `named_by` is the (file, line) of the `extends`
    that named `path` (None for the scenario itself)."""
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise InputError.single(str(path), "extends", f"extends cycle: {cycle}",
                                "a chain of parents that ends")
    if named_by is None:
        doc = read_yaml(path)
    else:
        doc = read_yaml(path, "extends", source=named_by[0], line=named_by[1])
    if doc.data is None:
        doc.data = {}
    if not isinstance(doc.data, dict):
        raise InputError.single(str(path), "<root>", "the file is not a mapping",
                                "a YAML mapping with at least `name`", line=1)
    parent_ref = doc.data.pop("extends", None)
    if parent_ref is None:
        return doc
    line = doc.origins.get(("extends",), (str(path), None))[1]
    if not isinstance(parent_ref, str):
        raise InputError.single(str(path), "extends", "not a file path",
                                "a path to a parent YAML file", line=line)
    parent_path = Path(parent_ref) if Path(parent_ref).is_absolute() else path.parent / parent_ref
    if not parent_path.exists():
        raise InputError.single(str(path), "extends", f"parent file {parent_ref} not found",
                                "a path relative to this file", line=line)
    parent = _read_with_extends(parent_path, (*chain, resolved), (str(path), line))
    _rebase_data_paths(parent, parent_path.parent, path.parent)
    origins = dict(parent.origins)
    merged = _merge(parent.data, doc.data, origins, doc.origins, ())
    return LocatedDoc(data=merged, origins=origins)


_DATA_PATH_FIELDS = (("territory", "units"), ("territory", "distances"), ("territory", "adjacency"),
                     ("territory", "boundaries"), ("data", "crm_dir"), ("data", "mapping"))


def _rebase_data_paths(doc: LocatedDoc, parent_dir: Path, child_dir: Path) -> None:
    """Data paths in a parent stay relative to the parent's folder once merged into the child."""
    for section, key in _DATA_PATH_FIELDS:
        block = doc.data.get(section) if isinstance(doc.data, dict) else None
        if isinstance(block, dict) and isinstance(block.get(key), str):
            target = Path(block[key])
            if not target.is_absolute():
                block[key] = str(Path(_relpath(parent_dir / target, child_dir)))


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())


def _split_path(dotted: str) -> list[str]:
    return [p for p in dotted.split(".") if p != ""]


_PATH_EXPECTED = "a dotted path such as plan.budget_per_month, without empty steps"


def _path_steps(dotted: str, source: str) -> list[str]:
    """The steps of an override path; an empty path or an empty step (`a..b`, `.a`) is an error."""
    parts = dotted.split(".")
    if not dotted.strip():
        raise InputError.single(source, dotted, "empty path", _PATH_EXPECTED)
    if any(p.strip() == "" for p in parts):
        raise InputError.single(source, dotted, "empty step in the path", _PATH_EXPECTED)
    return parts


def apply_override(data: dict, dotted: str, value: Any, source: str = "--set") -> PathKey:
    """Set `dotted` (e.g. `roles.AE.attrition_per_year`) to `value` in place; return the key path
    it set (list steps as indices).

    A list step may be an index (0 or more) or the `name` of an item. Raises InputError naming the path.
    """
    parts = _path_steps(dotted, source)
    node: Any = data
    keys: list[str | int] = []
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                names = [str(i.get("name")) for i in node if isinstance(i, dict) and "name" in i]
                raise InputError.single(source, here, f"no list item {part!r}",
                                        f"an index from 0 to {len(node) - 1} or one of {names}"
                                        if node else "a list with items")
            keys.append(index)
            if last:
                node[index] = value
                return tuple(keys)
            node = node[index]
        elif isinstance(node, dict):
            keys.append(part)
            if last:
                node[part] = value
                return tuple(keys)
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise InputError.single(source, here, "cannot descend into a scalar value",
                                    "a path through mappings and lists")
    return tuple(keys)


def _list_index(items: list, part: str) -> int | None:
    """Index of the item named `part`, or `part` as an index in range (negative ones are not)."""
    if part.isdigit():
        index = int(part)
        return index if index < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("name")) == part:
            return i
    return None


def parse_override(text: str) -> tuple[str, Any]:
    """Split `path=value`; the value is parsed as YAML (`3` is an int, `[1, 2]` a list), with the
    scenario's bounds (no aliases, bounded nesting, no duplicate keys)."""
    if "=" not in text:
        raise InputError.single("--set", text, "missing '='", "path=value, e.g. plan.budget_per_month=90000")
    path, raw = text.split("=", 1)
    path = path.strip()
    _path_steps(path, "--set")
    try:
        value = parse_yaml_text(raw, "--set").data if raw.strip() else ""
    except InputError as exc:
        if any(p.message.startswith("YAML syntax error") for p in exc.problems):
            value = raw
        else:
            raise InputError([Problem("--set", None, path, p.message, p.expected)
                              for p in exc.problems]) from None
    return path, value


def _fields_of(model: type[BaseModel], data: Any, loc: tuple) -> list[str]:
    """Field names allowed at `loc` of `model` (for did-you-mean suggestions)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = _model_in(field.annotation)
    return list(getattr(current, "model_fields", {}).keys()) if current else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    import typing

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _clean_loc(loc: tuple, data: Any) -> tuple:
    """Drop pydantic's union-branch labels (e.g. `float`) that are not keys of the data."""
    out: list = []
    node = data
    for part in loc:
        if _has_child(node, part):
            out.append(part)
            node = node[part]
        elif isinstance(node, dict | list):
            tag = node.get("kind") if isinstance(node, dict) else None
            if not _looks_like_branch(part) and part != tag:  # a discriminated union's tag
                out.append(part)
            node = node if part == tag else None
    return tuple(out)


def _has_child(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _looks_like_branch(part: Any) -> bool:
    return isinstance(part, str) and (part in {"float", "int", "str", "bool"} or "[" in part
                                      or part.startswith(("function-", "constrained-")))


def _dotted(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


def problems_from_validation(exc: ValidationError, data: Any, origins: dict[PathKey, Origin],
                             file: str, model: type[BaseModel] = Scenario) -> list[Problem]:
    """One Problem per pydantic error, with the dotted path and the YAML line."""
    by_loc: dict[tuple, list[dict]] = {}
    for err in exc.errors(include_url=False):
        by_loc.setdefault(_clean_loc(tuple(err["loc"]), data), []).append(err)
    problems = []
    for loc, errors in by_loc.items():
        origin_file, line = origin_of(origins, loc, file)
        for err in _union_errors_collapsed(errors):
            message, expected = _describe(err, model, data, loc)
            problems.append(Problem(origin_file, line, _dotted(loc), message, expected))
    return problems


def _union_errors_collapsed(errors: list[dict]) -> list[dict]:
    """For a value that may take several forms (e.g. a share or a mapping of shares), keep the
    error of the form the value has: a wrong-type error from another branch is noise."""
    if len(errors) < 2:
        return errors
    substantive = [e for e in errors if not e["type"].endswith("_type")]
    return substantive or errors[:1]


def _describe(err: dict, model: type[BaseModel], data: Any, loc: tuple) -> tuple[str, str | None]:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        allowed = _fields_of(model, data, loc[:-1])
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"one of: {', '.join(allowed)}"
        return f"unknown key '{key}'", hint
    if kind == "missing":
        return "required field is missing", "a value"
    ctx = err.get("ctx") or {}
    given = err.get("input")
    given_text = "" if isinstance(given, dict | list) else f" (got {given!r})"
    msg = err["msg"].removeprefix("Value error, ")
    if kind in {"greater_than_equal", "less_than_equal", "greater_than", "less_than"}:
        return f"out of range{given_text}", msg.lower()
    if kind == "finite_number":
        return f"not a finite number{given_text}", "a finite number, not .inf or .nan"
    if kind in {"too_short", "too_long"}:
        return f"wrong length{given_text if not isinstance(given, list) else f' (got {len(given)} items)'}", msg.lower()
    if kind == "literal_error":
        return f"not an allowed value{given_text}", ctx.get("expected", msg)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"wrong type{given_text}", msg.lower()
    return msg + given_text, None


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> LoadedScenario:
    """Read, merge, override, validate and check a scenario file. Raises InputError."""
    path = Path(path)
    doc = _read_with_extends(path)
    data = copy.deepcopy(doc.data)
    origins = dict(doc.origins)
    for text in overrides or []:
        dotted, value = parse_override(text)
        old = _peek(data, dotted)
        keys = apply_override(data, dotted, value)
        _copy_origins({keys: ("--set", None)}, origins, keys)
        log.info("override %s: %r -> %r", dotted, old, value)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, data, origins, str(path))) from None
    loaded = LoadedScenario(scenario, path, data, list(overrides or []))
    problems = check_scenario(loaded, origins)
    if problems:
        raise InputError(problems)
    return loaded


def scenario_origins(path: str | Path) -> dict[PathKey, Origin]:
    """(file, line) of every key of the scenario at `path` and its `extends` parents, for problems
    found after loading (a calibrated scenario that does not fit)."""
    return _read_with_extends(Path(path)).origins


def _peek(data: Any, dotted: str) -> Any:
    node = data
    for part in _split_path(dotted):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list):
            idx = _list_index(node, part)
            node = node[idx] if idx is not None else None
        else:
            return None
    return node


def resolved_yaml(loaded: LoadedScenario) -> str:
    """The scenario after extends, overrides and defaults, as YAML (scenario.resolved.yaml)."""
    dumped = loaded.scenario.model_dump(mode="json")
    return yaml.safe_dump(dumped, sort_keys=False, allow_unicode=True)
