"""Starting a run from a page: its record, its prompt, its worker, and how its end is recorded.

Free of Streamlit so the Review and Compare pages share it and tests can drive it directly. The run
record is added to the history before the first byte is requested, and the worker thread updates
it (and the run log) when the run ends — however it ends, even if the page script was stopped.
"""

from __future__ import annotations

import logging
from pathlib import PurePath

from lib.analysis.documents import Document
from lib.analysis.prompts import TEMPLATES, build_prompt
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.settings import Settings
from lib.engine.stream_model import stream_model
from lib.runs.live import LiveRun
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


def save_upload(settings: Settings, name: str, data: bytes) -> None:
    """Keep a copy of an upload only where the operator asked for it."""
    if settings.upload_dir is None:
        return
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    (settings.upload_dir / PurePath(name).name).write_bytes(data)


def launch(
    *,
    page: str,
    config: ProviderConfig,
    document: Document,
    template_key: str,
    instructions: str,
    perspective: str,
    max_tokens: int,
    temperature: float,
    history: SessionHistory,
    run_log: RunLog | None,
    settings: Settings,
    comparison_id: str | None = None,
) -> tuple[RunRecord, LiveRun]:
    prompt = build_prompt(
        TEMPLATES[template_key],
        document.text,
        document.name,
        instructions=instructions,
        perspective=perspective,
    )
    record = RunRecord(
        page=page,
        provider=config.provider.value,
        model=config.model,
        endpoint=config.base_url,
        document_name=document.name,
        document_chars=document.char_count,
        document_sha256=document.sha256,
        template=template_key,
        instructions=instructions,
        comparison_id=comparison_id,
        contract_text=document.text if settings.store_contract_text else None,
    )
    history.add(record)
    _write(run_log, record)
    limits = settings.run_limits
    stream = stream_model(
        config,
        prompt.system,
        prompt.user,
        max_tokens=max_tokens,
        temperature=temperature,
        limits=limits,
    )

    def on_end(live: LiveRun) -> None:
        stats = live.stats
        cost = estimate_cost(
            config.provider,
            config.model,
            stats.input_token_count,
            stats.output_token_count,
            settings.prices,
        )
        record.update_from(stats, cost)
        _write(run_log, record)

    return record, LiveRun(stream, on_end=on_end, max_concurrent=limits.max_concurrent_runs)


def _write(run_log: RunLog | None, record: RunRecord) -> None:
    if run_log is None:
        return
    try:
        run_log.append(record)
    except Exception:
        log.exception("could not write the run log")
