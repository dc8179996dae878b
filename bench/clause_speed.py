"""Clause finder speed on a 100-page contract: `python -m bench.clause_speed`.

The contract is built by joining the bundled CUAD sample contracts until it reaches about
250,000 characters (roughly 100 pages). Target: classified in at most 1 s.
"""

from __future__ import annotations

import statistics
import time

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.report import write_report
from lib.analysis.samples import all_samples

TARGET_CHARS = 250_000
RUNS = 5


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


def _median_seconds(action) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    text = long_contract()
    find = _median_seconds(lambda: find_clauses(text))
    report = _median_seconds(lambda: "".join(write_report("long", text, "general", None)))
    print(f"contract: {len(text):,} characters, {len(text.split()):,} words")
    print(f"find_clauses, median of {RUNS}: {find:.3f} s (target ≤ 1 s)")
    print(f"write_report (includes find_clauses), median of {RUNS}: {report:.3f} s")


if __name__ == "__main__":
    main()
