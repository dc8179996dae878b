"""How the run tables look in Streamlit: column labels, formats and help."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import streamlit as st

from lib.store.records import COLUMNS

# What every table shows for a value it does not have (no cache figures, a time never reached):
# Streamlit's own mark reads "None", a word from the code rather than a figure.
MISSING = "—"


def dataframe(data: Any, *, where: Any = st, **options: Any) -> Any:
    """`st.dataframe` (or `where.dataframe`, a container's) as every table of the app draws it:
    its missing values marked `MISSING`."""
    return where.dataframe(data, placeholder=MISSING, **options)


def rows_key(name: str, ids: Sequence[str]) -> str:
    """A widget key for these very rows: Streamlit keeps a table's selection by row number, so
    a table whose rows change (a filter, a page, a delete, a new run at the top) must be a new
    table, or a tick moves onto a run the analyst never picked (and a delete deletes it)."""
    return f"{name}_{hashlib.sha256(chr(10).join(ids).encode()).hexdigest()[:16]}"


def viewer_zone() -> tuple[tzinfo, str]:
    """The time zone of the analyst's browser, and its name: a run's time on a page reads as on
    their clock, not the server's (UTC when the browser does not say)."""
    name = st.context.timezone or "UTC"
    try:
        return ZoneInfo(name), name
    except (ZoneInfoNotFoundError, ValueError):
        return UTC, "UTC"


def date_window(dates: object, zone: tzinfo) -> tuple[datetime | None, datetime | None]:
    """The UTC bounds of the days picked in `zone`. A range picker holds one date between the
    analyst's two clicks: from that day on, not every run ever (which the page showed until the
    second click, and kept showing when they left it there)."""
    picked = [d for d in (dates if isinstance(dates, tuple | list) else (dates,)) if d]
    if not picked or not all(isinstance(d, date) for d in picked):
        return None, None
    since = datetime.combine(picked[0], time.min, tzinfo=zone).astimezone(UTC)
    if len(picked) == 1:
        return since, None
    return since, datetime.combine(picked[1], time.max, tzinfo=zone).astimezone(UTC)


def history_column_config(zone_name: str = "UTC") -> dict[str, Any]:
    cc = st.column_config
    return {
        "time": cc.DatetimeColumn(f"Time ({zone_name})", format="YYYY-MM-DD HH:mm:ss"),
        "provider": cc.TextColumn(COLUMNS["provider"]),
        "model": cc.TextColumn(COLUMNS["model"]),
        "document": cc.TextColumn(COLUMNS["document"]),
        "template": cc.TextColumn(COLUMNS["template"]),
        "review": cc.TextColumn(
            COLUMNS["review"], help="One pass, or section by section: strategy and model calls"
        ),
        "text": cc.TextColumn(
            COLUMNS["text"], help="The file's own text, or (partly) read from images by OCR"
        ),
        "input_tokens": cc.NumberColumn(COLUMNS["input_tokens"], format="%d"),
        "cache_read_tokens": cc.NumberColumn(
            COLUMNS["cache_read_tokens"],
            format="%d",
            help="Input tokens the provider's prompt cache served, billed at a tenth (Claude)",
        ),
        "cache_write_tokens": cc.NumberColumn(
            COLUMNS["cache_write_tokens"],
            format="%d",
            help="Input tokens written to the provider's prompt cache, billed at 1.25× (Claude)",
        ),
        "output_tokens": cc.NumberColumn(COLUMNS["output_tokens"], format="%d"),
        "counts": cc.TextColumn(COLUMNS["counts"], help="Reported by the provider, or estimated"),
        "ttft_thinking_s": cc.NumberColumn(
            COLUMNS["ttft_thinking_s"],
            format="%.2f",
            help="Time to the first thinking token (reasoning models)",
        ),
        "ttft_s": cc.NumberColumn(
            COLUMNS["ttft_s"], format="%.2f", help="Time to the first token of the answer"
        ),
        "thinking_tokens": cc.TextColumn(
            COLUMNS["thinking_tokens"],
            help="Tokens spent thinking: reported by the provider, or estimated from the text (~)",
        ),
        "total_s": cc.NumberColumn(COLUMNS["total_s"], format="%.1f"),
        "tokens_per_s": cc.NumberColumn(
            COLUMNS["tokens_per_s"], format="%.1f", help="Answer tokens per second of the answer"
        ),
        "status": cc.TextColumn(COLUMNS["status"]),
        "why": cc.TextColumn(
            COLUMNS["why"], help="A failed run's error; select the row for all of it"
        ),
        "grounding": cc.TextColumn(
            COLUMNS["grounding"], help="Quotes found in the contract word for word, close, or not"
        ),
        "verdicts": cc.TextColumn(
            COLUMNS["verdicts"], help="A playbook check's positions per verdict"
        ),
        "cost_usd": cc.NumberColumn(COLUMNS["cost_usd"], format="$%.4f"),
        "served_by": cc.TextColumn(
            COLUMNS["served_by"], help="The server that answered (a model may run on several)"
        ),
    }
