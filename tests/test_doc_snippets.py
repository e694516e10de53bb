"""Every YAML snippet in README.md and docs/*.md parses against the schema it illustrates (scenario,
sweep or CRM column mapping), and the generated references in docs/ match the code.

A scenario snippet without `name` is a fragment: it is checked merged into scenarios/scaleup.yaml.
A snippet that is deliberately partial opts out with the comment `# snippet: partial`."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
import yaml

from engine.batch.spec import check_metrics
from engine.data.crm import Mapping
from engine.scenario.load import load_scenario
from engine.scenario.reference import with_reference
from engine.scenario.schema.sweep import SweepSpec

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PARTIAL = "# snippet: partial"
FENCE = re.compile(r"^[ \t]*```yaml[ \t]*\n(.*?)^[ \t]*```", re.MULTILINE | re.DOTALL)


def snippets() -> list[tuple[str, str]]:
    out = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            out.append((f"{doc.relative_to(REPO)}:{line}", textwrap.dedent(match.group(1))))
    return out


SNIPPETS = snippets()


def test_the_docs_have_snippets() -> None:
    assert len(SNIPPETS) >= 3  # a test over nothing would pass whatever the docs say


@pytest.mark.parametrize(("where", "text"), SNIPPETS, ids=[w for w, _ in SNIPPETS])
def test_snippet_parses(where: str, text: str, tmp_path: Path) -> None:
    if PARTIAL in text:
        pytest.skip("marked partial")
    data = yaml.safe_load(text)
    assert isinstance(data, dict), f"{where}: not a YAML mapping"
    if set(data) <= set(Mapping.model_fields):
        Mapping.model_validate(data)
    elif "base" in data and "vary" in data:
        spec = SweepSpec.model_validate(data)
        problems = check_metrics(spec.metrics, None) + check_metrics(list(spec.objectives), None)
        assert not problems, f"{where}: {[p.format() for p in problems]}"
    else:
        if "extends" in data:  # examples extend the repository's scenarios
            data["extends"] = str(REPO / "scenarios" / Path(data["extends"]).name)
        elif "name" not in data:  # a fragment (a section or two): checked within the scale-up example
            data = {"extends": str(REPO / "scenarios" / "scaleup.yaml"), "name": "snippet", **data}
        path = tmp_path / "snippet.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        load_scenario(path)


@pytest.mark.parametrize("doc", sorted((REPO / "docs").glob("*.md")), ids=lambda p: p.name)
def test_generated_references_are_up_to_date(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    assert text == with_reference(text), f"{doc.name} is stale: run `make docs`"


def test_example_sweeps_read() -> None:
    from engine.batch.spec import read_sweep

    for path in sorted((REPO / "scenarios" / "sweeps").glob("*.yaml")):
        read_sweep(path)
