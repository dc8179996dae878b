"""OCR of an upload's image pages off the page's thread, in a child process with limits.

Why a child: OCR renders untrusted pages with PDFium and reads them with Tesseract, both native
code, at up to hundreds of megabytes a page. In `lib.analysis.ocr_worker` a crash, a page that
inflates past memory or a run that never ends costs that child only; Stop ends it at once instead
of after the page being read. Why a thread here: the script thread must stay free to redraw the
progress bar and take the Stop click; the thread only waits on the child and keeps plain fields.
It never calls Streamlit.

Results go into `lib.analysis.ocr.CACHE` under the key `ocr_pdf` uses, so the same file is read
once per server whichever page or run asks for it again. At most `MAX_AT_ONCE` children read at a
time: Tesseract uses every core it is given, and a second run would only slow both. So that one
upload cannot keep every other session waiting, a run holds that place for at most
`OcrLimits.max_seconds` (CRS_OCR_MAX_SECONDS), whatever its page count allows.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from lib.analysis import ocr
from lib.engine.limits import OcrLimits

ROOT = Path(__file__).resolve().parents[2]
WORKER = ("-m", "lib.analysis.ocr_worker")
MAX_AT_ONCE = 1
# Passed on to the child: where Tesseract's models are, if the operator says.
CHILD_ENVIRONMENT = ("TESSDATA_PREFIX", "OMP_THREAD_LIMIT")


def too_many_pages(pages: int, limits: OcrLimits) -> str | None:
    """Why a scan this long is not read in one run, before anything starts."""
    if pages <= limits.page_cap:
        return None
    return (
        f"{pages:,} pages need OCR; the limit is {limits.page_cap:,} pages in one run (about "
        f"{limits.page_cap // 60 + 1} minutes). Split the PDF and upload the part to review."
    )


def cached(data: bytes, pages: Sequence[int], limits: OcrLimits) -> ocr.OcrResult | None:
    result = ocr.CACHE.get(_key(data, pages, limits))
    return None if result is None else result.copy()


def _key(data: bytes, pages: Sequence[int], limits: OcrLimits) -> tuple:
    return ocr.cache_key(data, list(pages), limits.dpi, ocr.DEFAULT_ENGINE.name)


_SLOTS = threading.BoundedSemaphore(MAX_AT_ONCE)
_WAIT_STEP_S = 0.2


DEFAULT_OCR_LIMITS = OcrLimits()


class OcrJob:
    """One OCR run of `pages` of a PDF. Read `page`/`total` for progress, `result` or `error`
    once `finished`."""

    def __init__(
        self,
        data: bytes,
        pages: Sequence[int],
        limits: OcrLimits = DEFAULT_OCR_LIMITS,
        worker: Sequence[str] | None = None,
    ) -> None:
        """`worker` is the child's Python arguments (default `WORKER`; tests put a crashing or
        hanging one there)."""
        self.pages = sorted(set(pages))
        self.total = len(self.pages)
        self.page = 0  # the page being read, 1-based among `pages`; 0 before the first
        self.waiting = False  # for another session's OCR to finish
        self.result: ocr.OcrResult | None = None
        self.error: str | None = None
        self.stopped = False
        self._expired = False
        self._data = data
        self._limits = limits
        self._worker = tuple(WORKER if worker is None else worker)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ocr", daemon=True)
        self._thread.start()

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def line(self) -> str:
        """Where the run is, as every front end words it."""
        if self.waiting:
            return "Waiting for another OCR run on this server to finish…"
        return f"Reading page {max(self.page, 1)} of {self.total} with OCR…"

    def fraction(self) -> float:
        """The share of pages read (the page being read not yet counted)."""
        return max(0, self.page - 1) / max(self.total, 1)

    def stop(self) -> None:
        """End the run now: the child is killed mid-page rather than finishing it."""
        self._stop.set()
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _run(self) -> None:
        key = _key(self._data, self.pages, self._limits)
        hit = ocr.CACHE.get(key)
        if hit is not None:
            self.page = self.total
            self.result = hit.copy()
            return
        problem = too_many_pages(self.total, self._limits)
        if problem is not None:
            self.error = problem
            return
        if not _SLOTS.acquire(blocking=False):
            self.waiting = True
            while not _SLOTS.acquire(timeout=_WAIT_STEP_S):
                if self._stop.is_set():
                    self.waiting = False
                    self._stopped()
                    return
        try:
            self.waiting = False
            if self._stop.is_set():
                self._stopped()
                return
            result = self._read()
        finally:
            _SLOTS.release()
        if result is not None:
            ocr.CACHE.put(key, result)
            self.result = result.copy()

    def _stopped(self) -> None:
        self.stopped = True
        done = max(0, self.page - 1)
        self.error = f"OCR was stopped after {done} of {self.total} pages; nothing was changed."

    def _read(self) -> ocr.OcrResult | None:
        seconds = self._limits.seconds(self.total)
        command = [
            sys.executable,
            *self._worker,
            str(self._limits.memory_mb),
            str(round(2 * seconds)),  # CPU seconds: Tesseract may keep both cores busy
        ]
        environment = {"PYTHONPATH": str(ROOT)}
        environment |= {
            name: value for name in CHILD_ENVIRONMENT if (value := os.environ.get(name))
        }
        header = {"pages": self.pages, "page_cap": self._limits.page_cap, "dpi": self._limits.dpi}
        with self._lock:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
                env=environment,
            )
        process = self._process
        timer = threading.Timer(seconds, self._expire)
        timer.start()
        try:
            return self._talk(process, json.dumps(header).encode() + b"\n" + self._data, seconds)
        finally:
            timer.cancel()
            if process.poll() is None:
                process.kill()
            process.wait()

    def _expire(self) -> None:
        self._expired = True
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                self._process.kill()

    def _talk(
        self, process: subprocess.Popen[bytes], message: bytes, seconds: float
    ) -> ocr.OcrResult | None:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(message)
            process.stdin.close()
        except (BrokenPipeError, OSError):
            pass  # the child is gone: its exit code below says why
        answer: dict = {}
        for line in process.stdout:
            try:
                said = json.loads(line)
            except ValueError:
                continue
            if "page" in said:
                self.page = int(said["page"])
            else:
                answer = said
        process.wait()
        if self._stop.is_set():
            self._stopped()
            return None
        if self._expired and self._limits.capped(self.total):
            self.error = (
                f"OCR was stopped on page {self.page} of {self.total} after {seconds:.0f} s, this "
                "server's limit for one OCR run (others wait for it). Split the PDF and read the "
                "parts one by one, or ask the operator to raise CRS_OCR_MAX_SECONDS."
            )
            return None
        if self._expired:
            self.error = (
                f"OCR took longer than {seconds:.0f} s and was stopped on page {self.page} of "
                f"{self.total}. Split the PDF, or try again when the server is less busy."
            )
            return None
        if "result" in answer:
            return ocr.OcrResult(**answer["result"])
        if answer.get("error") == "memory" or (not answer and process.returncode != 0):
            self.error = (
                f"OCR stopped on page {max(self.page, 1)} of {self.total}: reading it needed more "
                f"than the {self._limits.memory_mb:,} MB allowed, or the page could not be "
                "processed. The file may be damaged; print it to a new PDF and try again."
            )
            return None
        self.error = str(answer.get("error") or "OCR ended without a result.")
        return None
