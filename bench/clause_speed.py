"""Clause finder speed on a 100-page contract, and the clause model's size and load time:
`python -m bench.clause_speed`.

The contract is built by joining the bundled CUAD sample contracts until it reaches about
250,000 characters (roughly 100 pages). Targets: classified in at most 1 s; the model file a few
MB at most. Rules alone are timed beside rules + model, so the model's own cost shows.
"""

from __future__ import annotations

import statistics
import time

from bench.verdict import Verdict, lines
from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.model import MODEL_PATH, read_model
from lib.analysis.clauses.report import write_report
from lib.analysis.samples import all_samples

TARGET_CHARS = 250_000
RUNS = 5
SECONDS_TARGET = 1.0
MODEL_MB_TARGET = 5.0  # "a few MB at most"


def long_contract() -> str:
    parts: list[str] = []
    size = 0
    for sample in all_samples():
        if size >= TARGET_CHARS:
            break
        text = sample.text
        parts.append(text)
        size += len(text)
    return "\n\n".join(parts)[:TARGET_CHARS]


def _median_seconds(action, clock=time.perf_counter) -> float:
    times = []
    for _ in range(RUNS):
        started = clock()
        action()
        times.append(clock() - started)
    return statistics.median(times)


def main() -> None:
    text = long_contract()
    started = time.perf_counter()
    read_model(MODEL_PATH)
    load = time.perf_counter() - started
    model_mb = MODEL_PATH.stat().st_size / 1e6
    print(f"clause model: {model_mb:.1f} MB, read in {load:.3f} s (once)")
    find_clauses(text)  # loads the model once, as the app does
    rules = _median_seconds(lambda: find_clauses(text, model=False))
    find = _median_seconds(lambda: find_clauses(text))
    report = _median_seconds(lambda: "".join(write_report("long", text, "general", None)))
    print(f"contract: {len(text):,} characters, {len(text.split()):,} words")
    # CPU time as well: on a busy machine wall time measures the neighbours.
    cpu_rules = _median_seconds(lambda: find_clauses(text, model=False), time.process_time)
    cpu = _median_seconds(lambda: find_clauses(text), time.process_time)
    print(f"find_clauses, rules alone, median of {RUNS}: {rules:.3f} s ({cpu_rules:.3f} s CPU)")
    print(f"find_clauses, rules + model, median of {RUNS}: {find:.3f} s ({cpu:.3f} s CPU)")
    print(f"write_report (includes find_clauses), median of {RUNS}: {report:.3f} s")
    print()
    verdicts = [
        Verdict("find_clauses, rules + model, CPU", cpu, SECONDS_TARGET, " s", "{:.3f}"),
        Verdict("clause model file", model_mb, MODEL_MB_TARGET, " MB", "{:.1f}"),
    ]
    print("\n".join(lines(verdicts)).rstrip())


if __name__ == "__main__":
    main()
