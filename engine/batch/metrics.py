"""The metric catalogue: every figure `--until`, sweep `metrics` / `objectives` and `salesops
metrics` know by name, with where it lives in summary.json, its unit, label and better direction.

Names a user may write (CASE is the simulated demand case, `simulation.case`, default base):

| written | summary.json path |
| --- | --- |
| `win_rate` (a simulated figure) | `simulation.totals.win_rate.p50` |
| `simulation.win_rate`, `simulation.win_rate.p90` | `simulation.totals.win_rate.p50`, `...p90` |
| `hires` (a plan figure only) | `headline.CASE.hires` |
| `plan.win_rate`, `plan.operating_margin` | `plan_totals.CASE.win_rate`, `headline.CASE.operating_margin` |
| any dotted path into summary.json | itself |

`<stage>` in a name stands for a funnel stage (`reached_qualify`, `conversion_close`). A metric the
catalogue knows may still be absent from a summary (a stage that did not run, a figure a later
version adds): readers report it as absent, never crash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["max", "min"]
QUANTILES = ("p10", "p50", "p90")


@dataclass(frozen=True)
class Metric:
    """One catalogue entry. `unit`: `leads`, `deals`, `share`, `currency`, `hours`, `people`, `tickets`."""

    name: str
    label: str
    unit: str
    direction: Direction | None
    """Which way is better (None: neither, e.g. lead volume)."""
    simulated: bool
    """Under `simulation.totals.<name>.{p10,p50,p90}`."""
    plan: Literal["totals", "headline"] | None
    """Plan side: `plan_totals.<case>.<name>` or `headline.<case>.<name>` (None: no plan figure)."""
    kind: Literal["count", "share", "amount"]
    """count: a whole number of items (>= 0); share: in [0, 1]; amount: any real number."""


CATALOGUE: tuple[Metric, ...] = (
    Metric("leads", "Leads", "leads", None, True, "totals", "count"),
    Metric("contacted", "Leads contacted", "leads", "max", True, "totals", "count"),
    Metric("reached_<stage>", "Leads reaching <stage>", "leads", "max", True, "totals", "count"),
    Metric("conversion_<stage>", "Conversion at <stage>", "share", "max", True, "totals", "share"),
    Metric("won", "Deals won", "deals", "max", True, "totals", "count"),
    Metric("win_rate", "Win rate (won / leads)", "share", "max", True, "totals", "share"),
    Metric("dropped", "Leads dropped", "leads", "min", True, "totals", "count"),
    Metric("drop_rate", "Drop rate (dropped / leads)", "share", "min", True, "totals", "share"),
    Metric("first_response_p50_h", "First response, median", "hours", "min", True, None, "amount"),
    Metric("first_response_p90_h", "First response, 90th percentile", "hours", "min", True, None, "amount"),
    Metric("sla_attainment", "SLA attainment", "share", "max", True, None, "share"),
    Metric("tickets", "Support tickets", "tickets", None, True, None, "count"),
    Metric("revenue", "Revenue", "currency", "max", True, "headline", "amount"),
    Metric("gross_margin", "Gross margin", "currency", "max", True, "headline", "amount"),
    Metric("people_cost", "People cost", "currency", "min", True, "headline", "amount"),
    Metric("operating_margin", "Operating margin", "currency", "max", True, "headline", "amount"),
    Metric("sla", "SLA of the staffing plan", "share", "max", False, "headline", "share"),
    Metric("hires", "Hires", "people", "min", False, "headline", "count"),
    Metric("shortfall_hours", "Capacity shortfall", "hours", "min", False, "headline", "amount"),
    Metric("uncovered_leads", "Leads left unworked by the plan", "leads", "min", False, "headline", "amount"),
)
"""Simulated figures first; a short name means the simulated p50 when there is one."""

DEFAULT_METRICS = ("operating_margin", "revenue", "win_rate", "sla_attainment", "hires")
"""A sweep's metrics when it names none: the headline set."""



def default_metrics(scenario: Any) -> list[str]:
    """The headline set for `scenario`: simulated figures when it simulates (SLA only with
    support), plan figures (`plan.<name>`) otherwise; only those its stages produce."""
    simulates = getattr(scenario, "simulation", None) is not None
    plans = getattr(scenario, "plan", None) is not None
    out = []
    for name in DEFAULT_METRICS:
        entry, _ = _lookup(name) or (None, "")
        if entry is None:
            continue
        if entry.simulated and simulates and (name != "sla_attainment" or getattr(scenario, "support", None)):
            out.append(name)
        elif entry.plan and plans:
            out.append(name if not entry.simulated else f"plan.{name}")
    return out


_QUANTILE_NAMES = {"p10": "10th percentile", "p50": "median", "p90": "90th percentile"}


