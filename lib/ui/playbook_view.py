"""Playbook widgets: pick or upload a playbook, and show a check's verdicts with the Word file.

Every text shown here comes from a contract or a playbook file, so it goes to the page only as
table cells (drawn as plain text) or through `lib.ui.safe`.
"""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.playbook.format import PlaybookResult, Verdict
from lib.analysis.playbook.loader import (
    PlaybookError,
    bundled_playbooks,
    dump_playbook,
    parse_playbook,
)
from lib.runs.playbook_word import WordFileError, playbook_docx
from lib.ui.safe import label

UPLOAD = "Upload a playbook (.toml)…"
EVIDENCE_CHARS = 300
VERDICT_ICON = {Verdict.MEETS: "✅ meets", Verdict.DEVIATES: "❌ deviates",
                Verdict.NOT_ADDRESSED: "⚪ not addressed"}  # fmt: skip


def playbook_picker(key: str):
    """The chosen playbook, or None while an upload is missing or refused."""
    books = bundled_playbooks()
    choice = st.selectbox(
        "Playbook", [*books, UPLOAD], format_func=lambda k: books[k].name if k in books else k,
        key=f"{key}_choice",
    )  # fmt: skip
    if choice in books:
        book = books[choice]
    else:
        upload = st.file_uploader("Playbook file", type=["toml"], key=f"{key}_file")
        if upload is None:
            return None
        try:
            book = parse_playbook(upload.getvalue(), upload.name)
        except PlaybookError as exc:
            st.error(label(f"{upload.name} is not a usable playbook:"), icon=":material/rule:")
            st.dataframe(pd.DataFrame({"Problem": exc.problems}), hide_index=True)
            return None
    if book.attribution:
        st.caption(label(book.attribution))
    st.download_button(
        "Download this playbook (TOML)", dump_playbook(book), f"{book.id}.toml", "application/toml",
        key=f"{key}_download",
    )  # fmt: skip
    return book


def uploaded_docx(key: str, document: Document) -> bytes | None:
    """The uploaded Word file behind `document`, so comments land in the analyst's own file."""
    upload = st.session_state.get(f"{key}_file")
    if document.kind != "docx" or upload is None or upload.name != document.name:
        return None
    return upload.getvalue()


def verdict_rows(result: PlaybookResult) -> pd.DataFrame:
    rows = []
    for r in result.results:
        position = result.playbook.position(r.position_id)
        first = r.evidence[0] if r.evidence else None
        where = f"clause {first.clause}" if first and first.clause else ""
        if first and first.page:
            where = f"{where}, page {first.page}".lstrip(", ")
        rows.append(
            {
                "Position": position.title if position else r.position_id,
                "Severity": position.severity.value if position else "",
                "Verdict": VERDICT_ICON[r.verdict] if r.verdict else "needs a model",
                "Reason": r.reason,
                "Evidence": first.text[:EVIDENCE_CHARS] if first else "",
                "Where": where,
            }
        )
    return pd.DataFrame(rows)


def show_playbook_result(
    result: PlaybookResult, text: str, name: str, original: bytes | None = None
) -> None:
    st.subheader("Verdicts")
    st.markdown(label(result.summary()))
    st.dataframe(verdict_rows(result), hide_index=True, width="stretch")
    try:
        data = playbook_docx(result, text, original)
    except WordFileError as exc:
        st.warning(label(f"No Word file: {exc}"), icon=":material/description:")
        return
    stem = PurePath(name or "contract").stem or "contract"
    st.download_button(
        "Download Word file with comments and tracked changes", data,
        f"{stem} - {result.playbook.id} playbook.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    )  # fmt: skip
