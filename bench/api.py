"""The streaming API: latency it adds per token, and 50 concurrent streams.

`python -m bench.api [--quick]`. The fake model server (in this process) stamps each token's send
time; the client stamps each token's arrival, reading either the model server directly (httpx,
one JSON line per token) or the same answer through the API (`POST /api/report`, SSE). Added
latency is the difference between the two, per percentile. The API runs as its own process, as
`make api` runs it, so its CPU time and peak memory are read from /proc alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from pathlib import Path

import httpx

from bench.stats import cpu_seconds, peak_rss_mb, percentile
from devtools.api_server import ApiServer
from devtools.fake_upstream import FakeUpstream, RequestRecord, Script

TOKEN = re.compile(r"t(\d{5})")
MODEL = "llama3.2"


def _tokens(n: int) -> list[str]:
    return [f" t{i:05d}" for i in range(n)]


def _contract(tag: str) -> str:
    return f"Contract {tag}. 1. Parties. Acme Ltd and Beta GmbH. 12.1 Liability is unlimited."


async def _direct(client: httpx.AsyncClient, upstream: str, tag: str) -> dict[int, float]:
    """Arrival time of each token, reading Ollama's /api/chat ourselves: the floor."""
    body = {
        "model": MODEL,
        "stream": True,
        "messages": [{"role": "user", "content": _contract(tag)}],
    }
    arrivals: dict[int, float] = {}
    async with client.stream("POST", f"{upstream}/api/chat", json=body) as response:
        async for line in response.aiter_lines():
            if line:
                text = json.loads(line)["message"]["content"]
                now = time.monotonic()
                for match in TOKEN.finditer(text):
                    arrivals[int(match.group(1))] = now
    return arrivals


async def _through_api(client: httpx.AsyncClient, api: str, tag: str) -> dict[int, float]:
    body = {"contract": _contract(tag), "provider": "ollama", "model": MODEL}
    arrivals: dict[int, float] = {}
    async with client.stream("POST", f"{api}/api/report", json=body) as response:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            event = json.loads(line[5:])
            now = time.monotonic()
            if event["type"] == "token":
                for match in TOKEN.finditer(event["text"]):
                    arrivals[int(match.group(1))] = now
            elif event["type"] in ("done", "error"):
                arrivals[-1] = 1.0 if event.get("status") == "done" else 0.0
    return arrivals


def _latencies(
    records: list[RequestRecord], arrivals: dict[str, dict[int, float]], n: int
) -> tuple[list[float], int]:
    """Per-token latency over every stream (matched to its upstream request by its tag), and how
    many streams delivered all n tokens."""
    latencies: list[float] = []
    complete = 0
    for tag, seen in arrivals.items():
        record = next(r for r in records if f"Contract {tag}." in json.dumps(r.body))
        latencies += [seen[i] - record.token_times[i] for i in range(n) if i in seen]
        complete += all(i in seen for i in range(n)) and seen.get(-1, 1.0) == 1.0
    return latencies, complete


async def _run_streams(
    mode: str, upstream: FakeUpstream, api_url: str, streams: int, n: int, rate: float
) -> tuple[list[float], int]:
    upstream.reset()
    upstream.default = Script(tokens=_tokens(n), delay=1 / rate, dialect="ollama")
    limits = httpx.Limits(max_connections=streams + 5)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        reader = _direct if mode == "direct" else _through_api
        target = upstream.url if mode == "direct" else api_url
        tags = [f"{mode}-{k:03d}" for k in range(streams)]
        results = await asyncio.gather(*(reader(client, target, tag) for tag in tags))
    return _latencies(upstream.streams(), dict(zip(tags, results, strict=True)), n)


def _summary(latencies: list[float]) -> dict[str, float]:
    return {
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
    }


