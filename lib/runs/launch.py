"""Starting a run from a page: its record, its prompt, its worker, and how its end is recorded.

Free of Streamlit so the Review and Compare pages share it and tests can drive it directly. The run
record is added to the history before the first byte is requested, and the worker thread updates
it (and the run log) when the run ends — however it ends, even if the page script was stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import PurePath

from lib.analysis.documents import Document
from lib.analysis.grounding import GroundingTracker, contract_index, ground_report
from lib.analysis.long_plan import LongPlan
from lib.analysis.prompts import TEMPLATES, build_prompt
from lib.engine.errors import RateLimited
from lib.engine.events import Source
from lib.engine.limits import busy_message
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.engine.stream_model import ModelStream, provider_module, stream_model
from lib.runs.live import LiveRun, claim_slot, release_slot
from lib.runs.long_review import LongReview
from lib.runs.pricing import estimate_cost
from lib.runs.records import RunRecord, SessionHistory
from lib.runs.run_log import RunLog

log = logging.getLogger(__name__)
CLAUDE_CONTEXT = 200_000


def context_limit(config: ProviderConfig) -> int | None:
    """The model's context where we know it before asking the server."""
    if config.context_length:
        return config.context_length
    return CLAUDE_CONTEXT if config.provider is Provider.ANTHROPIC else None


_detected: dict[tuple[str, str], int | None] = {}
_detected_lock = threading.Lock()


def model_context(config: ProviderConfig) -> int | None:
    """`context_limit`, or for Ollama the model's own length from the server (asked once per
    model): the most `num_ctx` will be sized to, so what a long contract must be planned for."""
    known = context_limit(config)
    if known is not None or config.provider is not Provider.OLLAMA:
        return known
    key = (config.base_url, config.model)
    with _detected_lock:
        if key in _detected:
            return _detected[key]
    ollama = provider_module(Provider.OLLAMA)
    try:
        with ollama.client_for(config) as client:
            length = ollama.model_context_length(client, config)
    except Exception:
        log.warning("could not ask Ollama for the model's context length", exc_info=True)
        return None
    with _detected_lock:
        _detected[key] = length
    return length


def long_review_allowed(config: ProviderConfig, fits: bool) -> bool:
    """Claude's window holds most contracts whole, and one pass reads them best: section by
    section only when the contract exceeds it. Local models may choose it by hand."""
    return not fits or config.provider is not Provider.ANTHROPIC


def save_upload(settings: Settings, name: str, data: bytes) -> None:
    """Keep a copy of an upload only where the operator asked for it."""
    if settings.upload_dir is None:
        return
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (settings.upload_dir / PurePath(name).name).write_bytes(data)


@dataclass(frozen=True)
class RunRequest:
    """One run's inputs, as a page, a batch or the API asks for them."""

    page: str
    config: ProviderConfig
    document: Document
    template_key: str
    instructions: str
    perspective: str
    max_tokens: int
    temperature: float
    comparison_id: str | None = None
    batch_id: str | None = None
    # A long review (`lib.analysis.long_plan`) instead of one pass.
    plan: LongPlan | None = None


@dataclass
class PreparedRun:
    """A run whose record is written and whose request is ready; `finish` records its end.

    Batches read `stream` on their own worker threads: they draw nothing, so they take no share
    of the live render budget that `LiveRun` accounts for.
    """

    record: RunRecord
    stream: ModelStream | LongReview
    finish: Callable[[], None]


def prepare_run(
    request: RunRequest,
    *,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
) -> PreparedRun:
    """The run's record (in the history and the log at once) and its stream, not yet read."""
    r, document, config = request, request.document, request.config
    prompt = build_prompt(
        TEMPLATES[r.template_key],
        document.text,
        document.name,
        instructions=r.instructions,
        perspective=r.perspective,
    )
    record = RunRecord(
        page=r.page,
        provider=config.provider.value,
        model=config.model,
        endpoint=config.base_url,
        document_name=document.name,
        document_chars=document.char_count,
        document_sha256=document.sha256,
        template=r.template_key,
        instructions=r.instructions,
        comparison_id=r.comparison_id,
        batch_id=r.batch_id,
        contract_text=document.text if settings.store_contract_text else None,
        strategy=r.plan.strategy.value if r.plan else None,
        parts=r.plan.model_calls if r.plan else None,
        text_source=document.text_source,
    )
    if history is not None:
        history.add(record)
    _write(run_log, record)
    source = Source(document.name, document.text, r.template_key, document.page_starts)
    stream: ModelStream | LongReview
    if r.plan is not None:
        stream = LongReview(config, r.plan, temperature=r.temperature)
    else:
        stream = stream_model(
            config,
            prompt.system,
            prompt.user,
            max_tokens=r.max_tokens,
            temperature=r.temperature,
            source=source,
            limits=settings.run_limits,
        )

    def finish() -> None:
        stats = stream.stats
        cost = estimate_cost(
            config.provider,
            config.model,
            stats.input_token_count,
            stats.output_token_count,
            settings.prices,
        )
        record.update_from(stats, cost)
        if record.report:
            grounding = ground_report(
                record.report, document.text, document.page_starts, ocr=document.from_ocr
            )
            record.set_grounding(grounding.counts)
        _write(run_log, record)

    return PreparedRun(record, stream, finish)


def launch(
    request: RunRequest,
    *,
    history: SessionHistory,
    run_log: RunLog | None,
    settings: Settings,
    notify: Callable[[], None] | None = None,
    refuse_when_busy: bool = False,
) -> tuple[RunRecord, LiveRun]:
    """Start a run someone watches: its worker thread (`notify`: see `LiveRun`), and a tracker
    checking its quotes as they are drawn.

    A run over `CRS_MAX_CONCURRENT_RUNS` ends at once as rate limited and is recorded, so the
    page's history says why. With `refuse_when_busy` (the API, where anyone who reaches it could
    otherwise fill the run log with refusals) it raises `RateLimited` instead, recording nothing.
    """
    limit = settings.run_limits.max_concurrent_runs
    claimed = refuse_when_busy and limit > 0
    if claimed and not claim_slot(limit):
        raise RateLimited(busy_message(limit))
    try:
        run = prepare_run(request, history=history, run_log=run_log, settings=settings)
        document = request.document
        tracker = GroundingTracker(
            contract_index(document.text, document.page_starts), ocr=document.from_ocr
        )
    except BaseException:
        if claimed:
            release_slot()
        raise
    live = LiveRun(
        run.stream,
        on_end=lambda _live: run.finish(),
        tracker=tracker,
        notify=notify,
        max_concurrent=limit,
        claimed=claimed,
    )
    return run.record, live


def _write(run_log: RunLog | None, record: RunRecord) -> None:
    if run_log is None:
        return
    try:
        run_log.append(record)
    except Exception:
        log.exception("could not write the run log")
