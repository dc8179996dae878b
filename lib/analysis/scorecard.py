"""A scorecard: how well each model's reports find the labelled clauses, and what that cost.

Per model, on the same labelled contracts: per category presence precision, recall and F1 (did the
report say the clause is there exactly when it is), the right-clause rate (a short quote covers a
labelled passage), CUAD's span rule (Jaccard ≥ 0.5), the laziness rate, the share of quotes not
found in the contract, and the run figures (cost, median time to first answer token — a reasoning
model's thinking is not its answer — and tokens/s over the answer).

Laziness is counted separately from misses because it is a different failure: the report said
"not found" for a category whose clause is in the contract, which an analyst reads as a clean bill
of health. A run that failed counts as a report that found nothing, so every model is scored on
the same contracts; the failures are listed beside the figures. A run still running (or waiting
to start) has neither failed nor found nothing yet: it is left out, and the scorecard says how
many contracts were (`unscored_note`).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lib.analysis.clauses.mapping import categories_for
from lib.analysis.grounding import ContractIndex, check_report, summarise
from lib.analysis.labels import LabelledSet
from lib.analysis.plural import counted
from lib.analysis.prompts import found_line, says_nothing_found
from lib.analysis.scoring import (
    PRF,
    CategoryPrediction,
    Prediction,
    cuad_spans,
    keep_found,
    parse_report,
    presence,
    right_clause,
)

# ContractEval (2025), best zero-shot F1 over CUAD clause categories: the published anchor the
# heat map draws as a reference.
CONTRACTEVAL_BEST_F1 = 0.64
ANCHORS: dict[str, float] = {"ContractEval best zero-shot F1": CONTRACTEVAL_BEST_F1}

_HEADING = re.compile(r"^(#{2,6})[ \t]*(.*)$", re.MULTILINE)
_SEVERITY_TAIL = re.compile(r"\s+[-–—:]+\s+\**(?:GREEN|YELLOW|RED)\b.*$", re.IGNORECASE)
_ABSENT_LINE = re.compile(
    r"^[ \t]*(?:[-*+]|\d{1,3}[.)])?[ \t]*\**([^:\n—–]{3,80}?)\**[ \t]*(?::|—|–|-)[ \t]*"
    r"(?:not found|none found|absent|missing)\b",
    re.IGNORECASE | re.MULTILINE,
)


def said_absent(markdown: str) -> set[str]:
    """Categories a report explicitly says the contract lacks ("Found: no", "X: not found")."""
    if not isinstance(markdown, str):
        return set()
    out: set[str] = set()
    headings = list(_HEADING.finditer(markdown))
    for i, match in enumerate(headings):
        if len(match.group(1)) < 3:
            continue
        end = headings[i + 1].start() if i + 1 < len(headings) else len(markdown)
        body = markdown[match.end() : end]
        # A NOT FOUND heading claims absence unless the section's own "Found:" line says
        # otherwise ("Found: unsure — only borderline matches", quoting them to check by hand).
        stated_absent = _ABSENT_LINE.match(match.group(0)) and found_line(body) is None
        if says_nothing_found(body) or stated_absent:
            title = _SEVERITY_TAIL.sub("", match.group(2)).strip(" *_`")
            out.update(categories_for(title))
    sections = {h.start() for h in headings if len(h.group(1)) >= 3}
    for match in _ABSENT_LINE.finditer(markdown):
        if match.start() not in sections:  # a section's heading is read with its section
            out.update(categories_for(match.group(1)))
    return out


@dataclass(frozen=True)
class ModelRun:
    """What scoring needs from one run of one model on one contract."""

    report: str
    ok: bool = True
    # Still running or waiting to start when scored: not scored at all (see `score_model`).
    running: bool = False
    cost_usd: float | None = None
    ttft_s: float | None = None
    tokens_per_s: float | None = None
    output_tokens: int | None = None
    # Prompt tokens the provider's cache served (Claude), billed at a tenth in `cost_usd`, and
    # those it stored, billed at a premium there.
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None


@dataclass(frozen=True)
class CategoryScore:
    category: str
    presence: PRF
    spans: PRF
    right_hits: int
    labelled: int
    lazy: int

    @property
    def right_clause_rate(self) -> float | None:
        return self.right_hits / self.labelled if self.labelled else None


@dataclass(frozen=True)
class ModelScore:
    model: str
    contracts: int
    failed: list[str]
    categories: list[CategoryScore]
    quotes: int
    quotes_not_found: int
    cost_usd: float | None
    ttft_s: float | None
    tokens_per_s: float | None
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    # Labelled contracts whose run was still running or waiting when scored: left out.
    running: list[str] = field(default_factory=list)

    @property
    def presence(self) -> PRF:
        return sum((c.presence for c in self.categories), PRF(0, 0, 0))

    @property
    def spans(self) -> PRF:
        return sum((c.spans for c in self.categories), PRF(0, 0, 0))

    @property
    def right_clause_rate(self) -> float | None:
        total = sum(c.labelled for c in self.categories)
        return sum(c.right_hits for c in self.categories) / total if total else None

    @property
    def laziness_rate(self) -> float | None:
        """Of the labelled clauses, the share the report said were not there."""
        total = sum(c.labelled for c in self.categories)
        return sum(c.lazy for c in self.categories) / total if total else None

    @property
    def not_found_rate(self) -> float | None:
        """Of the report's quotes, the share not found in the contract (invented or garbled)."""
        return self.quotes_not_found / self.quotes if self.quotes else None


