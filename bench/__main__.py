"""Run every benchmark and write docs/BENCHMARKS.md: `python -m bench [--quick] [--only a,b]`."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bench import (
    builtin,
    caching,
    clause_eval,
    clause_speed,
    documents,
    grounding,
    long_review,
    parsers,
    spread,
)
from bench.report import render

# Benchmarks whose own printed tables go into the report as they are: (section, title, run).
PRINTED: list[tuple[str, str, Callable[[], None]]] = [
    (
        "clauses",
        "Clause finder against expert labels (the report parsed back; `python -m bench.clause_eval`)",
        lambda: clause_eval.main(["--report"]),
    ),
    ("clause_speed", "Clause finder speed (`python -m bench.clause_speed`)", clause_speed.main),
    ("grounding", "Quote checks (`python -m bench.grounding`)", grounding.main),
    (
        "spread",
        "One model on several servers (`python -m bench.spread`)",
        lambda: spread.main([]),
    ),
    (
        "sessions",
        "Many analysts at once, the server's share (`python -m bench.sessions`)",
        lambda: __import__("bench.sessions", fromlist=["main"]).main([]),
    ),
    ("caching", "Prompt caching (`python -m bench.caching`)", lambda: caching.main([])),
]
SECTIONS = (
    "parsers",
    "browser",
    "documents",
    "builtin",
    "long_review",
    "batch",
    "api",
    "ocr",
    "team",
    *(name for name, _, _ in PRINTED),
    "thinking",
)


def printed(run: Callable[[], None]) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        run()
    return buffer.getvalue()


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    chromium = subprocess.run(
        ["chromium", "--version"], capture_output=True, text=True
    ).stdout.strip()
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, Python {platform.python_version()}, {chromium}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter streams, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS))
    parser.add_argument("--output", default="docs/BENCHMARKS.md")
    args = parser.parse_args()
    wanted = args.only.split(",")
    results: dict = {}
    if "parsers" in wanted:
        print("parser throughput…", flush=True)
        results["parsers"] = parsers.run()
    if "browser" in wanted:
        from bench import browser

        print("token to screen in Chromium…", flush=True)
        results["browser"] = browser.run(quick=args.quick)
    if "documents" in wanted:
        print("documents…", flush=True)
        results["documents"] = documents.run()
    if "builtin" in wanted:
        print("built-in model…", flush=True)
        results["builtin"] = builtin.run()
    if "api" in wanted:
        from bench import api

        print("streaming API…", flush=True)
        results["api"] = api.run(quick=args.quick)
    if "batch" in wanted:
        from bench import batch

        print("batch throughput…", flush=True)
        results["batch"] = batch.run()
    if "ocr" in wanted:
        from bench import ocr

        print("OCR of a generated scan…", flush=True)
        results["ocr"] = ocr.run()
    if "team" in wanted:
        from bench import team

        print("team run log…", flush=True)
        results["team"] = team.run(runs=10_000 if args.quick else 100_000)
    if "long_review" in wanted:
        print("long contracts…", flush=True)
        chars = 60_000 if args.quick else 300_000
        results["long_review"] = {
            "results": long_review.run(quick=args.quick),
            "prefill": long_review.DEFAULT_PREFILL,
            "chars": chars,
        }
    for name, title, run in PRINTED:
        if name in wanted:
            print(f"{name}…", flush=True)
            text = printed(run)
            body = text if "|" in text else f"```\n{text.rstrip()}\n```"
            results.setdefault("printed", []).append((title, body))
    if "thinking" in wanted:
        from bench import thinking

        print("thinking then answer in Chromium…", flush=True)
        results["thinking"] = thinking.run(quick=args.quick)
    command = "make bench" if not args.quick else "python -m bench --quick"
    text = render(results, machine(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), command)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
