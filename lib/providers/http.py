"""HTTP plumbing shared by the providers we speak to with httpx (Ollama and OpenAI-compatible).

Kept in one place so that every provider maps statuses and transport failures to the same error
kinds, and so that every response is registered for cancellation the same way.
"""

from __future__ import annotations

import functools
import json
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

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
from lib.providers.base import StreamContext

# Markers servers use for "prompt does not fit" (llama.cpp, llama-cpp-python, Ollama, vLLM, OpenAI).
CONTEXT_MARKERS = (
    "exceed_context_size",
    "context_length_exceeded",
    "context length",
    "context window",
    "maximum context",
    "too long",
    "too many tokens",
)
MAX_ERROR_BODY = 64 * 1024


@dataclass(frozen=True)
class Hints:
    """How to tell an analyst to fix each failure, in the words of one kind of server."""

    service: str
    connect_fix: str
    model_fix: str
    auth_fix: str = "check the API key"


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client: building one loads the CA bundle, which showed in the
    server's profile when many sessions started runs (a client is made per run)."""
    return ssl.create_default_context()


def client_for(config: ProviderConfig) -> httpx.Client:
    timeout = httpx.Timeout(config.read_timeout, connect=config.connect_timeout)
    return httpx.Client(timeout=timeout, trust_env=False, verify=tls_context())


def auth_headers(config: ProviderConfig) -> dict[str, str]:
    return {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}


def looks_like_context_error(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in CONTEXT_MARKERS)


def error_text(body: bytes) -> str:
    """The human part of any of the error envelopes our servers send, else the raw body."""
    raw = body[:MAX_ERROR_BODY].decode("utf-8", "replace").strip()
    try:
        data: Any = json.loads(raw)
    except ValueError:
        return raw[:500]
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data))
        if isinstance(error, dict):
            parts = [str(error.get(key)) for key in ("message", "type", "code") if error.get(key)]
            return " ".join(dict.fromkeys(parts)) or raw[:500]
        return str(error)
    return raw[:500]


def status_error(status: int, detail: str, config: ProviderConfig, hints: Hints) -> ProviderError:
    where = f"{hints.service} at {config.base_url}"
    if status in (401, 403):
        return AuthFailed(f"{where} refused the credentials ({detail}) — {hints.auth_fix}.", status)
    if status == 404:
        return ModelNotFound(
            f"{where} does not know model '{config.model}' ({detail}) — {hints.model_fix}.", status
        )
    if status in (429, 503, 529):
        return RateLimited(
            f"{where} is busy or rate limiting ({detail}) — wait a minute and try again.", status
        )
    if status in (408, 504):
        return TimedOut(f"{where} timed out ({detail}) — try again or use a faster model.", status)
    if status in (400, 413, 422) and looks_like_context_error(detail):
        return ContextTooLong(
            f"The contract does not fit model '{config.model}' ({detail}) — use a model with a "
            "longer context, raise its context length, or review a shorter excerpt.",
            status,
        )
    return BadResponse(f"{where} answered HTTP {status}: {detail}", status)


def raise_for_status(response: httpx.Response, config: ProviderConfig, hints: Hints) -> None:
    if response.status_code == 200:
        return
    body = response.read()
    raise status_error(response.status_code, error_text(body), config, hints)


def connect_error(exc: httpx.HTTPError, config: ProviderConfig, hints: Hints) -> ProviderError:
    if isinstance(exc, httpx.ConnectTimeout):
        return CannotConnect(
            f"{hints.service} at {config.base_url} did not accept the connection within "
            f"{config.connect_timeout:g} s — {hints.connect_fix}."
        )
    if isinstance(exc, httpx.TimeoutException):
        return TimedOut(
            f"{hints.service} at {config.base_url} sent nothing for {config.read_timeout:g} s — "
            "the model may still be loading; try again or raise the read timeout."
        )
    if isinstance(exc, httpx.ConnectError | httpx.UnsupportedProtocol | httpx.InvalidURL):
        return CannotConnect(
            f"{hints.service} is not reachable at {config.base_url} — {hints.connect_fix}."
        )
    return StreamInterrupted(
        f"The connection to {hints.service} broke ({type(exc).__name__}) — try again."
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
    """POST and stream the answer; registers the response for cancellation, maps failures."""
    try:
        with client.stream("POST", url, json=body, headers=headers) as response:
            ctx.attach(response)
            raise_for_status(response, config, hints)
            ctx.answer_started = True
            yield response
    except httpx.HTTPError as exc:
        if isinstance(exc, httpx.ReadTimeout) and ctx.answer_started:
            raise TimedOut(
                f"{hints.service} stopped sending for {config.read_timeout:g} s in the middle of "
                "the answer — try again."
            ) from None
        if ctx.answer_started:
            raise interrupted(hints, "closed the connection mid-answer") from None
        raise connect_error(exc, config, hints) from None


def get_json(
    client: httpx.Client, url: str, config: ProviderConfig, hints: Hints, **kw: Any
) -> Any:
    """A small non-streaming request (listings, model info) with the same error mapping."""
    method = "POST" if "json" in kw else "GET"
    try:
        response = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise connect_error(exc, config, hints) from None
    raise_for_status(response, config, hints)
    try:
        return response.json()
    except ValueError:
        raise BadResponse(f"{hints.service} at {config.base_url} did not answer JSON.") from None
