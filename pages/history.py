"""History page: the runs in the run log this viewer may see — filter, page through, reopen,
delete, export, chart. Only one page of runs is read at a time, with a count of all that match, so
a team's log of a hundred thousand runs opens as fast as an analyst's first dozen."""

from __future__ import annotations

from datetime import datetime, timedelta

import altair as alt
import streamlit as st

from lib.analysis.plural import counted
from lib.engine.run_stats import RunStatus
from lib.store.batch_store import BatchStore
from lib.store.playbook_store import PlaybookStore
from lib.store.records import (
    VERDICT_NAMES,
    grounding_by_model,
    provider_label,
    records_to_dataframe,
    run_maker,
    verdicts_by_checker,
)
from lib.store.run_log import RECORDED_BY, export_csv, export_json
from lib.ui.download import offer
from lib.ui.identity import scope_caption
from lib.ui.page import current_settings, set_page, shared_run_log
from lib.ui.pickers import DOCUMENT_KEY, kept
from lib.ui.playbook_view import playbook_record_view
from lib.ui.portfolio_view import stored_scorecards
from lib.ui.report_view import report_view
from lib.ui.safe import label
from lib.ui.tables import dataframe, date_window, history_column_config, rows_key, viewer_zone

set_page("History")
PAGE_SIZES = [50, 200, 1000]
CHART_RUNS = 2000
EXPORT_HELP = "The runs on this page, with their reports (more runs per page export more)."
settings = current_settings()
state = st.session_state
st.title("History")
log = shared_run_log(settings)
if log is None:
    st.info(
        "The run log is switched off (CRS_HISTORY=off), so runs are kept only for the browser "
        "session. Set CRS_HISTORY=on to keep every run.",
        icon=":material/history:",
    )
    st.stop()

