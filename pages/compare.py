"""Compare page: two models review the same contract side by side, streaming at the same time."""

from __future__ import annotations

import uuid
from dataclasses import replace

import altair as alt
import streamlit as st

from lib.analysis.prompts import TEMPLATES, default_instructions
from lib.runs import catalog
from lib.runs.compare import (
    better_side,
    comparison_csv,
    display_table,
    findings_diff,
    not_run_note,
    side_labels,
    timeline_frame,
    unfinished_note,
)
from lib.runs.estimate import RunEstimate, will_not_start
from lib.runs.launch import RunRequest, launch_together
from lib.ui.download import offer
from lib.ui.estimate_view import run_estimate, show_estimate
from lib.ui.live_view import run_area, show_live
from lib.ui.page import page_context, set_page
from lib.ui.pickers import (
    DOCUMENT_KEY,
    document_input,
    generation_settings,
    no_contract,
    provider_picker,
    template_picker,
    thinking_switch,
)
from lib.ui.report_view import report_view
from lib.ui.safe import hosts_in, label
from lib.ui.tables import dataframe

set_page("Compare")
state = st.session_state
page = page_context(state, "compare")
settings, history, run_log = page.settings, page.history, page.run_log

st.title("Compare two models")
st.caption("Both models review the same contract at the same time, with the same report skeleton.")

titled = state.get(DOCUMENT_KEY)
with st.expander(
    f"Contract: {label(titled.name)}" if titled else "Contract: none yet",
    expanded=titled is None,
):
    document = document_input(settings, "compare")
    if document is not None:
        st.caption(f"{label(document.name)} · {document.char_count:,} characters")
if document != titled:
    st.rerun()  # the heading above named the contract before this one was picked

with st.sidebar:
    max_tokens, temperature = generation_settings("compare")

best = catalog.choose_default(settings)
defaults = (best, catalog.second_choice(best))
columns = st.columns(2)
configs, templates, switches = [], [], []
for side, (column, default) in enumerate(zip(columns, defaults, strict=True)):
    with column:
        st.subheader("Left" if side == 0 else "Right")
        configs.append(provider_picker(settings, f"compare{side}", default=default))
        templates.append(template_picker(st, f"compare{side}_template", "Template"))
        switches.append(thinking_switch(configs[-1], max_tokens, f"compare{side}"))

requests: list[RunRequest] = []
estimates: list[RunEstimate] = []
ready = [config for config in configs if config is not None]
if document is not None and len(ready) == len(configs):
    for column, config, template, (thinking, budget) in zip(
        columns, ready, templates, switches, strict=True
    ):
        request = RunRequest(
            page="compare",
            config=config,
            document=document,
            template_key=template,
            instructions=default_instructions(TEMPLATES[template]),
            perspective="",
            max_tokens=max_tokens,
            temperature=temperature,
            thinking=thinking,
            thinking_budget=budget,
        )
        estimate = run_estimate(request, settings.prices, run_log)
        estimates.append(estimate)
        with column:
            show_estimate(estimate)
        # Each side runs the plan it showed.
        requests.append(replace(request, plan=estimate.plan))

go_col, stop_col, _ = st.columns([1, 1, 6])
# A side its estimate says will not fit (said under it) starts neither: not offered, as on Review.
unfit = will_not_start(estimates)
compare_clicked = go_col.button(
    "Compare",
    type="primary",
    key="compare",
    width="stretch",
    disabled=unfit,
    help="A side does not fit its model (said under it), and a comparison runs both sides or "
    "neither."
    if unfit
    else None,
)
stop_col.button("Stop", key="compare_stop", width="stretch", help="Stop both runs")

with run_area(state, "compare", compare_clicked):
    if compare_clicked:
        if document is None:
            st.info(
                no_contract(
                    "compare", "Paste or upload a contract first (or load one on the Review page)."
                ),
                icon=":material/edit_note:",
            )
        elif None in configs:
            st.info("Pick an available model on both sides first.", icon=":material/tune:")
        else:
            comparison_id = uuid.uuid4().hex
            together = [replace(r, comparison_id=comparison_id) for r in requests]
            # Both sides or neither: one started alone would be billed for half a comparison.
            runs = launch_together(together, history=history, run_log=run_log, settings=settings)
            state["comparison_id"] = comparison_id
            lives = [live for _, live in runs]
            for shown in show_live(state, "compare", lives, allowed_hosts=hosts_in(document.text)):
                # The finished reports are drawn below, side by side with their figures.
                shown.clear()
            state["compare_stats"] = {record.run_id: live.stats for record, live in runs}

    comparison_id = state.get("comparison_id")
    records = [
        r for r in reversed(history.records) if comparison_id and r.comparison_id == comparison_id
    ]
    if len(records) == 2:
        labels = side_labels(records)
        report_columns = st.columns(2)
        for i, (column, record) in enumerate(zip(report_columns, records, strict=True)):
            with column:
                report_view(
                    record,
                    key=f"compare_report{i}",
                    per_row=3,
                    contract=document,
                    reviewer=labels[i],
                )
        st.subheader("Comparison")
        if (not_run := not_run_note(records)) is not None:
            # Refused before either side began: each side says why above, and there is nothing
            # to compare.
            st.warning(label(not_run), icon=":material/block:")
        else:
            table = display_table(records)
            winners = better_side(records)

            def highlight(row):
                index = winners.get(row.name)
                return [
                    "background-color: #d4edda; font-weight: 600" if i == index else ""
                    for i in range(len(row))
                ]

            dataframe(table.style.apply(highlight, axis=1), width="stretch")
            diff = findings_diff(records)
            if (note := unfinished_note(records)) is not None:
                st.caption(label(note))
            diff_columns = st.columns(2)
            for column, side, record in zip(diff_columns, labels, records, strict=True):
                flagged = diff[side]
                column.markdown(f"**Flagged only by {label(side)}**")
                if not all(r.report for r in records):
                    column.caption(
                        "Nothing to compare: this run wrote no report."
                        if not record.report
                        else "Nothing to compare: the other run wrote no report."
                    )
                elif flagged:
                    column.markdown(
                        "\n".join(
                            f"- {label(category)} — {label(severity)}"
                            for category, severity in flagged.items()
                        )
                    )
                else:
                    column.caption("Nothing the other model missed.")
            stats = [state.get("compare_stats", {}).get(r.run_id) for r in records]
            if all(stats) and any(r.report for r in records):
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
            # Each report's own downloads (with its quote checks) are under it, in `report_view`.
            offer(st, "Comparison (CSV)", comparison_csv(records), "comparison.csv", "text/csv")
