"""The clause finder as a provider: the rule-based review report, streamed section by section.

It goes through `stream_model` like any model so Review, Compare, History, exports and figures work
unchanged; it reads the contract from `ChatRequest.source` (rules need the bare text, not the
prompt) and never touches the network.
"""

from __future__ import annotations

from collections.abc import Iterator

from lib.analysis.clauses import write_report
from lib.engine.errors import BadResponse
from lib.engine.events import (
    ChatRequest,
    Event,
    Finish,
    StreamContext,
    TextDelta,
    Usage,
    Waiting,
)
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.providers.spec import ProviderSpec

MODEL = "rules"
NO_MODEL_NOTE = (
    "No language model was used: the clause finder matched curated clause patterns in the "
    "contract text, so every quote is the contract's own wording. Token counts are estimates of "
    "the report's length, not model usage."
)


def stream_events(
    config: ProviderConfig, request: ChatRequest, ctx: StreamContext
) -> Iterator[Event]:
    source = request.source
    if source is None:
        raise BadResponse("The clause finder needs the contract itself, not only a prompt.")
    pages = list(source.page_starts) if source.page_starts else None
    # A long contract's first section comes after its clauses are read: say so, not "Waiting
    # for the model…", since there is none.
    yield Waiting("Reading the contract's clauses (no model)…")
    sections = write_report(
        source.name, source.text, source.template_key, pages, perspective=source.perspective
    )
    for section in sections:
        if ctx.cancelled:
            return
        yield TextDelta(section)
    yield Usage(input_tokens=0)
    yield Finish("stop")


def list_models(config: ProviderConfig) -> list[str]:
    return [MODEL]


SPEC = ProviderSpec(
    provider=Provider.CLAUSE_FINDER,
    label="Clause finder (no model)",
    fix="The clause finder is part of the app and needs nothing.",
    stream_events=stream_events,
    list_models=list_models,
    on_this_machine=True,
    fixed_model=MODEL,
    note="No model: readable rules find the contract's clauses (41 CUAD categories), quote them "
    "word for word with their clause numbers, and flag risky terms. Instant, on this machine, and "
    "it never invents a quote — but it cannot judge commercial context the way a good model can.",
    run_note=NO_MODEL_NOTE,
    default_concurrency=2,
    context_window=lambda _config, _ctx: None,
    follows_prompts=False,
    has_speed=False,
)
