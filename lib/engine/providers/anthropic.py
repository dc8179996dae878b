"""Claude through the official `anthropic` SDK.

The SDK sends the request (auth, headers, typed errors for a refused request) with its own retries
switched off: `stream_model` owns the one pre-answer retry, and nothing may retry after the first
byte (that would bill twice). The event stream is decoded here with httpx-sse — the SDK's per-event
model validation cost more than all the rest of the parsing — including mid-stream `event: error`
and a stream that ends without `message_stop` (docs/WIRE_FORMATS.md §3). Output token counts in
`message_delta` are cumulative. The SDK (2.x) takes no sampling temperature for Claude, so
`request.temperature` is not sent (extended thinking would refuse any but the default anyway).

Extended thinking, when the run asks for it, is `thinking: {type: enabled, budget_tokens}`; its
blocks stream as `thinking_delta` (the thinking, or on newer models a summary of it) and a closing
`signature_delta`, and a `redacted_thinking` block carries encrypted thinking we cannot show.
Claude reports one output count, thinking included (docs/WIRE_FORMATS.md §3.7).

Prompt caching: every prompt on one contract starts with the same system prompt and contract
block (`lib.analysis.prompts.contract_prompt`), so that block is sent as a text block of its own
marked `cache_control: {type: ephemeral}` (five minutes, renewed on each use) when the prefix is
long enough for the model to cache at all. The stream reports what the cache stored and served
(`cache_creation_input_tokens`, `cache_read_input_tokens`) apart from `input_tokens`, in
`message_start` and again, cumulatively, in `message_delta`; the run's input count is their sum,
and each share is priced at its own rate (docs/COST.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any

from httpx_sse import EventSource, SSEError

from lib.analysis.tokens import estimate_tokens
from lib.engine.errors import (
    ERROR_TYPE_STATUS,
    AuthFailed,
    BadResponse,
    CannotConnect,
    Hints,
    ProviderError,
    StreamInterrupted,
    TimedOut,
    clip_detail,
    error_for_status,
)
from lib.engine.events import (
    ChatRequest,
    Event,
    Finish,
    Note,
    StreamContext,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from lib.engine.limits import MAX_METADATA_BYTES
from lib.engine.provider_config import Provider, ProviderConfig, shown_url
from lib.engine.providers.http import (
    MAX_ERROR_BODY,
    event_hooks,
    event_source,
    read_upto,
    reply_deadline,
    tls_context,
    too_large,
    too_slow,
    whole_reply_seconds,
)
from lib.engine.providers.spec import CacheRates, ProviderSpec, ThinkingSwitch

if TYPE_CHECKING:
    import anthropic
    import httpx2
    from anthropic import Omit
    from anthropic.types import MessageParam, TextBlockParam, ThinkingConfigEnabledParam

SERVICE = "Claude"
CONTEXT_WINDOW = 200_000
# Anthropic's published list prices, USD per million tokens (input, output), by the family word
# in the model id; operators override them in `.streamlit/secrets.toml` (`[prices."<prefix>"]`).
FAMILY_PRICES: dict[str, tuple[float, float]] = {
    "opus": (5.0, 25.0),
    "sonnet": (3.0, 15.0),
    "haiku": (1.0, 5.0),
}
# Anthropic's prices for cached prompt tokens, as multiples of the input price: a write to the
# five-minute cache and a read from it (docs.anthropic.com, "Prompt caching", pricing).
CACHE_RATES = CacheRates(write=1.25, read=0.1)
# The shortest prefix each model caches, in tokens (the same page, "Cache limitations"), by
# model id prefix, longest first; a shorter prefix is sent unmarked. A model not listed gets the
# largest minimum: marking too little only wastes the mark, never money.
MIN_CACHEABLE_TOKENS: tuple[tuple[str, int], ...] = (
    ("claude-opus-4-6", 4096),
    ("claude-opus-4-5", 4096),
    ("claude-haiku-4-5", 4096),
    ("claude-sonnet-4-6", 2048),
    ("claude-3-5-haiku", 2048),
    ("claude-3-haiku", 2048),
    ("claude-sonnet-4-5", 1024),
    ("claude-opus-4-1", 1024),
    ("claude-opus-4", 1024),
    ("claude-sonnet-4", 1024),
    ("claude-3-7-sonnet", 1024),
)
DEFAULT_MIN_CACHEABLE = 4096
HINTS = Hints(
    service=SERVICE,
    connect_fix="check the network connection or ANTHROPIC_BASE_URL",
    model_fix="pick one from the list",
    auth_fix="check ANTHROPIC_API_KEY",
    server_fix="try again in a minute; if it keeps failing, Anthropic's status page says whether "
    "the service is down",
    refusal_fix="Anthropic's reason is above; check the model and the generation settings",
)
# Anthropic's floor for a thinking budget; the budget must also stay below max_tokens.
MIN_THINKING_BUDGET = 1024
REDACTED_NOTE = (
    "Part of Claude's thinking was encrypted by Anthropic's safety systems and cannot be shown."
)


def client_for(config: ProviderConfig, ctx: StreamContext | None = None) -> anthropic.Anthropic:
    """The SDK's client for one run (`ctx`, whose Stop must reach every connection it opens) or
    one listing."""
    # The SDK is imported when Claude is first used: it takes most of a second, and every front
    # end reads the provider registry at start.
    import anthropic

    if not config.api_key:
        raise AuthFailed(
            "No Anthropic API key is set — set ANTHROPIC_API_KEY, add it to "
            ".streamlit/secrets.toml, or type it in the sidebar for this session."
        )
    hooks = event_hooks(SERVICE, ctx)
    hooks["response"].append(partial(_raise_for_status, config))
    return anthropic.Anthropic(
        api_key=config.api_key,
        base_url=config.base_url or None,
        max_retries=0,
        timeout=anthropic.Timeout(config.read_timeout, connect=config.connect_timeout),
        # The SDK's own transport would load the CA bundle again for every run (the cost is in
        # docs/PROFILES.md), and would follow a redirect with the contract to wherever it points.
        http_client=anthropic.DefaultHttpxClient(
            verify=tls_context(), follow_redirects=False, event_hooks=hooks
        ),
    )


def _raise_for_status(config: ProviderConfig, response: httpx2.Response) -> None:
    """A refusal, from the first `MAX_ERROR_BODY` bytes of its body: the SDK would read the whole
    body of a refusal before raising its error, however long a server made it. The SDK hands
    what a hook raises on as the cause of its connection error (`map_exception`)."""
    if response.is_success:
        return
    try:
        body, _ = read_upto(response, MAX_ERROR_BODY)
    finally:
        response.close()
    try:
        data: Any = json.loads(body)
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    fields = error if isinstance(error, dict) else {}
    kind, message = (v if isinstance(v := fields.get(k), str) else "" for k in ("type", "message"))
    raise _status_error(response.status_code, kind, message or kind, config)


def _status_error(status: int, kind: str, detail: str, config: ProviderConfig) -> ProviderError:
    status = ERROR_TYPE_STATUS.get(kind, status)
    return error_for_status(status, detail or kind, where=SERVICE, config=config, hints=HINTS)


def map_exception(
    exc: Exception, config: ProviderConfig, started: bool, where: str = "before its answer began"
) -> ProviderError:
    """`started`: the stream had begun; `where`: when it failed (`StreamContext.where`)."""
    import anthropic

    if isinstance(exc.__cause__, ProviderError):
        return exc.__cause__  # raised by one of the client's hooks (`client_for`)
    if isinstance(exc, anthropic.APITimeoutError):
        return TimedOut(f"{SERVICE} did not answer within {config.read_timeout:g} s — try again.")
    if isinstance(exc, anthropic.APIConnectionError):
        return CannotConnect(
            f"Cannot reach {SERVICE} at {shown_url(config.base_url) or 'api.anthropic.com'} —"
            " check the network connection or ANTHROPIC_BASE_URL."
        )
    name = type(exc).__name__
    if "Timeout" in name:
        return TimedOut(
            f"{SERVICE} stopped sending for {config.read_timeout:g} s {where} — try again."
        )
    if started:
        return StreamInterrupted(f"The connection to {SERVICE} broke {where} — try again.")
    return BadResponse(f"{SERVICE} sent something unexpected ({name}).")


def _error_event(data: dict[str, Any], config: ProviderConfig, ctx: StreamContext) -> ProviderError:
    error = data.get("error") or {}
    kind = clip_detail(str(error.get("type", "error")), config.secrets, 40)
    detail = clip_detail(str(error.get("message", "unknown error")), config.secrets)
    if ctx.answer_started:
        return StreamInterrupted(
            f"{SERVICE} stopped {ctx.where()} with {kind}: {detail} — try again in a minute."
        )
    return _status_error(500, kind, detail, config)


def min_cacheable_tokens(model: str) -> int:
    """The listed model's minimum: its id, dated or `-latest`. A model not listed (a newer
    "claude-opus-4-7" is not "claude-opus-4") gets the largest."""
    for prefix, tokens in MIN_CACHEABLE_TOKENS:
        if re.fullmatch(re.escape(prefix) + r"(?:-\d{8}|-latest)?", model):
            return tokens
    return DEFAULT_MIN_CACHEABLE


def user_content(request: ChatRequest, model: str) -> str | list[TextBlockParam]:
    """The user turn: the contract block (the stable prefix) as a block of its own marked for the
    prompt cache when the system prompt and it are long enough to cache, else one string."""
    prefix = request.user[: request.stable_prefix]
    cached = estimate_tokens(request.system) + estimate_tokens(prefix)
    if not prefix or cached < min_cacheable_tokens(model):
        return request.user
    blocks: list[TextBlockParam] = [
        {"type": "text", "text": prefix, "cache_control": {"type": "ephemeral"}}
    ]
    if rest := request.user[request.stable_prefix :]:
        blocks.append({"type": "text", "text": rest})
    return blocks


class _Counts:
    """The input counts so far: `message_start` gives all three, and `message_delta` may repeat
    any of them (cumulative), so each is kept and the total re-added when one arrives."""

    FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")

    def __init__(self) -> None:
        self.values: dict[str, int] = {}

    def usage(self, usage: dict[str, Any], output_tokens: int | None = None) -> Usage:
        fresh = {k: v for k in self.FIELDS if isinstance(v := usage.get(k), int)}
        self.values.update(fresh)
        if not fresh:
            return Usage(output_tokens=output_tokens)
        return Usage(
            input_tokens=sum(self.values.values()),
            output_tokens=output_tokens,
            cache_write_tokens=self.values.get("cache_creation_input_tokens"),
            cache_read_tokens=self.values.get("cache_read_input_tokens"),
        )


def parse_events(
    source: EventSource, config: ProviderConfig, ctx: StreamContext
) -> Iterator[Event]:
    """Events of a Messages stream; a stream that ends before `message_stop` is interrupted."""
    stop_reason: str | None = None
    redacted = False
    counts = _Counts()
    for sse in source.iter_sse():
        if sse.event in ("ping", "content_block_stop") or not sse.data:
            continue
        try:
            data = json.loads(sse.data)
        except ValueError:
            raise BadResponse(
                f"{SERVICE} sent an event that is not valid JSON — try again."
            ) from None
        kind = data.get("type", sse.event)
        if kind == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta" and delta.get("text"):
                yield TextDelta(delta["text"])
            elif delta.get("type") == "thinking_delta" and delta.get("thinking"):
                yield ThinkingDelta(delta["thinking"])
        elif kind == "content_block_start":
            block = data.get("content_block") or {}
            if block.get("type") == "redacted_thinking" and not redacted:
                redacted = True
                yield Note(REDACTED_NOTE)
        elif kind == "message_start":
            yield counts.usage((data.get("message") or {}).get("usage") or {})
        elif kind == "message_delta":
            stop_reason = (data.get("delta") or {}).get("stop_reason") or stop_reason
            usage = data.get("usage") or {}
            yield counts.usage(usage, usage.get("output_tokens"))
        elif kind == "message_stop":
            yield Finish(stop_reason)
            return
        elif kind == "error":
            raise _error_event(data, config, ctx)
    raise StreamInterrupted(f"{SERVICE} closed the stream before the answer was complete.")


def _thinking(request: ChatRequest) -> ThinkingConfigEnabledParam | Omit:
    """The request's extended-thinking parameter, when the run asks for it with a budget that
    Anthropic accepts (front ends check it first with the spec's `budget_error`); left out
    otherwise, and the run answers without thinking."""
    from anthropic import omit

    budget = request.thinking_budget
    if not request.thinking or budget is None:
        return omit
    if SPEC_THINKING.budget_error(budget, request.max_tokens) is not None:
        return omit
    return {"type": "enabled", "budget_tokens": budget}


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    client = client_for(config, ctx)
    message: MessageParam = {"role": "user", "content": user_content(request, config.model)}
    try:
        # The SDK sends the request and raises its typed errors for a refused one; the event
        # stream itself is decoded here, because the SDK's per-event model validation was half of
        # the parsing cost (profile in docs/PROFILES.md).
        with client.messages.with_streaming_response.create(
            model=config.model,
            max_tokens=request.max_tokens,
            system=request.system,
            messages=[message],
            stream=True,
            thinking=_thinking(request),
        ) as response:
            ctx.attach(response.http_response)
            # The SDK's response comes from its httpx2 fork, which has httpx's streaming
            # interface (headers, iter_bytes).
            source = event_source(response.http_response, ctx, SERVICE)
            yield from parse_events(source, config, ctx)
    except ProviderError:
        raise
    except SSEError:
        raise BadResponse(f"{SERVICE} did not answer with an event stream.") from None
    except Exception as exc:
        raise map_exception(exc, config, ctx.responded, ctx.where()) from None
    finally:
        client.close()


def list_models(config: ProviderConfig) -> list[str]:
    seconds = whole_reply_seconds(config)
    with reply_deadline(seconds) as deadline:
        client = client_for(config, deadline)
        try:
            return _listed(client, config)
        except Exception:
            if deadline.cancelled:
                raise too_slow(SERVICE, config.base_url or SPEC.default_endpoint, seconds) from None
            raise
        finally:
            client.close()


def _listed(client: anthropic.Anthropic, config: ProviderConfig) -> list[str]:
    try:
        # Streamed, so that the reply is read under the cap on a metadata reply's size.
        with client.models.with_streaming_response.list(limit=100) as response:
            body, more = read_upto(response.http_response, MAX_METADATA_BYTES)
        if more:
            raise too_large(SERVICE, config.base_url or SPEC.default_endpoint)
        data = json.loads(body)
        items = data.get("data") if isinstance(data, dict) else None
        return [str(m["id"]) for m in items or () if isinstance(m, dict) and "id" in m]
    except ProviderError:
        raise
    except ValueError:
        raise BadResponse(f"{SERVICE} did not answer JSON for its list of models.") from None
    except Exception as exc:
        raise map_exception(exc, config, started=False) from None


def context_window(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    return config.context_length or CONTEXT_WINDOW


# Off unless the analyst asks: thinking is billed as output and delays the answer.
SPEC_THINKING = ThinkingSwitch(default=False, min_budget=MIN_THINKING_BUDGET)

SPEC = ProviderSpec(
    provider=Provider.ANTHROPIC,
    label="Claude (Anthropic)",
    fix="Set ANTHROPIC_API_KEY or add it to .streamlit/secrets.toml (on the pages, a key may also"
    " be typed for the session).",
    stream_events=stream_events,
    list_models=list_models,
    endpoint_variable="ANTHROPIC_BASE_URL",
    default_endpoint="https://api.anthropic.com",
    key_variable="ANTHROPIC_API_KEY",
    needs_key=True,
    service="Anthropic (Claude)",
    default_concurrency=4,
    context_window=context_window,
    # Its window holds most contracts whole, and one pass reads them best.
    one_pass_preferred=True,
    prices=FAMILY_PRICES,
    cache_rates=CACHE_RATES,
    default_rank=1,
    thinking=SPEC_THINKING,
)
