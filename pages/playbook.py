"""Playbook page: check a contract against a playbook with the built-in checker or any model,
the verdicts filling in live, and optionally a second checker beside it."""

from __future__ import annotations

import uuid

import streamlit as st

from lib.runs.compare import side_names
from lib.runs.estimate import RunEstimate, will_not_start
from lib.runs.playbook_run import PlaybookRequest, start_playbooks
from lib.store.playbook_store import PlaybookStore
from lib.ui.page import page_context, set_page
from lib.ui.pickers import document_input, generation_settings, kept
from lib.ui.playbook_view import (
    checker_picker,
    playbook_picker,
    remember,
    show_check_estimate,
    show_last,
    show_live_checks,
)

set_page("Playbook")
state = st.session_state
page = page_context(state, "playbook")
settings, history, run_log = page.settings, page.history, page.run_log
st.title("Playbook")
st.caption("Each position of a playbook checked against the contract, with its evidence.")
document = document_input(settings, key="playbook")
with st.sidebar:
    max_tokens, temperature = generation_settings("playbook")
left, right = st.columns(2)
with left:
    book = playbook_picker("playbook_book", PlaybookStore(run_log) if run_log else None)
with right:
    picks = [checker_picker(settings, "playbook_a")]
    keep = kept("playbook_compare")
    if st.toggle("Compare with a second checker", key="playbook_compare", on_change=keep):
        picks.append(checker_picker(settings, "playbook_b", "Second checker"))
estimates: list[RunEstimate | None] = []
if document is not None and book is not None:
    with right:  # each model's check said before the click, a warning where it will not fit
        for pick in picks:
            estimate = show_check_estimate(
                PlaybookRequest(
                    document, book, pick.config, max_tokens=max_tokens, temperature=temperature
                ),
                settings,
                run_log,
            )
            estimates.append(estimate)
ready = document is not None and book is not None and all(p.ready for p in picks)
# A check its estimate says will not fit (said above) is not offered, as on Review and Compare.
ready = ready and not will_not_start(estimates)
check_col, stop_col, _ = st.columns([1, 1, 6])
clicked = check_col.button(
    "Check", type="primary", disabled=not ready, key="playbook_check", width="stretch"
)
# Any click ends a running check (it keeps and records the verdicts it reached); this one says so.
stop_col.button("Stop", key="playbook_stop", width="stretch", help="Stop the running check")
# The live check above, the last result below in a placeholder of its own: drawn anew, a
# placeholder's first element replaces the last result at once, where a reused container kept it,
# faded, under the table that fills in.
live_area, last_area = st.container(), st.empty()
if clicked and document is not None and book is not None:
    comparison_id = uuid.uuid4().hex if len(picks) > 1 else None
    requests = [
        PlaybookRequest(
            document,
            book,
            pick.config,
            max_tokens=max_tokens,
            temperature=temperature,
            comparison_id=comparison_id,
        )
        for pick in picks
    ]
    # Two checkers compared: both models start, or neither (one alone is half a comparison).
    runs = start_playbooks(requests, history=history, run_log=run_log, settings=settings)
    names = [pick.name for pick in picks]
    if len(names) == 2:
        names = list(side_names(names))
    remember(state, document, runs, names)
    with live_area:
        show_live_checks(state, "playbook", runs, names)
if document is not None:
    with last_area.container():
        show_last(state, document, "playbook")
