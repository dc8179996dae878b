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
from typing import Any

import httpx

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
from lib.engine.provider_config import ProviderConfig, shown_url

MAX_ERROR_BODY = 64 * 1024


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


def raise_for_status(response: httpx.Response, config: ProviderConfig, hints: Hints) -> None:
    if response.status_code == 200:
        return
    body = response.read()
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
    try:
        response = client.request(method, url, **kw)
    except httpx.HTTPError as exc:
        raise connect_error(exc, config, hints) from None
    raise_for_status(response, config, hints)
    try:
        return response.json()
    except ValueError:
        raise BadResponse(
            f"{hints.service} at {shown_url(config.base_url)} did not answer JSON."
        ) from None
