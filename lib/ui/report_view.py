"""A finished (or stopped) run: its report, outcome, figures and downloads."""

from __future__ import annotations

import streamlit as st

from lib.engine.errors import ERROR_TITLES, ErrorKind
from lib.engine.provider_config import Provider
from lib.engine.run_stats import RunStatus
from lib.runs.exports import report_docx, report_markdown
from lib.runs.records import RunRecord
from lib.ui.safe import hosts_in, label, md, show_markdown


def final_figures(record: RunRecord, *, per_row: int = 5) -> None:
    """The run's figures as metrics, `per_row` to a row: narrow columns (Compare) take fewer, so
    no label or value is cut."""
    counts = "reported by the provider" if record.tokens_reported else "estimated"
    figures = [
        ("Time to first token", _seconds(record.ttft_s)),
        ("Total time", _seconds(record.total_s)),
        ("Input tokens", _count(record.input_tokens)),
        ("Output tokens", _count(record.output_tokens)),
        ("Tokens/s", f"{record.tokens_per_s:.1f}" if record.tokens_per_s else "—"),
    ]
    for start in range(0, len(figures), per_row):
        row = figures[start : start + per_row]
        for column, (name, value) in zip(st.columns(per_row), row, strict=False):
            column.metric(name, value)
    notes = [f"Token counts {counts}."]
    if record.provider == Provider.ANTHROPIC.value:
        cost = "unknown price" if record.cost_usd is None else f"${record.cost_usd:.4f}"
        notes.append(f"Estimated cost: {cost}.")
    elif record.cost_usd == 0.0:
        notes.append("Cost: none (local model).")
    st.caption(" ".join(notes))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def run_outcome(record: RunRecord) -> None:
    """Status banner: stopped, error with what to do, notes such as truncation warnings."""
    if record.status is RunStatus.CANCELLED:
        st.warning("Stopped — the partial report above is kept.", icon=":material/stop_circle:")
    elif record.status is RunStatus.ERROR:
        title = (
            ERROR_TITLES.get(ErrorKind(record.error_kind), "Error")
            if record.error_kind
            else "Error"
        )
        kept = " The partial report above is kept." if record.report else ""
        message = md(record.error_message or "")
        st.error(f"**{title}.** {message}{kept}", icon=":material/error:")
    for note in record.notes:
        st.warning(md(note))


def report_view(
    record: RunRecord,
    *,
    key: str,
    per_row: int = 5,
    allowed_hosts: frozenset[str] | None = None,
) -> None:
    """A finished (or stopped) report with its figures and downloads.

    Links stay links only to `allowed_hosts`, by default the hosts of the contract text when the
    record kept it (otherwise none).
    """
    if allowed_hosts is None:
        allowed_hosts = hosts_in(record.contract_text or "")
    who = " · ".join(label(part) for part in (record.document_name, record.provider, record.model))
    st.caption(f"{who} · {record.status.label}")
    if record.report:
        show_markdown(st, record.report, allowed_hosts)
    run_outcome(record)
    final_figures(record, per_row=per_row)
    if record.report:
        stem = record.document_name.rsplit(".", 1)[0] or "report"
        left, right = st.columns(2)
        left.download_button(
            "Download Markdown",
            report_markdown(record),
            file_name=f"{stem} review.md",
            mime="text/markdown",
            key=f"{key}_md",
        )
        right.download_button(
            "Download Word",
            lambda: report_docx(record),  # built on click: a report is read far more than saved
            file_name=f"{stem} review.docx",
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"{key}_docx",
        )
