"""The fold of a run's events into its `RunStats`, apart from sockets, threads and timers.

`stream_model` reads events from a provider and hands each one to `fold`; everything a run's
figures say (text, times, token counts, notes, the finish reason, the output cap) is decided here,
so it can be tested on a plain list of events. It is shaped like the anthropic SDK's
`accumulate_event`, except that it updates the `RunStats` in place: pages read that record while
the run streams. Matching is exhaustive: a new kind of event fails the type check until it is
folded here.
"""

from __future__ import annotations

import math
import re
from typing import assert_never

from lib.engine.errors import ProviderError
from lib.engine.events import Event, Finish, Note, TextDelta, ThinkingDelta, Usage, Waiting
from lib.engine.run_stats import RunStats, RunStatus

LENGTH_REASONS = ("length", "max_tokens")
LENGTH_NOTE = "The answer hit the output limit, so the report may end abruptly."
THINKING_CAP_NOTE = "The model's thinking went past the app's output limit; the rest is not kept."


# A lone UTF-16 surrogate: valid in a JSON string ("\ud800"), so a hostile or broken model
# server can send one, and no store, page, file or response can write it as UTF-8.
_SURROGATE = re.compile("[\ud800-\udfff]")
# More tokens than any model reads or writes in one run: a count past it is not a count.
MAX_TOKEN_COUNT = 10**12


def writable(text: str) -> str:
    """`text` with every lone surrogate as U+FFFD, as undecodable bytes already are."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _count(value: object) -> int | None:
    """A provider's token count, or None ("not reported") for anything that is not one: NaN,
    a negative, a fraction, a number too large to store, text."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value) if 0 <= value <= MAX_TOKEN_COUNT else None


# What a text delta gives the reader: the text (may be "" when a delta brings nothing), and
# whether this delta met the output cap, so the run must stop with the report so far. A plain
# tuple: one is made per token, and a NamedTuple cost more than the rest of the fold.
Shown = tuple[str, bool]


def fold(stats: RunStats, event: Event, cap: int) -> Shown | None:
    """Fold one event into `stats`; `(text, capped)` for a text delta, `("", False)` for a
    thinking delta (the run moved, but the report did not), None for any other event.

    `cap` is the most characters the report may hold (0 or less: no cap). The delta that reaches
    it is cut to fit and marked capped. Thinking is held to the same cap on its own text: beyond
    it, thinking is dropped with a note (the model's max tokens and the wall time still end the
    run), never the run stopped for thinking too much.
    """
    match event:
        case TextDelta():
            text = writable(event.text)
            capped = 0 < cap <= stats.chars + len(text)
            if capped:
                text = text[: cap - stats.chars]
            stats.waiting_reason = None
            stats.add_text(text)
            return text, capped
        case ThinkingDelta(text=text):
            text = writable(text)
            room = cap - stats.thinking_chars if cap > 0 else len(text)
            if room < len(text) and THINKING_CAP_NOTE not in stats.notes:
                stats.notes.append(THINKING_CAP_NOTE)
            stats.waiting_reason = None
            stats.add_thinking(text[: max(0, room)])
            return "", False
        case Usage():
            input_tokens, output_tokens = _count(event.input_tokens), _count(event.output_tokens)
            if input_tokens is not None:
                stats.input_tokens, stats.input_reported = input_tokens, True
            if output_tokens is not None:
                stats.output_tokens, stats.output_reported = output_tokens, True
            if (thinking := _count(event.thinking_tokens)) is not None:
                stats.thinking_tokens = thinking
            if (written := _count(event.cache_write_tokens)) is not None:
                stats.cache_write_tokens = written
            if (read := _count(event.cache_read_tokens)) is not None:
                stats.cache_read_tokens = read
        case Finish(reason=reason):
            stats.finish_reason = writable(reason) if isinstance(reason, str) else None
        case Note(text=text):
            stats.notes.append(writable(text))
        case Waiting(reason=reason):
            stats.waiting_reason = reason
        case _:
            assert_never(event)
    return None


def complete(stats: RunStats) -> None:
    """End a run whose stream finished: done, with a warning when the model ran out of tokens."""
    if stats.finish_reason in LENGTH_REASONS:
        stats.notes.append(LENGTH_NOTE)
    stats.finish(RunStatus.DONE)


def fail(stats: RunStats, error: ProviderError) -> None:
    """End a run as `error`, keeping whatever text it had (a failed run keeps its partial
    report). `error` must already be redacted: its message is shown and stored."""
    stats.error_kind, stats.error_message = error.kind, writable(error.message)
    stats.finish(RunStatus.ERROR)
