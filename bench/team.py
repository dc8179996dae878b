"""A team's run log: `python -m bench.team [--runs 100000 --writers 3 --writes 300]`.

For an SQLite file and a throwaway PostgreSQL cluster (durable commits, as a real server), each
holding 100,000 runs of 20 analysts: the time the History page needs to open (the filter lists, the
count, one page of 50 runs with their reports, the newest 2,000 for the charts) and to filter
(provider, status, dates and a document-name substring), for an admin who sees every run and for
one analyst; target ≤ 1 s each. Then three processes, started together, each write runs as the
app does (a row when a run starts, the same row again when it ends): runs and writes per second.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from devtools.log_writers import write_concurrently
from devtools.postgres import PostgresUnavailable, throwaway_cluster
from lib.engine.run_stats import RunStatus
from lib.store.owners import Scope
from lib.store.records import RunRecord
from lib.store.run_log import RunLog

TARGET_S = 1.0
OWNERS = [f"analyst{n:02d}@firm.example" for n in range(20)]
PROVIDERS = {
    "ollama": ["llama3.2", "qwen3:8b", "gemma3:4b"],
    "openai": ["gpt-oss-20b", "mistral-small"],
    "anthropic": ["claude-sonnet-5-5", "claude-haiku-5-5"],
    "builtin": ["gemma-3-270m"],
}
REPORT = "## Overall risk: MEDIUM\n" + "The indemnity clause is one-sided. " * 30
REPEATS = 5


def _records(count: int, seed: int = 7) -> list[RunRecord]:
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    for n in range(count):
        provider = rng.choice(list(PROVIDERS))
        out.append(
            RunRecord(
                page="review",
                provider=provider,
                model=rng.choice(PROVIDERS[provider]),
                endpoint="http://localhost:11434",
                document_name=f"{rng.choice(['MSA', 'NDA', 'Lease', 'SOW'])} {n}.pdf",
                document_chars=rng.randint(5_000, 200_000),
                document_sha256=f"{n:064x}",
                template="general",
                started=now - timedelta(seconds=n * 60),
                status=rng.choice([RunStatus.DONE] * 8 + [RunStatus.ERROR, RunStatus.CANCELLED]),
                ttft_s=rng.uniform(0.2, 3.0),
                tokens_per_s=rng.uniform(10, 120),
                report=REPORT,
                owner=OWNERS[n % len(OWNERS)],
            )
        )
    return out


def _fill(log: RunLog, count: int) -> float:
    started = time.perf_counter()
    records = _records(count)
    for chunk in range(0, count, 5_000):
        log.append_many(records[chunk : chunk + 5_000])
    return time.perf_counter() - started


def _history(log: RunLog, filters: dict[str, Any]) -> None:
    """What pages/history.py reads from the log on one run of the page."""
    log.distinct("provider")
    log.distinct("model")
    log.count(**filters)
    log.query(**filters, limit=50, offset=0)
    log.query(**filters, limit=2000, with_text=False)


def _timed(action: Callable[[], None]) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(target: str, runs: int, writers: int, writes: int) -> dict[str, Any]:
    log = RunLog(target)
    fill_s = _fill(log, runs)
    now = datetime.now(UTC)
    filtered = {
        "provider": ["anthropic"],
        "status": ["done"],
        "since": now - timedelta(days=60),
        "until": now,
        "document": "lease",
    }
    viewers = {"admin (all runs)": log, "one analyst": log.scoped(Scope(OWNERS[3], OWNERS[3]))}
    rows = []
    for who, view in viewers.items():
        rows.append(
            {
                "viewer": who,
                "visible": view.count(),
                "open_s": _timed(lambda view=view: _history(view, {})),
                "filter_s": _timed(lambda view=view: _history(view, filtered)),
                "matching": view.count(**filtered),
            }
        )
    log.database.close()
    results = write_concurrently(target, [f"writer{n}" for n in range(writers)], writes)
    wall = max(r.seconds for r in results)
    total = writers * writes
    return {
        "runs": runs,
        "fill_s": fill_s,
        "history": rows,
        "writers": writers,
        "runs_written": total,
        "write_wall_s": wall,
        "runs_per_s": total / wall,
        "writes_per_s": 2 * total / wall,
    }


def run(runs: int = 100_000, writers: int = 3, writes: int = 300) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        out["SQLite"] = measure(str(Path(folder) / "history.sqlite3"), runs, writers, writes)
    try:
        with throwaway_cluster(durable=True) as cluster:
            out["PostgreSQL"] = measure(cluster.create_database("bench"), runs, writers, writes)
    except PostgresUnavailable as exc:
        out["PostgreSQL"] = {"skipped": str(exc)}
    return out


def render(result: dict[str, Any]) -> str:
    lines = [
        "## Team run log (History over 100,000 runs; writers in 3 processes)",
        "",
        "`python -m bench.team`. History = the page's reads on one run: both filter lists, the",
        "count, a page of 50 runs with reports, the newest 2,000 for the charts (median of 5).",
        "Filter: provider, status, 60 days and a document-name substring. Target ≤ 1 s.",
        "",
        "| database | viewer | runs visible | open (s) | filter (s) | matching |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in result.items():
        if "skipped" in figures:
            lines.append(f"| {name} | skipped: {figures['skipped']} | | | | |")
            continue
        for row in figures["history"]:
            lines.append(
                f"| {name} | {row['viewer']} | {row['visible']:,} | {row['open_s']:.3f} |"
                f" {row['filter_s']:.3f} | {row['matching']:,} |"
            )
    lines += [
        "",
        "| database | processes | runs written | wall (s) | runs/s | row writes/s |",
        "|---|---|---|---|---|---|",
    ]
    for name, figures in result.items():
        if "skipped" not in figures:
            lines.append(
                f"| {name} | {figures['writers']} | {figures['runs_written']} |"
                f" {figures['write_wall_s']:.2f} | {figures['runs_per_s']:.0f} |"
                f" {figures['writes_per_s']:.0f} |"
            )
    lines += [
        "",
        "Each run is two row writes (when it starts, when it ends), each its own committed",
        "transaction; PostgreSQL runs with fsync on, SQLite in WAL mode with its default",
        "synchronous setting.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--writers", type=int, default=3)
    parser.add_argument("--writes", type=int, default=300, help="runs each writer makes")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(args.runs, args.writers, args.writes)
    print(json.dumps(result, indent=1) if args.json else render(result))


if __name__ == "__main__":
    main()
