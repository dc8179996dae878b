"""The small contract between `stream_model` and the wire-format modules.

A provider turns one HTTP stream into `TextDelta`, `ThinkingDelta`, `Usage` and `Finish` events
and raises a `lib.engine.errors.ProviderError` for anything else. It registers its live response
with the `StreamContext` so that `close()` — possibly from another thread — can abort the socket
at once.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Any, NamedTuple

from lib.engine.limits import MIN_EVENT_BYTES


# NamedTuples rather than dataclasses: one is built per token, and they are the cheapest records.
class TextDelta(NamedTuple):
    text: str


class ThinkingDelta(NamedTuple):
    """What a reasoning model thinks before it answers: shown apart, never part of the report."""

    text: str


class Usage(NamedTuple):
    """Token counts as the provider reports them. `input_tokens` is the whole prompt, cached or
    not; `cache_write_tokens` and `cache_read_tokens` are the shares a prompt cache stored or
    served, where the provider bills them apart (Claude). `output_tokens` counts everything the
    model generated, thinking included (every provider counts it so); `thinking_tokens` is the
    share spent thinking, where the provider says so."""

    input_tokens: int | None = None
    output_tokens: int | None = None
    thinking_tokens: int | None = None
    cache_write_tokens: int | None = None
    cache_read_tokens: int | None = None


class Finish(NamedTuple):
    reason: str | None


class Note(NamedTuple):
    """Something the analyst should know about the run (a cold start, a truncated prompt)."""

    text: str


class Waiting(NamedTuple):
    """Why no text is coming yet (e.g. queued behind another review); None when that is over."""

    reason: str | None


Event = TextDelta | ThinkingDelta | Usage | Finish | Note | Waiting


@dataclass(frozen=True)
class Source:
    """The contract itself, for an engine that reads it directly instead of through a prompt (the
    clause finder): a model gets the contract wrapped in the user turn, rules need it bare."""

    name: str
    text: str
    template_key: str
    page_starts: tuple[int, ...] | None = None
    perspective: str = ""  # the side the analyst reviews for, as the report's header names it


@dataclass(frozen=True)
class ChatRequest:
    system: str
    user: str
    max_tokens: int
    temperature: float
    estimated_input_tokens: int
    source: Source | None = None
    # Ask the model to think first (True), not to (False), or leave it to the model (None);
    # only providers whose spec has a `thinking` switch send it.
    thinking: bool | None = None
    # Tokens the model may spend thinking, for providers that take a budget (Claude).
    thinking_budget: int | None = None
    # How many characters of `user` every prompt on this contract shares (`Prompt.prefix_chars`):
    # with `system`, the prefix a provider's prompt cache may keep (Claude marks it).
    stable_prefix: int = 0


class StreamContext:
    """Shared between the thread reading a stream and whoever may cancel it."""

    def __init__(self, max_event_bytes: int = MIN_EVENT_BYTES) -> None:
        # How many bytes one event of the stream may hold (`RunLimits.max_event_bytes`).
        self.max_event_bytes = max_event_bytes
        # Set by `stream_model` when the first text or thinking arrives: from then on nothing
        # may be retried (it is billed); `text_started` when the answer itself began.
        self.answer_started = False
        self.text_started = False
        self._lock = threading.Lock()
        self._responses: list[Any] = []
        self._streams: list[Any] = []  # each connection's network stream (`trace`)
        self._cancelled = threading.Event()
        # Set when the run was ended by one of our own caps rather than by the user.
        self.stop_error: Exception | None = None

    @property
    def responded(self) -> bool:
        """Whether the server accepted the request (a response is attached): a failure after this
        is the stream breaking, not a failure to connect, and is never retried."""
        with self._lock:
            return bool(self._responses)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def wait_cancelled(self, timeout: float) -> bool:
        """Sleep up to `timeout` seconds; True as soon as the run is cancelled."""
        return self._cancelled.wait(timeout)

    def where(self, answering: str = "mid-answer") -> str:
        """When a failure came, as an analyst reads it: a model that was still thinking had not
        begun its answer, and "mid-answer" said it had."""
        if self.text_started:
            return answering
        if self.answer_started:
            return "while the model was still thinking"
        return "before its answer began"

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """The `trace` extension of every request a run makes (httpx's and the Claude SDK's
        httpx2): registers each connection as soon as TCP connects, so that `cancel` reaches a
        request still sending or waiting for its headers, which no response carries yet (a
        server trickling its headers a byte at a time held its run for ever)."""
        if event != "connection.connect_tcp.complete":
            return
        with self._lock:
            self._streams.append(info["return_value"])
            cancelled = self.cancelled
        if cancelled:
            shut_down(info["return_value"])

    def attach(self, response: Any) -> None:
        """Register an httpx (or httpx2) response so `cancel` can reach its socket."""
        with self._lock:
            self._responses.append(response)
            cancelled = self.cancelled
        if cancelled:
            abort_response(response)

    def next_attempt(self) -> None:
        """Forget the responses of an attempt that failed before its first token, so the next
        endpoint's failure to connect reads as one (its `responded` is its own)."""
        with self._lock:
            self._responses.clear()

    def stop(self, error: Exception) -> None:
        """End the run because it met a cap: like `cancel`, but the run ends with `error`."""
        with self._lock:
            if self.stop_error is None and not self._cancelled.is_set():
                self.stop_error = error
        self.cancel()

    def cancel(self) -> None:
        self._cancelled.set()
        with self._lock:
            responses, streams = list(self._responses), list(self._streams)
        for stream in streams:
            shut_down(stream)
        for response in responses:
            abort_response(response)


def abort_response(response: Any) -> None:
    """End a response's connection now, even while another thread is blocked reading it.

    Closing a socket does not wake a thread blocked in recv() on Linux, and the peer sees nothing
    until that read returns; shutting the socket down does both at once. So we reach for the
    socket under the HTTP client's network stream and fall back to an ordinary close.
    """
    if shut_down(getattr(response, "extensions", {}).get("network_stream")):
        return
    with contextlib.suppress(Exception):
        response.close()


def shut_down(stream: Any) -> bool:
    """Shut down the socket under an HTTP client's network stream, waking any thread blocked on
    it; False when there is no socket to reach."""
    sock = stream.get_extra_info("socket") if stream is not None else None
    if not isinstance(sock, socket.socket):
        return False
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    return True
