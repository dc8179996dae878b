"""Frames exactly as each provider writes them, synthesised from a list of tokens.

Shapes follow docs/WIRE_FORMATS.md: Ollama's Go encoder (compact, HTML-escaped), llama.cpp (compact, raw
UTF-8, `choices` first), llama-cpp-python (sse-starlette CRLF framing, `json.dumps` defaults with
spaces and ASCII escapes, ping comments, no usage) and Anthropic (named events, cumulative usage).
Each function returns `(frame_bytes, is_token)` pairs so the server can time token frames.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

Frame = tuple[bytes, bool]
CREATED = 1754000000


def go_json(value: Any, escape_separators: bool = True) -> str:
    """Go's encoding/json: compact, UTF-8, with <, >, & and U+2028/9 escaped.

    `escape_separators=False` leaves U+2028/9 raw, as a proxy or another NDJSON server re-encoding
    Ollama's lines may (U+0085 is never escaped, even by Go).
    """
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escape)
    if not escape_separators:
        return text
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def ollama_chat(
    model: str,
    tokens: list[str],
    prompt_tokens: int,
    done_reason: str,
    escape_separators: bool = True,
    thinking: Sequence[str] = (),
) -> Iterator[Frame]:
    stamp = "2025-07-07T20:22:19.19314Z"
    for thought in thinking:
        line = {
            "model": model,
            "created_at": stamp,
            "message": {"role": "assistant", "content": "", "thinking": thought},
            "done": False,
        }
        yield (go_json(line, escape_separators) + "\n").encode(), True
    for token in tokens:
        line = {
            "model": model,
            "created_at": stamp,
            "message": {"role": "assistant", "content": token},
            "done": False,
        }
        yield (go_json(line, escape_separators) + "\n").encode(), True
    final = {
        "model": model,
        "created_at": stamp,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": done_reason,
        "total_duration": 182242375,
        "load_duration": 41295167,
        "prompt_eval_count": prompt_tokens,
        "prompt_eval_duration": 24573166,
        "eval_count": len(thinking) + len(tokens),
        "eval_duration": 115959084,
    }
    yield (go_json(final) + "\n").encode(), False


def _chunk_ollama_v1(
    model: str, choices: list[dict[str, Any]], usage: dict[str, int] | None = None
) -> bytes:
    chunk: dict[str, Any] = {
        "id": "chatcmpl-471",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "system_fingerprint": "fp_ollama",
        "choices": choices,
    }
    if usage is not None:
        chunk["usage"] = usage
    return f"data: {go_json(chunk)}\n\n".encode()


def _chunk_llamacpp(
    model: str, choices: list[dict[str, Any]], extra: dict[str, Any] | None = None
) -> bytes:
    chunk: dict[str, Any] = {
        "choices": choices,
        "created": CREATED,
        "id": "chatcmpl-Ca3q6j8NlTmm9h34TBbwr3wjgO47kWpz",
        "model": model,
        "system_fingerprint": "b6497-cd08fc3e",
        "object": "chat.completion.chunk",
    }
    chunk.update(extra or {})
    return f"data: {compact(chunk)}\n\n".encode()


def _chunk_llama_cpp_python(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    chunk = {
        "id": "chatcmpl-2f6d7a1c-5b1e-4a8e-9a51-0c9f3b2f1d11",
        "model": model,
        "created": CREATED,
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\r\n\r\n".encode()


def openai_chat(
    dialect: str,
    model: str,
    tokens: list[str],
    prompt_tokens: int,
    finish_reason: str,
    include_usage: bool,
    thinking: Sequence[str] = (),
) -> Iterator[Frame]:
    """Thinking goes in `delta.reasoning` (Ollama's /v1) or `delta.reasoning_content`
    (llama.cpp); llama-cpp-python has no reasoning field, so its thinking is a leading `<think>`
    block in the content."""
    generated = len(thinking) + len(tokens)
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": generated,
        "total_tokens": prompt_tokens + generated,
    }
    if dialect == "llama_cpp_python" and thinking:
        # An answer cut at its length while thinking never closes the block.
        cut_thinking = finish_reason == "length" and not tokens
        tokens = ["<think>", *thinking, *([] if cut_thinking else ["</think>\n\n"]), *tokens]
    if dialect == "ollama_v1":
        for thought in thinking:
            delta = {"role": "assistant", "content": "", "reasoning": thought}
            yield (
                _chunk_ollama_v1(model, [{"index": 0, "delta": delta, "finish_reason": None}]),
                True,
            )
        for i, token in enumerate(tokens):
            delta = {"role": "assistant", "content": token} if i == 0 else {"content": token}
            yield (
                _chunk_ollama_v1(model, [{"index": 0, "delta": delta, "finish_reason": None}]),
                True,
            )
        yield (
            _chunk_ollama_v1(model, [{"index": 0, "delta": {}, "finish_reason": finish_reason}]),
            False,
        )
        if include_usage:
            yield _chunk_ollama_v1(model, [], usage), False
        yield b"data: [DONE]\n\n", False
    elif dialect == "llamacpp":
        yield (
            _chunk_llamacpp(
                model,
                [
                    {
                        "finish_reason": None,
                        "index": 0,
                        "delta": {"role": "assistant", "content": None},
                    }
                ],
            ),
            False,
        )
        for thought in thinking:
            delta = {"reasoning_content": thought}
            yield (
                _chunk_llamacpp(model, [{"finish_reason": None, "index": 0, "delta": delta}]),
                True,
            )
        for token in tokens:
            yield (
                _chunk_llamacpp(
                    model, [{"finish_reason": None, "index": 0, "delta": {"content": token}}]
                ),
                True,
            )
        yield (
            _chunk_llamacpp(model, [{"finish_reason": finish_reason, "index": 0, "delta": {}}]),
            False,
        )
        if include_usage:
            timings = {
                "prompt_n": prompt_tokens,
                "predicted_n": generated,
                "predicted_per_second": 35.4,
            }
            yield _chunk_llamacpp(model, [], {"usage": usage, "timings": timings}), False
        yield b"data: [DONE]\n\n", False
    elif dialect == "llama_cpp_python":
        yield _chunk_llama_cpp_python(model, {"role": "assistant"}, None), False
        for i, token in enumerate(tokens):
            if i and i % 25 == 0:
                yield b": ping - 2025-01-01 12:00:00.000000\r\n\r\n", False
            yield _chunk_llama_cpp_python(model, {"content": token}, None), True
        yield _chunk_llama_cpp_python(model, {}, finish_reason), False
        yield b"data: [DONE]\r\n\r\n", False
    else:
        raise ValueError(f"unknown OpenAI-compatible dialect {dialect!r}")


def _event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {compact(data)}\n\n".encode()


def anthropic_messages(
    model: str,
    tokens: list[str],
    prompt_tokens: int,
    stop_reason: str,
    thinking: Sequence[str] = (),
    cache_write: int = 0,
    cache_read: int = 0,
) -> Iterator[Frame]:
    """With `thinking`, a thinking block (deltas, then its signature) comes first, and the
    output count covers both blocks, as Claude reports it.

    `prompt_tokens` is the part of the prompt read afresh; `cache_write` and `cache_read` the parts
    the prompt cache stored and served. Like Claude, `message_start` carries all three and the
    final `message_delta` repeats them with the cumulative output count."""
    inputs = {
        "input_tokens": prompt_tokens,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
    }
    message = {
        "id": "msg_4QpJur2dWWDjF6C758FbBw5vm12BaVipnK",
        "type": "message",
        "role": "assistant",
        "content": [],
        "model": model,
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**inputs, "output_tokens": 1},
    }
    yield _event("message_start", {"type": "message_start", "message": message}), False
    index = 0
    if thinking:
        block = {"type": "thinking", "thinking": "", "signature": ""}
        start = {"type": "content_block_start", "index": 0, "content_block": block}
        yield _event("content_block_start", start), False
        for thought in thinking:
            delta = {"type": "thinking_delta", "thinking": thought}
            yield (
                _event(
                    "content_block_delta",
                    {"type": "content_block_delta", "index": 0, "delta": delta},
                ),
                True,
            )
        signature = {"type": "signature_delta", "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"}
        yield (
            _event(
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": signature},
            ),
            False,
        )
        yield _event("content_block_stop", {"type": "content_block_stop", "index": 0}), False
        index = 1
    yield (
        _event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": index,
                "content_block": {"type": "text", "text": ""},
            },
        ),
        False,
    )
    yield b'event: ping\ndata: {"type": "ping"}\n\n', False
    for i, token in enumerate(tokens):
        delta = {
            "type": "content_block_delta",
            "index": index,
            "delta": {"type": "text_delta", "text": token},
        }
        yield _event("content_block_delta", delta), True
        if i and i % 50 == 0:
            # Claude's output count is cumulative: interim message_delta events repeat the total so far.
            yield b'event: ping\ndata: {"type": "ping"}\n\n', False
    yield _event("content_block_stop", {"type": "content_block_stop", "index": index}), False
    yield (
        _event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {**inputs, "output_tokens": len(thinking) + len(tokens)},
            },
        ),
        False,
    )
    yield _event("message_stop", {"type": "message_stop"}), False


ERROR_BODIES: dict[str, dict[int, Any]] = {
    "ollama": {
        401: {"error": "unauthorized"},
        404: {"error": "model 'nope' not found"},
        429: {"error": "too many requests"},
        500: {"error": "an error was encountered while running the model"},
        503: {"error": "server busy, please try again.  maximum pending requests exceeded"},
    },
    "openai": {
        401: {
            "error": {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "param": None,
                "code": "invalid_api_key",
            }
        },
        404: {
            "error": {
                "message": "model 'nope' not found",
                "type": "not_found_error",
                "param": None,
                "code": None,
            }
        },
        429: {
            "error": {
                "message": "Rate limit reached",
                "type": "rate_limit_error",
                "param": None,
                "code": None,
            }
        },
        500: {"error": {"code": 500, "message": "internal server error", "type": "server_error"}},
        503: {"error": {"code": 503, "message": "Loading model", "type": "unavailable_error"}},
    },
    "anthropic": {
        401: {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        },
        404: {"type": "error", "error": {"type": "not_found_error", "message": "model: nope"}},
        429: {
            "type": "error",
            "error": {
                "type": "rate_limit_error",
                "message": "Number of request tokens has exceeded your per-minute rate limit",
            },
        },
        500: {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
        529: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
    },
}

CONTEXT_BODIES: dict[str, Any] = {
    "ollama": {
        "error": "the prompt is longer than the context length currently available to the model; shorten the prompt, adjust the context length in settings, or use a model with a longer context length"
    },
    "llamacpp": {
        "error": {
            "code": 400,
            "message": "request (4390 tokens) exceeds the available context size (4096 tokens), try increasing it",
            "type": "exceed_context_size_error",
            "n_prompt_tokens": 4390,
            "n_ctx": 4096,
        }
    },
    "llama_cpp_python": {
        "error": {
            "message": "This model's maximum context length is 2048 tokens. However, you requested 4390 tokens (4390 in the messages, 0 in the completion). Please reduce the length of the messages or completion.",
            "type": "invalid_request_error",
            "param": "messages",
            "code": "context_length_exceeded",
        }
    },
    "anthropic": {
        "type": "error",
        "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 250000 tokens > 200000 maximum",
        },
    },
}

MID_STREAM_ERRORS: dict[str, bytes] = {
    "ollama": b'{"error":"an error was encountered while running the model"}\n',
    "llamacpp": b'data: {"error":{"code":500,"message":"llama_decode failed","type":"server_error"}}\n\ndata: [DONE]\n\n',
    "legacy_error_field": b'error: {"code":400,"message":"the request exceeds the available context size. try increasing the context size or enable context shift","type":"invalid_request_error"}\n\ndata: [DONE]\n\n',
    "anthropic": b'event: error\ndata: {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}\n\n',
}

# Ollama's answer when a request sets `think` for a model that has no thinking.
THINK_REFUSED = {"error": "registry.ollama.ai/library/llama3.2:latest does not support thinking"}

MALFORMED: dict[str, bytes] = {
    "ollama": b'{"model":"llama3.2","message":{"role":"assistant","content":"oops"\n',
    "openai": b"data: {not json at all\n\n",
    "anthropic": b"event: content_block_delta\ndata: {broken\n\n",
}
