"""A run's (or a batch's) plan and cost on a page, before its button is clicked.

The estimate is `lib.runs.estimate`'s, made once per set of inputs (planning a long contract
finds its clauses, a second or more, and a page reruns on every widget change); the page starts
the run with the estimate's plan, so it runs what it showed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import streamlit as st

from lib.analysis.documents import Document
from lib.runs.batch import BatchSettings, Checker, estimate_reviews
from lib.runs.estimate import BatchEstimate, PlanKind, RunEstimate, estimate_run
from lib.runs.launch import RunRequest
from lib.runs.run_plan import CONTEXT_TTL_S
from lib.ui.safe import label

Prices = Mapping[str, tuple[float, float]]


# Kept as long as a model's context window is (`CONTEXT_TTL_S`): an estimate is of a plan for it.
@st.cache_data(max_entries=8, ttl=CONTEXT_TTL_S, show_spinner="Estimating the run…")
def run_estimate(request: RunRequest, prices: Prices) -> RunEstimate:
    return estimate_run(request, prices)


@st.cache_data(max_entries=4, ttl=CONTEXT_TTL_S, show_spinner="Estimating the batch…")
def batch_estimate(
    documents: Sequence[Document],
    configs: Sequence[Checker],
    batch_settings: BatchSettings,
    prices: Prices,
) -> BatchEstimate | None:
    return estimate_reviews(documents, configs, batch_settings, prices)


def show_estimate(estimate: RunEstimate) -> None:
    """The estimate's sentence: a warning when the run cannot start."""
    if estimate.kind is PlanKind.TOO_LONG:
        st.warning(label(estimate.sentence), icon=":material/block:")
    else:
        st.caption(f"Estimate: {label(estimate.sentence)}")


def show_batch_estimate(estimate: BatchEstimate) -> None:
    """The batch's total, and each run's line folded away."""
    st.caption(f"Estimate: {label(estimate.sentence)}")
    with st.expander("Each run's plan and cost"):
        st.markdown(
            "\n".join(f"- {label(run.contract)} · {label(run.sentence)}" for run in estimate.runs)
        )
