"""1. Parser throughput: 20,000 chunks replayed over loopback as fast as possible, per wire format.

`stream_model` against (a) the floor — a raw httpx read with `json.loads` per line — and (b) what
people use today: the `openai` SDK's streaming client and the bare `anthropic` SDK `text_stream`.
Clients run interleaved, repeated, and are compared by medians measured in the same run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import anthropic
import httpx
import openai

from bench.stats import median
from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.stream_model import stream_model

CHUNKS = 20_000
REPEATS = 5
KEY = "sk-bench-not-a-real-key-000"
TOKENS = [f" w{i}" for i in range(CHUNKS)]


def _floor(url: str, path: str, body: dict, sse: bool) -> int:
    count = 0
    with (
        httpx.Client(timeout=60) as client,
        client.stream("POST", url + path, json=body) as response,
    ):
        for line in response.iter_lines():
            if not line:
                continue
            if sse:
                if not line.startswith("data:"):
                    continue
                line = line[5:].strip()
                if line == "[DONE]":
                    break
            json.loads(line)
            count += 1
    return count


def _ours(config: ProviderConfig) -> int:
    return sum(
        1 for _ in stream_model(config, "You review contracts.", "contract", max_tokens=CHUNKS)
    )


def _openai_sdk(url: str) -> int:
    client = openai.OpenAI(base_url=f"{url}/v1", api_key=KEY, max_retries=0)
    stream = client.chat.completions.create(
        model="bench", messages=[{"role": "user", "content": "contract"}], stream=True
    )
    return sum(1 for chunk in stream if chunk.choices and chunk.choices[0].delta.content)


def _anthropic_sdk(url: str) -> int:
    client = anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-5-5",
        max_tokens=CHUNKS,
        messages=[{"role": "user", "content": "contract"}],
    ) as stream:
        return sum(1 for _ in stream.text_stream)


def _time(upstream: FakeUpstream, run: Callable[[], int]) -> float:
    upstream.push(Script(tokens=TOKENS, coalesce=65_536))
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    if count < CHUNKS:
        raise RuntimeError(f"only {count} of {CHUNKS} chunks arrived")
    return elapsed


def run() -> list[dict]:
    results = []
    with FakeUpstream() as upstream:
        url = upstream.url
        formats = {
            "Ollama /api/chat (NDJSON)": {
                "stream_model": lambda: _ours(ProviderConfig(Provider.OLLAMA, "bench", url)),
                "floor: httpx + json.loads": lambda: _floor(
                    url, "/api/chat", {"model": "bench"}, sse=False
                ),
            },
            "OpenAI-compatible (SSE)": {
                "stream_model": lambda: _ours(
                    ProviderConfig(Provider.OPENAI, "bench", f"{url}/v1")
                ),
                "floor: httpx + json.loads": lambda: _floor(
                    url, "/v1/chat/completions", {"model": "bench"}, sse=True
                ),
                "openai SDK stream": lambda: _openai_sdk(url),
            },
            "Anthropic (SSE)": {
                "stream_model": lambda: _ours(
                    ProviderConfig(Provider.ANTHROPIC, "claude-sonnet-5-5", url, api_key=KEY)
                ),
                "floor: httpx + json.loads": lambda: _floor(
                    url, "/v1/messages", {"model": "x"}, sse=True
                ),
                "anthropic SDK text_stream": lambda: _anthropic_sdk(url),
            },
        }
        for name, clients in formats.items():
            times: dict[str, list[float]] = {client: [] for client in clients}
            for fn in clients.values():  # warm-up
                _time(upstream, fn)
            for _ in range(REPEATS):
                for client, fn in clients.items():
                    times[client].append(_time(upstream, fn))
            floor = median(times["floor: httpx + json.loads"])
            ours = median(times["stream_model"])
            for client, values in times.items():
                results.append(
                    {
                        "format": name,
                        "client": client,
                        "median_s": median(values),
                        "chunks_per_s": CHUNKS / median(values),
                        "vs_floor": median(values) / floor,
                        "stream_model_vs_this": ours / median(values),
                    }
                )
    return results
