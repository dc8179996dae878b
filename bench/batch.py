"""Batch throughput: `python -m bench.batch [--contracts 100 --concurrency 8 --rate 200]`.

100 contracts through one OpenAI-compatible endpoint answering at 200 tokens/s per request, with
8 requests in flight. The ideal wall time is total tokens ÷ (concurrency × rate); the target is to
stay within 15% of it. The fake model server runs in its own process, so the CPU time and memory
measured here are the app server's share alone: prompts, streaming, the run log and the batch
store, as when the Portfolio page runs a batch.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from devtools.api_server import free_port
from lib.analysis.documents import Document
from lib.analysis.samples import all_samples
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.runs.batch import BatchRunner, BatchSettings
from lib.store.run_log import RunLog

ROOT = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.15


def fake_server(*options: str) -> tuple[subprocess.Popen[bytes], str]:
    """The fake model server in a process of its own (so its event loop does not share the app's
    interpreter), on a free loopback port, with `devtools.fake_upstream`'s command-line options."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.fake_upstream", "--port", str(port), *options],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return process, f"http://127.0.0.1:{port}"


def wait_up(url: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{url}/v1/models", timeout=1)
            return
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise RuntimeError("a fake model server did not start") from None
            time.sleep(0.1)


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def contracts(n: int) -> list[Document]:
    """`n` contracts cut from the bundled sample (first 20,000 characters each, names unique)."""
    samples = all_samples()
    out = []
    for i in range(n):
        sample = samples[i % len(samples)]
        text = sample.text[:20_000]
        out.append(Document(f"{i:03d}-{sample.file_name}", text, "txt", len(text)))
    return out


def run(
    contracts_n: int = 100, concurrency: int = 8, rate: float = 200.0, tokens: int = 400
) -> dict:
    server, url = fake_server("--tokens", str(tokens), "--rate", str(rate))
    try:
        wait_up(url)
        with tempfile.TemporaryDirectory() as tmp:
            log = RunLog(Path(tmp) / "history.sqlite3")
            settings = Settings(history_db_path=Path(tmp) / "history.sqlite3")
            docs = contracts(contracts_n)
            rss_before = _rss_mib()
            usage_before = resource.getrusage(resource.RUSAGE_SELF)
            started = time.monotonic()
            runner = BatchRunner.create(
                name="bench", contracts=docs,
                configs=[ProviderConfig(Provider.OPENAI, "bench", f"{url}/v1")],
                batch_settings=BatchSettings(), settings=settings, run_log=log,
                concurrency={"openai": concurrency},
            ).start()  # fmt: skip
            peak_rss = rss_before
            while not runner.finished:
                peak_rss = max(peak_rss, _rss_mib())
                time.sleep(0.05)
            wall = time.monotonic() - started
            usage = resource.getrusage(resource.RUSAGE_SELF)
            progress = runner.progress()
            records = log.query(limit=contracts_n * 2)
    finally:
        server.terminate()
        server.wait(10)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    total_tokens = tokens * contracts_n
    ideal = total_tokens / (concurrency * rate)
    ttfts = sorted(r.ttft_s for r in records if r.ttft_s is not None)
    return {
        "contracts": contracts_n,
        "concurrency": concurrency,
        "rate": rate,
        "tokens_per_answer": tokens,
        "done": progress.done,
        "failed": progress.failed,
        "wall_s": wall,
        "ideal_s": ideal,
        "ratio": wall / ideal,
        "within_target": wall / ideal <= TARGET_RATIO,
        "cpu_s": cpu,
        "cpu_share": cpu / wall,
        "rss_before_mib": rss_before,
        "rss_peak_mib": peak_rss,
        "ttft_p50_s": ttfts[len(ttfts) // 2] if ttfts else None,
        "logged_runs": len(records),
        "cpus": os.cpu_count(),
    }


def render(result: dict) -> str:
    return (
        "## 7. Batch throughput\n\n"
        f"{result['contracts']} contracts, one OpenAI-compatible endpoint at {result['rate']:.0f} "
        f"tokens/s per request, {result['tokens_per_answer']} tokens per answer, "
        f"{result['concurrency']} requests in flight (fake model server in its own process).\n\n"
        "| runs done | failed | wall (s) | ideal (s) | wall ÷ ideal | app CPU (s) | app CPU share "
        "| RSS before → peak (MiB) | TTFT p50 (s) |\n|---|---|---|---|---|---|---|---|---|\n"
        f"| {result['done']} | {result['failed']} | {result['wall_s']:.1f} | "
        f"{result['ideal_s']:.1f} | {result['ratio']:.3f} | {result['cpu_s']:.1f} | "
        f"{result['cpu_share']:.0%} | {result['rss_before_mib']:.0f} → "
        f"{result['rss_peak_mib']:.0f} | {result['ttft_p50_s']:.3f} |\n\n"
        "Ideal = total tokens ÷ (concurrency × rate); target: within 15% of it. With 100 contracts "
        "and 8 slots the last round holds 4 runs, so even perfect scheduling takes 13 rounds of the "
        "12.5 the formula assumes (4% above ideal).\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--tokens", type=int, default=400)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.contracts, args.concurrency, args.rate, args.tokens)
    print(json.dumps(result, indent=1) if args.json else render(result))
    if not result["within_target"]:
        print(f"wall time {result['ratio']:.2f}× the ideal: above the 15% target", file=sys.stderr)


if __name__ == "__main__":
    main()
