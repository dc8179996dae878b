"""Read an upload's image pages with OCR: the offer, the progress bar with Stop, the result.

The run is an `OcrJob` (a thread waiting on a child process), or for a batch's scans a
`ScanReading` over several (`lib.runs.scans`); this module only draws them, with one progress bar.
Jobs and their documents are kept in the session by the file's hash (a batch's by its files'
keys), so the Compare page and later reruns find a scan already read instead of reading it again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Protocol

import streamlit as st

from lib.analysis.documents import Document, DocumentError, NeedsOcr
from lib.analysis.ocr import ocr_status
from lib.engine.settings import Settings
from lib.runs.ocr_job import OcrJob, too_many_pages
from lib.runs.scans import Scan, ScanReading, left_out, scan_document
from lib.ui.safe import label, md

JOBS_KEY = "ocr_jobs"
DOCUMENTS_KEY = "ocr_documents"
SCAN_JOBS_KEY = "ocr_scan_jobs"  # a batch's `ScanReading`, by the section's key
SCANS_READ_KEY = "ocr_scans_read"  # a batch's scans read: key → document, or why not
POLL_S = 0.5


def ocr_panel(
    data: bytes,
    name: str,
    document: Document | None,
    scan: NeedsOcr | None,
    settings: Settings,
    *,
    key: str,
) -> Document | None:
    """The upload with OCR text when it has been read; otherwise None, with the offer to read
    it (or why it cannot be) drawn where it is called."""
    state = st.session_state
    digest = hashlib.sha256(data).hexdigest()
    read: dict[str, Document] = state.setdefault(DOCUMENTS_KEY, {})
    if digest in read:
        done = read[digest]
        st.info(
            md(f"The {done.text_source}: check key words and figures against the original."),
            icon=":material/document_scanner:",
        )
        return done
    pages = list(scan.image_pages if scan is not None else document.image_pages if document else [])
    if not pages:
        return None
    status = ocr_status()
    if not status.available:
        st.info(md(status.message), icon=":material/document_scanner:")
        return None
    jobs: dict[str, OcrJob] = state.setdefault(JOBS_KEY, {})
    job = jobs.get(digest)
    if job is None or (job.finished and job.result is None):
        if job is not None and job.error:
            shown = st.warning if job.stopped else st.error
            shown(md(job.error), icon=":material/document_scanner:")
        limits = settings.ocr_limits
        problem = too_many_pages(len(pages), limits)
        if problem is not None:
            st.warning(md(problem), icon=":material/document_scanner:")
            return None
        if not st.button(_offer(pages, scan), key=f"{key}_ocr", icon=":material/document_scanner:"):
            return None
        job = jobs[digest] = OcrJob(data, pages, limits)
    if not job.finished:
        _progress(job, key)
        return None
    if job.result is None:  # it ended between the two checks above: the next run says why
        st.rerun()
    del jobs[digest]
    try:
        done = scan_document(job, name, len(data))
    except DocumentError as exc:
        st.error(md(exc.message), icon=":material/document_scanner:")
        return None
    read[digest] = done
    st.info(md(f"The {done.text_source}."), icon=":material/document_scanner:")
    return done


def _offer(pages: list[int], scan: NeedsOcr | None) -> str:
    if scan is not None:
        return f"Read the {len(pages)}-page scan with OCR" if len(pages) > 1 else "Read it with OCR"
    if len(pages) == 1:
        return f"Read image page {pages[0]} with OCR"
    return f"Read the {len(pages)} image pages with OCR"


class Running(Protocol):
    """An OCR run as the progress bar sees it: one upload's `OcrJob` or a batch's
    `ScanReading`."""

    @property
    def finished(self) -> bool: ...

    def line(self) -> str: ...

    def fraction(self) -> float: ...

    def stop(self) -> None: ...


@st.fragment(run_every=POLL_S)
def _progress(job: Running, key: str) -> None:
    """Redrawn on its own every POLL_S while the job runs; the whole page reruns once it ends."""
    if job.finished:
        st.rerun()
    st.progress(job.fraction(), text=label(job.line()))
    st.button("Stop OCR", key=f"{key}_ocr_stop", on_click=job.stop, icon=":material/stop_circle:")


PENDING = "Read it with OCR with the button under the list."


def batch_scans(key: str) -> Callable[[Scan], Document | str]:
    """How a batch's file list takes its scans (`read_sources`' `scans`): those this session
    read with OCR as contracts, the rest left out saying why. Collects a `ScanReading` that has
    ended, so the list drawn after it holds what it read."""
    state = st.session_state
    read: dict[tuple[object, ...], Document | str] = state.setdefault(SCANS_READ_KEY, {})
    jobs: dict[str, ScanReading] = state.setdefault(SCAN_JOBS_KEY, {})
    job = jobs.get(key)
    if job is not None and job.finished:
        del jobs[key]
        read.update(job.errors)
        read.update(job.documents)
        shown = st.warning if job.stopped or job.errors else st.success
        shown(md(job.summary()), icon=":material/document_scanner:")

    def take(scan: Scan) -> Document | str:
        return read.get(scan.key) or left_out(scan.reason, PENDING)

    return take


def scans_offer(scans: Sequence[Scan], settings: Settings, *, key: str) -> None:
    """One button that reads every scan left out with OCR, then its progress with Stop; where
    this server has no OCR, nothing (each scan's message says so)."""
    if not scans or not ocr_status().available:
        return
    job = st.session_state.setdefault(SCAN_JOBS_KEY, {}).get(key)
    if job is not None:
        _progress(job, key)
        return
    offer = "Read the scan with OCR" if len(scans) == 1 else f"Read the {len(scans)} scans with OCR"
    if st.button(offer, key=f"{key}_ocr_scans", icon=":material/document_scanner:"):
        st.session_state[SCAN_JOBS_KEY][key] = ScanReading(scans, settings.ocr_limits)
        st.rerun()
