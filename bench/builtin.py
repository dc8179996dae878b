"""6. Built-in model: generation speed through `stream_model` vs the same llama.cpp server read
directly with httpx. The two clients alternate on one server; medians over repeats."""

from __future__ import annotations

import json
import time

import httpx

from bench.stats import median
from lib.engine.builtin_server import MODEL_ALIAS, shared_server
from lib.engine.events import ChatRequest
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.builtin import gemma_request
from lib.engine.stream_model import stream_model

REPEATS = 6
MAX_TOKENS = 200
SYSTEM = "You write contract review reports in Markdown."
CONTRACT = (
    "<contract>"
    + " ".join(
        f"{i}. The Supplier shall deliver the services with reasonable care and skill."
        for i in range(60)
    )
    + "</contract>"
)


def _speed(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0])


def _direct(base_url: str, api_key: str) -> float:
    request = gemma_request(ChatRequest(SYSTEM, CONTRACT, MAX_TOKENS, 0.0, 0))
    body = {
        "model": MODEL_ALIAS,
        "messages": [{"role": "user", "content": request.user}],
        "stream": True,
        "max_tokens": MAX_TOKENS,
        "temperature": 0.0,
    }
    times = []
    with (
        httpx.Client(timeout=300) as client,
        client.stream(
            "POST",
            f"{base_url}/chat/completions",
            json=body,
            headers={"Authorization": f"Bearer {api_key}"},
        ) as r,
    ):
        for line in r.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                delta = json.loads(line[6:])["choices"][0]["delta"].get("content")
                if delta:
                    times.append(time.monotonic())
    return _speed(times)


def _ours(config: ProviderConfig) -> float:
    times = [
        time.monotonic()
        for _ in stream_model(config, SYSTEM, CONTRACT, max_tokens=MAX_TOKENS, temperature=0.0)
    ]
    return _speed(times)


def run() -> dict:
    config = ProviderConfig(Provider.BUILTIN, MODEL_ALIAS, context_length=8192)
    server = shared_server(8192)
    base_url = server.ensure_started()
    _ours(config)  # warm-up: load, caches
    ours, direct = [], []
    for repeat in range(REPEATS):
        # Alternate which client goes first, so neither always follows the other's run.
        if repeat % 2:
            direct.append(_direct(base_url, server.api_key))
            ours.append(_ours(config))
        else:
            ours.append(_ours(config))
            direct.append(_direct(base_url, server.api_key))
    return {
        "stream_model_tokens_per_s": median(ours),
        "direct_tokens_per_s": median(direct),
        # Each pair ran back to back, so its ratio is less exposed to the machine's drift.
        "overhead": median([1 - o / d for o, d in zip(ours, direct, strict=True)]),
    }
