"""The Review page's long-contract panel: shows and edits the plan `lib.runs.run_plan` decides.

On by itself (and locked on) when the prompt would not fit the model's context; a local model may
choose it by hand, a choice kept for that contract only (`follow_contract`). The plan's steps are
shown before running — which pages each reads, how many tokens — and the page says under it what
the whole run will cost (`lib.runs.estimate`).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.long_plan import DEFAULT_STRATEGY, LongPlan, PlanError, Strategy, pages_label
from lib.analysis.prompts import NOT_FOUND_LABEL
from lib.runs.launch import RunRequest
from lib.runs.run_plan import context_fit, make_plan
from lib.ui.tables import dataframe

ASSUMED_CONTEXT = 8192


@st.cache_data(max_entries=8, show_spinner="Planning the review…")
def _plan(
    document: Document,
    template_key: str,
    context_length: int,
    max_tokens: int,
    strategy: Strategy,
    instructions: str,
    perspective: str,
) -> LongPlan | str:
    """The plan, or why there can be none (cached: finding clauses in a long contract takes a
    second, and the page reruns on every widget change)."""
    try:
        return make_plan(
            document,
            template_key,
            context_length=context_length,
            max_tokens=max_tokens,
            strategy=strategy,
            instructions=instructions,
            perspective=perspective,
        )
    except PlanError as exc:
        return str(exc)


# The analyst's own setting of the switch: the contract (its hash) it was made for, and the value.
CHOSEN_KEY = "long_on_chosen"


def _chosen(contract_sha256: str) -> None:
    st.session_state[CHOSEN_KEY] = (contract_sha256, st.session_state["long_on"])


def follow_contract(contract_sha256: str, fits: bool) -> None:
    """Set the switch for the contract in hand, before it is drawn.

    Locked on when the contract does not fit: a value kept from a contract or model that fitted
    showed the switch off while the run went section by section all the same. When it fits, the
    analyst's own choice for this contract is kept, and any other value is dropped for off: the
    switch locked on by a long contract stayed on for the next, short one, which was then split
    into a focused review of two calls where one pass does.
    """
    state = st.session_state
    if not fits:
        state["long_on"] = True
        return
    sha256, value = state.get(CHOSEN_KEY, ("", False))
    state["long_on"] = value if sha256 == contract_sha256 else False


def long_review_panel(request: RunRequest) -> LongPlan | None:
    """The plan to run, or None for one ordinary pass."""
    max_tokens = request.max_tokens
    fit = context_fit(request.config, request.prompt.estimated_tokens, max_tokens)
    limit, fits, prompt_tokens = fit.limit, fit.fits, fit.prompt_tokens
    if not fit.choosable:
        return None
    with st.expander("Long contract: review section by section", expanded=not fits):
        # Said once the plan is made: a contract no plan can hold is said so by the estimate
        # under the panel alone, not here as "reviewed section by section" beside an error.
        note = st.empty()
        if not fits:
            note.info(
                f"This contract (~{prompt_tokens:,} tokens) plus a {max_tokens:,}-token answer "
                f"will not fit the model's {limit:,}-token context, so it is reviewed section by "
                "section and the findings are merged into one report.",
                icon=":material/splitscreen:",
            )
        follow_contract(request.document.sha256, fits)
        on = st.toggle(
            "Review section by section",
            disabled=not fits,
            key="long_on",
            on_change=_chosen,
            args=(request.document.sha256,),
        )
        if not on:
            return None
        context = limit
        if context is None:
            context = int(
                st.number_input(
                    "Model context (tokens)",
                    1024,
                    1_000_000,
                    ASSUMED_CONTEXT,
                    step=1024,
                    key="long_context",
                    help="The server does not say; use the context it was started with.",
                )
            )
        strategy = st.radio(
            "Strategy",
            list(Strategy),
            index=list(Strategy).index(DEFAULT_STRATEGY),
            format_func=lambda s: s.label,
            horizontal=True,
            key="long_strategy",
            help="Relevant passages: per category, only what the clause finder ranks as relevant "
            "(far fewer tokens). Whole contract: every word, part by part.",
        )
        plan = _plan(
            request.document,
            request.template_key,
            context,
            max_tokens,
            strategy,
            request.instructions,
            request.perspective,
        )
        if isinstance(plan, str):
            note.empty()
            return None
        # Its calls, tokens and cost are said under the panel (`lib.ui.estimate_view`), as on
        # every page; here, each step.
        st.caption(f"Planned for a {plan.budget.context_length:,}-token context; each call:")
        dataframe(
            pd.DataFrame(
                [
                    {
                        "Step": step.label,
                        "Pages": pages_label(step.pages) or "—",
                        # A step with nothing to send makes no call (it showed "None").
                        "Tokens": (
                            f"{step.estimated_input_tokens:,}"
                            if step.local_text is None
                            else f"no call: nothing found to send ({NOT_FOUND_LABEL})"
                        ),
                    }
                    for step in plan.steps
                ]
            ),
            hide_index=True,
            width="stretch",
            height=min(400, 38 + 35 * len(plan.steps)),
        )
    return plan