@dataclass
class Scorecard:
    name: str
    labels: str
    categories: tuple[str, ...]
    contracts: list[str]
    models: list[ModelScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "labels": self.labels,
            "categories": list(self.categories),
            "contracts": self.contracts,
            "models": [_model_dict(m) for m in self.models],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scorecard:
        return cls(
            str(data["name"]),
            str(data["labels"]),
            tuple(data["categories"]),
            list(data["contracts"]),
            [_model_from(m) for m in data["models"]],
        )


def _model_dict(m: ModelScore) -> dict[str, Any]:
    return {
        "model": m.model,
        "contracts": m.contracts,
        "failed": m.failed,
        "quotes": m.quotes,
        "quotes_not_found": m.quotes_not_found,
        "cost_usd": m.cost_usd,
        "ttft_s": m.ttft_s,
        "tokens_per_s": m.tokens_per_s,
        "cache_read_tokens": m.cache_read_tokens,
        "cache_write_tokens": m.cache_write_tokens,
        "running": m.running,
        "categories": [
            {
                "category": c.category,
                "presence": [c.presence.tp, c.presence.fp, c.presence.fn],
                "spans": [c.spans.tp, c.spans.fp, c.spans.fn],
                "right_hits": c.right_hits,
                "labelled": c.labelled,
                "lazy": c.lazy,
            }
            for c in m.categories
        ],
    }


def _model_from(d: Mapping[str, Any]) -> ModelScore:
    return ModelScore(
        model=str(d["model"]),
        contracts=int(d["contracts"]),
        failed=list(d["failed"]),
        categories=[
            CategoryScore(
                c["category"],
                PRF(*c["presence"]),
                PRF(*c["spans"]),
                c["right_hits"],
                c["labelled"],
                c["lazy"],
            )
            for c in d["categories"]
        ],
        quotes=int(d["quotes"]),
        quotes_not_found=int(d["quotes_not_found"]),
        cost_usd=d.get("cost_usd"),
        ttft_s=d.get("ttft_s"),
        tokens_per_s=d.get("tokens_per_s"),
        cache_read_tokens=d.get("cache_read_tokens"),
        cache_write_tokens=d.get("cache_write_tokens"),
        running=list(d.get("running") or []),
    )


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


class IndexCache:
    """One grounding index per contract text, shared by every model scored on it."""

    def __init__(self) -> None:
        self._indexes: dict[str, ContractIndex] = {}

    def get(self, name: str, text: str) -> ContractIndex:
        if name not in self._indexes:
            self._indexes[name] = ContractIndex.build(text)
        return self._indexes[name]


def score_model(
    model: str,
    runs: Mapping[str, ModelRun],
    labelled: LabelledSet,
    texts: Mapping[str, str] | None = None,
    indexes: IndexCache | None = None,
) -> ModelScore:
    """Score one model's runs (keyed by labelled contract name) on the labelled contracts it ran.

    Contracts of the label set the model never ran are left out, and so are those whose run is
    still running or waiting (`ModelRun.running`: listed in `running`, neither failed nor a
    report that found nothing); a run that failed is scored as a report that found nothing.
    `texts` (by contract) are needed for the quote check: where a text is known, only quotes
    found in it are scored; contracts without text keep their quotes unchecked and are left out
    of the not-found rate.
    """
    texts = {**labelled.texts, **(texts or {})}
    indexes = indexes or IndexCache()
    ran = sorted(c for c in runs if c in labelled.labels)
    contracts = [c for c in ran if not runs[c].running]
    labels = {c: labelled.labels[c] for c in contracts}
    predictions: dict[str, Prediction] = {}
    absent: dict[str, set[str]] = {}
    failed: list[str] = []
    quotes = not_found = 0
    for contract in contracts:
        run = runs[contract]
        if not run.ok:
            failed.append(contract)
        report = run.report if run.ok and isinstance(run.report, str) else ""
        predictions[contract] = parse_report(report)
        absent[contract] = said_absent(report)
        if report and contract in texts:
            index = indexes.get(contract, texts[contract])
            predictions[contract] = keep_found(predictions[contract], index)
            counts = summarise(check_report(index, report))
            quotes += counts["total"]
            not_found += counts["not_found"]
    span_scores = cuad_spans(predictions, labels, labelled.categories)
    categories = []
    for category in labelled.categories:
        right = labelled_here = lazy = 0
        for contract in contracts:
            spans = labels[contract].get(category) or []
            if not spans:
                continue
            labelled_here += 1
            guess = predictions[contract].get(category, CategoryPrediction())
            right += bool(guess.present and right_clause(guess.quotes, spans))
            lazy += category in absent[contract] and not guess.present
        categories.append(
            CategoryScore(
                category,
                presence(predictions, labels, (category,)),
                span_scores[category],
                right,
                labelled_here,
                lazy,
            )
        )
    ok_runs = [runs[c] for c in contracts if runs[c].ok]
    costs = [r.cost_usd for r in (runs[c] for c in contracts) if r.cost_usd is not None]
    return ModelScore(
        model=model,
        contracts=len(contracts),
        failed=failed,
        categories=categories,
        quotes=quotes,
        quotes_not_found=not_found,
        cost_usd=sum(costs) if costs else None,
        ttft_s=_median([r.ttft_s for r in ok_runs]),
        tokens_per_s=_median([r.tokens_per_s for r in ok_runs]),
        cache_read_tokens=_reported_sum([runs[c].cache_read_tokens for c in contracts]),
        cache_write_tokens=_reported_sum([runs[c].cache_write_tokens for c in contracts]),
        running=[c for c in ran if runs[c].running],
    )


def _reported_sum(counts: Sequence[int | None]) -> int | None:
    """The total of the counts a provider reported; None where none was (not 0: unknown)."""
    reported = [n for n in counts if n is not None]
    return sum(reported) if reported else None


def build_scorecard(
    name: str,
    labelled: LabelledSet,
    runs_by_model: Mapping[str, Mapping[str, ModelRun]],
    texts: Mapping[str, str] | None = None,
) -> Scorecard:
    """Every model side by side on the labelled contracts; texts indexed once for all models."""
    indexes = IndexCache()
    models = [
        score_model(model, runs, labelled, texts, indexes) for model, runs in runs_by_model.items()
    ]
    contracts = sorted(
        {
            contract
            for runs in runs_by_model.values()
            for contract, run in runs.items()
            if contract in labelled.labels and not run.running
        }
    )
    return Scorecard(name, labelled.source, labelled.categories, contracts, models)


# Why a batch gives no scorecard (review and playbook alike): a card of nothing but zeros would
# be stored and listed on History beside the batch's real one.
NO_LABELS = "No contract of this batch has labels in this set."
NOTHING_ENDED = "Nothing to score yet: no labelled contract's run has ended."


def still_running_note(contracts: int) -> str:
    """What a scorecard of a batch not run to its end leaves out ("3 contracts still running or
    not run yet, not scored"); "" when every run had ended: the one sentence of review and
    playbook scorecards alike."""
    if not contracts:
        return ""
    return f"{counted(contracts, 'contract')} still running or not run yet, not scored."


def unscored_note(card: Scorecard) -> str:
    """`still_running_note` for a review scorecard: said beside the figures wherever it is shown
    or printed."""
    return still_running_note(len({c for m in card.models for c in m.running}))


def summary_rows(card: Scorecard) -> list[dict[str, Any]]:
    """One row per model: the figures the side-by-side table shows."""
    rows = []
    for m in card.models:
        rows.append(
            {
                "model": m.model,
                "contracts": m.contracts,
                "failed runs": len(m.failed),
                "presence P": m.presence.precision,
                "presence R": m.presence.recall,
                "presence F1": m.presence.f1,
                "right clause": m.right_clause_rate,
                "CUAD span F1": m.spans.f1,
                "laziness": m.laziness_rate,
                "quotes not found": m.not_found_rate,
                "cost (USD)": m.cost_usd,
                "cache read tokens": m.cache_read_tokens,
                "cache write tokens": m.cache_write_tokens,
                "first answer token (s, median)": m.ttft_s,
                "tokens/s": m.tokens_per_s,
            }
        )
    return rows


def category_rows(card: Scorecard, *, labelled_only: bool = True) -> list[dict[str, Any]]:
    """One row per model × category (long form, for the heat map and the detail table)."""
    rows = []
    for m in card.models:
        for c in m.categories:
            if labelled_only and c.labelled == 0 and c.presence.fp == 0:
                continue
            rows.append(
                {
                    "model": m.model,
                    "category": c.category,
                    "precision": c.presence.precision,
                    "recall": c.presence.recall,
                    "F1": c.presence.f1,
                    "right clause": c.right_clause_rate,
                    "span F1": c.spans.f1,
                    "labelled": c.labelled,
                    "lazy": c.lazy,
                }
            )
    return rows


def text_table(card: Scorecard) -> str:
    """The side-by-side figures as a Markdown table (terminal, `make eval`)."""

    def pct(value: float | None) -> str:
        return "—" if value is None else f"{value:.2f}"

    lines = [
        "| model | contracts | failed | presence P | presence R | presence F1 | right clause "
        "| span F1 | laziness | quotes not found | cost (USD) | cache read tokens "
        "| cache write tokens | first answer token (s, median) | tokens/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in card.models:
        cost = "—" if m.cost_usd is None else f"{m.cost_usd:.4f}"
        cached = "—" if m.cache_read_tokens is None else f"{m.cache_read_tokens:,}"
        stored = "—" if m.cache_write_tokens is None else f"{m.cache_write_tokens:,}"
        lines.append(
            f"| {m.model} | {m.contracts} | {len(m.failed)} | {pct(m.presence.precision)} "
            f"| {pct(m.presence.recall)} | {pct(m.presence.f1)} | {pct(m.right_clause_rate)} "
            f"| {pct(m.spans.f1)} | {pct(m.laziness_rate)} | {pct(m.not_found_rate)} | {cost} "
            f"| {cached} | {stored} | {pct(m.ttft_s)} | {pct(m.tokens_per_s)} |"
        )
    if note := unscored_note(card):
        lines += ["", note]
    return "\n".join(lines)


def compare_previous(current: Scorecard, previous: Scorecard) -> list[dict[str, Any]]:
    """Presence F1 now and last time for models both scorecards scored (a model upgrade)."""
    before = {m.model: m for m in previous.models}
    rows = []
    for m in current.models:
        old = before.get(m.model)
        rows.append(
            {
                "model": m.model,
                "presence F1": m.presence.f1,
                "previous F1": old.presence.f1 if old else None,
                "change": m.presence.f1 - old.presence.f1 if old else None,
            }
        )
    return rows