@dataclass(frozen=True)
class MetricRef:
    """A metric name as written, resolved to its summary.json path."""

    name: str
    path: str
    label: str
    """For charts and tables: catalogue label, where it comes from, and the unit."""
    unit: str | None
    direction: Direction | None
    kind: Literal["count", "share", "amount"] | None
    entry: Metric | None
    """The catalogue entry (None: a raw summary.json path)."""
    total: str | None = None
    """For a simulated figure: its key under `simulation.totals` (per-replication values)."""
    quantile: str | None = None

    def band(self) -> tuple[str, str] | None:
        """Paths of the p10 and p90 of a simulated figure (the p10-p90 band), else None."""
        if self.total is None:
            return None
        return (f"simulation.totals.{self.total}.p10", f"simulation.totals.{self.total}.p90")


def _lookup(key: str) -> tuple[Metric, str] | None:
    """The entry for `key` (a stage name filling `<stage>`), and the stage (or "")."""
    for entry in CATALOGUE:
        if "<stage>" in entry.name:
            pattern = re.escape(entry.name).replace(re.escape("<stage>"), r"(?P<stage>[\w\-]+)")
            match = re.fullmatch(pattern, key)
            if match:
                return entry, match["stage"]
        elif entry.name == key:
            return entry, ""
    return None


def _label(entry: Metric, stage: str, where: str) -> str:
    return f"{entry.label.replace('<stage>', stage)}, {where} ({entry.unit})"


def _simulated(name: str, key: str, entry: Metric, stage: str, q: str) -> MetricRef:
    where = f"simulated {_QUANTILE_NAMES[q]}"
    return MetricRef(name, f"simulation.totals.{key}.{q}", _label(entry, stage, where), entry.unit,
                     entry.direction, entry.kind, entry, key, q)


def _planned(name: str, key: str, entry: Metric, stage: str, case: str) -> MetricRef:
    root = "plan_totals" if entry.plan == "totals" else "headline"
    return MetricRef(name, f"{root}.{case}.{key}", _label(entry, stage, f"plan, {case} case"), entry.unit,
                     entry.direction, entry.kind, entry)


def resolve(name: str, case: str = "base") -> MetricRef:
    """The summary.json path of `name` (grammar in the module docstring); a dotted path the
    catalogue does not know is returned as itself with a label made from its keys."""
    parts = name.split(".")
    if len(parts) == 1 and (hit := _lookup(name)):
        entry, stage = hit
        if entry.simulated:
            return _simulated(name, name, entry, stage, "p50")
        return _planned(name, name, entry, stage, case)
    if parts[0] == "simulation" and len(parts) in (2, 3) and (hit := _lookup(parts[1])):
        q = parts[2] if len(parts) == 3 else "p50"
        if hit[0].simulated and q in QUANTILES:
            return _simulated(name, parts[1], hit[0], hit[1], q)
    if parts[0] == "plan" and len(parts) == 2 and (hit := _lookup(parts[1])) and hit[0].plan:
        return _planned(name, parts[1], hit[0], hit[1], case)
    return _from_path(name, case)


def _from_path(name: str, case: str) -> MetricRef:
    """A raw path; recognised when it points at a catalogue figure (so it keeps its label)."""
    parts = name.split(".")
    if len(parts) == 4 and parts[:2] == ["simulation", "totals"] and parts[3] in QUANTILES:
        hit = _lookup(parts[2])
        if hit and hit[0].simulated:
            return _simulated(name, parts[2], hit[0], hit[1], parts[3])
    if len(parts) == 3 and parts[0] in ("plan_totals", "headline") and (hit := _lookup(parts[2])):
        return _planned(name, parts[2], hit[0], hit[1], parts[1])
    return MetricRef(name, name, humanise(name), None, None, None, None)


def humanise(path: str) -> str:
    """A label for a path outside the catalogue: its keys as words, no dots."""
    words = [p.replace("_", " ") for p in path.split(".") if p]
    return (" ".join(words) or path).capitalize()


def value_at(summary: dict, dotted: str) -> Any:
    """The value at `dotted` in summary.json data, or None if a key is absent."""
    node: Any = summary
    for part in dotted.split("."):
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def catalogue_rows(stages: list[str] | None = None) -> list[dict[str, str]]:
    """One row per name `salesops metrics` lists; `<stage>` names expanded for `stages` if given."""
    rows = []
    for entry in CATALOGUE:
        names = [entry.name.replace("<stage>", s) for s in stages] if stages and "<stage>" in entry.name \
            else [entry.name]
        for name in names:
            stage = name[len(entry.name.split("<stage>")[0]):] if "<stage>" in entry.name else ""
            where = []
            if entry.simulated:
                where.append(f"simulation.totals.{name}.{{p10,p50,p90}}")
            if entry.plan:
                where.append(f"{'plan_totals' if entry.plan == 'totals' else 'headline'}.<case>.{name}")
            rows.append({"name": name, "label": entry.label.replace("<stage>", stage or "<stage>"),
                         "unit": entry.unit, "better": entry.direction or "-",
                         "summary.json": ", ".join(where)})
    return rows
