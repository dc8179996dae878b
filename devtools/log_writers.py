"""Several processes writing one run log at once, as several app instances do: for the tests and
the team benchmark.

Each process waits at a barrier, then opens the log (so the first migration races too) and writes
its runs as the app does: once when a run starts, again when it ends.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import queue
import sys
import time
import types
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lib.engine.run_stats import RunStatus
from lib.store.owners import Scope
from lib.store.records import RunRecord
from lib.store.run_log import RunLog


@dataclass(frozen=True)
class WriterResult:
    owner: str
    run_ids: list[str]
    migrated_steps: int
    seconds: float


def _record(owner: str, n: int) -> RunRecord:
    return RunRecord(
        page="review",
        provider="ollama",
        model="llama3.2",
        endpoint="http://localhost:11434",
        document_name=f"{owner} contract {n}.pdf",
        document_chars=1200,
        document_sha256="ab" * 32,
        template="general",
    )


def _write(target: str, owner: str, runs: int, barrier: Any, results: Any) -> None:
    barrier.wait()
    log = RunLog(target)
    mine = log.scoped(Scope(owner=owner, sees=owner))
    ids = []
    started = time.perf_counter()
    for n in range(runs):
        record = _record(owner, n)
        mine.append(record)
        record.status, record.report = RunStatus.DONE, f"report {n} for {owner}"
        mine.append(record)
        ids.append(record.run_id)
    seconds = time.perf_counter() - started
    results.put(WriterResult(owner, ids, log.migrated_steps, seconds))
    log.database.close()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """A spawned process imports its parent's `__main__` again; after a Streamlit `AppTest` that is
    the page script it ran, and every writer would run the page (and open the default run log)."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def write_concurrently(target: str, owners: list[str], runs_each: int) -> list[WriterResult]:
    """One process per owner, all started together; what each wrote and whether it migrated."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(len(owners))
    results = context.Queue()
    processes = [
        context.Process(target=_write, args=(target, owner, runs_each, barrier, results))
        for owner in owners
    ]
    with _bare_main():
        for process in processes:
            process.start()
    collected: list[WriterResult] = []
    deadline = time.monotonic() + 300
    while len(collected) < len(processes):
        with contextlib.suppress(queue.Empty):
            collected.append(results.get(timeout=0.5))
            continue
        failed = [p.exitcode for p in processes if p.exitcode not in (None, 0)]
        if failed or time.monotonic() > deadline:
            for process in processes:
                process.kill()
            raise RuntimeError(f"a writer process failed (exit codes {failed}) or never finished")
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a writer process ended with {process.exitcode}")
    return collected
