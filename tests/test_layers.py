"""The layers of `lib/` import downward only, and only `lib/ui` imports Streamlit.

analysis (text) ← engine (models) ← store (run log) ← runs (live runs) ← ui / api / cli (front ends)
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

LIB = Path(__file__).resolve().parent.parent / "lib"
ORDER = ["analysis", "engine", "store", "runs", "ui", "api", "cli"]
# Front ends sit side by side: none may import another.
FRONT_ENDS = {"ui", "api", "cli"}
SIBLINGS = {(a, b) for a in FRONT_ENDS for b in FRONT_ENDS if a != b}


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


MODULES = sorted(p for p in LIB.rglob("*.py") if p.parent != LIB)


def layer(path: Path) -> str:
    return path.relative_to(LIB).parts[0]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_imports_run_downward(path):
    own = layer(path)
    for name in imports(path):
        parts = name.split(".")
        if parts[0] != "lib" or len(parts) < 2 or parts[1] not in ORDER:
            continue
        other = parts[1]
        assert (own, other) not in SIBLINGS, f"{path.name} imports {name}"
        assert ORDER.index(other) <= ORDER.index(own) or (own, other) in SIBLINGS, (
            f"{path.relative_to(LIB)} ({own}) imports {name} from the layer above ({other})"
        )


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(LIB)))
def test_only_the_ui_imports_streamlit(path):
    if layer(path) == "ui":
        return
    assert not any(n.split(".")[0] == "streamlit" for n in imports(path)), path


def test_the_layers_exist():
    assert {layer(p) for p in MODULES} >= {
        "analysis",
        "engine",
        "store",
        "runs",
        "ui",
        "api",
        "cli",
    }


def test_every_page_offers_files_one_way():
    """`lib.ui.download.offer` is the one caller of Streamlit's download button: a page calling it
    directly would rerun on click again, and lose the file a second click builds."""
    root = LIB.parent
    callers = [
        path.relative_to(root)
        for path in [root / "app.py", *(root / "pages").glob("*.py"), *LIB.rglob("*.py")]
        if "download_button(" in path.read_text(encoding="utf-8")
    ]
    assert callers == [Path("lib/ui/download.py")]
