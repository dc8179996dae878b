"""Streamlit widgets shared by the pages: provider picker, live run view, figures, report output.

The live view follows the design map: the model is read on a worker thread (`lib.runs.live.LiveRun`)
while the script thread keeps drawing — a "waiting for the model" line before the first token, then
`st.write_stream` fed with batches — so Streamlit can stop the script at any moment, and the
`finally` that cancels the run always executes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from lib.engine.errors import ERROR_TITLES, ErrorKind
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    Provider,
    ProviderConfig,
)
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.settings import Settings, current_settings
from lib.runs import catalog
from lib.runs.exports import report_docx, report_markdown
from lib.runs.live import LiveRun
from lib.runs.records import RunRecord, SessionHistory
from lib.runs.run_log import RunLog
from lib.ui.segments import Segmenter

# Live figures change slowly; each refresh costs the browser as much as a text render.
FIGURES_REFRESH_S = 1.0
ACTIVE_RUNS_KEY = "active_runs"


@dataclass(frozen=True)
class PageContext:
    settings: Settings
    history: SessionHistory
    run_log: RunLog | None


def page_context(state: MutableMapping[str, Any], group: str) -> PageContext:
    """What every page that runs models starts with; ends any run this session left streaming."""
    settings = current_settings()
    cancel_active_runs(state, group)
    return PageContext(settings, SessionHistory.from_state(state), shared_run_log(settings))


def generation_settings() -> tuple[int, float]:
    """Max output tokens and temperature, in a collapsed expander of the current container."""
    with st.expander("Generation settings"):
        max_tokens = int(
            st.number_input("Max output tokens", 256, 32_000, DEFAULT_MAX_TOKENS, step=256)
        )
        temperature = st.slider("Temperature (local models)", 0.0, 1.0, DEFAULT_TEMPERATURE, 0.05)
    return max_tokens, temperature


def provider_picker(
    settings: Settings, key: str, default: Provider | None = None
) -> ProviderConfig | None:
    """Provider, endpoint and model widgets; None (with the reason shown) when nothing is usable."""
    choices = catalog.provider_choices(settings)
    if default is None:
        default = catalog.choose_default(settings)
    provider = st.selectbox(
        "Provider",
        choices,
        index=choices.index(default) if default in choices else 0,
        format_func=catalog.provider_label,
        key=f"{key}_provider",
    )
    base_url = catalog.default_base_url(provider, settings)
    api_key = catalog.default_api_key(provider, settings)
    if provider is Provider.BUILTIN:
        st.info(catalog.BUILTIN_NOTE, icon="ℹ️")
    elif settings.endpoints_locked:
        allowed = list(settings.allowed_endpoints)
        base_url = st.selectbox("Endpoint", allowed, key=f"{key}_endpoint_{provider}")
    elif provider is not Provider.ANTHROPIC:
        base_url = st.text_input(
            "Base URL",
            value=base_url,
            key=f"{key}_base_url_{provider}",
            placeholder="http://localhost:8080/v1" if provider is Provider.OPENAI else None,
        )
    if provider is Provider.ANTHROPIC:
        typed = st.text_input(
            "API key (this session only)",
            type="password",
            key=f"{key}_api_key",
            help="Used for this browser session only; never stored, logged or exported.",
            placeholder="set" if api_key else "sk-ant-…",
        )
        api_key = typed or api_key
    try:
        base_url = catalog.check_endpoint(base_url, settings)
    except ValueError as exc:
        st.error(str(exc))
        return None
    status = catalog.probe(provider, base_url, api_key)
    if not status.available:
        st.warning(
            f"{catalog.provider_label(provider)} is not available: {status.problem}\n\n{status.fix}"
        )
        return None
    if not status.models:
        st.warning(f"{catalog.provider_label(provider)} has no models. {status.fix}")
        return None
    model = st.selectbox("Model", status.models, key=f"{key}_model_{provider}")
    st.caption(catalog.destination(provider, base_url))
    return catalog.make_config(provider, settings, model=model, base_url=base_url, api_key=api_key)


def cancel_active_runs(state: MutableMapping[str, Any], group: str) -> None:
    """A new script run means the user moved on: end any run an earlier script left streaming."""
    runs: dict[str, list[LiveRun]] = state.setdefault(ACTIVE_RUNS_KEY, {})
    for live in runs.pop(group, []):
        live.cancel()


def remember_active(state: MutableMapping[str, Any], group: str, lives: list[LiveRun]) -> None:
    state.setdefault(ACTIVE_RUNS_KEY, {})[group] = lives


def show_live(state: MutableMapping[str, Any], group: str, live: LiveRun) -> None:
    """Stream one run in two placeholders (text, figures); cancel it however the script ends.

    The placeholders are emptied afterwards so the caller can draw the finished report.
    """
    text_area, figures = st.empty(), st.empty()
    remember_active(state, group, [live])
    try:
        stream_into(live, text_area, figures)
    finally:
        live.cancel()
        state.get(ACTIVE_RUNS_KEY, {}).pop(group, None)
    text_area.empty()
    figures.empty()


@st.cache_resource(show_spinner=False)
def _run_log_at(path: str) -> RunLog:
    return RunLog(Path(path))


def shared_run_log(settings: Settings) -> RunLog | None:
    """One RunLog per file for the whole app process (it is safe across threads)."""
    if not settings.history_enabled:
        return None
    try:
        return _run_log_at(str(settings.history_db_path))
    except (OSError, sqlite3.Error) as exc:
        st.warning(
            f"The run history file cannot be opened ({exc}); runs are kept for this session only."
        )
        return None


def format_figures(stats: RunStats, now: float | None = None) -> str:
    """One line of live figures; tokens so far are estimated until the provider reports them."""
    parts = [f"{stats.elapsed(now):.1f} s elapsed"]
    ttft = stats.time_to_first_token
    parts.append(f"first token {ttft:.2f} s" if ttft is not None else "waiting for first token")
    mark = "" if stats.output_reported else "~"
    parts.append(f"{mark}{stats.output_token_count:,} tokens")
    speed = stats.tokens_per_second
    if speed:
        parts.append(f"{speed:.1f} tokens/s")
    return " · ".join(parts)


def waiting_line(stats: RunStats) -> str:
    reason = stats.waiting_reason or "Waiting for the model…"
    return f"{reason} {stats.elapsed():.1f} s"


def stream_into(live: LiveRun, text_area: Any, figures: Any) -> None:
    """Draw a run as it happens into two placeholders."""
    stats = live.stats
    with text_area.container():
        waiting = st.empty()
        while stats.first_token_at is None and not live.finished:
            waiting.caption(waiting_line(stats))
            figures.caption(format_figures(stats))
            time.sleep(0.1)
        waiting.empty()
        segments = Segmenter(_batches(live, figures))
        while not segments.finished:
            st.write_stream(segments.segment())
    figures.caption(format_figures(stats))


def _batches(live: LiveRun, figures: Any) -> Iterator[str]:
    last_figures = 0.0
    for batch in live.batches():
        now = time.monotonic()
        if now - last_figures >= FIGURES_REFRESH_S:
            figures.caption(format_figures(live.stats, now))
            last_figures = now
        if batch:
            yield batch


def final_figures(record: RunRecord) -> None:
    counts = "reported" if record.tokens_reported else "estimated"
    columns = st.columns(5)
    columns[0].metric("Time to first token", _seconds(record.ttft_s))
    columns[1].metric("Total time", _seconds(record.total_s))
    columns[2].metric(f"Input tokens ({counts})", _count(record.input_tokens))
    columns[3].metric(f"Output tokens ({counts})", _count(record.output_tokens))
    columns[4].metric(
        "Generation speed", f"{record.tokens_per_s:.1f} tok/s" if record.tokens_per_s else "—"
    )
    if record.provider == Provider.ANTHROPIC.value:
        cost = "unknown price" if record.cost_usd is None else f"${record.cost_usd:.4f}"
        st.caption(f"Estimated cost: {cost}")
    elif record.cost_usd == 0.0:
        st.caption("Cost: none (local model)")


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def _count(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def run_outcome(record: RunRecord) -> None:
    """Status banner: stopped, error with what to do, notes such as truncation warnings."""
    if record.status is RunStatus.CANCELLED:
        st.warning("Stopped — the partial report above is kept.", icon="⏹️")
    elif record.status is RunStatus.ERROR:
        title = (
            ERROR_TITLES.get(ErrorKind(record.error_kind), "Error")
            if record.error_kind
            else "Error"
        )
        kept = " The partial report above is kept." if record.report else ""
        st.error(f"**{title}.** {record.error_message}{kept}", icon="⚠️")
    for note in record.notes:
        st.warning(note)


def report_view(record: RunRecord, *, key: str) -> None:
    """A finished (or stopped) report with its figures and downloads."""
    label = record.status.label
    st.caption(f"{record.document_name} · {record.provider} · {record.model} · {label}")
    if record.report:
        st.markdown(record.report)
    run_outcome(record)
    final_figures(record)
    if record.report:
        stem = record.document_name.rsplit(".", 1)[0] or "report"
        left, right = st.columns(2)
        left.download_button(
            "Download Markdown",
            report_markdown(record),
            file_name=f"{stem} review.md",
            mime="text/markdown",
            key=f"{key}_md",
        )
        right.download_button(
            "Download Word",
            report_docx(record),
            file_name=f"{stem} review.docx",
            mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            key=f"{key}_docx",
        )
