"""HTTP plumbing shared by the providers we speak to with httpx (Ollama and OpenAI-compatible).

Kept in one place so that every provider maps statuses and transport failures to the same error
kinds, and so that every request (the Claude SDK's too, through `event_hooks`) is registered for
cancellation, asks for an uncompressed answer and has its reply read under a size cap the same way.
"""

from __future__ import annotations

import codecs
import functools
import json
import ssl
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Protocol

import httpx
from httpx_sse import EventSource

from lib.engine.errors import (
    BadResponse,
    CannotConnect,
    Hints,
    ProviderError,
    StreamInterrupted,
    TimedOut,
    clip_detail,
    error_for_status,
)
from lib.engine.events import StreamContext
from lib.engine.limits import MAX_METADATA_BYTES, event_size_message
from lib.engine.provider_config import ProviderConfig, shown_url

MAX_ERROR_BODY = 64 * 1024
# Where an event ends in each framing. SSE: at a blank line, i.e. two line ends in a row, and any
# two of "\r\n", "\r" and "\n" in a row hold one of these pairs. NDJSON: at "\n".
SSE_EVENT_ENDS = (b"\n\n", b"\n\r", b"\r\r")
NDJSON_EVENT_ENDS = (b"\n",)


class Streamed(Protocol):
    """What we read of a response, an httpx one or the Claude SDK's (httpx2)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    def iter_bytes(self) -> Iterator[bytes]: ...


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: building one loads the CA bundle, which showed in the
    server's profile when many sessions started runs (a client is made per run)."""
    return ssl.create_default_context()


class Sent(Protocol):
    """What the hooks touch of a request, an httpx one or the Claude SDK's (httpx2)."""

    headers: Any
    extensions: dict[str, Any]


class Received(Protocol):
    """What the hooks read of a response, an httpx one or the Claude SDK's (httpx2)."""

    @property
    def headers(self) -> Mapping[str, str]: ...

    def close(self) -> None: ...


Hooks = dict[str, list[Callable[[Any], None]]]


def event_hooks(service: str, ctx: StreamContext | None = None) -> Hooks:
    """The event hooks of every client a provider makes, httpx's and the Claude SDK's httpx2
    (which calls them the same way; Claude's adds its own), so that every request is treated
    alike whatever it is for: in a run (`ctx`), each request's connection is registered for
    cancellation as soon as it connects (`StreamContext.trace`), so Stop and the run's time limit
    end a metadata lookup (Ollama's `/api/show`) as they end the answer's stream; and each asks
    for an uncompressed answer and refuses a compressed one (`_refuse_compressed`)."""
    return {"request": [partial(_prepare, ctx)], "response": [partial(_refuse_compressed, service)]}


def _prepare(ctx: StreamContext | None, request: Sent) -> None:
    request.headers["Accept-Encoding"] = "identity"
    if ctx is not None:
        own = request.extensions.get("trace")  # the request's own deadline (`get_json`)
        request.extensions["trace"] = ctx.trace if own is None else _both(own, ctx.trace)


def _both(*traces: Callable[[str, dict[str, Any]], None]) -> Callable[[str, dict[str, Any]], None]:
    def trace(event: str, info: dict[str, Any]) -> None:
        for each in traces:
            each(event, info)

    return trace


# The longest a reply read whole (a model list, a model's details, the built-in server's
# readiness) may take from the request to its last byte, whatever each read's timeout.
WHOLE_REPLY_S = 30.0


def whole_reply_seconds(config: ProviderConfig) -> float:
    """How long `config`'s server has to send a reply read whole: its timeouts, at most
    `WHOLE_REPLY_S`. A server sending a byte every few seconds kept every read within its timeout
    and held the caller for ever: a page drawing its model picker, a run being planned."""
    return min(WHOLE_REPLY_S, config.connect_timeout + config.read_timeout)


@contextmanager
def reply_deadline(seconds: float) -> Iterator[StreamContext]:
    """A request's own context, cancelled after `seconds`: given as a client's context or as a
    request's `trace` extension, it ends the request at any stage (connecting, its headers,
    its body), as Stop ends a run's."""
    deadline = StreamContext()
    timer = threading.Timer(seconds, deadline.cancel)
    timer.daemon = True
    timer.start()
    try:
        yield deadline
    finally:
        timer.cancel()


