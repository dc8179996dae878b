"""One model on several servers: `python -m bench.spread [--quick]`.

400 contracts through one OpenAI-compatible model listed on 4 fake servers (`OPENAI_BASE_URL`
naming all four), each answering 2 requests at once at 200 tokens/s per request — one of them half
as fast, one answering every tenth request HTTP 500 before its first token. The batch lanes spread
the runs through the endpoint pool (least busy first, a failed server cooled down, the run tried
on another). Each fake server runs in its own process, so the app's share is this process alone.

Ideal wall time = total answer tokens ÷ the servers' combined rate (2 × 200 tokens/s each, the slow
one 2 × 100): the failing server counts in full, since its failures come before any token and cost
it nothing but the cool-down, which is what the target tests. Target: within 10% of the ideal.
`--quick` runs 40 contracts (the tail of the last runs weighs more there).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.batch import contracts, fake_server, wait_up
from lib.engine.provider_config import Provider
from lib.engine.settings import load_settings
from lib.runs.batch import BatchRunner, BatchSettings
from lib.runs.endpoint_pool import POOL
from lib.runs.model_choice import ModelChoice, resolve
from lib.store.run_log import RunLog

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.10
IN_FLIGHT = 2
RATE = 200.0
TOKENS = 400


@dataclass(frozen=True)
class Server:
    name: str
    rate: float
    fail_every: int = 0


SERVERS = (
    Server("gpu1", RATE),
    Server("gpu2", RATE),
    Server("gpu3 (half as fast)", RATE / 2),
    Server("gpu4 (fails every 10th)", RATE, fail_every=10),
)


def _start(server: Server, tokens: int) -> tuple[subprocess.Popen[bytes], str]:
    return fake_server(
        "--tokens", str(tokens), "--rate", str(server.rate), "--max-in-flight", str(IN_FLIGHT),
        "--fail-every", str(server.fail_every),
    )  # fmt: skip


def _generation_requests(url: str) -> list[dict]:
    records = httpx.get(f"{url}/_control/requests", timeout=10).json()
    return [r for r in records if r["path"] == "/v1/chat/completions"]


def run(contracts_n: int = 400, tokens: int = TOKENS) -> dict:
    started_servers = [_start(server, tokens) for server in SERVERS]
    urls = [url for _, url in started_servers]
    try:
        for url in urls:
            wait_up(url)
        with tempfile.TemporaryDirectory() as tmp:
            db = Path(tmp) / "history.sqlite3"
            settings = load_settings(
                {
                    "OPENAI_BASE_URL": ",".join(f"{u}/v1" for u in urls),
                    "CRS_HISTORY_DB": str(db),
                    "CRS_BUILTIN": "off",
                }
            )
            config = resolve(ModelChoice(Provider.OPENAI, "bench"), settings, probe=False)
            log = RunLog(db)
            docs = contracts(contracts_n)
            load_before = os.getloadavg()[0]
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            runner = BatchRunner.create(
                name="spread", contracts=docs, configs=[config],
                batch_settings=BatchSettings(), settings=settings, run_log=log,
                concurrency={"openai": IN_FLIGHT},
            ).start()  # fmt: skip
            runner.wait()
            wall = time.monotonic() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            load_after = os.getloadavg()[0]
            progress = runner.progress()
            records = log.query(limit=contracts_n * 2)
            pool = POOL.snapshot(config)
        requests = {url: _generation_requests(url) for url in urls}
    finally:
        for process, _ in started_servers:
            process.terminate()
        for process, _ in started_servers:
            process.wait(10)
    served = Counter(r.served_by for r in records if r.status.value == "done")
    rows = []
    for server, url in zip(SERVERS, urls, strict=True):
        sent = requests[url]
        rows.append(
            {
                "server": server.name,
                "rate": server.rate,
                "runs_served": served[f"{url}/v1"],
                "requests": len(sent),
                "failed_before_first_token": pool[f"{url}/v1"].failed,
                "tokens_sent": sum(len(r["token_times"]) for r in sent),
                "peak_in_flight": _peak(sent),
                "measured_rate": _measured_rate(sent),
            }
        )
    total_tokens = sum(row["tokens_sent"] for row in rows)
    combined = sum(IN_FLIGHT * server.rate for server in SERVERS)
    ideal = total_tokens / combined
    # The same at the rates the servers actually delivered in this run (a loaded machine streams
    # slower than asked): what is left above it is the spreading's own cost.
    delivered = sum(IN_FLIGHT * (row["measured_rate"] or 0.0) for row in rows)
    delivered_ideal = total_tokens / delivered if delivered else None
    retried_after_token = sum(
        1 for r in records if r.status.value == "done" and r.output_tokens not in (None, tokens)
    )
    return {
        "contracts": contracts_n,
        "tokens_per_answer": tokens,
        "done": progress.done,
        "failed": progress.failed,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal,
        "delivered_ideal_s": delivered_ideal,
        "delivered_ratio": wall / delivered_ideal if delivered_ideal else None,
        "within_target": wall / ideal <= TARGET_RATIO and progress.done == contracts_n,
        "rows": rows,
        "requests": sum(row["requests"] for row in rows),
        "retries": sum(row["failed_before_first_token"] for row in rows),
        "odd_token_counts": retried_after_token,
        "app_cpu_s": (usage.ru_utime - usage_before.ru_utime)
        + (usage.ru_stime - usage_before.ru_stime),
        "load": (load_before, load_after),
        "cpus": os.cpu_count(),
    }


def _measured_rate(sent: list[dict]) -> float | None:
    """Tokens per second per request as the server sent them (first to last token)."""
    tokens = seconds = 0.0
    for r in sent:
        times = r["token_times"]
        if len(times) > 1:
            tokens += len(times) - 1
            seconds += times[-1] - times[0]
    return tokens / seconds if seconds else None


def _peak(sent: list[dict]) -> int:
    """Most requests a server held at once, from when each began and ended."""
    events = []
    for r in sent:
        end = (r["token_times"] or [r["started"]])[-1]
        events += [(r["started"], 1), (end, -1)]
    peak = now = 0
    for _, step in sorted(events, key=lambda e: (e[0], e[1])):
        now += step
        peak = max(peak, now)
    return peak


def render(result: dict) -> str:
    rows = "".join(
        f"| {row['server']} | {row['rate']:.0f} | {_number(row['measured_rate'])} | "
        f"{row['runs_served']} | {row['requests']} | "
        f"{row['failed_before_first_token']} | {row['tokens_sent']:,} | {row['peak_in_flight']} |\n"
        for row in result["rows"]
    )
    verdict = "met" if result["within_target"] else "missed"
    return (
        "## One model on several servers\n\n"
        f"{result['contracts']} contracts, one model on {len(result['rows'])} fake servers "
        f"(`OPENAI_BASE_URL` listing all), {IN_FLIGHT} requests in flight each, "
        f"{result['tokens_per_answer']} tokens per answer; each server in its own process.\n\n"
        "| server | tokens/s per request | delivered | runs served | requests "
        "| failed before first token | tokens sent | most in flight |\n"
        "|---|---|---|---|---|---|---|---|\n"
        f"{rows}\n"
        "| runs done | failed | requests sent | retried elsewhere | wall (s) | ideal (s) "
        "| wall ÷ ideal | ideal at delivered rates (s) | wall ÷ that | app CPU (s) |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
        f"| {result['done']} | {result['failed']} | {result['requests']} | {result['retries']} | "
        f"{result['wall_s']:.1f} | {result['ideal_s']:.1f} | {result['ratio']:.3f} | "
        f"{_number(result['delivered_ideal_s'])} | {_number(result['delivered_ratio'], 3)} | "
        f"{result['app_cpu_s']:.1f} |\n\n"
        "Ideal = tokens sent ÷ the servers' combined rate (the failing server counted in full: "
        "its failures come before any token). Every request is a run or a failure before the "
        "first token retried elsewhere; a run that began answering is never sent twice. "
        '"Delivered" is the rate each server actually streamed at in this run (first to last '
        "token of each request): on a loaded machine it falls below the rate asked, and the ideal "
        "at those rates isolates what spreading the runs costs. The app (records, prompts, "
        "streams, the run log) needs its CPU between runs: the machine's load average was "
        f"{result['load'][0]:.1f} before and {result['load'][1]:.1f} after, on "
        f"{result['cpus']} cores.\n\n"
        f"**Verdict: {verdict}** — wall time {result['ratio']:.2f}× the ideal "
        f"(target ≤ {TARGET_RATIO:.2f}×), {result['done']} of {result['contracts']} runs done.\n"
    )


def _number(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="40 contracts instead of 400")
    parser.add_argument("--contracts", type=int, default=None)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    n = args.contracts or (40 if args.quick else 400)
    result = run(n)
    print(json.dumps(result, indent=1) if args.json else render(result))


if __name__ == "__main__":
    main()
