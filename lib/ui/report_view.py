"""A finished (or stopped) run: its report, outcome, figures and downloads."""

from __future__ import annotations

import streamlit as st

from lib.analysis.clauses.segment import place_label
from lib.analysis.documents import Document
from lib.analysis.grounding import (
    CheckedQuote,
    Grounding,
    QuoteCheck,
    annotate_markdown,
)
from lib.engine.errors import error_title
from lib.engine.provider_config import endpoint_label
from lib.engine.providers.registry import find_spec
from lib.engine.run_stats import RunStatus
from lib.runs.exports import report_docx, report_markdown, review_file_name
from lib.runs.launch import contract_text_for, report_grounding
from lib.runs.pricing import cache_note, cost_note
from lib.store.records import RunRecord, run_maker, thinking_label
from lib.ui.download import offer
from lib.ui.live_view import LiveReport, thought_for
from lib.ui.safe import hosts_in, label, md, show_markdown


def final_figures(record: RunRecord, *, per_row: int = 5) -> None:
    """The run's figures as metrics, `per_row` to a row: narrow columns (Compare) take fewer, so
    no label or value is cut."""
    counts = "reported by the provider" if record.tokens_reported else "estimated"
    first = "Time to first answer token" if record.thinking_tokens is not None else None
    figures = [
        (first or "Time to first token", _seconds(record.ttft_s)),
        ("Total time", _seconds(record.total_s)),
        ("Input tokens", _count(record.input_tokens)),
        ("Output tokens", _count(record.output_tokens)),
        ("Tokens/s", f"{record.tokens_per_s:.1f}" if record.tokens_per_s else "—"),
    ]
    if record.thinking_tokens is not None:
        # Thinking counted apart: the answer's speed above is over the answer alone.
        figures += [
            ("Time to first thinking token", _seconds(record.ttft_thinking_s)),
            ("Thinking time", _seconds(record.thinking_s)),
            ("Thinking tokens", thinking_label(record)),
        ]
    for start in range(0, len(figures), per_row):
        row = figures[start : start + per_row]
        for column, (name, value) in zip(st.columns(per_row), row, strict=False):
            column.metric(name, value)
    spec = find_spec(record.provider)
    notes = [(spec and spec.run_note) or f"Token counts {counts}."]
    cached = cache_note(record.provider, record.cache_write_tokens, record.cache_read_tokens)
    notes += [cached] if cached else []
    notes.append(cost_note(record.provider, record.cost_usd))
    st.caption(" ".join(notes))


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def run_outcome(record: RunRecord) -> None:
    """Status banner: stopped, error with what to do, notes such as truncation warnings."""
    if record.status is RunStatus.CANCELLED:
        if record.report:
            kept = "the partial report above is kept."
        elif record.thinking:
            kept = "the model was still thinking; its thinking so far is kept."
        else:
            kept = "the model had not begun the report."
        # Stop, or the page left or reloaded while the run streamed: both end it (nothing keeps
        # reading a model for a page nobody watches), and the analyst may not know the second.
        st.warning(
            f"Stopped — {kept} (A run stops when Stop is clicked, and when its page is left or "
            "reloaded while it runs.)",
            icon=":material/stop_circle:",
        )
    elif record.status is RunStatus.ERROR:
        title = error_title(record.error_kind)
        kept = " The partial report above is kept." if record.report else ""
        message = md(record.error_message or "")
        st.error(f"**{title}.** {message}{kept}", icon=":material/error:")
    for note in record.notes:
        st.warning(md(note))


PASSAGE_CONTEXT = 400  # characters of contract shown around a quoted passage


def _location(check: QuoteCheck, separator: str) -> str:
    """ "§12.1 · p. 3": the clause number and page of a matched passage, where known."""
    return place_label(check.clause, check.page, separator)


def _option(item: CheckedQuote) -> str:
    mark = {"verified": "✓", "close": "≈", "not_found": "✗"}[item.check.status]
    where = _location(item.check, " · ")
    words = " ".join(item.quote.text.split())
    words = words if len(words) <= 70 else words[:69] + "…"
    return f"{mark} {where + ' — ' if where else ''}“{words}”"


