"""Icons are Streamlit's Material icons: an emoji shows as an empty box where no emoji font is
installed (Debian's Chromium, for one)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICON = re.compile(r"""\b(?:page_)?icon\s*=\s*(["'])(.*?)\1""")


def test_every_icon_is_a_material_icon():
    files = [ROOT / "app.py", *ROOT.glob("pages/*.py"), *ROOT.glob("lib/ui/*.py")]
    icons = [
        (path.name, match.group(2))
        for path in files
        for match in ICON.finditer(path.read_text(encoding="utf-8"))
    ]
    assert len(icons) >= 10  # the navigation, page icons and message icons are all seen
    assert [icon for icon in icons if not re.fullmatch(r":material/[a-z0-9_]+:", icon[1])] == []
