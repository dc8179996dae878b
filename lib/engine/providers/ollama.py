"""Ollama's native `/api/chat` (NDJSON).

We use the native API rather than `/v1` because only it lets us set `options.num_ctx`; without it
Ollama silently cuts a long contract to its default window (docs/WIRE_FORMATS.md §1.5, §2.4). The
window is sized from our token estimate and capped at the model's trained length from
`/api/show`. Ollama still truncates silently if the estimate was low, so a `prompt_eval_count`
far below the estimate is reported as a warning.

Lines end at `\n` only. httpx's `iter_lines` splits on every Unicode line boundary, and Go's JSON
encoder leaves U+0085 raw (what a mis-decoded Windows-1252 ellipsis becomes), so a report quoting
such a contract broke mid-line. We split the raw bytes ourselves and decode each whole line.

Thinking: a reasoning model's thoughts come in `message.thinking` (Ollama 0.9 and later, with or
without the `think` option), or, from older builds, as a leading `<think>` block in the content
(`think_tags`). A run that asks for `think` (on or off) of a model that refuses the option is
sent again without it, with a note, rather than failing (docs/WIRE_FORMATS.md §2.7).

Every request asks Ollama to keep the model loaded for `KEEP_ALIVE` after it (Ollama's default is
five minutes): an analyst reads a report before the next run, and a model loaded again has also
lost the contract it had read, which its prompt cache would otherwise reuse (docs/COST.md).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx

from lib.engine.errors import (
    BadResponse,
    Hints,
    ProviderError,
    clip_detail,
    looks_like_context_error,
)
from lib.engine.events import (
    ChatRequest,
    Event,
    Finish,
    Note,
    StreamContext,
    ThinkingDelta,
    Usage,
)
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.http import (
    client_for,
    get_json,
    interrupted,
    ndjson_chunks,
    open_stream,
    status_error,
)
from lib.engine.providers.spec import ProviderSpec, ThinkingSwitch
from lib.engine.providers.think_tags import LeadingThink

HINTS = Hints(
    service="Ollama",
    connect_fix="start it with `ollama serve`, or set OLLAMA_HOST to where it runs",
    model_fix="pull it with `ollama pull <model>` or pick one from the list",
    # Ollama takes no key: a 401 comes from a proxy in front of it, which reads the user
    # information of the URL (sent as HTTP Basic auth).
    auth_fix=(
        "Ollama takes no key of its own, so a proxy in front of it asked for credentials; "
        "give them in OLLAMA_HOST (https://user:password@host)"
    ),
)
# How long Ollama keeps the model loaded after a request, in its own duration syntax.
KEEP_ALIVE = "30m"
NUM_CTX_STEP = 1024
MIN_NUM_CTX = 2048
# prompt_eval_count below this share of our estimate means Ollama dropped part of the contract.
TRUNCATION_RATIO = 0.6
NS = 1e9
# Never the line itself: an endpoint may be an internal service, and echoing what it answers
# would let whoever chose the URL read that service through this one.
NOT_OLLAMA = "The server sent {what} — is this an Ollama server?"
# Ollama's words when a model takes no `think` option ("<model> does not support thinking").
NO_THINKING = "does not support thinking"
THINK_REFUSED_NOTE = "{model} does not take a thinking switch, so it ran without one."


def model_context_length(client: httpx.Client, config: ProviderConfig) -> int | None:
    """The model's trained context length from `/api/show`, if the server reports one."""
    try:
        info = get_json(
            client, f"{config.base_url}/api/show", config, HINTS, json={"model": config.model}
        )
    except BadResponse:
        return None
    model_info = info.get("model_info") or {} if isinstance(info, dict) else {}
    for key, value in model_info.items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def choose_num_ctx(request: ChatRequest, model_limit: int | None, configured: int | None) -> int:
    """Window for prompt plus answer, rounded up to a step, never above what the model supports."""
    wanted = request.estimated_input_tokens + request.max_tokens
    num_ctx = max(MIN_NUM_CTX, math.ceil(wanted / NUM_CTX_STEP) * NUM_CTX_STEP)
    for cap in (model_limit, configured):
        if cap:
            num_ctx = min(num_ctx, cap)
    return num_ctx


def request_body(
    config: ProviderConfig, request: ChatRequest, num_ctx: int, think: bool = True
) -> dict[str, Any]:
    """The chat request; `think` False leaves the thinking switch out whatever the run asked."""
    body: dict[str, Any] = {
        "model": config.model,
        "messages": [
            {"role": "system", "content": request.system},
            {"role": "user", "content": request.user},
        ],
        "stream": True,
        "keep_alive": KEEP_ALIVE,
        "options": {
            "num_ctx": num_ctx,
            "num_predict": request.max_tokens,
            "temperature": request.temperature,
        },
    }
    if think and request.thinking is not None:
        body["think"] = request.thinking
    return body


