"""`/v1/chat/completions` streaming (SSE): Ollama's `/v1`, llama.cpp, vLLM, LM Studio, OpenAI.

Frames are decoded by httpx-sse. Completion needs both a non-null `finish_reason` and `[DONE]`:
llama-cpp-python ends an interrupted stream with a bare `[DONE]`, and llama.cpp sends `[DONE]`
after an error frame, so `[DONE]` alone is not success (docs/WIRE_FORMATS.md §4.2, §4.4).

Thinking arrives as `delta.reasoning_content` (llama.cpp, vLLM, DeepSeek), `delta.reasoning`
(Ollama's `/v1`, OpenRouter, LM Studio, newer vLLM), or as a leading `<think>` block in the
content of a server with no reasoning parser (`think_tags`); its count, where reported, is
`usage.completion_tokens_details.reasoning_tokens` (docs/WIRE_FORMATS.md §4.6).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from httpx_sse import EventSource, SSEError

from lib.engine.errors import BadResponse, Hints, StreamInterrupted, clip_detail
from lib.engine.events import ChatRequest, Event, Finish, StreamContext, ThinkingDelta, Usage
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.http import (
    auth_headers,
    client_for,
    event_source,
    get_json,
    interrupted,
    open_stream,
    status_error,
)
from lib.engine.providers.spec import ProviderSpec
from lib.engine.providers.think_tags import LeadingThink

# Never the frame itself: an endpoint may be an internal service, and echoing what it answers
# would let whoever chose the URL read that service through this one.
NOT_OPENAI = "The server sent {what} — is this an OpenAI-compatible server?"
HINTS = Hints(
    service="The OpenAI-compatible server",
    connect_fix="check the base URL (it usually ends in /v1) and that the server is running",
    model_fix="pick a model the server lists, or load it on the server",
    auth_fix="check the API key for this server",
)
# The delta fields servers stream thinking in, in the order they are looked for.
REASONING_FIELDS = ("reasoning_content", "reasoning")


def request_body(config: ProviderConfig, request: ChatRequest) -> dict[str, Any]:
    messages = [{"role": "user", "content": request.user}]
    if request.system:
        messages.insert(0, {"role": "system", "content": request.system})
    return {
        "model": config.model,
        "messages": messages,
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
    }


def _in_band_error(
    payload: dict[str, Any], config: ProviderConfig, ctx: StreamContext
) -> Exception:
    error = payload["error"]
    message = error.get("message", "") if isinstance(error, dict) else error
    detail = clip_detail(str(message), config.secrets)
    code = error.get("code") if isinstance(error, dict) else None
    if ctx.answer_started:
        return StreamInterrupted(f"{HINTS.service} reported an error {ctx.where()}: {detail}.")
    status = code if isinstance(code, int) and code >= 400 else 500
    return status_error(status, detail, config, HINTS)


def _usage(usage: dict[str, Any]) -> Usage:
    details = usage.get("completion_tokens_details")
    thinking = details.get("reasoning_tokens") if isinstance(details, dict) else None
    return Usage(
        usage.get("prompt_tokens"),
        usage.get("completion_tokens"),
        thinking if isinstance(thinking, int) and thinking > 0 else None,
    )


def parse_events(
    source: EventSource, config: ProviderConfig, ctx: StreamContext
) -> Iterator[Event]:
    finish_seen = False
    tags = LeadingThink()
    for sse in source.iter_sse():
        data = sse.data.strip()
        if not data:
            continue
        if data == "[DONE]":
            if not finish_seen:
                raise interrupted(HINTS, "ended the answer without finishing it (no finish reason)")
            return
        try:
            payload = json.loads(data)
        except ValueError:
            raise BadResponse(NOT_OPENAI.format(what="a frame that is not JSON")) from None
        if not isinstance(payload, dict):
            raise BadResponse(NOT_OPENAI.format(what="an unexpected frame"))
        if "error" in payload:
            raise _in_band_error(payload, config, ctx)
        usage = payload.get("usage")
        if isinstance(usage, dict):
            yield _usage(usage)
        for choice in payload.get("choices") or ():
            delta = choice.get("delta") or {}
            for name in REASONING_FIELDS:
                if thinking := delta.get(name):
                    yield ThinkingDelta(str(thinking))
                    break
            if content := delta.get("content"):
                yield from tags.feed(str(content))
            if choice.get("finish_reason"):
                finish_seen = True
                yield from tags.end()
                yield Finish(choice["finish_reason"])
    raise interrupted(HINTS, "closed the stream before it was complete")


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    url = f"{config.base_url.rstrip('/')}/chat/completions"
    with (
        client_for(config, HINTS, ctx) as client,
        open_stream(
            client, url, request_body(config, request), config, HINTS, ctx, auth_headers(config)
        ) as response,
    ):
        try:
            yield from parse_events(event_source(response, ctx, HINTS.service), config, ctx)
        except SSEError:
            raise BadResponse(
                f"{HINTS.service} did not answer with an event stream "
                f"(Content-Type: {response.headers.get('content-type', 'none')})."
            ) from None


def _model_cards(config: ProviderConfig, ctx: StreamContext | None = None) -> list[dict[str, Any]]:
    with client_for(config, HINTS, ctx) as client:
        data = get_json(
            client,
            f"{config.base_url.rstrip('/')}/models",
            config,
            HINTS,
            headers=auth_headers(config),
        )
    items = data.get("data", []) if isinstance(data, dict) else []
    return [item for item in items if isinstance(item, dict) and "id" in item]


def list_models(config: ProviderConfig) -> list[str]:
    return sorted(str(item["id"]) for item in _model_cards(config))


# Where servers say how long a model's context is in their model list: vLLM's `max_model_len`,
# OpenRouter's `context_length`.
CONTEXT_FIELDS = ("max_model_len", "context_length")


def context_window(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    """The configured window, else what the server's model list says of this model, if anything.
    `ctx`: the run planned, whose Stop ends the lookup."""
    if config.context_length:
        return config.context_length
    for card in _model_cards(config, ctx):
        if card["id"] == config.model:
            for name in CONTEXT_FIELDS:
                if isinstance(card.get(name), int) and card[name] > 0:
                    return int(card[name])
    return None


SPEC = ProviderSpec(
    provider=Provider.OPENAI,
    label="OpenAI-compatible server",
    fix="Start the server and enter its base URL (ending in /v1), or set OPENAI_BASE_URL.",
    stream_events=stream_events,
    list_models=list_models,
    endpoint_variable="OPENAI_BASE_URL",
    key_variable="OPENAI_API_KEY",
    needs_endpoint=True,
    typed_endpoint=True,
    url_placeholder="http://localhost:8080/v1",
    default_concurrency=2,
    context_window=context_window,
    default_rank=2,
)
