"""The scenario and SWEEP.yaml references in Markdown, generated from the pydantic schema.

`make docs` (`python -m engine.scenario.reference`) regenerates the text between the reference
markers in docs/scenario-reference.md, docs/sweeps.md and docs/reconciliation.md (the metric
table of the reconciliation, from engine.reconcile.stage).
"""

from __future__ import annotations

import typing
from types import UnionType

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from engine.scenario.model import Scenario


def _type_name(annotation: typing.Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None)) + (
            " (optional)" if type(None) in args else "")
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (list, tuple):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping {_type_name(args[0])} -> {_type_name(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"[{annotation.__name__}](#{annotation.__name__.lower()})"
    return getattr(annotation, "__name__", str(annotation))


def _default(field) -> str:
    if field.is_required():
        return "**required**"
    value = field.default_factory() if field.default_factory is not None else field.default
    if value is PydanticUndefined:
        return ""
    if isinstance(value, BaseModel):
        return "(defaults)"
    return f"`{value!r}`" if value not in (None, [], {}) else f"`{value}`"


def _models(root: type[BaseModel]) -> list[type[BaseModel]]:
    seen: list[type[BaseModel]] = []

    def visit(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.append(model)
        for field in model.model_fields.values():
            for sub in _nested_models(field.annotation):
                visit(sub)

    visit(root)
    return seen


def _nested_models(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _nested_models(arg)
    return found


def scenario_reference(root: type[BaseModel] = Scenario) -> str:
    """One Markdown table per schema model: field, type, default, description with units."""
    parts = []
    for model in _models(root):
        parts.append(f"#### {model.__name__}\n")
        doc = (model.__doc__ or "").strip().splitlines()
        if doc and model is not root and not doc[0].startswith("!!!"):
            parts.append(doc[0] + "\n")
        parts.append("| field | type | default | meaning |\n| --- | --- | --- | --- |")
        for name, field in model.model_fields.items():
            description = " ".join((field.description or "").split()).replace("|", "\\|")
            shown = field.alias or name  # the key a file writes (`from`, not the attribute `start`)
            parts.append(f"| `{shown}` | {_type_name(field.annotation)} | {_default(field)} | {description} |")
        parts.append("")
    return "\n".join(parts)


def sweep_reference() -> str:
    """The SWEEP.yaml reference, generated like the scenario reference."""
    from engine.scenario.schema.sweep import SweepSpec

    return scenario_reference(SweepSpec)


def reconciliation_reference() -> str:
    """The reconciliation metrics as the code computes them (engine.reconcile.stage: UNITS,
    FLOW_METRICS, GAP_RULES): unit, how the `all` row combines months, and the gap rule."""
    from engine.reconcile.stage import FLOW_METRICS, GAP_RULES, UNITS

    rows = ["| metric | unit | `all` row | gap (the first rule whose two values are present) |",
            "| --- | --- | --- | --- |"]
    for metric, rules in GAP_RULES.items():
        gap = "; else ".join(f"{a} - {b}" for a, b in rules) or "none"
        combine = "sum over months" if metric in FLOW_METRICS else "mean over months"
        rows.append(f"| {metric} | {UNITS[metric]} | {combine} | {gap} |")
    return "\n".join(rows) + "\n"


def metrics_reference() -> str:
    """The metric catalogue (engine/batch/metrics.py) as a Markdown table, as `salesops metrics` lists it."""
    from engine.batch.metrics import catalogue_rows

    rows = catalogue_rows()
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "| " + " | ".join("---" for _ in keys) + " |"]
    lines += ["| " + " | ".join(" ".join(f"`{p}`" for p in r[k].split(", ")) if k in ("name", "summary.json")
                                else r[k].replace("<", "&lt;") for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


BLOCKS = {"SCENARIO REFERENCE": scenario_reference, "SWEEP REFERENCE": sweep_reference,
          "RECONCILIATION METRICS": reconciliation_reference, "METRICS REFERENCE": metrics_reference}


DOC_FILES = ("docs/scenario-reference.md", "docs/sweeps.md", "docs/reconciliation.md", "docs/stress.md")
"""The pages holding generated references, relative to the repository root."""


def with_reference(readme: str) -> str:
    """`readme` with the text between each pair of reference markers regenerated from the schema."""
    for label, generate in BLOCKS.items():
        begin, end = f"<!-- BEGIN {label} -->", f"<!-- END {label} -->"
        if begin not in readme:
            continue
        head, rest = readme.split(begin, 1)
        _, tail = rest.split(end, 1)
        readme = f"{head}{begin}\n{generate()}\n{end}{tail}"
    return readme


if __name__ == "__main__":
    import sys
    from pathlib import Path

    for target in map(Path, sys.argv[1:] or DOC_FILES):
        target.write_text(with_reference(target.read_text(encoding="utf-8")), encoding="utf-8")