def _final_line(line: dict[str, Any], request: ChatRequest, ctx: StreamContext) -> Iterator[Event]:
    prompt_tokens = line.get("prompt_eval_count")
    yield Usage(prompt_tokens, line.get("eval_count"))
    load = line.get("load_duration", 0) / NS
    if load >= 1.0:
        yield Note(f"Ollama loaded the model first ({load:.1f} s cold start).")
    if prompt_tokens and prompt_tokens < TRUNCATION_RATIO * request.estimated_input_tokens:
        yield Note(
            f"Ollama read only {prompt_tokens:,} prompt tokens of about "
            f"{request.estimated_input_tokens:,} expected: the contract was probably truncated to "
            "fit the model's context. Raise the context length or review a shorter excerpt."
        )
    yield Finish(line.get("done_reason") or "stop")


def ndjson_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Lines of an NDJSON byte stream, split on `\n` only (a trailing `\r` is dropped)."""
    pending: list[bytes] = []
    for chunk in chunks:
        *complete, rest = chunk.split(b"\n")
        for piece in complete:
            line = b"".join([*pending, piece])
            pending = []
            yield line.rstrip(b"\r").decode("utf-8", "replace")
        if rest:
            pending.append(rest)
    if pending:
        yield b"".join(pending).decode("utf-8", "replace")


def parse_lines(
    lines: Iterator[str], config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    tags = LeadingThink()
    for raw in lines:
        if not raw.strip():
            continue
        try:
            line = json.loads(raw)
        except ValueError:
            raise BadResponse(NOT_OLLAMA.format(what="a line that is not JSON")) from None
        if not isinstance(line, dict):
            raise BadResponse(NOT_OLLAMA.format(what="an unexpected line"))
        if "error" in line:
            detail = clip_detail(str(line["error"]), config.secrets)
            if ctx.answer_started and not looks_like_context_error(detail):
                raise interrupted(HINTS, f"reported an error {ctx.where()}: {detail}")
            raise status_error(
                400 if looks_like_context_error(detail) else 500, detail, config, HINTS
            )
        message = line.get("message") or {}
        if thinking := message.get("thinking"):
            yield ThinkingDelta(str(thinking))
        if content := message.get("content"):
            yield from tags.feed(str(content))
        if line.get("done"):
            yield from tags.end()
            yield from _final_line(line, request, ctx)
            return
    raise interrupted(HINTS, "closed the stream before the answer was done")


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    # One client for the run's every request, `/api/show` included, so Stop reaches each.
    with client_for(config, HINTS, ctx) as client:
        num_ctx = choose_num_ctx(
            request, model_context_length(client, config), config.context_length
        )
        try:
            with open_stream(
                client,
                f"{config.base_url}/api/chat",
                request_body(config, request, num_ctx),
                config,
                HINTS,
                ctx,
            ) as response:
                yield from parse_lines(
                    ndjson_lines(ndjson_chunks(response, ctx, HINTS.service)), config, request, ctx
                )
                return
        except ProviderError as exc:
            if request.thinking is None or exc.status_code != 400 or NO_THINKING not in exc.message:
                raise
        yield Note(THINK_REFUSED_NOTE.format(model=config.model))
        body = request_body(config, request, num_ctx, think=False)
        with open_stream(
            client, f"{config.base_url}/api/chat", body, config, HINTS, ctx
        ) as response:
            yield from parse_lines(
                ndjson_lines(ndjson_chunks(response, ctx, HINTS.service)), config, request, ctx
            )


def list_models(config: ProviderConfig) -> list[str]:
    with client_for(config, HINTS) as client:
        data = get_json(client, f"{config.base_url}/api/tags", config, HINTS)
    models = data.get("models", []) if isinstance(data, dict) else []
    return sorted(str(m["name"]) for m in models if isinstance(m, dict) and "name" in m)


def context_window(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    """The configured window, else the model's own trained length: the most `num_ctx` will be
    sized to, so what a long contract must be planned for. `ctx`: the run planned, whose Stop
    ends the lookup."""
    if config.context_length:
        return config.context_length
    with client_for(config, HINTS, ctx) as client:
        return model_context_length(client, config)


SPEC = ProviderSpec(
    provider=Provider.OLLAMA,
    label="Ollama",
    fix="Start Ollama with `ollama serve` (then `ollama pull llama3.2`), or set OLLAMA_HOST.",
    stream_events=stream_events,
    list_models=list_models,
    endpoint_variable="OLLAMA_HOST",
    default_endpoint="http://localhost:11434",
    typed_endpoint=True,
    default_concurrency=1,
    context_window=context_window,
    default_rank=3,
    # Left to the model unless the run asks: thinking models think, others ignore it.
    thinking=ThinkingSwitch(default=None),
)
