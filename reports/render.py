"""Write report.html (self-contained, offline), report.md and optionally report.xlsx.

report.html inlines the plotly.js bundle once (in the first chart) so it opens from file:// with
no network; every user string is HTML-escaped (`reports.tables.html_table`, `html.escape`), and
plotly escapes `<`, `>` and `/` inside the JSON it embeds in <script>.
"""

from __future__ import annotations

import html
import json
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Protocol

from engine.stage import StageOutput
from reports import plots, tables
from reports.document import Bullets, Chart, Document, Table, Text


class _Located(Protocol):
    directory: Path
    """Folder of the scenario file (data-file paths are relative to it)."""


class RunResult(Protocol):
    """What the report reads of a run (engine.run.RunResult has it; reports/ does not import engine.run)."""

    @property
    def loaded(self) -> _Located: ...

    @property
    def outputs(self) -> dict[str, StageOutput]: ...

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}


@lru_cache(maxsize=1)
def _plotly_js() -> str:
    """The plotly.js bundle shipped with the plotly package (inlined once per page)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _template() -> str:
    return resources.files("reports").joinpath("templates/report.html").read_text(encoding="utf-8")


def _html_block(block: object, first_chart: list[bool]) -> str:
    if isinstance(block, Text):
        if block.kind == "h3":
            return f"<h3>{html.escape(block.text)}</h3>"
        return f'<p class="{html.escape(block.kind)}">{html.escape(block.text)}</p>'
    if isinstance(block, Bullets):
        return "<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in block.items) + "</ul>"
    if isinstance(block, Table):
        body = tables.html_table(block.header, block.rows, numeric_from=block.numeric_from,
                                 cell_classes=block.cell_classes)
        ident = f' id="{html.escape(block.css_id)}"' if block.css_id else ""
        if block.collapsed:
            return (f'<details{ident}><summary>{html.escape(block.title)} ({len(block.rows)} rows)'
                    f'</summary><div class="scroll">{body}</div></details>')
        return f'<h4>{html.escape(block.title)}</h4><div class="scroll"{ident}>{body}</div>'
    if isinstance(block, Chart):
        script = ""
        if first_chart[0]:
            script = f'<script type="text/javascript">{_plotly_js()}</script>\n'
            first_chart[0] = False
        ident = html.escape(block.chart_id)
        if any(key.startswith("geo") for key in block.figure.get("layout", {})):
            script += f"<script>{plots.GEO_OFFLINE_JS}</script>\n"
        return (f'{script}<figure class="chart" data-chart="{ident}"><div id="{ident}" '
                f'class="plotly-chart"></div><script>{_plot_call(ident, block.figure)}</script></figure>')
    raise TypeError(f"unknown block {type(block).__name__}")


def _plot_call(ident: str, figure: dict) -> str:
    """`Plotly.newPlot(...)` of a figure. A GeoJSON shared by several traces (the territory map,
    its alternatives' small maps, the moved-units outline) is written once and handed to each of
    those traces in the page, instead of one copy per trace."""
    shared: list[dict] = []
    uses: list[list[int]] = []
    data = []
    for k, trace in enumerate(figure.get("data", [])):
        geo = trace.get("geojson")
        if not isinstance(geo, dict):
            data.append(trace)
            continue
        slot = next((n for n, g in enumerate(shared) if g is geo), None)
        if slot is None:
            slot = len(shared)
            shared.append(geo)
        uses.append([k, slot])
        data.append({key: value for key, value in trace.items() if key != "geojson"})
    config = json.dumps(PLOTLY_CONFIG)
    if not shared:
        return f'Plotly.newPlot("{ident}", {plots.to_json(figure)}, {config});'
    return (f"(function () {{ const shapes = {plots.to_json(shared)}; const fig = {plots.to_json({**figure, 'data': data})};"
            f" {json.dumps(uses)}.forEach(([t, s]) => {{ fig.data[t].geojson = shapes[s]; }});"
            f' Plotly.newPlot("{ident}", fig, {config}); }})();')


def render_html(doc: Document) -> str:
    """The document as one self-contained HTML page."""
    first = [True]
    nav = "".join(f'<a href="#{html.escape(s.anchor)}">{html.escape(s.title)}</a>' for s in doc.sections)
    parts = []
    for sec in doc.sections:
        blocks = "\n".join(_html_block(b, first) for b in sec.blocks)
        parts.append(f'<section id="{html.escape(sec.anchor)}"><h2>{html.escape(sec.title)}</h2>'
                     f"\n{blocks}\n</section>")
    values = {"title": html.escape(doc.title), "subtitle": html.escape(doc.subtitle), "nav": nav,
              "body": "\n".join([*_html_banner(doc.banner), *parts])}
    return re.sub(r"\{\{(title|subtitle|nav|body)\}\}", lambda m: values[m.group(1)], _template())


BANNER_TITLE = "Completed without a feasible plan"


def _html_banner(lines: list[str]) -> list[str]:
    """The red banner of a run without a feasible plan: its title and one item per line."""
    if not lines:
        return []
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    return [f'<div class="banner-failed" id="banner-failed" role="alert"><strong>{BANNER_TITLE}'
            f"</strong><ul>{items}</ul></div>"]


def _md_text(text: str) -> str:
    return html.escape(text, quote=False).replace("*", "\\*").replace("_", "\\_")


def render_markdown(doc: Document) -> str:
    """The document as Markdown: the same tables, charts named but not drawn."""
    lines = [f"# {_md_text(doc.title)}", "", _md_text(doc.subtitle), ""]
    if doc.banner:
        lines += [f"> **{BANNER_TITLE.upper()}**", ">"] + [f"> - {_md_text(b)}" for b in doc.banner] + [""]
    for sec in doc.sections:
        lines += [f"## {_md_text(sec.title)}", ""]
        for block in sec.blocks:
            if isinstance(block, Text):
                prefix = {"h3": "### ", "flag-high": "- **HIGH** ", "flag-medium": "- ",
                          "note": "> "}.get(block.kind, "")
                lines += [prefix + _md_text(block.text), ""]
            elif isinstance(block, Bullets):
                lines += [f"- {_md_text(i)}" for i in block.items] + [""]
            elif isinstance(block, Table):
                lines += [f"### {_md_text(block.title)}", "",
                          tables.markdown_table(block.header, block.rows), ""]
            elif isinstance(block, Chart):
                lines += [f"*Chart: {_md_text(block.title)} (in report.html)*", ""]
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> object:
    """A display string back to a number for Excel (same rounding as the HTML), else the text."""
    try:
        return float(text.replace(",", "")) if text else None
    except ValueError:
        return text


def _text_cell(sheet: object, value: object) -> object:
    """A cell that holds `value` as text even when it starts like a formula (`=`, `+`, `-`, `@`,
    tab, CR): openpyxl would otherwise store `=...` as a live formula."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def write_excel(path: Path, doc: Document) -> None:
    """One sheet per table of the document (openpyxl, write-only for speed); every text cell is
    stored as text, never as a formula; numbers stay numbers."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    used: set[str] = set()
    for block in doc.tables():
        sheet = book.create_sheet(_sheet_name(block.sheet, used))
        sheet.append([_text_cell(sheet, h) for h in block.header])
        for row in block.rows:
            sheet.append([_text_cell(sheet, _cell(c) if j >= block.numeric_from else c)
                          for j, c in enumerate(row)])
    book.save(path)


def _sheet_name(name: str, used: set[str]) -> str:
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "sheet"
    out, i = clean, 2
    while out.lower() in used:
        out = f"{clean[:28]}_{i}"
        i += 1
    used.add(out.lower())
    return out


def build(result: RunResult) -> Document:
    """The report document of a run; the run's outputs include its reconciliation stage."""
    from reports.content import build_document

    recon = result.outputs["reconciliation"]
    ctx, table = recon.result.context, recon.result.table
    return build_document(ctx, result.outputs, table, recon.summary, result.loaded.directory)


def write_reports(folder: Path, result: RunResult, excel: bool = False) -> None:
    """Write report.html and report.md (and report.xlsx with `excel`) into the run folder."""
    doc = build(result)
    folder = Path(folder)
    (folder / "report.html").write_text(render_html(doc), encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(doc), encoding="utf-8")
    if excel:
        write_excel(folder / "report.xlsx", doc)
