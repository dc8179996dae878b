"""Run the benchmarks and write their sections of docs/BENCHMARKS.md:
`python -m bench [--quick] [--only a,b]`.

`--only` re-runs the named benchmarks and replaces only their sections; every other section stays
as it was measured, with its own date and command.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report


@dataclass(frozen=True)
class Benchmark:
    """One section of the report: what the console says while it runs, how to run it (given the
    command-line options) and how to render its results into lines starting with a heading."""

    name: str
    label: str
    run: Callable[[argparse.Namespace], Any]
    render: Callable[[Any], list[str]]


def printed(title: str, main: Callable[[], None]) -> tuple[Callable[[Any], str], Callable]:
    """A benchmark that prints its own table and verdicts: its output goes in as printed."""

    def run(_: argparse.Namespace) -> str:
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            main()
        return buffer.getvalue()

    return run, lambda text: report.printed(title, text)


def _parsers(_: argparse.Namespace) -> Any:
    from bench import parsers

    return parsers.run()


def _browser(args: argparse.Namespace) -> Any:
    from bench import browser

    return browser.run(quick=args.quick)


def _documents(_: argparse.Namespace) -> Any:
    from bench import documents

    return documents.run()


def _builtin(_: argparse.Namespace) -> Any:
    from bench import builtin

    return builtin.run()


def _api(args: argparse.Namespace) -> Any:
    from bench import api

    return api.run(quick=args.quick)


def _batch(_: argparse.Namespace) -> Any:
    from bench import batch

    return batch.run()


def _ocr(_: argparse.Namespace) -> Any:
    from bench import ocr

    return ocr.run()


def _team(args: argparse.Namespace) -> Any:
    from bench import team

    return team.run(runs=10_000 if args.quick else 100_000)


def _long_review(args: argparse.Namespace) -> Any:
    from bench import long_review

    return {
        "results": long_review.run(quick=args.quick),
        "prefill": long_review.DEFAULT_PREFILL,
        "chars": 60_000 if args.quick else 300_000,
    }


def _thinking(args: argparse.Namespace) -> Any:
    from bench import thinking

    return thinking.run(quick=args.quick)


def _clause_eval() -> None:
    from bench import clause_eval

    clause_eval.main(["--report"])


def _clause_speed() -> None:
    from bench import clause_speed

    clause_speed.main()


def _grounding() -> None:
    from bench import grounding

    grounding.main()


def _spread() -> None:
    from bench import spread

    spread.main([])


def _sessions() -> None:
    from bench import sessions

    sessions.main([])


def _caching() -> None:
    from bench import caching

    caching.main([])


# The report's sections, in the order they appear in it.
BENCHMARKS: list[Benchmark] = [
    Benchmark("parsers", "parser throughput", _parsers, report.parsers),
    Benchmark("browser", "token to screen in Chromium", _browser, report.browser),
    Benchmark("documents", "documents", _documents, report.documents),
    Benchmark("builtin", "built-in model", _builtin, report.builtin),
    Benchmark("api", "streaming API", _api, report.api),
    Benchmark("batch", "batch throughput", _batch, report.batch),
    Benchmark("ocr", "OCR of a generated scan", _ocr, report.ocr),
    Benchmark("team", "team run log", _team, report.team),
    Benchmark("long_review", "long contracts", _long_review, report.long_review),
    Benchmark("clauses", "clause finder against expert labels", *printed(
        "Clause finder against expert labels (the report parsed back; "
        "`python -m bench.clause_eval --report`)", _clause_eval)),
    Benchmark("clause_speed", "clause finder speed", *printed(
        "Clause finder speed (`python -m bench.clause_speed`)", _clause_speed)),
    Benchmark("grounding", "quote checks", *printed(
        "Quote checks (`python -m bench.grounding`)", _grounding)),
    Benchmark("thinking", "thinking then answer in Chromium", _thinking, report.thinking),
    Benchmark("sessions", "25 analysts at once, the server's share", *printed(
        "Many analysts at once, the server's share (`python -m bench.sessions`)", _sessions)),
    Benchmark("spread", "one model on several servers", *printed(
        "One model on several servers (`python -m bench.spread`)", _spread)),
    Benchmark("caching", "prompt caching", *printed(
        "Prompt caching (`python -m bench.caching`)", _caching)),
]  # fmt: skip
SECTIONS = tuple(b.name for b in BENCHMARKS)


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


def command(argv: list[str]) -> str:
    """The command as a reader would type it again (the output path left out)."""
    kept, skip = [], False
    for arg in argv:
        if skip or arg.startswith("--output"):
            skip = arg == "--output"
            continue
        kept.append(arg)
    return "make bench" if not kept else shlex.join(["python", "-m", "bench", *kept])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter streams, for a smoke run")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--output", default="docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    wanted = args.only.split(",")
    unknown = sorted(set(wanted) - set(SECTIONS))
    if unknown:
        parser.error(f"unknown sections {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    on = machine()
    how = command(argv)
    output = Path(args.output)
    fresh: dict[str, list[str]] = {}
    for bench in BENCHMARKS:
        if bench.name not in wanted:
            continue
        print(f"{bench.label}…", flush=True)
        result = bench.run(args)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        measured = f"Measured {when} on {on}, with `{how}`."
        fresh[bench.name] = report.section(bench.name, bench.render(result), measured)
        # Written after each benchmark, so a long run interrupted later keeps what it measured.
        existing = output.read_text() if output.exists() else ""
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(report.merge(existing, fresh, SECTIONS))
        print("\n".join(fresh[bench.name]), flush=True)


if __name__ == "__main__":
    main()
