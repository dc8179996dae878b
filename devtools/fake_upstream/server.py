"""A fake model server that speaks Ollama, OpenAI-compatible and Anthropic wire formats over real
HTTP, with scripted faults, byte-level splitting and disconnect detection.

`FakeUpstream` runs it under uvicorn on a free loopback port in a background thread. Tests push a
`Script` per request (or set a default); each request leaves a `RequestRecord` saying what was sent
when and when the client went away. Processes outside the test (a Streamlit server in a browser
test, a benchmark) can script it over HTTP: `POST /_control/script`, `GET /_control/requests`,
`POST /_control/reset`.

Like a real model server it stops at the answer length a request asks for (`answer_cap`): each
scripted piece, thinking first, counts as one token, and once it has sent that many it ends the
stream with the provider's own length reason (`LENGTH_REASONS`), its usage counting only what was
sent. A recorded stream (`Script.fixture`) is replayed as recorded.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from devtools.fake_upstream import wire
from devtools.fake_upstream.recordings import RECORDINGS
from lib.analysis.tokens import estimate_tokens

DEFAULT_TOKENS = [
    "## Overall",
    " risk:",
    " MEDIUM",
    "\n",
    "Société",
    " Générale",
    " —",
    " 契約",
    " 🌍",
    " ok.",
]


@dataclass
class Script:
    """What the fake does with the next request.

    fault: None, "stall" (go silent after `fault_after` tokens), "drop" (cut the connection after
    `fault_after` tokens), "error" (in-band error after `fault_after` tokens; `error_style` picks
    the llama.cpp, legacy `error:` field, Ollama or Anthropic form), "malformed", "no_terminator",
    "done_without_finish", "context" (a context-too-long 400 in the provider's words).
    status: an HTTP error status answered with the provider's own error body.
    Each piece of `thinking` and `tokens` is one token of the request's answer length: the answer
    ends at it with the provider's length reason.
    """

    tokens: list[str] | None = None
    # Thinking sent before the tokens, in the dialect's own field (token frames: `delay` and
    # `fault_after` count them too).
    thinking: list[str] | None = None
    # Ollama only: refuse a request that sets `think`, as Ollama does for a model without it.
    refuse_think: bool = False
    fixture: str | None = None
    dialect: str = "llamacpp"
    split: str | int = "event"
    seed: int = 0
    # Seconds between tokens, on an absolute schedule so the rate holds over long streams.
    delay: float = 0.0
    # When > 0: render the whole answer first and send it in pieces of this many bytes, so a
    # benchmark measures the client's parsing rather than the server's per-frame overhead.
    coalesce: int = 0
    first_delay: float = 0.0
    status: int | None = None
    fault: str | None = None
    fault_after: int = 3
    error_style: str | None = None
    prompt_tokens: int | None = None
    finish_reason: str | None = None
    # When > 0: wait prompt tokens / this rate before answering, as a model reads its prompt.
    prefill_tokens_per_s: float = 0.0
    # Keep each prompt read and read a repeated prefix from that cache instead (free of prefill
    # time): Anthropic's up to its last `cache_control` mark, reported in its cache counts; any
    # other dialect's longest prefix in common with an earlier prompt, as llama.cpp and Ollama
    # reuse their KV cache. The counts the cache decides can also be scripted (Anthropic only).
    prefix_cache: bool = False
    cache_write_tokens: int | None = None
    cache_read_tokens: int | None = None
    # Ollama only: leave U+2028/9 raw in the NDJSON lines instead of Go's escapes.
    raw_separators: bool = False
    # With `status`: this body instead of the provider's own (a str is sent as text/html, as an
    # internal web service behind a typed URL would answer).
    error_body: Any = None


# How each family ends an answer cut at the request's answer length.
LENGTH_REASONS = {"ollama": "length", "openai": "length", "anthropic": "max_tokens"}


def answer_cap(family: str, body: dict[str, Any]) -> int | None:
    """The most tokens a request lets its answer take, thinking included as every provider counts
    it; None for no cap: Ollama's `options.num_predict` (-1 or -2: none), the OpenAI-compatible
    `max_completion_tokens` or `max_tokens`, Anthropic's `max_tokens`."""
    if family == "ollama":
        cap = (body.get("options") or {}).get("num_predict")
    else:
        cap = body.get("max_completion_tokens") or body.get("max_tokens")
    return int(cap) if isinstance(cap, int | float) and cap > 0 else None


def within_cap(
    thinking: list[str], tokens: list[str], cap: int | None
) -> tuple[list[str], list[str], bool]:
    """The thinking and answer pieces sent under `cap` (one token each, thinking first), and
    whether the cap ended the answer: a server stops as soon as it has written `cap` tokens."""
    if cap is None or len(thinking) + len(tokens) < cap:
        return thinking, tokens, False
    thinking = thinking[:cap]
    return thinking, tokens[: cap - len(thinking)], True


@dataclass
class RequestRecord:
    path: str
    method: str
    headers: dict[str, str]
    body: Any
    started: float
    token_times: list[float] = field(default_factory=list)
    bytes_sent: int = 0
    disconnected_at: float | None = None
    completed: bool = False
    # Prompt tokens estimated as the app estimates them, the answer room asked for, the context
    # the request met, and whether the two together went over it (rejected or truncated).
    prompt_estimate: int = 0
    requested_output: int = 0
    context_limit: int | None = None
    over_limit: bool = False
    # With a prefix cache: the prompt tokens it stored and served for this request.
    cache_write: int = 0
    cache_read: int = 0
    # Add to a monotonic time from this record to get wall-clock time (browser timestamps).
    wall_offset: float = field(default_factory=lambda: time.time() - time.monotonic())

    @property
    def tokens_sent(self) -> int:
        return len(self.token_times)


def _pieces(data: bytes, split: str | int, rng: random.Random) -> Iterator[bytes]:
    if split == "event" or not data:
        yield data
        return
    if split == "random":
        i = 0
        while i < len(data):
            n = rng.randint(1, 17)
            yield data[i : i + n]
            i += n
        return
    size = int(split)
    for i in range(0, len(data), size):
        yield data[i : i + size]


class FakeApp:
    """The ASGI application; state is shared with the owning `FakeUpstream`."""

    def __init__(self) -> None:
        self.scripts: collections.deque[Script] = collections.deque()
        self.default = Script()
        self.records: list[RequestRecord] = []
        self.lock = threading.Lock()
        self.model_context_length = 8192
        # A model server's context: None for unlimited. Over it, "reject" answers a
        # context-length error; "truncate" answers anyway, as Ollama does, having read less.
        self.context_limit: int | None = None
        self.context_mode = "reject"
        # Picks the script from the request itself (a benchmark answering per kind of prompt).
        self.responder: Callable[[dict[str, Any]], Script] | None = None
        # Generation requests answered at once (None: any number), and the counts seen.
        self.max_in_flight: int | None = None
        self._slots: asyncio.Semaphore | None = None
        self.in_flight = 0
        self.peak_in_flight = 0
        # Prompts read with `Script.prefix_cache`: Anthropic's marked prefixes, others' whole.
        self.prompt_cache: list[str] = []

    def next_script(self, body: dict[str, Any]) -> Script:
        with self.lock:
            if self.scripts:
                return self.scripts.popleft()
            responder = self.responder
        return responder(body) if responder else dataclasses.replace(self.default)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body_bytes = b""
        while True:
            message = await receive()
            body_bytes += message.get("body", b"")
            if not message.get("more_body"):
                break
        path, method = scope["path"], scope["method"]
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if path.startswith("/_control/"):
            await self.control(path, method, body_bytes, send)
            return
        try:
            body = json.loads(body_bytes) if body_bytes else None
        except ValueError:
            body = body_bytes.decode("utf-8", "replace")
        record = RequestRecord(path, method, headers, body, time.monotonic())
        with self.lock:
            self.records.append(record)
        await self.route(record, receive, send)

    async def control(self, path: str, method: str, body: bytes, send: Any) -> None:
        if path == "/_control/script" and method == "POST":
            data = json.loads(body)
            with self.lock:
                if data.pop("as_default", False):
                    self.default = Script(**data)
                else:
                    self.scripts.append(Script(**data))
            await json_response(send, 200, {"ok": True})
        elif path == "/_control/requests":
            with self.lock:
                records = [dataclasses.asdict(r) for r in self.records]
            await json_response(send, 200, records)
        elif path == "/_control/context" and method == "POST":
            data = json.loads(body)
            with self.lock:
                self.context_limit = data.get("limit")
                self.context_mode = data.get("mode", "reject")
            await json_response(send, 200, {"ok": True})
        elif path == "/_control/reset":
            with self.lock:
                self.scripts.clear()
                self.records.clear()
                self.default = Script()
                self.context_limit = None
                self.context_mode = "reject"
                self.prompt_cache.clear()
            await json_response(send, 200, {"ok": True})
        else:
            await json_response(send, 404, {"error": "unknown control path"})

    async def route(self, record: RequestRecord, receive: Any, send: Any) -> None:
        path = record.path
        if path == "/api/tags":
            await json_response(
                send,
                200,
                {
                    "models": [
                        {"name": "llama3.2:latest", "model": "llama3.2:latest", "size": 2019393189},
                        {"name": "qwen2.5:7b", "model": "qwen2.5:7b", "size": 4683087332},
                    ]
                },
            )
        elif path == "/api/show":
            if isinstance(record.body, dict) and record.body.get("model") == "nope":
                await json_response(send, 404, {"error": "model 'nope' not found"})
                return
            await json_response(
                send,
                200,
                {
                    "details": {"family": "llama"},
                    "model_info": {
                        "general.architecture": "llama",
                        "llama.context_length": self.context_limit or self.model_context_length,
                    },
                },
            )
        elif path == "/v1/models":
            if "anthropic-version" in record.headers:
                await json_response(
                    send,
                    200,
                    {
                        "data": [
                            {
                                "type": "model",
                                "id": "claude-sonnet-5-5",
                                "display_name": "Claude Sonnet 5.5",
                                "created_at": "2025-09-29T00:00:00Z",
                            },
                            {
                                "type": "model",
                                "id": "claude-haiku-5-5",
                                "display_name": "Claude Haiku 5.5",
                                "created_at": "2025-10-01T00:00:00Z",
                            },
                        ],
                        "has_more": False,
                        "first_id": "claude-sonnet-5-5",
                        "last_id": "claude-haiku-5-5",
                    },
                )
            else:
                # vLLM's model card carries the served context as `max_model_len`.
                served = {"max_model_len": self.context_limit} if self.context_limit else {}
                await json_response(
                    send,
                    200,
                    {
                        "object": "list",
                        "data": [
                            {
                                "id": "llama3.2",
                                "object": "model",
                                "created": 1754000000,
                                "owned_by": "library",
                                **served,
                            },
                            {
                                "id": "gemma-3-1b",
                                "object": "model",
                                "created": 1754000000,
                                "owned_by": "library",
                                **served,
                            },
                        ],
                    },
                )
        elif path in ("/api/chat", "/v1/chat/completions", "/v1/messages"):
            body = record.body if isinstance(record.body, dict) else {}
            await self.generate(record, self.next_script(body), receive, send)
        else:
            await json_response(send, 404, {"error": f"no route {path}"})

    async def generate(
        self, record: RequestRecord, script: Script, receive: Any, send: Any
    ) -> None:
        """One generation request, counted in flight; over `max_in_flight` it waits its turn, as
        a model server taking that many requests at once queues the rest."""
        if self.max_in_flight is not None and self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        slots = self._slots
        if slots is not None:
            await slots.acquire()
        with self.lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
        try:
            await self.stream(record, script, receive, send)
        finally:
            with self.lock:
                self.in_flight -= 1
            if slots is not None:
                slots.release()

    async def stream(self, record: RequestRecord, script: Script, receive: Any, send: Any) -> None:
        family = {
            "/api/chat": "ollama",
            "/v1/chat/completions": "openai",
            "/v1/messages": "anthropic",
        }[record.path]
        body = record.body if isinstance(record.body, dict) else {}
        model = str(body.get("model", "model"))
        if script.status is not None:
            bodies = wire.ERROR_BODIES[family]
            if isinstance(script.error_body, str):
                await text_response(send, script.status, script.error_body)
                return
            body = script.error_body
            if body is None:
                body = bodies.get(script.status, bodies[500])
            await json_response(send, script.status, body)
            return
        if script.refuse_think and family == "ollama" and "think" in body:
            # The client is expected to ask again without `think`: the same script answers it.
            with self.lock:
                self.scripts.appendleft(script)
            await json_response(send, 400, wire.THINK_REFUSED)
            return
        self.measure(record, family, body)
        rejected = record.over_limit and self.context_mode == "reject"
        if script.fault == "context" or rejected:
            style = {"ollama": "ollama", "anthropic": "anthropic"}.get(family, script.dialect)
            await json_response(send, 400, wire.CONTEXT_BODIES[style])
            return
        if record.over_limit and record.context_limit is not None:
            # Ollama's silent truncation: it reads what fits and says so only in its counts.
            read = max(1, record.context_limit - record.requested_output)
            script = dataclasses.replace(script, prompt_tokens=read)
        if script.prefix_cache:
            script = self.read_through_cache(record, family, body, script)
        if script.prefill_tokens_per_s > 0:
            prefill = (record.prompt_estimate - record.cache_read) / script.prefill_tokens_per_s
            script = dataclasses.replace(script, first_delay=script.first_delay + prefill)
        frames = self.frames(family, script, body, model)
        media = "application/x-ndjson" if family == "ollama" else "text/event-stream; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", media.encode())],
            }
        )

        disconnected = asyncio.Event()

        async def watch() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            record.disconnected_at = time.monotonic()
            disconnected.set()

        watcher = asyncio.create_task(watch())
        rng = random.Random(script.seed)
        try:
            if script.first_delay and await _wait(disconnected, script.first_delay):
                return
            if script.coalesce:
                blob = b"".join(data for data, _ in frames)
                frames = iter([(blob, False)])
                script = dataclasses.replace(script, split=script.coalesce)
            schedule = time.monotonic()
            for data, is_token in frames:
                if (
                    is_token
                    and script.fault in ("stall", "drop", "error")
                    and record.tokens_sent >= script.fault_after
                ):
                    await self.fault(script, family, send, disconnected)
                    return
                for piece in _pieces(data, script.split, rng):
                    if disconnected.is_set():
                        return
                    await send({"type": "http.response.body", "body": piece, "more_body": True})
                    record.bytes_sent += len(piece)
                if is_token:
                    record.token_times.append(time.monotonic())
                    if script.delay:
                        schedule += script.delay
                        pause = schedule - time.monotonic()
                        if pause > 0 and await _wait(disconnected, pause):
                            return
                        if disconnected.is_set():
                            return
                elif script.split != "event":
                    await asyncio.sleep(0)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            record.completed = True
        finally:
            # Give the watcher a moment to see a disconnect that raced the last write.
            if not disconnected.is_set():
                await _wait(disconnected, 0.05)
            watcher.cancel()

    def read_through_cache(
        self, record: RequestRecord, family: str, body: dict[str, Any], script: Script
    ) -> Script:
        """Decide what the prompt cache serves for this request and remember what it stores."""
        parts = _prompt_parts(body)
        text = "".join(part for part, _ in parts)
        with self.lock:
            if family == "anthropic":
                marks = [i for i, (_, marked) in enumerate(parts) if marked]
                prefix = "".join(part for part, _ in parts[: marks[-1] + 1]) if marks else ""
                tokens = estimate_tokens(prefix)
                if tokens < ANTHROPIC_MIN_CACHEABLE:
                    pass
                elif prefix in self.prompt_cache:
                    record.cache_read = tokens
                else:
                    self.prompt_cache.append(prefix)
                    record.cache_write = tokens
            else:
                common = max((_common_prefix(text, seen) for seen in self.prompt_cache), default=0)
                record.cache_read = estimate_tokens(text[:common]) if common else 0
                self.prompt_cache.append(text)
        if family != "anthropic":
            return script
        fresh = max(1, record.prompt_estimate - record.cache_write - record.cache_read)
        return dataclasses.replace(
            script,
            prompt_tokens=script.prompt_tokens or fresh,
            cache_write_tokens=record.cache_write,
            cache_read_tokens=record.cache_read,
        )

    def measure(self, record: RequestRecord, family: str, body: dict[str, Any]) -> None:
        """Size the request as the app sizes it and hold it against the context."""
        texts = [part for part, _ in _prompt_parts(body)]
        record.prompt_estimate = sum(estimate_tokens(t) for t in texts)
        options = body.get("options") or {}
        record.requested_output = answer_cap(family, body) or 0
        if self.context_limit is None:
            return
        limit = int(self.context_limit)
        if family == "ollama" and options.get("num_ctx"):
            limit = min(limit, int(options["num_ctx"]))  # Ollama holds a request to its num_ctx
        record.context_limit = limit
        record.over_limit = record.prompt_estimate + record.requested_output > limit

    def frames(
        self, family: str, script: Script, body: dict[str, Any], model: str
    ) -> Iterator[tuple[bytes, bool]]:
        if script.fixture:
            data = (RECORDINGS / script.fixture).read_bytes()
            boundary = rb"(?<=\n)" if family == "ollama" else rb"(?<=\n\n)|(?<=\r\n\r\n)"
            return iter([(frame, True) for frame in re.split(boundary, data) if frame])
        tokens = script.tokens if script.tokens is not None else DEFAULT_TOKENS
        thinking = script.thinking or []
        thinking, tokens, capped = within_cap(thinking, tokens, answer_cap(family, body))
        finish = LENGTH_REASONS[family] if capped else script.finish_reason
        prompt = script.prompt_tokens
        if prompt is None:
            prompt = max(1, len(json.dumps(body.get("messages", body))) // 4)
        if family == "ollama":
            frames = wire.ollama_chat(
                model,
                tokens,
                prompt,
                finish or "stop",
                escape_separators=not script.raw_separators,
                thinking=thinking,
            )
        elif family == "anthropic":
            frames = wire.anthropic_messages(
                model,
                tokens,
                prompt,
                finish or "end_turn",
                thinking,
                cache_write=script.cache_write_tokens or 0,
                cache_read=script.cache_read_tokens or 0,
            )
        else:
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = wire.openai_chat(
                script.dialect,
                model,
                tokens,
                prompt,
                finish or "stop",
                include_usage,
                thinking,
            )
        return self.apply_ending_faults(family, script, frames)

    @staticmethod
    def apply_ending_faults(
        family: str, script: Script, frames: Iterator[tuple[bytes, bool]]
    ) -> Iterator[tuple[bytes, bool]]:
        """Faults that change how the stream ends or inject one bad frame."""
        frames = list(frames)
        if script.fault == "malformed":
            token_positions = [i for i, (_, is_token) in enumerate(frames) if is_token]
            at = (
                token_positions[script.fault_after]
                if script.fault_after < len(token_positions)
                else len(frames)
            )
            frames.insert(at, (wire.MALFORMED[family], False))
        elif script.fault == "no_terminator":
            if family == "anthropic":
                frames = [
                    f
                    for f in frames
                    if b"message_stop" not in f[0] and b"message_delta" not in f[0]
                ]
            elif family == "ollama":
                frames = [f for f in frames if f[1]]
            else:
                frames = [
                    f
                    for f in frames
                    if b"[DONE]" not in f[0]
                    and b'"finish_reason":"' not in f[0]
                    and b'"finish_reason": "' not in f[0]
                ]
        elif script.fault == "done_without_finish":
            frames = [
                f
                for f in frames
                if b'"finish_reason":"' not in f[0] and b'"finish_reason": "' not in f[0]
            ]
        return iter(frames)

    async def fault(
        self, script: Script, family: str, send: Any, disconnected: asyncio.Event
    ) -> None:
        if script.fault == "stall":
            await disconnected.wait()
        elif script.fault == "drop":
            raise ConnectionAbortedError("scripted drop: the connection is cut mid-answer")
        elif script.fault == "error":
            style = script.error_style or {"openai": "llamacpp"}.get(family, family)
            await send(
                {
                    "type": "http.response.body",
                    "body": wire.MID_STREAM_ERRORS[style],
                    "more_body": True,
                }
            )
            await send({"type": "http.response.body", "body": b"", "more_body": False})


# The fake's own floor for a cacheable prefix (Claude's lowest published minimum).
ANTHROPIC_MIN_CACHEABLE = 1024


def _prompt_parts(body: dict[str, Any]) -> list[tuple[str, bool]]:
    """The request's prompt texts in order, each with whether it carries a `cache_control`."""
    parts: list[tuple[str, bool]] = []
    system = body.get("system")
    for part in [system] if isinstance(system, str) else system or []:
        if isinstance(part, str):
            parts.append((part, False))
        elif isinstance(part, dict):
            parts.append((str(part.get("text", "")), "cache_control" in part))
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append((content, False))
        elif isinstance(content, list):
            parts.extend(
                (str(p.get("text", "")), "cache_control" in p)
                for p in content
                if isinstance(p, dict)
            )
    return parts


def _common_prefix(a: str, b: str) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    low, high = 0, n  # a[:low] == b[:low] and a[:high] != b[:high]
    while high - low > 1:
        mid = (low + high) // 2
        if a[:mid] == b[:mid]:
            low = mid
        else:
            high = mid
    return low


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Sleep, waking early if `event` is set; True when it was."""
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


async def json_response(send: Any, status: int, payload: Any) -> None:
    data = (json.dumps(payload) + "\n").encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


async def text_response(send: Any, status: int, text: str) -> None:
    data = text.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(data)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


class FakeUpstream:
    """Runs `FakeApp` on a free 127.0.0.1 port in a background thread for the `with` block.

    With `certfile` (a PEM file holding the key and the certificate chain) it speaks HTTPS.
    """

    def __init__(self, port: int = 0, certfile: str | None = None) -> None:
        self.app = FakeApp()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", port))
        self.port = self._sock.getsockname()[1]
        self.url = f"{'https' if certfile else 'http'}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            log_level="critical",
            lifespan="off",
            timeout_graceful_shutdown=1,
            ssl_certfile=certfile,
            ssl_keyfile=certfile,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def __enter__(self) -> FakeUpstream:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake upstream did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)
        self._sock.close()

    @property
    def default(self) -> Script:
        return self.app.default

    @default.setter
    def default(self, script: Script) -> None:
        self.app.default = script

    def push(self, *scripts: Script) -> None:
        with self.app.lock:
            self.app.scripts.extend(scripts)

    @property
    def requests(self) -> list[RequestRecord]:
        with self.app.lock:
            return list(self.app.records)

    def streams(self) -> list[RequestRecord]:
        """Only the generation requests, not listings."""
        return [
            r
            for r in self.requests
            if r.path in ("/api/chat", "/v1/chat/completions", "/v1/messages")
        ]

    def wait_for_disconnect(self, timeout: float, record: RequestRecord | None = None) -> bool:
        """Wait until `record` (default: the latest generation request) sees the client leave."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            streams = self.streams()
            target = record or (streams[-1] if streams else None)
            if target is not None and target.disconnected_at is not None:
                return True
            time.sleep(0.005)
        return False

    def reset(self) -> None:
        with self.app.lock:
            self.app.scripts.clear()
            self.app.records.clear()
            self.app.default = Script()
            self.app.context_limit = None
            self.app.context_mode = "reject"
            self.app.responder = None
            self.app.peak_in_flight = 0
            self.app.prompt_cache.clear()
