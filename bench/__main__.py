"""Run every benchmark and write docs/BENCHMARKS.md: `python -m bench [--quick] [--only a,b]`."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from bench import builtin, documents, parsers
from bench.report import render

SECTIONS = ("parsers", "browser", "documents", "builtin", "api")


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
    command = "make bench" if not args.quick else "python -m bench --quick"
    text = render(results, machine(), datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), command)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
