"""Portfolio page: review many contracts with one or more models (or check them against a
playbook), see every finding (or verdict) in one grid, and score the models where expert labels
exist. Layout only: the sections are in
`lib.ui.portfolio_sections`, the steps behind them in `lib.runs.portfolio_session`."""

from __future__ import annotations

import streamlit as st

from lib.store.batch_store import BatchStore
from lib.ui import portfolio_sections as sections
from lib.ui.page import current_settings, set_page, shared_run_log

set_page("Portfolio")
settings = current_settings()
run_log = shared_run_log(settings)
store = BatchStore(run_log) if run_log is not None else None
st.title("Portfolio")
st.caption(
    "Review a set of contracts with one or more models, or check them against a playbook; see "
    "every finding in one grid, and score the models where expert labels exist."
)

documents, source = sections.contracts(settings)
playbook_batch = sections.what_to_run()
choice = (
    sections.checkers(settings, source, run_log)
    if playbook_batch
    else sections.models(settings, source)
)
runner = sections.run_controls(documents, choice, settings, run_log)
if store is not None and run_log is not None:
    sections.unfinished(store, documents, choice.configs, settings, run_log)

shown = sections.shown(store, runner, run_log, settings, choice.batch_settings.template_key)
if shown is None:
    st.stop()
if shown.playbook is not None:
    sections.verdicts(
        shown.runs, shown.playbook, shown.texts, shown.waiting, shown.deleted, shown.not_started
    )
    sections.playbook_scorecard(shown.info, shown.runs, shown.playbook, store, shown.waiting)
else:
    sections.findings(
        shown.runs, shown.template_key, shown.texts, shown.waiting, shown.deleted, shown.not_started
    )
    sections.scorecard(shown.info, shown.runs, shown.texts, settings, store, shown.waiting)
