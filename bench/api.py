"""The streaming API: latency it adds per token, 50 concurrent streams, and how soon a stop
reaches the model server.

`python -m bench.api [--quick]`. The fake model server (in this process) stamps each token's send
time; the client stamps each token's arrival, reading either the model server directly (httpx,
one JSON line per token) or the same answer through the API (`POST /api/report`, SSE). Added
latency is the difference between the two, per percentile. The API runs as its own process, as
`make api` runs it, so its CPU time and peak memory are read from /proc alone.

Stops are timed from the client's act (closing the stream, `DELETE /api/runs/{id}`) to the model
server seeing its request end; a resumable run left by its client is timed from the close to the
end of its grace period. The tests assert only that each happens: the figures live here.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from bench.stats import cpu_seconds, peak_rss_mb, percentile
from devtools.api_server import ApiServer
from devtools.fake_upstream import FakeUpstream, RequestRecord, Script

TOKEN = re.compile(r"t(\d{5})")
MODEL = "llama3.2"
GRACE_S = 0.6
STOPS = ("client closes the stream", "DELETE /api/runs/{id}", f"resumable run, {GRACE_S} s grace")


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
            "CRS_API_RESUME_GRACE": str(GRACE_S),
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
            results["stops"] = _stops(upstream, api.url, 3 if quick else 10)
    return results


def _stops(upstream: FakeUpstream, url: str, repeats: int) -> dict[str, list[float]]:
    """Seconds from each kind of stop to the model server seeing its request end."""
    close, delete, grace = STOPS
    seen: dict[str, list[float]] = {kind: [] for kind in STOPS}
    for _ in range(repeats):
        for kind in STOPS:
            upstream.push(Script(tokens=_tokens(400), delay=0.05))
            body = {"contract": _contract(kind), "provider": "ollama", "model": MODEL}
            body["resume"] = kind != close
            with (
                httpx.Client(timeout=30) as client,
                client.stream("POST", f"{url}/api/report", json=body) as response,
            ):
                run_id = _read_tokens(response.iter_lines(), 3)
                record = upstream.streams()[-1]
                if kind == delete:
                    stopped = time.monotonic()
                    client.delete(f"{url}/api/runs/{run_id}")
            if kind in (close, grace):
                stopped = time.monotonic()  # the stream is closed: the client has gone
            if not upstream.wait_for_disconnect(30, record) or record.disconnected_at is None:
                raise RuntimeError(f"{kind}: the model server never saw the stop")
            seen[kind].append(record.disconnected_at - stopped)
    return seen


def _read_tokens(lines: Iterator[str], count: int) -> str:
    """Read a run's events until `count` tokens came; its run id."""
    run_id, tokens = "", 0
    for line in lines:
        if not line.startswith("data:"):
            continue
        event = json.loads(line.removeprefix("data:"))
        run_id = str(event.get("run_id", run_id))
        tokens += event.get("type") == "token"
        if tokens >= count:
            return run_id
    raise RuntimeError("the stream ended before its tokens came")


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
    if "stops" in results:
        lines += [
            "| stop | runs | to the model server p50 / max ms |",
            "|---|---|---|",
        ]
        for kind, seconds in results["stops"].items():
            lines.append(
                f"| {kind} | {len(seconds)} | {percentile(seconds, 50) * 1000:.0f} / "
                f"{max(seconds) * 1000:.0f} |"
            )
        lines += [
            "",
            "From the client's act to the model server seeing the request end (a 400-token answer "
            "at 20 tokens/s, stopped after its third token). Targets: under 200 ms for a close or "
            f"a DELETE; the grace period plus under 300 ms ({GRACE_S} s set here by "
            "CRS_API_RESUME_GRACE). The tests only assert that each stop happens.",
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
