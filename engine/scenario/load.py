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
from engine.scenario.model import Scenario
from engine.scenario.origins import LocatedDoc, Origin, PathKey, origin_of, read_yaml

log = logging.getLogger(__name__)


class LoadedScenario:
    """A validated scenario with where it came from."""

    def __init__(self, scenario: Scenario, path: Path, resolved: dict, overrides: list[str]):
        self.scenario = scenario
        self.path = path
        self.directory = path.parent
        self.resolved = resolved
        self.overrides = overrides

    def resolve_path(self, relative: str) -> Path:
        """A data-file path from the scenario, relative to the scenario file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.directory / p)


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


def _read_with_extends(path: Path, chain: tuple[Path, ...] = ()) -> LocatedDoc:
    resolved = path.resolve()
    if resolved in chain:
        cycle = " -> ".join(str(p) for p in (*chain, resolved))
        raise InputError.single(str(path), "extends", f"extends cycle: {cycle}",
                                "a chain of parents that ends")
    doc = read_yaml(path)
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
    parent = _read_with_extends(parent_path, (*chain, resolved))
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


def apply_override(data: dict, dotted: str, value: Any, source: str = "--set") -> None:
    """Set `dotted` (e.g. `roles.AE.attrition_per_year`) to `value` in place.

    A list step may be an index or the `name` of an item. Raises InputError naming the path.
    """
    parts = _split_path(dotted)
    if not parts:
        raise InputError.single(source, dotted, "empty path", "a dotted path such as plan.budget_per_month")
    node: Any = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        here = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            index = _list_index(node, part)
            if index is None:
                names = [str(i.get("name")) for i in node if isinstance(i, dict) and "name" in i]
                raise InputError.single(source, here, f"no list item {part!r}",
                                        f"an index below {len(node)} or one of {names}")
            if last:
                node[index] = value
                return
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
                return
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        else:
            raise InputError.single(source, here, "cannot descend into a scalar value",
                                    "a path through mappings and lists")


def _list_index(items: list, part: str) -> int | None:
    if part.lstrip("-").isdigit():
        index = int(part)
        return index if -len(items) <= index < len(items) else None
    for i, item in enumerate(items):
        if isinstance(item, dict) and str(item.get("name")) == part:
            return i
    return None


def parse_override(text: str) -> tuple[str, Any]:
    """Split `path=value`; the value is parsed as YAML (`3` is an int, `[1, 2]` a list)."""
    if "=" not in text:
        raise InputError.single("--set", text, "missing '='", "path=value, e.g. plan.budget_per_month=90000")
    path, raw = text.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return path.strip(), value


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
            if not _looks_like_branch(part):
                out.append(part)
            node = None
    return tuple(out)


def _has_child(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _looks_like_branch(part: Any) -> bool:
    return isinstance(part, str) and (part in {"float", "int", "str", "bool"} or "[" in part
                                      or part.startswith("function-"))


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
    if kind in {"too_short", "too_long"}:
        return f"wrong length{given_text if not isinstance(given, list) else f' (got {len(given)} items)'}", msg.lower()
    if kind == "literal_error":
        return f"not an allowed value{given_text}", ctx.get("expected", msg)
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"wrong type{given_text}", msg.lower()
    return msg + given_text, None


def load_scenario(path: str | Path, overrides: list[str] | None = None) -> LoadedScenario:
    """Read, merge, override, validate and check a scenario file. Raises InputError."""
    from engine.scenario.checks import check_scenario

    path = Path(path)
    doc = _read_with_extends(path)
    data = copy.deepcopy(doc.data)
    for text in overrides or []:
        dotted, value = parse_override(text)
        old = _peek(data, dotted)
        apply_override(data, dotted, value)
        log.info("override %s: %r -> %r", dotted, old, value)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(problems_from_validation(exc, data, doc.origins, str(path))) from None
    loaded = LoadedScenario(scenario, path, data, list(overrides or []))
    problems = check_scenario(loaded, doc.origins)
    if problems:
        raise InputError(problems)
    return loaded


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
