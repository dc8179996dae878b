"""Claude through the official `anthropic` SDK's streaming API.

The SDK's own retries are switched off: `stream_model` owns the one pre-answer retry, and nothing
may retry after the first byte (that would bill twice). The SDK raises a plain `APIStatusError` with
status 200 for an `event: error` mid-stream and lets raw transport errors through during iteration
(PROTOCOLS.md §3.3), so both are mapped here. Output token counts in `message_delta` are cumulative.
The SDK's `messages.stream` takes no sampling temperature, so `request.temperature` is not sent.
"""

from __future__ import annotations

from collections.abc import Iterator

import anthropic

from lib.config import ProviderConfig
from lib.errors import (
    AuthFailed,
    BadResponse,
    CannotConnect,
    ContextTooLong,
    ModelNotFound,
    ProviderError,
    RateLimited,
    StreamInterrupted,
    TimedOut,
)
from lib.providers.base import ChatRequest, Event, Finish, StreamContext, TextDelta, Usage
from lib.providers.http import looks_like_context_error

SERVICE = "Claude"


def client_for(config: ProviderConfig) -> anthropic.Anthropic:
    if not config.api_key:
        raise AuthFailed(
            "No Anthropic API key is set — set ANTHROPIC_API_KEY, add it to "
            ".streamlit/secrets.toml, or type it in the sidebar for this session."
        )
    return anthropic.Anthropic(
        api_key=config.api_key,
        base_url=config.base_url or None,
        max_retries=0,
        timeout=anthropic.Timeout(config.read_timeout, connect=config.connect_timeout),
    )


def map_status_error(
    exc: anthropic.APIStatusError, config: ProviderConfig, started: bool
) -> ProviderError:
    kind = exc.type or ""
    detail = exc.api_message or kind or f"HTTP {exc.status_code}"
    if exc.status_code == 200 or started:
        # `event: error` after the stream began, e.g. overloaded_error (PROTOCOLS.md §3.2).
        return StreamInterrupted(
            f"{SERVICE} stopped mid-answer with {kind or 'an error'}: {detail} — the partial "
            "report is kept; try again in a minute."
        )
    status = exc.status_code
    if status in (401, 403) or kind in ("authentication_error", "permission_error"):
        return AuthFailed(
            f"{SERVICE} refused the API key ({detail}) — check ANTHROPIC_API_KEY.", status
        )
    if status == 404 or kind == "not_found_error":
        return ModelNotFound(
            f"{SERVICE} has no model '{config.model}' ({detail}) — pick one from the list.", status
        )
    if status in (429, 529) or kind in ("rate_limit_error", "overloaded_error"):
        return RateLimited(
            f"{SERVICE} is rate limiting or overloaded ({detail}) — wait a minute and try again.",
            status,
        )
    if looks_like_context_error(detail) or status == 413:
        return ContextTooLong(
            f"The contract is too long for {config.model} ({detail}) — review a shorter excerpt.",
            status,
        )
    if kind == "timeout_error" or status in (408, 504):
        return TimedOut(f"{SERVICE} timed out ({detail}) — try again.", status)
    return BadResponse(f"{SERVICE} answered HTTP {status}: {detail}", status)


def map_exception(exc: Exception, config: ProviderConfig, started: bool) -> ProviderError:
    if isinstance(exc, anthropic.APIStatusError):
        return map_status_error(exc, config, started)
    if isinstance(exc, anthropic.APITimeoutError):
        return TimedOut(f"{SERVICE} did not answer within {config.read_timeout:g} s — try again.")
    if isinstance(exc, anthropic.APIConnectionError):
        return CannotConnect(
            f"Cannot reach {SERVICE} at {config.base_url or 'api.anthropic.com'} — check the "
            "network connection or ANTHROPIC_BASE_URL."
        )
    name = type(exc).__name__
    if isinstance(exc, ValueError):
        return BadResponse(f"{SERVICE} sent an event that is not valid JSON — try again.")
    if "Timeout" in name:
        return TimedOut(
            f"{SERVICE} stopped sending for {config.read_timeout:g} s mid-answer — the partial "
            "report is kept; try again."
        )
    if started:
        return StreamInterrupted(
            f"The connection to {SERVICE} broke mid-answer ({name}) — the partial report is kept."
        )
    return BadResponse(f"{SERVICE} sent something unexpected ({name}).")


def _events(stream: anthropic.MessageStream, ctx: StreamContext) -> Iterator[Event]:
    stop_reason: str | None = None
    for event in stream:
        if event.type == "message_start":
            yield Usage(input_tokens=event.message.usage.input_tokens)
        elif event.type == "content_block_delta" and event.delta.type == "text_delta":
            if event.delta.text:
                yield TextDelta(event.delta.text)
        elif event.type == "message_delta":
            stop_reason = event.delta.stop_reason or stop_reason
            yield Usage(output_tokens=event.usage.output_tokens)
        elif event.type == "message_stop":
            yield Finish(stop_reason)
            return
    raise StreamInterrupted(
        f"{SERVICE} closed the stream before the answer was complete — the partial report is kept."
    )


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    client = client_for(config)
    try:
        with client.messages.stream(
            model=config.model,
            max_tokens=request.max_tokens,
            system=request.system,
            messages=[{"role": "user", "content": request.user}],
        ) as stream:
            ctx.attach(stream.response)
            ctx.answer_started = True
            yield from _events(stream, ctx)
    except ProviderError:
        raise
    except Exception as exc:
        raise map_exception(exc, config, ctx.answer_started) from None
    finally:
        client.close()


def list_models(config: ProviderConfig) -> list[str]:
    client = client_for(config)
    try:
        return [model.id for model in client.models.list(limit=100)]
    except Exception as exc:
        raise map_exception(exc, config, started=False) from None
    finally:
        client.close()
