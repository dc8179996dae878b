"""Split a growing report into segments of bounded size.

Redrawing one Markdown element with the whole text for every update makes the browser's work per
update grow with the report: near the end of a long report each update re-parses tens of kilobytes
of Markdown. Freezing each finished segment in its own element keeps it untouched and bounds the
work per update. Segments end at a blank line (a Markdown block boundary) once they
are long enough — never inside a fenced code block — or, for text with no blank lines at all, at
whitespace once they reach twice the soft limit. The live segment's length is what every update
costs the browser (it re-parses the segment and reflows its paragraph whole), and on Compare the
second side's update waits for the first's.
"""

from __future__ import annotations

SOFT_LIMIT = 1_000
HARD_LIMIT = 2 * SOFT_LIMIT


def _cut(text: str, shown: int, soft_limit: int) -> int | None:
    """Where the segment `text` may end, or None to keep it going; never before `shown`, the
    part already on screen."""
    if len(text) < soft_limit:
        return None
    # A blank line may start at the last character already on screen.
    boundary = text.rfind("\n\n", max(shown - 1, soft_limit // 2, 0))
    if boundary >= 0 and text.count("```", 0, boundary) % 2 == 0:
        return boundary + 2
    if len(text) >= HARD_LIMIT and text.count("```") % 2 == 0:
        space = text.rfind(" ", max(shown, HARD_LIMIT // 2))
        if space >= 0:
            return space + 1
    return None


class SegmentedText:
    """The text of one live run: frozen segments handed back as they finish, and the live tail."""

    def __init__(self, soft_limit: int = SOFT_LIMIT) -> None:
        """`soft_limit`: the length from which a segment ends at its next block boundary; 1 ends
        every paragraph, for a page whose live tail is plain text (`lib.ui.live_feed`)."""
        self.live = ""
        self.soft_limit = soft_limit

    def add(self, text: str) -> str | None:
        """Append text; returns a finished segment to freeze when the live one was cut."""
        shown = len(self.live)
        combined = self.live + text
        cut = _cut(combined, shown, self.soft_limit)
        if cut is None:
            self.live = combined
            return None
        self.live = combined[cut:]
        return combined[:cut]
