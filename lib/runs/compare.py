"""Two finished runs on one contract, compared: the figures table, who did better, what only one
model flagged, and both timelines on one axis; or why the comparison did not run."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.analysis.prompts import NOT_FOUND, count_findings
from lib.analysis.tokens import CHARS_PER_TOKEN
from lib.engine.errors import ErrorKind
from lib.engine.run_stats import RunStats, RunStatus
from lib.runs.pricing import cost_text
from lib.store.csv_export import csv_bytes
from lib.store.records import RunRecord, has_counts, run_maker, thinking_label

# Each row: label, record attribute, whether a larger value is better.
COST_ROW = "Cost (USD)"  # shown by `pricing.cost_text`: "none" for a model with no price
TABLE_ROWS: list[tuple[str, str, bool | None]] = [
    ("Time to first answer token (s)", "ttft_s", False),
    ("Time to first thinking token (s)", "ttft_thinking_s", None),
    ("Thinking time (s)", "thinking_s", None),
    ("Thinking tokens", "thinking", None),
    ("Total time (s)", "total_s", False),
    ("Input tokens", "input_tokens", None),
    ("… read from the prompt cache", "cache_read_tokens", None),
    ("… written to the prompt cache", "cache_write_tokens", None),
    ("Output tokens", "output_tokens", None),
    ("Generation speed (tokens/s)", "tokens_per_s", True),
    (COST_ROW, "cost_usd", False),
    ("Report length (characters)", "report_chars", None),
    ("RED findings", "red", None),
    ("YELLOW findings", "yellow", None),
    ("Quotes checked", "quotes_total", None),
    ("Quotes verified in the contract", "quotes_verified", True),
    ("Quotes close to the contract", "quotes_close", None),
    ("Quotes not found in the contract", "quotes_not_found", False),
    ('"Not found" claims the clause finder contradicts', "crosscheck_disagreements", False),
    ("Status", "status", None),
]


def _value(record: RunRecord, attribute: str) -> object:
    if attribute == "report_chars":
        return len(record.report)
    if attribute == "thinking":
        return thinking_label(record) or None
    if attribute in ("red", "yellow"):  # none for a run with no report: not a report with no flags
        return getattr(count_findings(record.report), attribute) if has_counts(record) else None
    if attribute == "status":
        return record.status.label
    return getattr(record, attribute)


SIDES = ("Left", "Right")


def side_names(names: Sequence[str]) -> tuple[str, str]:
    """Two reviewers as every comparison (reviews, playbook checks) names them in its columns,
    chart and files: side first, so the same model on both sides stays two, and a chart legend
    cut short still tells them apart."""
    return (f"{SIDES[0]}: {names[0]}", f"{SIDES[1]}: {names[1]}")


def side_labels(records: Sequence[RunRecord]) -> list[str]:
    return list(side_names([run_maker(r.provider, r.model) for r in records]))


def comparison_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    labels = side_labels(records)
    data = {
        label: [_value(r, attr) for _, attr, _ in TABLE_ROWS]
        for label, r in zip(labels, records, strict=True)
    }
    return pd.DataFrame(data, index=[label for label, _, _ in TABLE_ROWS], dtype=object)


FORMATS = {
    "ttft_s": "{:.2f}",
    "ttft_thinking_s": "{:.2f}",
    "thinking_s": "{:.2f}",
    "total_s": "{:.2f}",
    "input_tokens": "{:,}",
    "cache_read_tokens": "{:,}",
    "cache_write_tokens": "{:,}",
    "output_tokens": "{:,}",
    "tokens_per_s": "{:.1f}",
    "report_chars": "{:,}",
}


def display_table(records: Sequence[RunRecord]) -> pd.DataFrame:
    """`comparison_table` as formatted text, one type per column so any table widget takes it."""
    table = comparison_table(records)
    for label, attribute, _ in TABLE_ROWS:
        pattern = FORMATS.get(attribute, "{}")
        table.loc[label] = ["—" if v is None else pattern.format(v) for v in table.loc[label]]
    table.loc[COST_ROW] = [cost_text(r.provider, r.cost_usd) for r in records]
    return table.astype(str)


def better_side(records: Sequence[RunRecord]) -> dict[str, int | None]:
    """For each row with a "better" direction, the index of the better side (None on a tie).
    Only between complete runs: a stopped or failed run's time and counts say how far it got,
    not how good it is, so no side is crowned then."""
    complete = all(r.status is RunStatus.DONE for r in records)
    winners: dict[str, int | None] = {}
    for label, attr, larger_is_better in TABLE_ROWS:
        if larger_is_better is None:
            continue
        values = [_value(r, attr) for r in records]
        if not complete or any(v is None for v in values) or _tied(attr, values):
            winners[label] = None
            continue
        best = max(values) if larger_is_better else min(values)
        winners[label] = values.index(best)
    return winners


def _tied(attribute: str, values: Sequence[object]) -> bool:
    """Equal as the table shows them: 0.42 s beside 0.42 s was crowned on the third decimal."""
    return len({FORMATS.get(attribute, "{}").format(v) for v in values}) == 1


def findings_diff(records: Sequence[RunRecord]) -> dict[str, dict[str, str]]:
    """Categories one model flagged RED/YELLOW that the other rated GREEN, found nothing on, or
    did not mention. A run that did not finish is compared only on the topics it reached: a
    topic it never got to is no difference."""
    found = [count_findings(r.report).categories for r in records]
    normalised = [{k.lower(): v for k, v in f.items()} for f in found]
    labels = side_labels(records)
    diff: dict[str, dict[str, str]] = {}
    for i, label in enumerate(labels):
        other, finished = normalised[1 - i], records[1 - i].status is RunStatus.DONE
        diff[label] = {
            category: severity
            for category, severity in found[i].items()
            if severity in ("RED", "YELLOW")
            and (category.lower() in other or finished)
            and other.get(category.lower(), "GREEN") in ("GREEN", NOT_FOUND)
        }
    return diff


def unfinished_note(records: Sequence[RunRecord]) -> str | None:
    """What the comparison of runs that did not all finish leaves out, or None when all did."""
    unfinished = [
        f"{label} {record.status.label}"
        for label, record in zip(side_labels(records), records, strict=True)
        if record.status is not RunStatus.DONE
    ]
    if not unfinished:
        return None
    return (
        f"Not both complete ({', '.join(unfinished)}): topics a run never reached are left out, "
        "and no side is marked better."
    )


def not_run_note(records: Sequence[RunRecord]) -> str | None:
    """Why a comparison did not run, or None when it did: every side refused before its model
    was asked anything (`RunRecord.not_started`: over the cap on runs at once, a side too long
    for its model, the other side not started for it). There is nothing to compare then, and a
    table of two empty columns read as a comparison. Each reason is said once; a side's "not
    started as the other cannot run" only when no side says why itself."""
    if not records or not all(record.not_started for record in records):
        return None
    messages = [(r.error_message or "").strip() for r in records]
    own = [m for r, m in zip(records, messages, strict=True)
           if r.error_kind != ErrorKind.PARTNER_CANNOT_RUN]  # fmt: skip
    reasons = [m for m in dict.fromkeys(own or messages) if m]
    return " ".join(["The comparison did not run.", *reasons])


def timeline_frame(stats: Sequence[RunStats], labels: Sequence[str]) -> pd.DataFrame:
    """Estimated tokens over seconds since each run's request, on one shared time axis."""
    rows: list[dict[str, object]] = []
    for label, run in zip(labels, stats, strict=True):
        rows.append({"model": label, "seconds": 0.0, "tokens": 0.0})
        for seconds, chars in run.timeline:
            rows.append({"model": label, "seconds": seconds, "tokens": chars / CHARS_PER_TOKEN})
    return pd.DataFrame(rows, columns=["model", "seconds", "tokens"])


def comparison_csv(records: Sequence[RunRecord]) -> bytes:
    return csv_bytes(comparison_table(records))
