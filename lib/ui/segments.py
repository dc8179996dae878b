"""Split a stream of text batches into report segments of bounded size.

`st.write_stream` re-renders its whole text for every batch, so the browser's work per update
grows with the report: near the end of a long report each update re-parses tens of kilobytes of
Markdown. Streaming each segment into its own `st.write_stream` keeps finished segments untouched
and bounds the work per update. Segments end at a blank line (a Markdown block boundary) once they
are long enough — never inside a fenced code block — or, for text with no blank lines at all, at
whitespace once they reach twice the soft limit. The live segment's length is what every update
costs the browser (it re-parses the segment and reflows its paragraph whole), and on Compare the
second side's update waits for the first's.
"""

from __future__ import annotations

from collections.abc import Iterator

SOFT_LIMIT = 2_000
HARD_LIMIT = 2 * SOFT_LIMIT


def _cut(text: str, shown: int) -> int | None:
    """Where the segment `text` may end, or None to keep it going; never before `shown`, the
    part already on screen."""
    if len(text) < SOFT_LIMIT:
        return None
    boundary = text.rfind("\n\n", max(shown, SOFT_LIMIT // 2))
    if boundary >= 0 and text.count("```", 0, boundary) % 2 == 0:
        return boundary + 2
    if len(text) >= HARD_LIMIT and text.count("```") % 2 == 0:
        space = text.rfind(" ", max(shown, HARD_LIMIT // 2))
        if space >= 0:
            return space + 1
    return None


class Segmenter:
    """Hands out one generator per segment over a shared stream of batches."""

    def __init__(self, batches: Iterator[str]) -> None:
        self._batches = batches
        self._carry = ""
        self.finished = False

    def segment(self) -> Iterator[str]:
        text = ""
        if self._carry:
            text, self._carry = self._carry, ""
            yield text
        for batch in self._batches:
            combined = text + batch
            cut = _cut(combined, len(text))
            if cut is None:
                text = combined
                yield batch
                continue
            head = combined[len(text) : cut]
            self._carry = combined[cut:]
            if head:
                yield head
            return
        self.finished = True


class SegmentedText:
    """The same segmentation for a page that draws text into placeholders itself (Compare)."""

    def __init__(self) -> None:
        self.live = ""

    def add(self, text: str) -> str | None:
        """Append text; returns a finished segment to freeze when the live one was cut."""
        shown = len(self.live)
        combined = self.live + text
        cut = _cut(combined, shown)
        if cut is None:
            self.live = combined
            return None
        self.live = combined[cut:]
        return combined[:cut]