def too_slow(service: str, url: str, seconds: float) -> TimedOut:
    return TimedOut(
        f"{service} at {shown_url(url)} did not send its whole answer within {seconds:g} s,"
        " where a short reply was expected — is this the right server?"
    )


def _refuse_compressed(service: str, response: Received) -> None:
    """Every cap on what a server sends (`capped_events`, `read_upto`) counts bytes after
    decompression, and the HTTP client decompresses a whole network read at once: one 64 KB read
    of gzip grows to 64 MB, of brotli or zstd to far more, before any cap sees it. Capping the
    decompressed size as it grows would mean replacing the client's decoders; model answers and
    model lists gain nothing from compression, so every request asks for none and an answer
    compressed all the same is refused unread."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return
    response.close()
    raise BadResponse(
        f"{service} sent a compressed answer ({clip_detail(encoding, (), 40)}) though asked for"
        " none — is this the right server?"
    )


def client_for(
    config: ProviderConfig, hints: Hints, ctx: StreamContext | None = None
) -> httpx.Client:
    """The client for one run (`ctx`, whose Stop must reach every request it makes) or one
    listing."""
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.Client(
        timeout=timeout,
        trust_env=False,
        verify=tls_context(),
        event_hooks=event_hooks(hints.service, ctx),
    )


def auth_headers(config: ProviderConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}


def error_text(body: bytes, secrets: tuple[str, ...]) -> str:
    """The server's own error message field from any of our servers' envelopes, else "".

    Never the raw body: an endpoint typed on a page may be an internal service, and echoing
    its answer would let the page read it through this server.
    """
    raw = body[:MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return ""
    if not isinstance(data, dict):
        return ""
    for key in ("error", "detail", "message"):
        value = data.get(key)
        if isinstance(value, dict):
            # type and code are short identifiers that say what kind of refusal this is (llama.cpp
            # names a context overflow only there).
            parts = [value.get(name) for name in ("message", "type", "code")]
            value = " ".join(dict.fromkeys(str(p) for p in parts if isinstance(p, str | int)))
        if isinstance(value, str) and value.strip():
            return clip_detail(value, secrets)
    return ""


def status_error(status: int, detail: str, config: ProviderConfig, hints: Hints) -> ProviderError:
    return error_for_status(
        status,
        detail,
        where=f"{hints.service} at {shown_url(config.base_url)}",
        config=config,
        hints=hints,
    )


def read_upto(response: Streamed, limit: int) -> tuple[bytes, bool]:
    """At most `limit` bytes of a reply's body, and whether it had more (left unread): every
    reply read whole (error bodies, model lists, model details) is read through this, so a
    server cannot make us hold an endless one."""
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            return bytes(body[:limit]), True
    return bytes(body), False


def capped_events(
    response: Streamed, ends: tuple[bytes, ...], ctx: StreamContext, service: str
) -> Iterator[bytes]:
    """The bytes of a streamed answer, as every provider's parser reads them, failing the run
    once `ctx.max_event_bytes` arrive without an event ending (`ends`, the framing's).

    A parser keeps an unfinished line or event in memory until its end comes, and neither the
    output cap nor the read timeout sees bytes that never complete one.
    """
    limit = ctx.max_event_bytes
    pending = 0  # bytes since the last event end
    tail = b""  # the last byte before this chunk: an end may straddle two chunks
    for chunk in response.iter_bytes():
        window = tail + chunk
        ends_at = [at + len(end) for end in ends if (at := window.rfind(end)) >= 0]
        pending = len(window) - max(ends_at) if ends_at else pending + len(chunk)
        if pending > limit:
            raise BadResponse(event_size_message(service, limit))
        tail = window[-1:]
        yield chunk


class _CappedText:
    """What httpx-sse reads of a response, its headers and text, with the text read through
    `capped_events` (an event stream is UTF-8 whatever its headers say)."""

    def __init__(self, response: Streamed, ctx: StreamContext, service: str) -> None:
        self.headers = response.headers
        self._chunks = capped_events(response, SSE_EVENT_ENDS, ctx, service)

    def iter_text(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        for chunk in self._chunks:
            if text := decoder.decode(chunk):
                yield text
        if text := decoder.decode(b"", final=True):
            yield text


def event_source(response: Streamed, ctx: StreamContext, service: str) -> EventSource:
    """The server-sent events of a streamed answer, read under the cap on one event's size."""
    return EventSource(_CappedText(response, ctx, service))  # type: ignore[arg-type]


def ndjson_chunks(response: Streamed, ctx: StreamContext, service: str) -> Iterator[bytes]:
    """The bytes of an NDJSON answer, read under the cap on one line's size."""
    return capped_events(response, NDJSON_EVENT_ENDS, ctx, service)


def too_large(service: str, url: str) -> BadResponse:
    return BadResponse(
        f"{service} at {shown_url(url)} sent more than {MAX_METADATA_BYTES // 2**20} MB where a"
        " short reply was expected — is this the right server?"
    )


def raise_for_status(response: httpx.Response, config: ProviderConfig, hints: Hints) -> None:
    if response.status_code == 200:
        return
    body, _ = read_upto(response, MAX_ERROR_BODY)
    raise status_error(response.status_code, error_text(body, config.secrets), config, hints)


def connect_error(exc: httpx.HTTPError, config: ProviderConfig, hints: Hints) -> ProviderError:
    if isinstance(exc, httpx.ConnectTimeout):
        return CannotConnect(
            f"{hints.service} at {shown_url(config.base_url)} did not accept the connection within "
            f"{config.connect_timeout:g} s — {hints.connect_fix}."
        )
    if isinstance(exc, httpx.TimeoutException):
        return TimedOut(
            f"{hints.service} at {shown_url(config.base_url)} sent nothing for"
            f" {config.read_timeout:g} s — "
            "the model may still be loading; try again or raise the read timeout."
        )
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return CannotConnect(
            f"{hints.service} is not reachable at {shown_url(config.base_url)} —"
            f" {hints.connect_fix}."
        )
    return StreamInterrupted(
        f"The connection to {hints.service_in_sentence} broke ({type(exc).__name__}) — try again."
    )


def interrupted(hints: Hints, what: str) -> StreamInterrupted:
    return StreamInterrupted(f"{hints.service} {what} — try again.")


@contextmanager
def open_stream(
    client: httpx.Client,
    url: str,
    body: dict[str, Any],
    config: ProviderConfig,
    hints: Hints,
    ctx: StreamContext,
    headers: dict[str, str] | None = None,
) -> Iterator[httpx.Response]:
    """POST and stream the answer (on a client made for the run, `client_for(..., ctx)`, whose
    hooks register the connection); registers the response for cancellation, maps failures."""
    try:
        with client.stream("POST", url, json=body, headers=headers) as response:
            ctx.attach(response)
            raise_for_status(response, config, hints)
            yield response
    except httpx.HTTPError as exc:
        where = ctx.where("in the middle of the answer")
        if isinstance(exc, httpx.ReadTimeout) and ctx.responded:
            raise TimedOut(
                f"{hints.service} stopped sending for {config.read_timeout:g} s {where} — try "
                "again."
            ) from None
        if ctx.responded:
            raise interrupted(hints, f"closed the connection {ctx.where()}") from None
        raise connect_error(exc, config, hints) from None


def get_json(
    client: httpx.Client, url: str, config: ProviderConfig, hints: Hints, **kw: Any
) -> Any:
    """A small non-streaming request (listings, model info) with the same error mapping."""
    method = "POST" if "json" in kw else "GET"
    answered = False  # a read timeout after the answer began is not a model still loading
    seconds = whole_reply_seconds(config)
    try:
        with (
            reply_deadline(seconds) as deadline,
            client.stream(method, url, extensions={"trace": deadline.trace}, **kw) as response,
        ):
            answered = True
            raise_for_status(response, config, hints)
            body, more = read_upto(response, MAX_METADATA_BYTES)
    except httpx.HTTPError as exc:
        if deadline.cancelled:
            raise too_slow(hints.service, config.base_url, seconds) from None
        if answered and isinstance(exc, httpx.ReadTimeout):
            raise TimedOut(
                f"{hints.service} at {shown_url(config.base_url)} stopped sending for"
                f" {config.read_timeout:g} s in the middle of its answer — try again."
            ) from None
        raise connect_error(exc, config, hints) from None
    if deadline.cancelled:  # cut off: what was read ended where the deadline cut it
        raise too_slow(hints.service, config.base_url, seconds)
    if more:
        raise too_large(hints.service, config.base_url)
    try:
        return json.loads(body)
    except ValueError:
        raise BadResponse(
            f"{hints.service} at {shown_url(config.base_url)} did not answer JSON."
        ) from None