# Each filter is kept while the analyst is on another page (`kept`), as the other pages' choices.
filters = st.columns([1, 1, 1, 1.4, 1.2])
known_providers, known_models = log.distinct("provider"), log.distinct("model")
status_values = [status.value for status in RunStatus]
zone, zone_name = viewer_zone()
today = datetime.now(zone).date()
keep = {
    "f_provider": kept("f_provider", allowed=known_providers),
    "f_model": kept("f_model", allowed=known_models),
    "f_status": kept("f_status", allowed=status_values),
    "f_dates": kept("f_dates", (today - timedelta(days=30), today)),
    "f_document": kept("f_document"),
    "f_page_size": kept("f_page_size", allowed=PAGE_SIZES),
}
providers = filters[0].multiselect(
    "Provider", known_providers, format_func=provider_label, key="f_provider",
    on_change=keep["f_provider"],
)  # fmt: skip
models = filters[1].multiselect("Model", known_models, key="f_model", on_change=keep["f_model"])
statuses = filters[2].multiselect(
    "Status",
    status_values,
    format_func=lambda value: RunStatus(value).label,
    key="f_status",
    on_change=keep["f_status"],
)
dates = filters[3].date_input("Dates", key="f_dates", on_change=keep["f_dates"])
document = filters[4].text_input(
    "Document name contains", key="f_document", on_change=keep["f_document"]
)
since, until = date_window(dates, zone)
filters_now = dict(
    provider=providers, model=models, status=statuses, since=since, until=until, document=document
)
matching = log.count(**filters_now)
paging = st.columns([1, 1, 4])
page_size = paging[0].selectbox(
    "Runs per page", PAGE_SIZES, key="f_page_size", on_change=keep["f_page_size"]
)
pages = max(1, -(-matching // page_size))
if state.get("f_page", 1) > pages:
    state["f_page"] = pages
page_number = paging[1].number_input("Page", 1, pages, step=1, key="f_page")
records = log.query(**filters_now, limit=page_size, offset=(int(page_number) - 1) * page_size)
st.caption(
    f"{counted(matching, 'run')} match{'es' if matching == 1 else ''} "
    f"({label(scope_caption(log.scope))}) · page {page_number} of"
    f" {pages:,} · {log.describe()}"
)

if not records:
    st.info(f"No runs match. Every review and playbook check from {RECORDED_BY} appears here.")
    stored_scorecards(BatchStore(log))
    st.stop()

frame = records_to_dataframe(records, zone)
state["log_ids"] = list(frame.index)
if (done := state.pop("history_deleted", None)) is not None:
    st.success(done)
event = dataframe(
    frame,
    column_config=history_column_config(zone_name),
    hide_index=True,
    width="stretch",
    on_select="rerun",
    selection_mode="multi-row",
    key=rows_key("log_table", state["log_ids"]),
)
selected = [state["log_ids"][row] for row in event.selection.rows if row < len(state["log_ids"])]

exports = st.columns([1, 1, 4])
offer(
    exports[0],
    "Export CSV",
    export_csv(records),
    "contract-review-history.csv",
    "text/csv",
    help=EXPORT_HELP,
)
offer(
    exports[1],
    "Export JSON",
    export_json(records),
    "contract-review-history.json",
    "application/json",
    help=EXPORT_HELP,
)

if selected:
    st.divider()
    if len(selected) == 1:
        record = log.get(selected[0])
        if record is not None and record.kind == "playbook":
            st.subheader(f"Playbook check: {label(record.document_name)}")
            playbook_record_view(record, PlaybookStore(log), state.get(DOCUMENT_KEY), "history")
        elif record is not None:
            st.subheader(f"Report: {label(record.document_name)}")
            report_view(record, key="history", contract=state.get(DOCUMENT_KEY))
    # Confirmed for these very runs: another selection must be confirmed again.
    confirm = st.checkbox(
        f"Yes, delete the {counted(len(selected), 'selected run')} permanently",
        key=rows_key("confirm", selected),
    )
    if st.button("Delete selected", disabled=not confirm, key="delete"):
        deleted = log.delete(selected)
        state["history_deleted"] = f"Deleted {counted(deleted, 'run')}."
        st.rerun()

# The charts read the newest matching runs (without their reports), not just this page.
charted = log.query(**filters_now, limit=CHART_RUNS, with_text=False)
chart_frame = records_to_dataframe(charted, zone)
finished = chart_frame[chart_frame["status"] == RunStatus.DONE.label].copy()
if not finished.empty:
    st.divider()
    st.subheader("Speed by provider and model")
    st.caption("Complete runs only: a stopped or failed run's speed is not its model's.")
    makers = {r.run_id: run_maker(r.provider, r.model) for r in charted}
    finished["who"] = [makers[run_id] for run_id in finished.index]
    charts = st.columns(2)
    for column, field, title in (
        (charts[0], "tokens_per_s", "Generation speed (tokens/s)"),
        (charts[1], "ttft_s", "Time to first answer token (s)"),
    ):
        data = finished.dropna(subset=[field])[["who", "provider", field]]
        if data.empty:
            column.caption(
                f"{title}: no complete run here measured one (the clause finder has no speed)."
            )
            continue
        base = alt.Chart(data, title=title).encode(
            x=alt.X(f"{field}:Q", title=title, scale=alt.Scale(zero=False)),
            y=alt.Y("who:N", title=None),
            color=alt.Color("provider:N", legend=None),
        )
        # Each run as a tick over the box: runs of one speed made a box too thin to see.
        ticks = base.mark_tick(thickness=2, opacity=0.7).encode(
            tooltip=["who:N", alt.Tooltip(f"{field}:Q", format=".2f")]
        )
        column.altair_chart(base.mark_boxplot(extent="min-max") + ticks, width="stretch")

verdicts = verdicts_by_checker(charted)
if not verdicts.empty:
    st.subheader("Playbook checks: positions by verdict, by checker")
    chart = (
        alt.Chart(verdicts)
        .mark_bar()
        .encode(
            x=alt.X("sum(positions):Q", stack="normalize", title="Share of positions"),
            y=alt.Y("who:N", title=None),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(
                    domain=list(VERDICT_NAMES.values()),
                    range=["#2e7d32", "#c62828", "#9e9e9e", "#1565c0", "#ef6c00"],
                ),
                title="Verdict",
            ),
            tooltip=["who", "verdict", "sum(positions)"],
        )
    )
    st.altair_chart(chart, width="stretch")
grounding = grounding_by_model(charted)
if not grounding.empty:
    st.subheader("Quotes checked against the contract, by provider and model")
    chart = (
        alt.Chart(grounding)
        .mark_bar()
        .encode(
            x=alt.X("sum(quotes):Q", stack="normalize", title="Share of quotes"),
            y=alt.Y("who:N", title=None),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(
                    domain=["verified", "close", "not found"],
                    range=["#2e7d32", "#ef6c00", "#c62828"],
                ),
                title="Verdict",
            ),
            tooltip=["who", "verdict", "sum(quotes)"],
        )
    )
    st.altair_chart(chart, width="stretch")
stored_scorecards(BatchStore(log))
