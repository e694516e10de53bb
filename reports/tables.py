"""Table rendering for report.md, report.html and report.xlsx, on the numbers of `engine.numbers`."""

from __future__ import annotations

import html
from collections.abc import Sequence

import pandas as pd

from engine.numbers import (  # noqa: F401  (re-exported: the renderers' one formatting vocabulary)
    DECIMALS,
    DEFAULT_DECIMALS,
    NUMBER_COLUMNS,
    decimals,
    fmt,
    fmt_metric,
    money,
    pct,
    round_table,
)


def formatted_rows(table: pd.DataFrame) -> list[list[str]]:
    """Rows of the reconciliation table as display strings, numbers by their metric's decimals."""
    out = []
    for rec in table.itertuples(index=False):
        d = rec._asdict()
        places = decimals(d["metric"])
        out.append([str(d["month"]), str(d["scope"]), str(d["metric"]),
                    *(fmt(d[c], places) for c in NUMBER_COLUMNS)])
    return out


def frame_rows(frame: pd.DataFrame, places: dict[str, int] | None = None) -> list[list[str]]:
    """Rows of any frame as display strings (numbers with `places[col]` or 2 decimals)."""
    places = places or {}
    cols = list(frame.columns)
    return [[fmt(v, places.get(c, DEFAULT_DECIMALS)) for c, v in zip(cols, row, strict=True)]
            for row in frame.itertuples(index=False)]


def markdown_table(header: Sequence[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table (pipes in cells escaped)."""
    def cell(text: str) -> str:
        text = html.escape(str(text), quote=False)
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in header) + " |",
             "| " + " | ".join("---" for _ in header) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def html_table(header: Sequence[str], rows: list[list[str]], css_class: str = "data",
               numeric_from: int = 0, cell_classes: list[list[str]] | None = None) -> str:
    """An HTML table, every cell escaped; columns from `numeric_from` on are right-aligned."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, c in enumerate(row):
            classes = ["num"] if numeric_from and j >= numeric_from else []
            if cell_classes and cell_classes[i][j]:
                classes.append(cell_classes[i][j])
            attr = f' class="{html.escape(" ".join(classes))}"' if classes else ""
            cells.append(f"<td{attr}>{html.escape(c)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (f'<table class="{html.escape(css_class)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>")