def passages(grounding: Grounding, text: str, *, key: str) -> None:
    """From a quote to the passage: the contract around it, the quoted words highlighted; and
    the claims of absence the clause finder contradicts."""
    found = [c for c in grounding.checked if c.check.start is not None]
    missing = [c for c in grounding.checked if c.check.status == "not_found"]
    counts = grounding.counts
    title = (
        f"Quotes checked against the contract: {counts['verified']} verified, "
        f"{counts['close']} close, {counts['not_found']} not found"
    )
    for item in grounding.disagreements:
        st.warning(label(item.message), icon=":material/search:")
    with st.expander(title, icon=":material/fact_check:"):
        if found:
            chosen = st.selectbox(
                "Open a quoted passage",
                range(len(found)),
                format_func=lambda i: _option(found[i]),
                key=f"{key}_passage",
            )
            check = found[chosen].check
            start, end = check.start or 0, check.end or 0
            before = text[max(0, start - PASSAGE_CONTEXT) : start]
            after = text[end : end + PASSAGE_CONTEXT]
            where = _location(check, ", ")
            st.caption(f"The contract{' at ' + label(where) if where else ''}:")
            st.markdown(
                f"…{label(before)} :orange-background[{label(text[start:end])}] {label(after)}…"
            )
        for item in missing:
            st.caption(f"✗ Not in the contract: “{label(item.quote.text)}”")


def thinking_panel(record: RunRecord, hosts: frozenset[str]) -> None:
    """The model's thinking, folded away above its report: kept with the run, never part of the
    report, its quote checks or its downloads. Model output: drawn through the sanitiser."""
    took = f" for {thought_for(record.thinking_s)}" if record.thinking_s is not None else ""
    with st.expander(f"Thought{took}", expanded=False, icon=":material/psychology:"):
        show_markdown(st, record.thinking, hosts)


def report_view(
    record: RunRecord,
    *,
    key: str,
    per_row: int = 5,
    contract: Document | None = None,
    shown: LiveReport | None = None,
    reviewer: str | None = None,
) -> None:
    """A finished (or stopped) report with its quote checks, figures and downloads.

    `reviewer`: who wrote it as the page names them (Compare's "Left: …"), for the files' names.

    `contract` is the session's contract; the report's quotes are checked against it when it is
    the one the run reviewed. Links in the report stay links only to hosts the contract names.
    `shown`: the live view's drawing of this run, kept in place of drawing the report again when
    it shows the same text and verdicts (`LiveReport.keep`).
    """
    who = " · ".join(
        label(part) for part in (record.document_name, run_maker(record.provider, record.model))
    )
    source = f" · {label(record.text_source)}" if record.text_source else ""
    # A model on several servers: which one answered.
    if record.served_by and record.served_by != record.endpoint:
        source += f" · served by {label(endpoint_label(record.served_by))}"
    caption = f"{who} · {record.status.label}{source}"
    grounding = report_grounding(record, contract)
    checked = grounding.checked if grounding else None
    hosts = hosts_in(contract_text_for(record, contract))
    if shown is None or not shown.keep(record.report, checked, caption, bool(record.thinking)):
        st.caption(caption)
        if record.thinking:
            thinking_panel(record, hosts)
        if record.report and checked:
            st.markdown(
                annotate_markdown(record.report, checked, sanitise=lambda text: md(text, hosts))
            )
        elif record.report:
            show_markdown(st, record.report, hosts)
    if grounding is not None and (grounding.checked or grounding.disagreements):
        passages(grounding, contract_text_for(record, contract), key=key)
    elif record.grounding_label:
        st.caption(f"Quotes checked when the run ended: {record.grounding_label}.")
    run_outcome(record)
    final_figures(record, per_row=per_row)
    if record.report:
        left, right = st.columns(2)
        offer(
            left,
            "Download Markdown",
            report_markdown(record, checked),
            file_name=review_file_name(record, "md", reviewer),
            mime="text/markdown",
            key=f"{key}_md",
        )
        offer(
            right,
            "Download Word",
            lambda: report_docx(record, checked),  # built on click: read far more than saved
            file_name=review_file_name(record, "docx", reviewer),
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"{key}_docx",
        )
