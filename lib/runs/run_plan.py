"""How a contract is planned for a model's context, for every front end.

The Review page's long-contract panel only shows and edits a plan; whether a contract fits, what
the model's context is, and which plan a run gets when nobody chose one (Compare, Portfolio,
`crs-batch`, the API) are decided here, so a 115-page contract is never sent whole to an 8k
model from any of them.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from lib.analysis.documents import Document
from lib.analysis.long_plan import DEFAULT_STRATEGY, LongPlan, Strategy, plan_long_review
from lib.analysis.prompts import TEMPLATES, fits_context
from lib.engine.errors import ProviderError
from lib.engine.events import StreamContext
from lib.engine.provider_config import ProviderConfig
from lib.engine.providers.registry import spec_for

log = logging.getLogger(__name__)

# (provider, URL, model, configured length) → (the window the server said, when it said it).
_detected: dict[tuple[str, str, str, int | None], tuple[int | None, float]] = {}
_detected_lock = threading.Lock()
# A server's answer is asked again after this long: an operator who restarts Ollama or vLLM with
# another context had runs planned for the old one (split needlessly, or sent whole and refused).
CONTEXT_TTL_S = 300.0
# What each endpoint's model was said to fail with, (provider, URL, model) → the warnings given: a
# server that cannot tell its window is asked again for every contract of a batch (a failure is
# not kept), and `crs-batch` printed the same warning once a contract, among its estimates. Each
# is said once until the endpoint answers again.
_warned: dict[tuple[str, str, str], set[str]] = {}


def model_context(config: ProviderConfig, ctx: StreamContext | None = None) -> int | None:
    """The model's context window, from its config or its server (asked again every
    `CONTEXT_TTL_S`: a page's every rerun plans, and must not ask the server each time).

    `ctx`: the run being planned. Its cancellation (Stop) ends a lookup in flight as it ends the
    run's generation requests, however the server stalls; the window is then unknown (None),
    nothing is remembered or warned of, and the caller ends the run as cancelled."""
    key = (config.provider.value, config.base_url, config.model, config.context_length)
    with _detected_lock:
        known = _detected.get(key)
        if known is not None and time.monotonic() - known[1] < CONTEXT_TTL_S:
            return known[0]
    length: int | None = None
    for member in config.members:  # the same model on each: the first that answers says
        endpoint = (member.provider.value, member.base_url, member.model)
        try:
            length = spec_for(config.provider).context_window(member, ctx)
        except Exception as exc:  # a server that is down: the next member, or no window known
            if ctx is not None and ctx.cancelled:
                return None  # not the server's failure: asked to stop
            said = (
                exc.redacted(*member.secrets).message
                if isinstance(exc, ProviderError)
                else type(exc).__name__
            )
            with _detected_lock:
                new = said not in _warned.setdefault(endpoint, set())
                _warned[endpoint].add(said)
            if new:
                log.warning("could not learn the model's context window: %s", said)
            continue
        with _detected_lock:
            _warned.pop(endpoint, None)
        break
    else:
        return None
    with _detected_lock:
        _detected[key] = (length, time.monotonic())
    return length


@dataclass(frozen=True)
class ContextFit:
    """Whether one pass fits the model, and whether a section-by-section review may be chosen."""

    limit: int | None
    prompt_tokens: int
    max_tokens: int
    fits: bool
    # A long review may be chosen by hand (it is required whenever the prompt does not fit).
    choosable: bool


def context_fit(
    config: ProviderConfig, prompt_tokens: int, max_tokens: int, ctx: StreamContext | None = None
) -> ContextFit:
    """Whether the prompt fits the model's window (`model_context`, whose lookup `ctx` may
    cancel)."""
    if not spec_for(config.provider).follows_prompts:
        # The clause finder reads the whole contract itself: no window, nothing to plan.
        return ContextFit(None, prompt_tokens, max_tokens, True, False)
    limit = model_context(config, ctx)
    fits = fits_context(prompt_tokens, max_tokens, limit)
    # A provider whose window holds most contracts whole reads best in one pass: section by
    # section only when the contract exceeds it. Local models may choose it by hand.
    choosable = not fits or not spec_for(config.provider).one_pass_preferred
    return ContextFit(limit, prompt_tokens, max_tokens, fits, choosable)


def make_plan(
    document: Document,
    template_key: str,
    *,
    context_length: int,
    max_tokens: int,
    instructions: str,
    perspective: str,
    strategy: Strategy = DEFAULT_STRATEGY,
) -> LongPlan:
    """The section-by-section plan; raises `PlanError` when the context cannot hold one."""
    return plan_long_review(
        TEMPLATES[template_key],
        document.text,
        document.name,
        context_length=context_length,
        max_tokens=max_tokens,
        strategy=strategy,
        instructions=instructions,
        perspective=perspective,
        page_starts=list(document.page_starts) if document.page_starts else None,
    )


def automatic_plan(
    config: ProviderConfig,
    document: Document,
    template_key: str,
    *,
    prompt_tokens: int,
    max_tokens: int,
    instructions: str,
    perspective: str,
    ctx: StreamContext | None = None,
) -> LongPlan | None:
    """The plan a run gets when nobody chose one: none when one pass fits (or the window is
    unknown, or `ctx` was cancelled while asking it), else the default strategy. Raises
    `PlanError` when no plan fits either."""
    fit = context_fit(config, prompt_tokens, max_tokens, ctx)
    if fit.fits or fit.limit is None:
        return None
    return make_plan(
        document,
        template_key,
        context_length=fit.limit,
        max_tokens=max_tokens,
        instructions=instructions,
        perspective=perspective,
    )


def one_pass_problem(
    config: ProviderConfig, prompt_tokens: int, max_tokens: int, ctx: StreamContext | None = None
) -> str | None:
    """Why a run that has no section-by-section plan (a playbook check, whose every position
    needs the whole contract) does not fit the model; None when it fits or the window is unknown
    (`ctx`: see `model_context`)."""
    fit = context_fit(config, prompt_tokens, max_tokens, ctx)
    if fit.fits or fit.limit is None:
        return None
    return (
        f"The contract and the request take about {prompt_tokens:,} tokens, and the answer needs "
        f"up to {max_tokens:,} more: over this model's context of {fit.limit:,} tokens. Pick a "
        "model with a larger context."
    )
