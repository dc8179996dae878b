"""A run's (or a batch's) plan and cost on a page, before its button is clicked.

The estimate is `lib.runs.estimate`'s, made once per set of inputs and viewer (planning a long
contract finds its clauses, a second or more, its time reads the run log, and a page reruns on
every widget change); the page starts the run with the estimate's plan, so it runs what it showed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from lib.analysis.documents import Document
from lib.engine.run_stats import RunStatus
from lib.runs.batch import BatchSettings, Checker, estimate_reviews
from lib.runs.estimate import BatchEstimate, RunEstimate, estimate_run, will_not_start
from lib.runs.launch import RunRequest
from lib.runs.run_plan import CONTEXT_TTL_S
from lib.store.records import SessionHistory
from lib.store.run_log import RunLog
from lib.ui.safe import label

Prices = Mapping[str, tuple[float, float]]


def run_estimate(request: RunRequest, prices: Prices, run_log: RunLog | None) -> RunEstimate:
    return _run_estimate(request, prices, run_log, _viewer(run_log))


def batch_estimate(
    documents: Sequence[Document],
    configs: Sequence[Checker],
    batch_settings: BatchSettings,
    prices: Prices,
    run_log: RunLog | None,
) -> BatchEstimate | None:
    return _batch_estimate(documents, configs, batch_settings, prices, run_log, _viewer(run_log))


def _viewer(run_log: RunLog | None) -> tuple[str, str | None, int] | None:
    """Whose earlier runs an estimate's time is from, and how many of this session's runs have
    ended: a cached estimate is never another's, and a run that ends is the next one's pace at
    once, not when the cached estimate expires."""
    if run_log is None:
        return None
    runs = SessionHistory.from_state(st.session_state).records
    ended = sum(r.status is not RunStatus.RUNNING for r in runs)
    return run_log.describe(), run_log.scope.sees, ended


# Kept as long as a model's context window is (`CONTEXT_TTL_S`): an estimate is of a plan for it.
@st.cache_data(max_entries=8, ttl=CONTEXT_TTL_S, show_spinner="Estimating the run…")
def _run_estimate(
    request: RunRequest, prices: Prices, _run_log: RunLog | None, viewer: object
) -> RunEstimate:
    return estimate_run(request, prices, _run_log)


@st.cache_data(max_entries=4, ttl=CONTEXT_TTL_S, show_spinner="Estimating the batch…")
def _batch_estimate(
    documents: Sequence[Document],
    configs: Sequence[Checker],
    batch_settings: BatchSettings,
    prices: Prices,
    _run_log: RunLog | None,
    viewer: object,
) -> BatchEstimate | None:
    return estimate_reviews(documents, configs, batch_settings, prices, _run_log)


def show_estimate(estimate: RunEstimate) -> None:
    """The estimate's sentence: a warning when the run cannot start."""
    if will_not_start([estimate]):
        st.warning(label(estimate.sentence), icon=":material/block:")
    else:
        st.caption(f"Estimate: {label(estimate.sentence)}")


def show_batch_estimate(estimate: BatchEstimate) -> None:
    """The batch's total, and each run's line folded away."""
    st.caption(f"Estimate: {label(estimate.sentence)}")
    with st.expander("Each run's plan, cost and time"):
        st.markdown(
            "\n".join(f"- {label(run.contract)} · {label(run.sentence)}" for run in estimate.runs)
        )
