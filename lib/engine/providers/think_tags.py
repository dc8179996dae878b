"""A leading `<think>…</think>` block in the answer's content, read as thinking.

Older llama.cpp and Ollama builds (and any server without a reasoning parser) send a reasoning
model's thinking inside the content, wrapped in `<think>` tags, before the answer. Only a block
at the very start of the answer counts (leading whitespace aside): a tag anywhere later is report
text, so a contract that makes the model quote `<think>` cannot hide report text from the quote
checks. The tags may arrive split across chunks at any byte, so text that could still be the
start of a tag is held back until the next chunk decides it.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum, auto

from lib.engine.events import Event, Note, TextDelta, ThinkingDelta

OPEN = "<think>"
CLOSE = "</think>"
UNCLOSED_NOTE = (
    "The model's thinking never closed (no </think>): what it wrote is kept as thinking, and the "
    "report is empty."
)


class _State(Enum):
    START = auto()  # nothing but whitespace yet: a tag may still open
    THINKING = auto()  # inside the leading block
    AFTER = auto()  # the block closed: the whitespace before the answer is dropped
    ANSWER = auto()  # everything from here is report text


def _partial_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a proper start of `tag`."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:n]):
            return n
    return 0


class LeadingThink:
    """Splits one stream's content deltas into thinking and answer events."""

    def __init__(self) -> None:
        self._state = _State.START
        self._held = ""

    def feed(self, text: str) -> Iterator[Event]:
        if self._state is _State.ANSWER:
            if text:
                yield TextDelta(text)
            return
        if self._state is _State.AFTER:
            yield from self._answer(text.lstrip())
            return
        self._held += text
        if self._state is _State.START:
            head = self._held.lstrip()
            if not head or (OPEN.startswith(head) and head != OPEN):
                return  # whitespace, or maybe the tag: wait for more
            if not head.startswith(OPEN):
                held, self._held = self._held, ""
                yield from self._answer(held)
                return
            self._state, self._held = _State.THINKING, head[len(OPEN) :]
        yield from self._thinking()

    def _thinking(self) -> Iterator[Event]:
        end = self._held.find(CLOSE)
        if end >= 0:
            thought, rest = self._held[:end], self._held[end + len(CLOSE) :]
            self._held, self._state = "", _State.AFTER
            if thought:
                yield ThinkingDelta(thought)
            yield from self._answer(rest.lstrip())
            return
        keep = _partial_suffix(self._held, CLOSE)
        thought = self._held[: len(self._held) - keep]
        self._held = self._held[len(self._held) - keep :]
        if thought:
            yield ThinkingDelta(thought)

    def _answer(self, text: str) -> Iterator[Event]:
        if text:
            self._state = _State.ANSWER
            yield TextDelta(text)

    def end(self) -> Iterator[Event]:
        """The stream is complete: release what was held back."""
        held, self._held = self._held, ""
        if self._state is _State.START and held:
            yield TextDelta(held)
        elif self._state is _State.THINKING:
            if held:
                yield ThinkingDelta(held)
            yield Note(UNCLOSED_NOTE)
