"""Our own ceilings on one run and on the process, whatever the model server does.

A server may trickle a byte just inside the per-read timeout forever, or stream without end; and
every run holds a worker thread, a socket and a growing report in memory. So a run has a wall-time
and an output cap, and the process a cap on runs streaming at once (reviews, comparisons, API runs
and batch workers alike). The run that meets a cap ends with its partial report kept and an error
saying which cap and how to raise it. Reading uploads and OCR are bounded the same way: a cap on
document-reader children at once, and on how long one OCR run may hold the OCR reader.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from lib.analysis.ocr import DEFAULT_DPI, DEFAULT_PAGE_CAP

# 30 minutes: the tiny built-in model took 165 s for a 6,000-character contract on a laptop CPU;
# a 70B model on a small GPU can take ten times that for a long agreement.
DEFAULT_MAX_RUN_SECONDS = 1800.0
# 32,000 output tokens (the highest the page offers) are about 130,000 characters.
DEFAULT_MAX_OUTPUT_CHARS = 200_000
DEFAULT_MAX_CONCURRENT_RUNS = 16
# Bytes a model server may send without ending an event (an SSE event, an NDJSON line), per
# character of the output cap: a whole report in one event is legitimate, and JSON may spell each
# character as a 12-byte surrogate pair ("\ud83c\udf0d"); the rest is headroom for the event's
# envelope and a thinking field beside it. Past this the server is not sending a model's answer,
# and a parser would hold it all in memory waiting for the end.
EVENT_BYTES_PER_OUTPUT_CHAR = 16
# The floor, and the cap when the output cap is off: 3.2 MB, as for the default output cap.
MIN_EVENT_BYTES = EVENT_BYTES_PER_OUTPUT_CHAR * DEFAULT_MAX_OUTPUT_CHARS
# A metadata reply (a model list, a model's details): OpenRouter's list of every model it serves
# is about 1 MB, the largest we know.
MAX_METADATA_BYTES = 8 * 1024 * 1024
# Document-reader children at once (each may use CRS_PARSE_MEMORY_MB, 1 GB by default).
DEFAULT_MAX_PARSE_CHILDREN = 4
# Ten minutes: 100 scanned pages (CRS_OCR_MAX_PAGES) take about two on two cores.
DEFAULT_OCR_MAX_SECONDS = 600.0


@dataclass(frozen=True)
class RunLimits:
    """0 (or less) switches a cap off."""

    max_run_seconds: float = DEFAULT_MAX_RUN_SECONDS
    max_output_chars: int = DEFAULT_MAX_OUTPUT_CHARS
    max_concurrent_runs: int = DEFAULT_MAX_CONCURRENT_RUNS

    @property
    def max_event_bytes(self) -> int:
        """Bytes one event of the model's stream may hold (`EVENT_BYTES_PER_OUTPUT_CHAR`)."""
        return max(MIN_EVENT_BYTES, EVENT_BYTES_PER_OUTPUT_CHAR * self.max_output_chars)


def wall_time_message(seconds: float) -> str:
    return (
        f"The run was stopped after {seconds:g} s, this app's limit for one review; the report so "
        "far is kept. Use a faster model or a shorter excerpt, or ask the operator to raise "
        "CRS_MAX_RUN_SECONDS."
    )


def output_message(chars: int) -> str:
    return (
        f"The report reached {chars:,} characters, this app's limit for one review, and was "
        "stopped there; the report so far is kept. Lower the max output tokens, or ask the "
        "operator to raise CRS_MAX_OUTPUT_CHARS."
    )


def event_size_message(service: str, limit: int) -> str:
    return (
        f"{service} sent more than {limit / 1e6:g} MB without ending an event, which no model's "
        "answer needs; the run was stopped there and the report so far is kept. Check that the "
        "endpoint is a model server (the operator can raise CRS_MAX_OUTPUT_CHARS, which sets "
        "this cap)."
    )


def busy_message(limit: int, places: int = 1) -> str:
    """Why a run (`places` 1), or a comparison of `places` runs, was not started."""
    reviews = f"{limit} review{'s' if limit != 1 else ''}"
    if places == 1:
        return (
            f"This app is already running {reviews}, its limit at one time — try again in a "
            "minute (the operator can raise CRS_MAX_CONCURRENT_RUNS)."
        )
    if limit < places:
        return (
            f"A comparison runs {places} reviews at once, and this app runs at most {reviews} at"
            f" one time, so it cannot compare: ask the operator to raise CRS_MAX_CONCURRENT_RUNS"
            f" to {places} or more. Neither side was started."
        )
    return (
        f"A comparison needs {places} of this app's {limit} places for reviews at one time, and"
        " fewer are free: neither side was started. Try again in a minute (the operator can"
        " raise CRS_MAX_CONCURRENT_RUNS)."
    )


class InFlight:
    """How many of one kind of work this process is doing now, across every session, under a cap
    given per call (0 or less: no cap)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self.count = 0

    def admit(self, limit: int, places: int = 1) -> bool:
        """Count `places` more, all or none: none when fewer than `places` of `limit` are free."""
        with self._changed:
            if 0 < limit < self.count + places:
                return False
            self.count += places
            return True

    def wait_admit(self, limit: int, stop: threading.Event, step: float = 0.2) -> bool:
        """`admit`, waiting for a free place; False when `stop` is set first."""
        with self._changed:
            while not stop.is_set():
                if not 0 < limit <= self.count:
                    self.count += 1
                    return True
                self._changed.wait(step)
        return False

    def release(self) -> None:
        with self._changed:
            self.count -= 1
            self._changed.notify_all()


@dataclass(frozen=True)
class Sandbox:
    """What a document-reader child may use: address space (covers the interpreter, ~100 MB) and
    wall time; and how many children the process runs at once (0: no cap)."""

    memory_mb: int = 1_024
    seconds: float = 60.0
    max_children: int = DEFAULT_MAX_PARSE_CHILDREN


@dataclass(frozen=True)
class OcrLimits:
    """What one OCR run may cost: pages, the child's address space, and time per page (about
    1 s is usual on two cores; the rest is headroom for a slow, busy machine)."""

    page_cap: int = DEFAULT_PAGE_CAP
    memory_mb: int = 2_048
    seconds_per_page: float = 20.0
    dpi: int = DEFAULT_DPI
    base_seconds: float = 30.0  # starting the child and loading the engine, on a busy machine
    # The longest one run may hold the OCR reader, which other sessions wait for (0: no cap).
    max_seconds: float = DEFAULT_OCR_MAX_SECONDS

    def seconds(self, pages: int) -> float:
        allowed = self.base_seconds + self.seconds_per_page * pages
        return min(allowed, self.max_seconds) if self.max_seconds > 0 else allowed

    def capped(self, pages: int) -> bool:
        """Whether the run's time is the reader's cap rather than its pages' allowance."""
        return 0 < self.max_seconds < self.base_seconds + self.seconds_per_page * pages
