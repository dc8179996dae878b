"""The Review page's long-contract panel: whether to review section by section, and the plan.

On by itself (and locked on) when the prompt would not fit the model's context; a local model may
choose it by hand. The plan is shown before running — how many calls, which pages each reads, how
many tokens — so an analyst sees what the review will cost before starting it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lib.analysis.documents import Document
from lib.analysis.long_plan import (
    DEFAULT_STRATEGY,
    LongPlan,
    PlanError,
    Strategy,
    pages_label,
    plan_long_review,
)
from lib.analysis.prompts import TEMPLATES, fits_context
from lib.engine.provider_config import ProviderConfig
from lib.runs.launch import long_review_allowed, model_context

ASSUMED_CONTEXT = 8192


@st.cache_data(max_entries=8, show_spinner="Planning the review…")
def _plan(
    template_key: str,
    text: str,
    name: str,
    context_length: int,
    max_tokens: int,
    strategy: Strategy,
    instructions: str,
    perspective: str,
    page_starts: tuple[int, ...] | None,
) -> LongPlan | str:
    """The plan, or why there can be none (cached: finding clauses in a long contract takes a
    second, and the page reruns on every widget change)."""
    try:
        return plan_long_review(
            TEMPLATES[template_key],
            text,
            name,
            context_length=context_length,
            max_tokens=max_tokens,
            strategy=strategy,
            instructions=instructions,
            perspective=perspective,
            page_starts=list(page_starts) if page_starts else None,
        )
    except PlanError as exc:
        return str(exc)


def long_review_panel(
    config: ProviderConfig,
    document: Document,
    template_key: str,
    instructions: str,
    perspective: str,
    max_tokens: int,
    prompt_tokens: int,
) -> LongPlan | None:
    """The plan to run, or None for one ordinary pass."""
    limit = model_context(config)
    fits = fits_context(prompt_tokens, max_tokens, limit)
    if not long_review_allowed(config, fits):
        return None
    with st.expander("Long contract: review section by section", expanded=not fits):
        if not fits:
            st.info(
                f"This contract (~{prompt_tokens:,} tokens) plus a {max_tokens:,}-token answer "
                f"will not fit the model's {limit:,}-token context, so it is reviewed section by "
                "section and the findings are merged into one report.",
                icon=":material/splitscreen:",
            )
        on = st.toggle(
            "Review section by section", value=not fits, disabled=not fits, key="long_on"
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
            template_key,
            document.text,
            document.name,
            context,
            max_tokens,
            strategy,
            instructions,
            perspective,
            document.page_starts,
        )
        if isinstance(plan, str):
            st.error(plan, icon=":material/error:")
            return None
        st.caption(
            f"Plan: {plan.model_calls} model calls then a merge · about "
            f"{plan.estimated_input_tokens:,} tokens sent before the merge · "
            f"{plan.budget.context_length:,}-token context"
        )
        st.dataframe(
            pd.DataFrame(
                [
                    {
                        "Step": step.label,
                        "Pages": pages_label(step.pages) or "—",
                        "Tokens": step.estimated_input_tokens or None,
                    }
                    for step in plan.steps
                ]
            ),
            hide_index=True,
            width="stretch",
            height=min(400, 38 + 35 * len(plan.steps)),
        )
    return plan
