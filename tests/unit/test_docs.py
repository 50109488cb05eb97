"""The documentation stays true: generated tables are the generated ones, named files and modules exist."""

import importlib
import re
from pathlib import Path

import pytest

from sim.model.constants import constants_table
from sim.model.reference import markdown_table

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted((ROOT / "docs").glob("*.md"))
SCENARIOS_DOC = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")


def test_scenarios_doc_has_the_generated_parameter_table():
    assert markdown_table() in SCENARIOS_DOC


def test_scenarios_doc_lists_every_constant_with_its_value_unit_and_source():
    for row in constants_table():
        line = f"| `{row['name']}` | {row['value']:g} | {row['unit']} | {row['source']} | {row['meaning']} |"
        assert line in SCENARIOS_DOC, line


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_named_file_exists(doc):
    text = doc.read_text(encoding="utf-8")
    pattern = re.compile(r"(?<![\w/.-])((?:docs|scenarios|sim|tests|dorasim_app)/[\w./-]*\w)")
    missing = sorted({ref for ref in pattern.findall(text) if "*" not in ref and not (ROOT / ref).exists()})
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def _resolves(dotted: str) -> bool:
    """A module, or an attribute of one (``sim.metrics.scoring.score``)."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", [ROOT / "README.md", *DOCS], ids=lambda p: p.name)
def test_every_named_module_exists(doc):
    text = doc.read_text(encoding="utf-8")
    names = set(re.findall(r"`(sim(?:\.\w+)+)`", text))
    missing = sorted(name for name in names if not _resolves(name))
    assert not missing, f"{doc.name} names modules that do not exist: {missing}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_links_between_documents_resolve(doc):
    text = doc.read_text(encoding="utf-8")
    missing = []
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" in target:
            continue
        if not (doc.parent / target).resolve().exists():
            missing.append(target)
    assert not missing, f"{doc.name} links to files that do not exist: {missing}"
