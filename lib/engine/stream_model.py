"""The one generator every page uses to run a model.

`stream_model(...)` returns a `ModelStream`: iterate it for plain text tokens (an empty string
when the model thought instead: its thinking is in `.stats.thinking`), use it as a context
manager, read `.stats` at any moment. It is shaped like the anthropic SDK's `MessageStream`.

Cancellation: `close()` may be called from any thread. It shuts the socket down at once, so the
model server sees the disconnect even while the reading thread is blocked waiting for a token;
an abandoned stream does the same when it is garbage collected. Retries: a connection that fails
before any answer byte is tried once more after a short pause; nothing is ever retried after that.
A model on several endpoints (`ProviderConfig.pool`) goes through a `Route` instead: each attempt
on the endpoint it picks, and a failure before the first token moves the run to the next one.

Caps (`lib.engine.limits`): a timer ends the run at its wall-time limit even while the read is
blocked on a server that sends nothing (or only keep-alive comments), and the text is cut at the
output limit. Either way the run ends as an error of its own kind with the report so far kept.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Generator, Iterator
from types import TracebackType

from lib.analysis.tokens import estimate_tokens
from lib.engine.errors import (
    BadResponse,
    CannotConnect,
    OutputLimit,
    ProviderError,
    TimedOut,
    error_title,
)
from lib.engine.events import ChatRequest, Event, Source, StreamContext
from lib.engine.fold import complete, fail, fold
from lib.engine.limits import RunLimits, output_message, wall_time_message
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ProviderConfig,
    endpoint_label,
    shown_url,
)
from lib.engine.providers.registry import spec_for
from lib.engine.routing import Outcome, Route, endpoint_at_fault
from lib.engine.run_stats import RunStats, RunStatus

RETRY_BACKOFF_S = 0.5


class ModelStream:
    """An iterator of text tokens for one run, with its live `RunStats`."""

    def __init__(
        self,
        config: ProviderConfig,
        request: ChatRequest,
        limits: RunLimits | None = None,
        route: Route | None = None,
    ) -> None:
        self.config = config
        self.request = request
        self.stats = RunStats(
            estimated_input_tokens=request.estimated_input_tokens,
            has_speed=spec_for(config.provider).has_speed,
            read_timeout=config.read_timeout,
        )
        limits = limits or RunLimits()
        self._ctx = StreamContext(limits.max_event_bytes)
        self._generator = _run(config, request, self.stats, self._ctx, limits, route)

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
        fail(self.stats, error)
        with contextlib.suppress(ValueError):
            self._generator.close()


def _events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Generator[Event, None, None]:
    """One endpoint: a connection refused before any answer byte is tried once more."""
    stream_events = spec_for(config.provider).stream_events
    try:
        yield from stream_events(config, request, ctx)
    except CannotConnect:
        if ctx.responded or ctx.cancelled:
            raise
        if ctx.wait_cancelled(RETRY_BACKOFF_S):
            return
        yield from stream_events(config, request, ctx)


def _routed(
    route: Route, request: ChatRequest, ctx: StreamContext, stats: RunStats
) -> Generator[Event, None, None]:
    """Several endpoints: each attempt where `route` says; a failure before the first token is
    tried on the next endpoint (the route cools the failed one down), never one after it."""
    tried: list[ProviderConfig] = []
    last: ProviderError | None = None
    failed: str | None = None  # the last failure, noted once it is known whether one is left
    while (member := route.pick(tried, ctx)) is not None:
        if failed is not None:
            stats.notes.append(f"{failed}: the run was offered to the next endpoint.")
            failed = None
        if not tried:
            # Waiting for room on a busy pool is not the model's time: its figures start here.
            stats.started_at = time.monotonic()
        tried.append(member)
        stats.endpoint = shown_url(member.base_url)
        ctx.next_attempt()
        outcome = Outcome.NEUTRAL
        try:
            yield from spec_for(member.provider).stream_events(member, request, ctx)
            outcome = Outcome.SERVED
            return
        except ProviderError as exc:
            error = exc.redacted(*member.secrets)
            if ctx.answer_started:
                outcome = Outcome.SERVED
            elif not ctx.cancelled and endpoint_at_fault(exc):
                outcome, last = Outcome.FAILED, error
                failed = (
                    f"{endpoint_label(member.base_url)} failed before answering"
                    f" ({error_title(error.kind).lower()})"
                )
                continue
            raise error from None
        except GeneratorExit:
            outcome = Outcome.SERVED if ctx.answer_started else Outcome.NEUTRAL
            raise
        finally:
            route.done(member, outcome)
    if ctx.cancelled:
        return
    if failed is not None:
        stats.notes.append(f"{failed}, and no endpoint was left to offer the run to.")
    raise last or CannotConnect("None of the model's endpoints could take the run.")


def _stopped(stats: RunStats, ctx: StreamContext) -> ProviderError | None:
    """How a run the context ended finishes: None when the user cancelled it, else a cap's error."""
    error = ctx.stop_error
    if isinstance(error, ProviderError):
        fail(stats, error)
        return error
    stats.finish(RunStatus.CANCELLED)
    return None


