"""The report as data: sections of blocks (text, tables, charts) that every renderer walks.

Building the content once and rendering it to HTML, Markdown and Excel from the same blocks keeps
the three files showing the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Text:
    text: str
    kind: str = "p"
    """`p` paragraph, `note` small print, `flag-high` / `flag-medium` a highlighted flag."""


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]]
    sheet: str
    """Excel sheet name (at most 31 characters)."""
    numeric_from: int = 1
    """Columns from this index on are numbers (right-aligned)."""
    collapsed: bool = False
    """Shown folded in HTML (long tables)."""
    css_id: str = ""
    cell_classes: list[list[str]] | None = None
    """Optional CSS class per cell (e.g. `better`, `worse`, `missing`) to highlight differences."""


@dataclass
class Chart:
    chart_id: str
    title: str
    figure: dict[str, Any]
    """A plotly.js figure spec (reports.plots.Figure)."""


Block = Text | Bullets | Table | Chart


@dataclass
class Section:
    anchor: str
    title: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Document:
    title: str
    subtitle: str
    sections: list[Section] = field(default_factory=list)
    banner: list[str] = field(default_factory=list)
    """Lines of the red banner at the top (the run completed without a feasible plan); empty = none."""

    def tables(self) -> list[Table]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Table)]

    def charts(self) -> list[Chart]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Chart)]
