"""Reading a scanned PDF with OCR: the one way every front end does it.

A scan (`NeedsOcr`: a PDF with no text layer) becomes a contract only through `OcrJob` — the same
child process, limits (`Settings.ocr_limits`, the page cap of `too_many_pages`) and server-wide
cache on every front end — and `scan_document`, the one step from its result to a `Document`. The
Review and Compare pages draw one `OcrJob` themselves (the page must stay free to redraw); the
Portfolio page reads a batch's scans in a `ScanReading` thread; crs-batch calls `read_scan`, which
blocks. Where a scan is not read, `left_out` says why and how to have it read, or, when this
server has no OCR, what to install.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lib.analysis.documents import Document, DocumentError, document_from_ocr
from lib.analysis.ocr import ocr_status
from lib.analysis.plural import counted
from lib.engine.limits import OcrLimits
from lib.runs.ocr_job import OcrJob, too_many_pages

_WAIT_S = 0.2


@dataclass(frozen=True)
class Scan:
    """A file that is a scan: no contract until OCR has read `pages` of it."""

    name: str
    key: tuple[object, ...]  # its source file's key: changes when its content does
    data: Callable[[], bytes]
    reason: str  # `NeedsOcr.reason`: that it is a scan, of how many pages
    pages: tuple[int, ...]


def left_out(reason: str, how: str) -> str:
    """Why a scan is not in the batch: `reason`, then `how` the front end reads it — or, when
    this server cannot run OCR, why not and what to install (no offer it could not keep)."""
    status = ocr_status()
    return f"{reason} {how if status.available else status.message}"


def scan_document(job: OcrJob, name: str, size_bytes: int) -> Document:
    """A finished job's text as the contract, or a `DocumentError` saying why OCR did not read
    it (stopped, over a limit, a page it could not process, no text found)."""
    if job.result is None:
        raise DocumentError(f"“{name}”: {job.error or 'OCR ended without a result.'}")
    return document_from_ocr(job.result, name, size_bytes)


def read_scan(
    data: bytes,
    name: str,
    pages: Sequence[int],
    limits: OcrLimits,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[OcrJob], None] | None = None,
) -> Document:
    """The scan read with OCR, blocking until it is (a few seconds a page, from the cache at
    once); `DocumentError` when it cannot be. `stop` ends the run mid-page; `on_progress` sees
    the job every fraction of a second while it runs."""
    status = ocr_status()
    if not status.available:
        raise DocumentError(f"“{name}” was not read with OCR: {status.message}")
    problem = too_many_pages(len(pages), limits)
    if problem is not None:
        raise DocumentError(f"“{name}”: {problem}")
    job = OcrJob(data, pages, limits)
    try:
        while not job.finished:
            if stop is not None and stop.is_set():
                job.stop()
            if on_progress is not None:
                on_progress(job)
            job.join(_WAIT_S)
    except BaseException:  # Ctrl-C or a terminating signal: the child must not read on
        job.stop()
        raise
    if on_progress is not None:
        on_progress(job)
    return scan_document(job, name, len(data))


def no_ocr_here(scan: Scan) -> str | None:
    """Why a batch leaves `scan` out before trying OCR — this server has none, and what to
    install — or None when it would read it (`take_scan`; an estimate counts it unread)."""
    status = ocr_status()
    return None if status.available else f"{scan.reason} {status.message}"


def take_scan(
    scan: Scan,
    limits: OcrLimits,
    *,
    stop: threading.Event | None = None,
    on_progress: Callable[[OcrJob], None] | None = None,
) -> Document | str:
    """A batch's scan read with OCR (`read_scan`), or why it is left out: the reason OCR could
    not read it, or that this server has no OCR and what to install."""
    if (cannot := no_ocr_here(scan)) is not None:
        return cannot
    try:
        return read_scan(
            scan.data(), scan.name, scan.pages, limits, stop=stop, on_progress=on_progress
        )
    except DocumentError as exc:
        return exc.message
    except OSError as exc:  # a folder's file gone or unreadable since it was listed
        return f"“{scan.name}” could not be read again: {exc.strerror}"


class ScanReading:
    """A batch's scans read with OCR one after another off the page's thread, each by
    `read_scan`; read `line()` and `fraction()` for progress. Once `finished`, `documents` holds
    each scan read and `errors` why the others were not, both by the scan's key."""

    def __init__(self, scans: Sequence[Scan], limits: OcrLimits) -> None:
        self.scans = list(scans)
        self.documents: dict[tuple[object, ...], Document] = {}
        self.errors: dict[tuple[object, ...], str] = {}
        self.index = 0  # the scan being read, 0-based
        self.job: OcrJob | None = None
        self._limits = limits
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocr-scans", daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def stop(self) -> None:
        """End the scan being read now, and read no more; those read so far are kept."""
        self._stop.set()
        job = self.job
        if job is not None:
            job.stop()

    def line(self) -> str:
        scan = self.scans[min(self.index, len(self.scans) - 1)]
        job = self.job
        where = job.line() if job is not None else "Starting OCR…"
        return f"Scan {self.index + 1} of {len(self.scans)}, “{scan.name}”: {where}"

    def fraction(self) -> float:
        job = self.job
        within = job.fraction() if job is not None else 0.0
        return min(1.0, (self.index + within) / max(len(self.scans), 1))

    def summary(self) -> str:
        """What the run did, for the page to say once it has ended."""
        read = counted(len(self.documents), "scan")
        if self.stopped:
            return f"OCR was stopped: {read} read, the rest left out."
        if self.errors:
            return f"{read} read with OCR; {counted(len(self.errors), 'scan')} could not be read."
        return f"{read} read with OCR."

    def _watch(self, job: OcrJob) -> None:
        self.job = job

    def _run(self) -> None:
        for index, scan in enumerate(self.scans):
            self.index = index
            if self._stop.is_set():
                break
            self.job = None
            taken = take_scan(scan, self._limits, stop=self._stop, on_progress=self._watch)
            if isinstance(taken, Document):
                self.documents[scan.key] = taken
            elif not self._stop.is_set():  # a scan stopped mid-way is not a failure
                self.errors[scan.key] = taken
