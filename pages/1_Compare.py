"""Compare page: two models review the same contract side by side, streaming at the same time."""

from __future__ import annotations

import time
import uuid

import altair as alt
import streamlit as st

from lib.analysis.documents import Document, DocumentError, document_from_text, load_document
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES, default_instructions
from lib.engine.provider_config import Provider
from lib.runs.compare import (
    better_side,
    comparison_csv,
    display_table,
    findings_diff,
    side_labels,
    stop_all,
    timeline_frame,
    watch,
)
from lib.runs.exports import report_markdown
from lib.runs.launch import launch
from lib.ui import widgets as ui
from lib.ui.segments import SegmentedText

st.set_page_config(page_title="Compare · Contract Review Studio", page_icon="⚖️", layout="wide")
state = st.session_state
page = ui.page_context(state, "compare")
settings, history, run_log = page.settings, page.history, page.run_log

st.title("Compare two models")
st.caption("Both models review the same contract at the same time, with the same report skeleton.")

document: Document | None = state.get("document")
with st.expander(
    f"Contract: {document.name}" if document else "Contract: none yet", expanded=document is None
):
    pasted = st.text_area("Paste a contract", key="compare_text", height=150)
    upload = st.file_uploader(
        "…or upload one", type=["pdf", "docx", "txt", "md"], key="compare_file"
    )
    if upload is not None:
        try:
            document = load_document(upload.getvalue(), upload.name)
        except DocumentError as exc:
            st.error(exc.message)
    elif pasted.strip():
        document = document_from_text(pasted)
    if document is not None:
        state["document"] = document
        st.caption(f"{document.name} · {document.char_count:,} characters")

defaults = (Provider.OLLAMA, Provider.ANTHROPIC if settings.anthropic_api_key else None)
columns = st.columns(2)
configs, templates = [], []
for side, (column, default) in enumerate(zip(columns, defaults, strict=True)):
    with column:
        st.subheader("Left" if side == 0 else "Right")
        configs.append(ui.provider_picker(settings, f"compare{side}", default=default))
        templates.append(
            st.selectbox(
                "Template",
                list(TEMPLATES),
                index=list(TEMPLATES).index(DEFAULT_TEMPLATE_KEY),
                format_func=lambda key: TEMPLATES[key].title,
                key=f"compare{side}_template",
            )
        )

with st.sidebar:
    max_tokens, temperature = ui.generation_settings()

go_col, stop_col, _ = st.columns([1, 1, 6])
compare_clicked = go_col.button("Compare", type="primary", key="compare", width="stretch")
stop_col.button("Stop", key="compare_stop", width="stretch", help="Stop both runs")

if compare_clicked:
    if document is None:
        st.info("Paste or upload a contract first (or load one on the Review page).", icon="✍️")
    elif None in configs:
        st.info("Pick an available model on both sides first.", icon="⚙️")
    else:
        comparison_id = uuid.uuid4().hex
        runs = [
            launch(
                page="compare",
                config=config,
                document=document,
                template_key=template,
                instructions=default_instructions(TEMPLATES[template]),
                perspective="",
                max_tokens=max_tokens,
                temperature=temperature,
                history=history,
                run_log=run_log,
                settings=settings,
                comparison_id=comparison_id,
            )
            for config, template in zip(configs, templates, strict=True)
        ]
        state["comparison_id"] = comparison_id
        lives = [live for _, live in runs]
        ui.remember_active(state, "compare", lives)
        stream_columns = st.columns(2)
        figures = [col.empty() for col in stream_columns]
        slots = [col.empty() for col in stream_columns]
        areas = [slot.container() for slot in slots]
        live_text = [area.empty() for area in areas]
        texts = [SegmentedText(), SegmentedText()]
        last_figures = 0.0
        try:
            for step in watch(lives):
                now = time.monotonic()
                for i in step.order:
                    live = lives[i]
                    if step.texts[i]:
                        finished = texts[i].add(step.texts[i])
                        if finished is not None:
                            live_text[i].markdown(finished)
                            live_text[i] = areas[i].empty()
                        live_text[i].markdown(texts[i].live)
                    elif not live.stats.text:
                        live_text[i].caption(ui.waiting_line(live.stats))
                if now - last_figures >= ui.FIGURES_REFRESH_S:
                    last_figures = now
                    for figure, live in zip(figures, lives, strict=True):
                        figure.caption(ui.format_figures(live.stats, now))
        finally:
            stop_all(lives)
            state.get(ui.ACTIVE_RUNS_KEY, {}).pop("compare", None)
        state["compare_stats"] = {record.run_id: live.stats for record, live in runs}
        for placeholder in (*figures, *slots):
            placeholder.empty()

comparison_id = state.get("comparison_id")
records = [
    r for r in reversed(history.records) if comparison_id and r.comparison_id == comparison_id
]
if len(records) == 2:
    labels = side_labels(records)
    report_columns = st.columns(2)
    for i, (column, record) in enumerate(zip(report_columns, records, strict=True)):
        with column:
            ui.report_view(record, key=f"compare_report{i}")
    st.subheader("Comparison")
    table = display_table(records)
    winners = better_side(records)

    def highlight(row):
        index = winners.get(row.name)
        return [
            "background-color: #d4edda; font-weight: 600" if i == index else ""
            for i in range(len(row))
        ]

    st.dataframe(table.style.apply(highlight, axis=1), width="stretch")
    diff = findings_diff(records)
    diff_columns = st.columns(2)
    for column, label in zip(diff_columns, labels, strict=True):
        flagged = diff[label]
        column.markdown(f"**Flagged only by {label}**")
        if flagged:
            column.markdown(
                "\n".join(f"- {category} — {severity}" for category, severity in flagged.items())
            )
        else:
            column.caption("Nothing the other model missed.")
    stats = [state.get("compare_stats", {}).get(r.run_id) for r in records]
    if all(stats):
        frame = timeline_frame(stats, labels)
        chart = (
            alt.Chart(frame)
            .mark_line(interpolate="step-after")
            .encode(
                x=alt.X("seconds:Q", title="Seconds since the request"),
                y=alt.Y("tokens:Q", title="Tokens (estimated)"),
                color=alt.Color("model:N", title="Model"),
            )
        )
        st.altair_chart(chart, width="stretch")
    downloads = st.columns(3)
    for column, label, record in zip(downloads, labels, records, strict=False):
        column.download_button(
            f"Report: {label}",
            report_markdown(record),
            f"{record.model} review.md",
            "text/markdown",
            key=f"download_{record.run_id}",
        )
    downloads[2].download_button(
        "Comparison (CSV)", comparison_csv(records), "comparison.csv", "text/csv"
    )