def _start_timer(limits: RunLimits, ctx: StreamContext) -> threading.Timer | None:
    """The wall-time cap: stops the run even while its read is blocked on a silent server."""
    if not limits.max_run_seconds > 0:
        return None
    timer = threading.Timer(
        limits.max_run_seconds,
        ctx.stop,
        args=(TimedOut(wall_time_message(limits.max_run_seconds)),),
    )
    timer.daemon = True
    timer.start()
    return timer


def _as_provider_error(exc: Exception, secrets: tuple[str, ...]) -> ProviderError:
    """The one error a failed read ends with, never carrying the key; anything that is not a
    provider error is a bug in parsing, reported without its (possibly contract-quoting) text."""
    if isinstance(exc, ProviderError):
        return exc.redacted(*secrets)
    return BadResponse(f"Unexpected failure while reading the answer ({type(exc).__name__}).")


def _run(
    config: ProviderConfig,
    request: ChatRequest,
    stats: RunStats,
    ctx: StreamContext,
    limits: RunLimits,
    route: Route | None = None,
) -> Generator[str, None, None]:
    """The run itself; a free function so the generator holds no reference to its ModelStream,
    which is then freed (and closes the connection) as soon as its last user drops it."""
    stats.started_at = time.monotonic()
    timer = _start_timer(limits, ctx)
    cap = limits.max_output_chars
    if route is None:
        stats.endpoint = shown_url(config.base_url)
        events = _events(config, request, ctx)
    else:
        events = _routed(route, request, ctx, stats)
    try:
        for event in events:
            shown = fold(stats, event, cap)
            if shown is None:
                continue
            text, capped = shown
            ctx.answer_started = True
            ctx.text_started = ctx.text_started or bool(text)
            if capped:
                ctx.stop(OutputLimit(output_message(cap)))
            if text or not capped:
                # "" for a thinking delta: the reader learns the run moved (the thinking is in
                # `stats.thinking`), and the report stays answer text alone.
                yield text
            if ctx.cancelled:
                break
    except Exception as exc:
        if ctx.cancelled:
            if (stopped := _stopped(stats, ctx)) is not None:
                raise stopped from None
            return
        error = _as_provider_error(exc, config.secrets)
        fail(stats, error)
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
    complete(stats)


def stream_model(
    config: ProviderConfig,
    system_prompt: str,
    contract_text: str,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    temperature: float = DEFAULT_TEMPERATURE,
    source: Source | None = None,
    limits: RunLimits | None = None,
    thinking: bool | None = None,
    thinking_budget: int | None = None,
    route: Route | None = None,
    stable_prefix: int = 0,
) -> ModelStream:
    """Start a run. `contract_text` is the user turn, already wrapped by `lib.analysis.prompts`.

    `thinking` (and `thinking_budget`) reach only providers whose spec has a thinking switch;
    `stable_prefix` is `Prompt.prefix_chars`, the part of the user turn a prompt cache may keep.
    `route` chooses among the endpoints of a pooled config (required for one: a pooled config
    has no endpoint of its own)."""
    if config.pool and route is None:
        raise ValueError("a model on several endpoints runs through a route")
    if spec_for(config.provider).thinking is None:
        thinking, thinking_budget = None, None
    request = ChatRequest(
        system=system_prompt,
        user=contract_text,
        max_tokens=max_tokens,
        temperature=temperature,
        estimated_input_tokens=estimate_tokens(system_prompt) + estimate_tokens(contract_text),
        source=source,
        thinking=thinking,
        thinking_budget=thinking_budget,
        stable_prefix=stable_prefix,
    )
    return ModelStream(config, request, limits, route)


def list_models(config: ProviderConfig) -> list[str]:
    """Models the provider offers; raises `ProviderError` (e.g. `CannotConnect`) when it is down."""
    try:
        models: list[str] = spec_for(config.provider).list_models(config)
    except ProviderError as exc:
        raise exc.redacted(*config.secrets) from None
    return models
