"""docs/ARCHITECTURE.md names every module under `lib/` under the heading of its layer."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"
DOC = (ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
MODULES = sorted(p for p in LIB.rglob("*.py") if p.parent != LIB and p.name != "__init__.py")


def sections() -> dict[str, str]:
    """Layer → the text under its `### lib/<layer>` heading."""
    parts = re.split(r"^### lib/(\w+)\s*$", DOC, flags=re.MULTILINE)
    return {parts[i]: parts[i + 1].split("\n## ")[0] for i in range(1, len(parts), 2)}


def test_every_layer_has_its_heading():
    layers = {p.relative_to(LIB).parts[0] for p in MODULES}
    assert layers <= set(sections())


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_each_module_is_named_under_its_layer(path):
    layer, *rest = path.relative_to(LIB).parts
    name = "/".join(rest)
    text = sections().get(layer, "")
    # A module in a sub-package may be named by its path (`providers/ollama.py`) or, in a list
    # headed by its package (`clauses/`: `finder.py` …), by its file name.
    named = f"`{name}`" in text or (
        len(rest) > 1 and f"`{rest[0]}/`" in text and f"`{rest[-1]}`" in text
    )
    assert named, f"docs/ARCHITECTURE.md does not name {name} under lib/{layer}"
