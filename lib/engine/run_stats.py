"""RunStats: what one run measured, readable at any moment while it streams.

All times are `time.monotonic()` seconds. Derived figures, defined once here: time to first
token is request sent → first non-empty answer (text) delta, total is request sent → ending, and
generation speed is answer tokens / (last answer delta − first answer delta).

A reasoning model's thinking is kept apart from the answer: its own text, its own first-token
time, its own token count. Every provider's output count includes the thinking, so the answer's
tokens are the output less the thinking (reported), or an estimate from the answer's text when
the thinking's share is not reported, the thinking then the rest of the output — a speed over
the answer's time alone must not count the thinking's tokens, and the two add up to what was
billed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from lib.analysis.tokens import estimate_tokens
from lib.engine.errors import ErrorKind

# An answer that arrived within this (a proxy that buffers, a cached reply) was not timed as it
# was written: its "speed" came out at tens of thousands of tokens a second and topped every
# chart and Compare row, so none is given.
MIN_SPEED_SPAN_S = 0.2


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    CANCELLED = "cancelled"
    ERROR = "error"

    @property
    def label(self) -> str:
        """The word an analyst reads for this status, on every page and in every export."""
        return _STATUS_LABELS[self]

    @classmethod
    def named(cls, word: str) -> RunStatus:
        """The status a word names: its stored value ("error", what the API and the run log
        carry) or its label ("failed", what the pages and exports show), so a filter typed from
        either finds the runs. ValueError naming both sets for any other word."""
        for status in cls:
            if word in (status.value, status.label):
                return status
        values = ", ".join(status.value for status in cls)
        labels = ", ".join(status.label for status in cls if status.label != status.value)
        raise ValueError(f"use one of {values} (or as the pages say them: {labels})")


_STATUS_LABELS = {
    RunStatus.RUNNING: "running",
    RunStatus.DONE: "complete",
    RunStatus.CANCELLED: "stopped",
    # "failed" reads better to an analyst than "error"; the stored value stays "error".
    RunStatus.ERROR: "failed",
}


@dataclass
class RunStats:
    started_at: float = field(default_factory=time.monotonic)
    first_token_at: float | None = None
    last_token_at: float | None = None
    ended_at: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    input_reported: bool = False
    output_reported: bool = False
    finish_reason: str | None = None
    status: RunStatus = RunStatus.RUNNING
    error_kind: ErrorKind | None = None
    error_message: str | None = None
    estimated_input_tokens: int = 0
    # Writes its answer token by token (`ProviderSpec.has_speed`): false for the clause finder,
    # whose whole report comes at once, so its "time to first token" and speed mean nothing.
    has_speed: bool = True
    # (seconds since start, characters so far) per delta, for the tokens-over-time chart.
    timeline: list[tuple[float, int]] = field(default_factory=list)
    # Provider-specific observations worth showing (e.g. Ollama's load time, a truncation warning).
    notes: list[str] = field(default_factory=list)
    # Set while the run waits for something other than the model (e.g. the built-in server busy).
    waiting_reason: str | None = None
    # The endpoint serving the run (for a model on several, the one its latest attempt used).
    endpoint: str = ""
    # Where a run of several model calls is (e.g. "part 3 of 12 · about 2 min left"); None for one.
    progress: str | None = None
    # Seconds of silence after which the provider's client ends the run (its read timeout): the
    # live line names it while the model is silent. None: not known.
    read_timeout: float | None = None
    # Thinking: when its first and last deltas came, and its token count where reported.
    first_thinking_at: float | None = None
    last_thinking_at: float | None = None
    thinking_tokens: int | None = None
    # The prompt's tokens a provider's cache stored or served (part of `input_tokens`), where
    # it reports them; each is billed at its own rate (lib/runs/pricing.py).
    cache_write_tokens: int | None = None
    cache_read_tokens: int | None = None
    # Text so far as pieces, joined on demand: appending to one growing string would copy the
    # whole report for every token (quadratic on a long report).
    _parts: list[str] = field(default_factory=list, repr=False)
    _chars: int = field(default=0, repr=False)
    _thinking_parts: list[str] = field(default_factory=list, repr=False)
    _thinking_chars: int = field(default=0, repr=False)
    # Called after each piece of thinking, on the thread that reads the model: thinking is not
    # queued like the answer, so a reader elsewhere (the page's live feed) is woken this way.
    on_thinking: Callable[[], None] | None = field(default=None, repr=False, compare=False)

    def add_thinking(self, delta: str, now: float | None = None) -> None:
        if not delta:
            return
        now = time.monotonic() if now is None else now
        if self.first_thinking_at is None:
            self.first_thinking_at = now
        self.last_thinking_at = now
        self._thinking_parts.append(delta)
        self._thinking_chars += len(delta)
        if self.on_thinking is not None:
            self.on_thinking()

    @property
    def thinking(self) -> str:
        return "".join(self._thinking_parts)

    def thinking_since(self, parts: int) -> tuple[str, int]:
        """The thinking after its first `parts` pieces, and how many pieces there are now: a
        reader that streams the thinking on reads only what is new."""
        count = len(self._thinking_parts)
        return "".join(self._thinking_parts[parts:count]), count

    @property
    def thinking_chars(self) -> int:
        return self._thinking_chars

    @property
    def thinking_reported(self) -> bool:
        return self.thinking_tokens is not None

    @property
    def thinking_token_count(self) -> int:
        """Thinking tokens as reported; else, once the output's count is in, that count less the
        answer's estimate (the two then add up to what was billed, and a summarised thinking's
        text does not undercount it); else estimated from the thinking text (0 without any)."""
        if self.thinking_tokens is not None:
            return self.thinking_tokens
        if not self._thinking_chars:
            return 0
        thought = estimate_tokens(self.thinking)
        if self.output_tokens is not None:
            # Never less than its own text holds (an answer's estimate may overshoot), never
            # more than the output.
            rest = self.output_tokens - estimate_tokens(self.text)
            return min(self.output_tokens, max(rest, thought))
        return thought

    @property
    def thought_tokens(self) -> int | None:
        """`thinking_token_count` for a run that thought, None for one that did not: the live
        figures, the record and the API's events give the same answer (a stats event said 0
        where its done event said null)."""
        thought = self._thinking_chars > 0 or self.thinking_reported
        return self.thinking_token_count if thought else None

    @property
    def is_thinking(self) -> bool:
        """The model is thinking and has not started its answer."""
        return self.first_thinking_at is not None and self.first_token_at is None

    def thinking_seconds(self, now: float | None = None) -> float | None:
        """How long the model has thought (or thought, once the answer began); None if never."""
        if self.first_thinking_at is None:
            return None
        end = self.first_token_at or self.ended_at or (now or time.monotonic())
        return max(0.0, end - self.first_thinking_at)

    def add_text(self, delta: str, now: float | None = None) -> None:
        if not delta:
            return
        now = time.monotonic() if now is None else now
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now
        self._parts.append(delta)
        self._chars += len(delta)
        self.timeline.append((now - self.started_at, self._chars))

    @property
    def last_heard(self) -> float | None:
        """When the model last sent a token of its answer or of its thinking (None: nothing yet)."""
        times = [t for t in (self.last_token_at, self.last_thinking_at) if t is not None]
        return max(times, default=None)

    @property
    def chars(self) -> int:
        return self._chars

    @property
    def text(self) -> str:
        # join holds the GIL throughout, so a worker appending meanwhile cannot tear it.
        return "".join(self._parts)

    @property
    def tokens_reported(self) -> bool:
        """True when both counts came from the provider rather than our estimate."""
        return self.input_reported and self.output_reported

    @property
    def answered(self) -> bool:
        """The provider took the request: it reported usage or sent thinking or answer. A run
        refused (an HTTP error) or stopped before any of that is not billed."""
        return (
            self.input_reported
            or self.first_token_at is not None
            or self.first_thinking_at is not None
        )

    @property
    def input_token_count(self) -> int:
        """The prompt's tokens as the provider counted them; else the prompt's estimate once the
        provider took the request (`answered`). A request it never took — refused before it was
        sent (too long for the model, over the cap on runs at once), refused by the server, or
        stopped before any answer — was read by no model and is not billed (`run_cost`), so it
        counts none, as each call of a long review counts (`LongRunStats.close_call`): a refused
        run recorded its prompt's estimate as if sent. The prompt's size stays in
        `estimated_input_tokens`."""
        if self.input_tokens is not None:
            return self.input_tokens
        return self.estimated_input_tokens if self.answered else 0

    @property
    def cache_written(self) -> int | None:
        """Prompt tokens written to the provider's cache (None: not reported)."""
        return self.cache_write_tokens

    @property
    def cache_read(self) -> int | None:
        """Prompt tokens read from the provider's cache (None: not reported)."""
        return self.cache_read_tokens

    @property
    def output_token_count(self) -> int:
        """As reported, else estimated: the answer's text and the thinking's, as providers bill
        both (a run stopped while thinking counted, and was priced, as writing nothing)."""
        if self.output_tokens is not None:
            return self.output_tokens
        return estimate_tokens(self.text) + self.thinking_token_count

    @property
    def answer_token_count(self) -> int:
        """The answer's own tokens: the output count for a run that did not think, the output
        less the thinking when both are reported, else estimated from the answer (at most the
        output's count): thinking and answer add up to the output."""
        if not self._thinking_chars and self.thinking_tokens is None:
            return self.output_token_count
        if self.output_tokens is not None:
            return max(0, self.output_tokens - self.thinking_token_count)
        return estimate_tokens(self.text)

    @property
    def answer_reported(self) -> bool:
        """The answer's count is the provider's, not partly our estimate."""
        thought = self._thinking_chars > 0 or self.thinking_reported
        return self.output_reported and (self.thinking_reported or not thought)

    @property
    def time_to_first_token(self) -> float | None:
        """Time to the first answer token (thinking is not the answer); None for a reviewer
        that does not write token by token, on every page, file and event alike."""
        if self.first_token_at is None or not self.has_speed:
            return None
        return self.first_token_at - self.started_at

    @property
    def time_to_first_thinking(self) -> float | None:
        if self.first_thinking_at is None:
            return None
        return self.first_thinking_at - self.started_at

    def elapsed(self, now: float | None = None) -> float:
        end = self.ended_at if self.ended_at is not None else (now or time.monotonic())
        return end - self.started_at

    @property
    def total_time(self) -> float | None:
        if self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    @property
    def answer_seconds(self) -> float:
        """From the first answer token to the last (0 before there are two)."""
        if self.first_token_at is None or self.last_token_at is None:
            return 0.0
        return max(0.0, self.last_token_at - self.first_token_at)

    def speed_sample(self) -> tuple[int, float]:
        """The answer tokens and the seconds spent writing them that the speed is over."""
        return self.answer_token_count, self.answer_seconds

    @property
    def tokens_per_second(self) -> float | None:
        if not self.has_speed:
            return None
        tokens, seconds = self.speed_sample()
        return tokens / seconds if seconds >= MIN_SPEED_SPAN_S else None

    def finish(self, status: RunStatus, now: float | None = None) -> None:
        if self.status is RunStatus.RUNNING:
            self.status = status
            self.ended_at = time.monotonic() if now is None else now
