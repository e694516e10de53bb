"""Tables read from the Markdown docs, for tests that check the code against what the docs say."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUN_FOLDER_DOC = REPO / "docs" / "run-folder.md"
CELL_SPLIT = re.compile(r"(?<!\\)\|")


def md_tables(text: str, first_header: str) -> list[list[dict[str, str]]]:
    """Every Markdown table whose first header cell is `first_header`, as lists of row dicts."""
    lines, tables = text.splitlines(), []
    for i, line in enumerate(lines):
        cells = [c.strip() for c in CELL_SPLIT.split(line.strip())[1:-1]]
        starts = line.startswith("|") and (i == 0 or not lines[i - 1].startswith("|"))
        if starts and cells and cells[0] == first_header:
            rows = []
            for row in lines[i + 2:]:
                if not row.startswith("|"):
                    break
                values = [c.strip() for c in CELL_SPLIT.split(row.strip())[1:-1]]
                rows.append(dict(zip(cells, values, strict=True)))
            tables.append(rows)
    return tables


def ticked(cell: str) -> list[str]:
    """The `backticked` names of a table cell, in order."""
    return re.findall(r"`([^`]+)`", cell)


def run_folder_files() -> list[dict[str, str]]:
    """Rows of docs/run-folder.md's `| file | written when | columns |` table."""
    (files,) = md_tables(RUN_FOLDER_DOC.read_text(encoding="utf-8"), "file")
    return files


def run_folder_columns(rel: str) -> list[str] | None:
    """Documented columns of a run-folder file (path relative to the folder, e.g.
    `plan/hiring.csv`), in order; None for a file without a column list (its cell starts with `-`)."""
    for row in run_folder_files():
        if fnmatch.fnmatch(rel, ticked(row["file"])[0]):
            cell = row["columns"]
            return None if cell.startswith("-") else ticked(cell)
    raise AssertionError(f"{rel}: not in docs/run-folder.md")
