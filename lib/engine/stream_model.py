"""The one generator every page uses to run a model.

`stream_model(...)` returns a `ModelStream`: iterate it for plain text tokens, use it as a context
manager, read `.stats` at any moment. It is shaped like the anthropic SDK's `MessageStream`.

Cancellation: `close()` may be called from any thread. It shuts the socket down at once, so the
model server sees the disconnect even while the reading thread is blocked waiting for a token;
an abandoned stream does the same when it is garbage collected. Retries: a connection that fails
before any answer byte is tried once more after a short pause; nothing is ever retried after that.

Caps (`lib.engine.limits`): a timer ends the run at its wall-time limit even while the read is
blocked on a server that sends nothing (or only keep-alive comments), and the text is cut at the
output limit. Either way the run ends as an error of its own kind with the report so far kept.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from types import TracebackType

from lib.analysis.tokens import estimate_tokens
from lib.engine.errors import BadResponse, CannotConnect, OutputLimit, ProviderError, TimedOut
from lib.engine.events import (
    ChatRequest,
    Event,
    Finish,
    Note,
    Source,
    StreamContext,
    TextDelta,
    Usage,
    Waiting,
)
from lib.engine.limits import RunLimits, output_message, wall_time_message
from lib.engine.provider_config import DEFAULT_MAX_TOKENS, DEFAULT_TEMPERATURE, ProviderConfig
from lib.engine.providers.registry import spec_for
from lib.engine.run_stats import RunStats, RunStatus

RETRY_BACKOFF_S = 0.5


class ModelStream:
    """An iterator of text tokens for one run, with its live `RunStats`."""

    def __init__(
        self, config: ProviderConfig, request: ChatRequest, limits: RunLimits | None = None
    ) -> None:
        self.config = config
        self.request = request
        self.stats = RunStats(estimated_input_tokens=request.estimated_input_tokens)
        self._ctx = StreamContext()
        self._generator = _run(config, request, self.stats, self._ctx, limits or RunLimits())

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._generator)

    def __enter__(self) -> ModelStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """End the run now; safe from any thread and more than once."""
        ctx = getattr(self, "_ctx", None)
        if ctx is None or self.stats.status is not RunStatus.RUNNING:
            return
        ctx.cancel()
        self.stats.finish(RunStatus.CANCELLED)
        # ValueError: another thread is iterating; the aborted socket ends that read instead.
        with contextlib.suppress(ValueError):
            self._generator.close()

    def refuse(self, error: ProviderError) -> None:
        """End a run that never started (e.g. the app is at its limit of runs), with `error`."""
        if self.stats.status is not RunStatus.RUNNING:
            return
        self._ctx.cancel()
        self.stats.error_kind, self.stats.error_message = error.kind, error.message
        self.stats.finish(RunStatus.ERROR)
        with contextlib.suppress(ValueError):
            self._generator.close()


def _events(config: ProviderConfig, request: ChatRequest, ctx: StreamContext) -> Iterator[Event]:
    stream_events = spec_for(config.provider).stream_events
    try:
        yield from stream_events(config, request, ctx)
    except CannotConnect:
        if ctx.responded or ctx.cancelled:
            raise
        if ctx.wait_cancelled(RETRY_BACKOFF_S):
            return
        yield from stream_events(config, request, ctx)


def _stopped(stats: RunStats, ctx: StreamContext) -> ProviderError | None:
    """How a run the context ended finishes: None when the user cancelled it, else a cap's error."""
    error = ctx.stop_error
    if isinstance(error, ProviderError):
        stats.error_kind, stats.error_message = error.kind, error.message
        stats.finish(RunStatus.ERROR)
        return error
    stats.finish(RunStatus.CANCELLED)
    return None


def _run(
    config: ProviderConfig,
    request: ChatRequest,
    stats: RunStats,
    ctx: StreamContext,
    limits: RunLimits,
) -> Iterator[str]:
    """The run itself; a free function so the generator holds no reference to its ModelStream,
    which is then freed (and closes the connection) as soon as its last user drops it."""
    stats.started_at = time.monotonic()
    timer: threading.Timer | None = None
    if limits.max_run_seconds > 0:
        timer = threading.Timer(
            limits.max_run_seconds,
            ctx.stop,
            args=(TimedOut(wall_time_message(limits.max_run_seconds)),),
        )
        timer.daemon = True
        timer.start()
    cap = limits.max_output_chars
    events = _events(config, request, ctx)
    try:
        for event in events:
            if isinstance(event, TextDelta):
                text = event.text
                if cap > 0 and stats.chars + len(text) >= cap:
                    text = text[: cap - stats.chars]
                    ctx.stop(OutputLimit(output_message(cap)))
                ctx.answer_started = True
                stats.waiting_reason = None
                stats.add_text(text)
                if text:
                    yield text
                if ctx.cancelled:
                    break
            elif isinstance(event, Usage):
                if event.input_tokens is not None:
                    stats.input_tokens, stats.input_reported = event.input_tokens, True
                if event.output_tokens is not None:
                    stats.output_tokens, stats.output_reported = event.output_tokens, True
            elif isinstance(event, Finish):
                stats.finish_reason = event.reason
            elif isinstance(event, Note):
                stats.notes.append(event.text)
            elif isinstance(event, Waiting):
                stats.waiting_reason = event.reason
    except ProviderError as exc:
        if ctx.cancelled:
            if (stopped := _stopped(stats, ctx)) is not None:
                raise stopped from None
            return
        error = exc.redacted(config.api_key)
        stats.error_kind, stats.error_message = error.kind, error.message
        stats.finish(RunStatus.ERROR)
        raise error from None
    except Exception as exc:
        if ctx.cancelled:
            if (stopped := _stopped(stats, ctx)) is not None:
                raise stopped from None
            return
        error = BadResponse(f"Unexpected failure while reading the answer ({type(exc).__name__}).")
        stats.error_kind, stats.error_message = error.kind, error.message
        stats.finish(RunStatus.ERROR)
        raise error from None
    except BaseException:
        # GeneratorExit from close()/garbage collection, or an exception thrown in.
        ctx.cancel()
        stats.finish(RunStatus.CANCELLED)
        raise
    finally:
        if timer is not None:
            timer.cancel()
        with contextlib.suppress(Exception):
            events.close()
    if ctx.cancelled:
        if (stopped := _stopped(stats, ctx)) is not None:
            raise stopped from None
        return
    if stats.finish_reason in ("length", "max_tokens"):
        stats.notes.append("The answer hit the output limit, so the report may end abruptly.")
    stats.finish(RunStatus.DONE)


def stream_model(
    config: ProviderConfig,
    system_prompt: str,
    contract_text: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    source: Source | None = None,
    limits: RunLimits | None = None,
) -> ModelStream:
    """Start a run. `contract_text` is the user turn, already wrapped by `lib.analysis.prompts`."""
    request = ChatRequest(
        system=system_prompt,
        user=contract_text,
        max_tokens=max_tokens,
        temperature=temperature,
        estimated_input_tokens=estimate_tokens(system_prompt) + estimate_tokens(contract_text),
        source=source,
    )
    return ModelStream(config, request, limits)


def list_models(config: ProviderConfig) -> list[str]:
    """Models the provider offers; raises `ProviderError` (e.g. `CannotConnect`) when it is down."""
    try:
        return spec_for(config.provider).list_models(config)
    except ProviderError as exc:
        raise exc.redacted(config.api_key) from None
