"""One `RunRecord` per run, and the session history table built from them.

A record is created when a run starts (status running) and updated as it streams and when it ends,
so whichever Streamlit rerun draws next shows the run — even a run whose script was stopped before
it could record its own ending. Records hold no API key by construction: there is no field for one.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import pandas as pd

from lib.analysis.long_plan import plan_words
from lib.analysis.playbook.checker import BUILTIN_PROVIDER, CHECKER_NAME
from lib.engine.errors import ErrorKind, error_title
from lib.engine.provider_config import endpoint_label
from lib.engine.providers.registry import find_spec
from lib.engine.run_stats import RunStats, RunStatus
from lib.store.csv_export import csv_bytes

STATE_KEY = "run_history"


@dataclass
class RunRecord:
    page: str
    provider: str
    model: str
    endpoint: str
    document_name: str
    document_chars: int
    document_sha256: str
    template: str
    instructions: str = ""
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    input_tokens: int | None = None
    output_tokens: int | None = None
    tokens_reported: bool = False
    ttft_s: float | None = None
    total_s: float | None = None
    tokens_per_s: float | None = None
    status: RunStatus = RunStatus.RUNNING
    finish_reason: str | None = None
    error_kind: str | None = None
    error_message: str | None = None
    cost_usd: float | None = None
    report: str = ""
    comparison_id: str | None = None
    batch_id: str | None = None
    contract_text: str | None = None
    notes: list[str] = field(default_factory=list)
    # Grounding of the finished report (None until checked): quotes found in the contract word
    # for word, nearly, or not at all, and claims of absence the clause finder contradicts.
    quotes_total: int | None = None
    quotes_verified: int | None = None
    quotes_close: int | None = None
    quotes_not_found: int | None = None
    crosscheck_disagreements: int | None = None
    # Long reviews only: "parts" or "focus", and how many model calls the plan made before merging.
    strategy: str | None = None
    parts: int | None = None
    # Where the contract's text came from when not the file's own ("text of pages 1-8 read by
    # OCR (tesseract)"): quotes were then checked with OCR's tolerance.
    text_source: str | None = None
    # Who made the run: the signed-in user, or `session:<id>` for an unnamed browser session.
    owner: str = ""
    # A reasoning model's thinking, kept with the run but never part of its report: its text,
    # its tokens (reported, or estimated from the text), when it began and how long it lasted.
    # `ttft_s` is the time to the first answer token, and `tokens_per_s` is over the answer alone.
    thinking: str = ""
    thinking_tokens: int | None = None
    thinking_reported: bool = False
    ttft_thinking_s: float | None = None
    thinking_s: float | None = None
    # The share of `input_tokens` the provider's prompt cache stored and served (None where the
    # provider does not say), each billed at its own rate in `cost_usd`.
    cache_write_tokens: int | None = None
    cache_read_tokens: int | None = None
    # What the run did: "review" (a report) or "playbook" (a check against a playbook, whose
    # verdicts are kept per position as plain JSON values, `PositionResult.to_dict`).
    kind: str = "review"
    playbook_id: str | None = None
    # "14 meet, 2 deviate, 1 not addressed — 2 high-severity deviations"
    playbook_summary: str | None = None
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    # Positions per verdict (`VerdictCounts`): meets, deviates, not_addressed, need_model,
    # unanswered, high_severity_deviations, unsupported. Empty for a review.
    verdict_counts: dict[str, int] = field(default_factory=dict)
    # Problems with a check's answer as a whole (the format ignored, a section for an unknown
    # position, an answer cut short), kept so that History shows them as the Playbook page did.
    playbook_problems: list[str] = field(default_factory=list)
    # The endpoint that served the run: of a model on several, the one the run went to.
    served_by: str = ""

    def __post_init__(self) -> None:
        self.status = RunStatus(self.status)  # records read back from a log hold plain strings

    def update_from(self, stats: RunStats, cost_usd: float | None = None) -> None:
        self.input_tokens = stats.input_token_count
        self.output_tokens = stats.output_token_count
        self.tokens_reported = stats.tokens_reported
        self.ttft_s = stats.time_to_first_token
        self.total_s = stats.total_time if stats.total_time is not None else stats.elapsed()
        self.tokens_per_s = stats.tokens_per_second
        self.status = stats.status
        # A long review that ended: the calls it made before its final merge, its merge's
        # rounds included (the plan counted its steps alone), as History and the API say them.
        calls = getattr(stats, "calls_done", 0)
        if self.strategy and self.status is RunStatus.DONE and calls > 1:
            self.parts = calls - 1
        self.finish_reason = stats.finish_reason
        self.error_kind = stats.error_kind.value if stats.error_kind else None
        self.error_message = stats.error_message
        self.report = stats.text
        self.notes = list(stats.notes)
        self.thinking = stats.thinking
        self.thinking_tokens = stats.thought_tokens
        self.thinking_reported = stats.thinking_reported
        self.ttft_thinking_s = stats.time_to_first_thinking
        self.thinking_s = stats.thinking_seconds()
        self.cache_write_tokens = stats.cache_written
        self.cache_read_tokens = stats.cache_read
        self.served_by = stats.endpoint or self.served_by
        if cost_usd is not None:
            self.cost_usd = cost_usd

    def set_grounding(self, counts: dict[str, int]) -> None:
        self.quotes_total = counts["total"]
        self.quotes_verified = counts["verified"]
        self.quotes_close = counts["close"]
        self.quotes_not_found = counts["not_found"]
        self.crosscheck_disagreements = counts["disagreements"]

    @property
    def not_started(self) -> bool:
        """Refused before it began: too long for its model, over the cap on runs at once, or the
        other side of its comparison cannot run, with nothing come back (no answer, no thinking).
        Its model read nothing, so a page says "Not started", never that it failed part way or
        kept what it had reached."""
        return (
            self.status is RunStatus.ERROR
            and self.error_kind
            in (ErrorKind.CONTEXT_TOO_LONG, ErrorKind.RATE_LIMITED, ErrorKind.PARTNER_CANNOT_RUN)
            and not self.report
            and not self.thinking
            and self.ttft_s is None
            and self.ttft_thinking_s is None
        )

    @property
    def grounding_label(self) -> str:
        """ "12/14 verified, 1 close, 1 not found" — or "" when nothing was checked."""
        if not self.quotes_total:
            return "" if self.quotes_total is None else "no quotes"
        parts = [f"{self.quotes_verified}/{self.quotes_total} verified"]
        if self.quotes_close:
            parts.append(f"{self.quotes_close} close")
        if self.quotes_not_found:
            parts.append(f"{self.quotes_not_found} not found")
        return ", ".join(parts)


COLUMNS = {
    "time": "Time (UTC)",
    "provider": "Provider",
    "model": "Model",
    "document": "Document",
    "template": "Template",
    "review": "Review",
    "text": "Text",
    "input_tokens": "Input tokens",
    "cache_read_tokens": "Cache read tokens",
    "cache_write_tokens": "Cache write tokens",
    "output_tokens": "Output tokens",
    "counts": "Counts",
    "ttft_thinking_s": "First thinking (s)",
    "ttft_s": "First answer token (s)",
    "thinking_tokens": "Thinking tokens",
    "total_s": "Total (s)",
    "tokens_per_s": "Tokens/s",
    "status": "Status",
    "why": "Why it failed",
    "grounding": "Quotes checked",
    "verdicts": "Verdicts",
    "cost_usd": "Cost (USD)",
    "served_by": "Served by",
}


def has_counts(record: RunRecord) -> bool:
    """Whether a run's Red/Yellow/Green counts are given (the Portfolio grid, its CSV/XLSX and
    crs-batch's files, Compare's table): not while it still streams, nor when it wrote no report
    at all (failed, stopped or refused before its first word), whose 0 / 0 / 0 read as a finished
    report that flagged nothing. A report cut short keeps its counts, its risk saying
    "(partial)"; a row not started has no run and leaves them blank too."""
    return record.status is not RunStatus.RUNNING and bool(record.report.strip())


def review_mode(record: RunRecord) -> str:
    """How a run was planned, in the words its estimate said it in (`plan_words`): "one pass",
    "focused review, 14 calls" (its steps and the merge)."""
    return plan_words(record.strategy, record.parts + 1 if record.parts else 0)


def thinking_label(record: RunRecord) -> str:
    """ "1,234" when the provider reported the thinking's tokens, "~1,234 (estimated)" when we
    counted them from its text, "" for a run that did not think."""
    if record.thinking_tokens is None:
        return ""
    if record.thinking_reported:
        return f"{record.thinking_tokens:,}"
    return f"~{record.thinking_tokens:,} (estimated)"


def run_maker(provider: str, model: str) -> str:
    """Who wrote a run, as analysts read it ("Ollama · llama3.2", "Clause finder (no model)",
    "Built-in playbook checker (no model)"), not the ids the log keeps ("clause_finder · rules")."""
    spec = find_spec(provider)
    if provider == BUILTIN_PROVIDER or (spec is not None and model == spec.fixed_model):
        return provider_label(provider)
    return f"{provider_label(provider)} · {model}"


def provider_label(provider: str) -> str:
    """A provider as analysts read it ("OpenAI-compatible server"), not its id ("openai")."""
    if provider == BUILTIN_PROVIDER:
        return CHECKER_NAME
    spec = find_spec(provider)
    return spec.label if spec is not None else provider


def records_to_dataframe(records: Sequence[RunRecord], zone: tzinfo = UTC) -> pd.DataFrame:
    """Display table, newest first; `run_id` is the index so a selected row finds its record.
    Times in `zone`: the page's viewer's (`lib.ui.tables.viewer_zone`), UTC in a file."""
    rows = [
        {
            "run_id": r.run_id,
            "time": r.started.astimezone(zone).replace(tzinfo=None),
            "provider": provider_label(r.provider),
            "model": r.model,
            "document": r.document_name,
            "template": f"playbook: {r.playbook_id}" if r.kind == "playbook" else r.template,
            "review": review_mode(r),
            # Where the text came from: read by OCR, or as pasted or as the file held it.
            "text": "OCR" if r.text_source else "as given",
            "input_tokens": r.input_tokens,
            "cache_read_tokens": r.cache_read_tokens,
            "cache_write_tokens": r.cache_write_tokens,
            "output_tokens": r.output_tokens,
            "counts": "reported" if r.tokens_reported else "estimated",
            "ttft_thinking_s": r.ttft_thinking_s,
            "ttft_s": r.ttft_s,
            "thinking_tokens": thinking_label(r),
            "total_s": r.total_s,
            "tokens_per_s": r.tokens_per_s,
            "status": r.status.label,
            # Why a failed run failed, at a glance: the row's detail has the whole message.
            "why": error_title(r.error_kind) if r.status is RunStatus.ERROR else "",
            "grounding": r.grounding_label,
            "verdicts": r.playbook_summary or "",
            "cost_usd": r.cost_usd,
            "served_by": endpoint_label(r.served_by),
        }
        for r in sorted(records, key=lambda r: r.started, reverse=True)
    ]
    frame = pd.DataFrame(rows, columns=["run_id", *COLUMNS])
    for column in ("input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"):
        frame[column] = frame[column].astype("Int64")
    return frame.set_index("run_id")


def records_to_csv(records: Sequence[RunRecord]) -> bytes:
    frame = records_to_dataframe(records).rename(columns=COLUMNS)
    return csv_bytes(frame)


class SessionHistory:
    """This browser session's runs, kept in Streamlit's session state (passed in as a mapping)."""

    def __init__(self, records: list[RunRecord]) -> None:
        self._records = records

    @classmethod
    def from_state(cls, state: MutableMapping[str, Any]) -> SessionHistory:
        if STATE_KEY not in state:
            state[STATE_KEY] = []
        return cls(state[STATE_KEY])

    def add(self, record: RunRecord) -> None:
        self._records.append(record)

    def get(self, run_id: str) -> RunRecord | None:
        return next((r for r in self._records if r.run_id == run_id), None)

    @property
    def records(self) -> list[RunRecord]:
        return sorted(self._records, key=lambda r: r.started, reverse=True)

    def __len__(self) -> int:
        return len(self._records)


def grounding_by_model(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Quotes by verdict per provider · model, over the reviews whose quotes were checked (a
    playbook check's evidence is the contract's own passages, not a model's quotes)."""
    rows = [
        {"who": run_maker(r.provider, r.model), "verdict": verdict, "quotes": count or 0}
        for r in records
        if r.quotes_total and r.kind == "review"
        for verdict, count in (
            ("verified", r.quotes_verified),
            ("close", r.quotes_close),
            ("not found", r.quotes_not_found),
        )
    ]
    frame = pd.DataFrame(rows, columns=["who", "verdict", "quotes"])
    return frame.groupby(["who", "verdict"], as_index=False)["quotes"].sum()


VERDICT_NAMES = {
    "meets": "meets",
    "deviates": "deviates",
    "not_addressed": "not addressed",
    "need_model": "needs a model",
    "unanswered": "no answer",
    "unsupported": "unsupported",
}


def verdicts_by_checker(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Positions by verdict per provider · model, over the playbook checks among `records`."""
    rows = [
        {
            "who": run_maker(r.provider, r.model),
            "verdict": name,
            "positions": r.verdict_counts[key],
        }
        for r in records
        if r.kind == "playbook" and r.verdict_counts
        for key, name in VERDICT_NAMES.items()
        if r.verdict_counts.get(key)
    ]
    frame = pd.DataFrame(rows, columns=["who", "verdict", "positions"])
    return frame.groupby(["who", "verdict"], as_index=False)["positions"].sum()