def run(quick: bool = False) -> dict:
    n_single, n_many = (200, 150) if quick else (500, 500)
    repeats = 1 if quick else 3
    results: dict = {"single": [], "many": []}
    with tempfile.TemporaryDirectory() as tmp, FakeUpstream() as upstream:
        env = {
            "OLLAMA_HOST": upstream.url,
            "CRS_HISTORY_DB": str(Path(tmp) / "h.sqlite3"),
            # Fifty streams at once: above the default cap on runs a process streams at once.
            "CRS_MAX_CONCURRENT_RUNS": "64",
        }
        with ApiServer(env, Path(tmp) / "api.log") as api:
            for rate in (50.0, 200.0):
                for _ in range(repeats):
                    direct, _ = asyncio.run(
                        _run_streams("direct", upstream, api.url, 1, n_single, rate)
                    )
                    through, done = asyncio.run(
                        _run_streams("api", upstream, api.url, 1, n_single, rate)
                    )
                    d, a = _summary(direct), _summary(through)
                    results["single"].append(
                        {
                            "rate": rate,
                            "tokens": n_single,
                            "complete": done,
                            "direct": d,
                            "api": a,
                            "added_p50_ms": a["p50_ms"] - d["p50_ms"],
                            "added_p95_ms": a["p95_ms"] - d["p95_ms"],
                        }
                    )
            for _ in range(repeats):
                direct, direct_done = asyncio.run(
                    _run_streams("direct", upstream, api.url, 50, n_many, 50.0)
                )
                cpu_before = cpu_seconds(api.pid)
                started = time.monotonic()
                through, done = asyncio.run(
                    _run_streams("api", upstream, api.url, 50, n_many, 50.0)
                )
                wall = time.monotonic() - started
                cpu = cpu_seconds(api.pid) - cpu_before
                d, a = _summary(direct), _summary(through)
                results["many"].append(
                    {
                        "streams": 50,
                        "rate": 50.0,
                        "tokens": n_many,
                        "complete": done,
                        "direct_complete": direct_done,
                        "direct": d,
                        "api": a,
                        "added_p50_ms": a["p50_ms"] - d["p50_ms"],
                        "added_p95_ms": a["p95_ms"] - d["p95_ms"],
                        "server_cpu_s": cpu,
                        "server_cpu_share": cpu / wall,
                        "server_peak_mb": peak_rss_mb(api.pid),
                    }
                )
    return results


def render(results: dict) -> list[str]:
    """The section of docs/BENCHMARKS.md for the API."""
    lines = [
        "## 7. Streaming API (`POST /api/report`, SSE over loopback)",
        "",
        "| streams | tokens/s each | tokens each | complete | direct p50 / p95 ms | through the API p50 / p95 ms | added p50 / p95 ms | server CPU s (share of a core) | server peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["single"] + results["many"]:
        streams = row.get("streams", 1)
        cpu = (
            f"{row['server_cpu_s']:.1f} ({row['server_cpu_share']:.0%})"
            if "server_cpu_s" in row
            else "—"
        )
        memory = f"{row['server_peak_mb']:.0f}" if "server_peak_mb" in row else "—"
        lines.append(
            f"| {streams} | {row['rate']:.0f} | {row['tokens']:,} | {row['complete']}/{streams} "
            f"| {row['direct']['p50_ms']:.1f} / {row['direct']['p95_ms']:.1f} "
            f"| {row['api']['p50_ms']:.1f} / {row['api']['p95_ms']:.1f} "
            f"| {row['added_p50_ms']:.1f} / {row['added_p95_ms']:.1f} | {cpu} | {memory} |"
        )
    lines += [
        "",
        "Latency is from the fake model server's send to the client's read of each token; "
        '"direct" reads the model server with httpx, the API row reads the same answer through '
        "`POST /api/report` (one run of each, back to back). Added = API − direct at the same "
        "percentile. Target: 50 streams all complete.",
        "",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    results = run(quick=args.quick)
    print("\n".join(render(results)))


if __name__ == "__main__":
    main()
