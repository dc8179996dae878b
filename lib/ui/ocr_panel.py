"""Read an upload's image pages with OCR: the offer, the progress bar with Stop, the result.

The run is an `OcrJob` (a thread waiting on a child process); this module only draws it. Jobs and
their documents are kept in the session by the file's hash, so the Compare page and later reruns
find a scan already read instead of reading it again.
"""

from __future__ import annotations

import hashlib

import streamlit as st

from lib.analysis.documents import Document, DocumentError, NeedsOcr, document_from_ocr
from lib.analysis.ocr import ocr_status
from lib.engine.settings import Settings
from lib.runs.ocr_job import OcrJob, too_many_pages
from lib.ui.safe import label, md

JOBS_KEY = "ocr_jobs"
DOCUMENTS_KEY = "ocr_documents"
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
        done = document_from_ocr(job.result, name, len(data))
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


@st.fragment(run_every=POLL_S)
def _progress(job: OcrJob, key: str) -> None:
    """Redrawn on its own every POLL_S while the job runs; the whole page reruns once it ends."""
    if job.finished:
        st.rerun()
    if job.waiting:
        text = "Waiting for another OCR run on this server to finish…"
    else:
        text = f"Reading page {max(job.page, 1)} of {job.total} with OCR…"
    st.progress(max(0, job.page - 1) / max(job.total, 1), text=label(text))
    st.button("Stop OCR", key=f"{key}_ocr_stop", on_click=job.stop, icon=":material/stop_circle:")
