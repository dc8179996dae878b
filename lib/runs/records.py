"""One `RunRecord` per run, and the session history table built from them.

A record is created when a run starts (status running) and updated as it streams and when it ends,
so whichever Streamlit rerun draws next shows the run — even a run whose script was stopped before
it could record its own ending. Records hold no API key by construction: there is no field for one.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from lib.engine.run_stats import RunStats, RunStatus
from lib.runs.csv_export import csv_bytes

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
        self.finish_reason = stats.finish_reason
        self.error_kind = stats.error_kind.value if stats.error_kind else None
        self.error_message = stats.error_message
        self.report = stats.text
        self.notes = list(stats.notes)
        if cost_usd is not None:
            self.cost_usd = cost_usd


COLUMNS = {
    "time": "Time",
    "provider": "Provider",
    "model": "Model",
    "document": "Document",
    "template": "Template",
    "input_tokens": "Input tokens",
    "output_tokens": "Output tokens",
    "counts": "Counts",
    "ttft_s": "TTFT (s)",
    "total_s": "Total (s)",
    "tokens_per_s": "Tokens/s",
    "status": "Status",
    "cost_usd": "Cost (USD)",
}


def records_to_dataframe(records: Sequence[RunRecord]) -> pd.DataFrame:
    """Display table, newest first; `run_id` is the index so a selected row finds its record."""
    rows = [
        {
            "run_id": r.run_id,
            "time": r.started.astimezone().replace(tzinfo=None),
            "provider": r.provider,
            "model": r.model,
            "document": r.document_name,
            "template": r.template,
            "input_tokens": r.input_tokens,
            "output_tokens": r.output_tokens,
            "counts": "reported" if r.tokens_reported else "estimated",
            "ttft_s": r.ttft_s,
            "total_s": r.total_s,
            "tokens_per_s": r.tokens_per_s,
            "status": r.status.value,
            "cost_usd": r.cost_usd,
        }
        for r in sorted(records, key=lambda r: r.started, reverse=True)
    ]
    frame = pd.DataFrame(rows, columns=["run_id", *COLUMNS])
    for column in ("input_tokens", "output_tokens"):
        frame[column] = frame[column].astype("Int64")
    return frame.set_index("run_id")


def history_column_config() -> dict[str, Any]:
    import streamlit as st

    cc = st.column_config
    return {
        "time": cc.DatetimeColumn(COLUMNS["time"], format="YYYY-MM-DD HH:mm:ss"),
        "provider": cc.TextColumn(COLUMNS["provider"]),
        "model": cc.TextColumn(COLUMNS["model"]),
        "document": cc.TextColumn(COLUMNS["document"]),
        "template": cc.TextColumn(COLUMNS["template"]),
        "input_tokens": cc.NumberColumn(COLUMNS["input_tokens"], format="%d"),
        "output_tokens": cc.NumberColumn(COLUMNS["output_tokens"], format="%d"),
        "counts": cc.TextColumn(COLUMNS["counts"], help="Reported by the provider, or estimated"),
        "ttft_s": cc.NumberColumn(COLUMNS["ttft_s"], format="%.2f", help="Time to first token"),
        "total_s": cc.NumberColumn(COLUMNS["total_s"], format="%.1f"),
        "tokens_per_s": cc.NumberColumn(COLUMNS["tokens_per_s"], format="%.1f"),
        "status": cc.TextColumn(COLUMNS["status"]),
        "cost_usd": cc.NumberColumn(COLUMNS["cost_usd"], format="$%.4f"),
    }


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
