"""Icons are Streamlit's Material icons: an emoji shows as an empty box where no emoji font is
installed (Debian's Chromium, for one), and a Material name Streamlit does not ship raises when
the page draws it, or draws nothing where it only reaches the browser."""

from __future__ import annotations

import re
from pathlib import Path

from streamlit.material_icon_names import ALL_MATERIAL_ICONS

ROOT = Path(__file__).resolve().parent.parent
ICON = re.compile(r"""\b(?:page_)?icon\s*=\s*(["'])(.*?)\1""")
MATERIAL = re.compile(r":material/([^:\s\"']*):")


def sources() -> dict[str, str]:
    files = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("lib/ui/*.py")]
    return {path.name: path.read_text(encoding="utf-8") for path in files}


def test_every_icon_is_a_material_icon():
    icons = [
        (name, match.group(2)) for name, text in sources().items() for match in ICON.finditer(text)
    ]
    assert len(icons) >= 10  # the navigation, page icons and message icons are all seen
    assert [icon for icon in icons if not re.fullmatch(r":material/[a-z0-9_]+:", icon[1])] == []


def test_every_material_icon_is_one_streamlit_ships():
    """Every `:material/<name>:` written anywhere (an `icon=`, a constant, a label), checked
    against the icon names of the installed Streamlit."""
    named = [
        (name, m.group(1)) for name, text in sources().items() for m in MATERIAL.finditer(text)
    ]
    assert len(named) >= 10
    assert [icon for icon in named if icon[1] not in ALL_MATERIAL_ICONS] == []
