"""Scoring verdicts and evidence as ContractNLI's official evaluation does.

Every figure is computed per position (hypothesis), over all documents together, then averaged
over positions ("macro label, micro document" in `contract_nli/evaluation.py`):
- NLI accuracy, and F1 of deviates (Contradiction) and of meets (Entailment); a position with no
  gold example of a class is left out of that class's average;
- evidence, over the documents whose gold label is not NotMentioned: every span of the document
  has a score, and average precision (scikit-learn's `average_precision_score`: precision summed
  over distinct score thresholds, weighted by the recall gained) and precision at 80% recall are
  computed over all of a position's spans, then averaged.
Evidence a checker gives as its own passages is scored over the dataset's spans: a span takes the
best score of the passages covering at least half of it, and 0 otherwise.

Plain Python, no numpy: the scorer runs wherever the app runs.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lib.analysis.playbook.contractnli import NliDocument
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.passages import covered_spans

# Published on ContractNLI's test split (Koreeda & Manning 2021, Tables 3-4): reference lines.
PUBLISHED: dict[str, dict[str, float]] = {
    "Majority vote per position": {"accuracy": 0.674, "f1_deviates": 0.083, "f1_meets": 0.428},
    "Span NLI BERT-base": {
        "accuracy": 0.838, "f1_deviates": 0.287, "f1_meets": 0.765, "evidence_map": 0.885,
    },
    "Span NLI BERT-large": {
        "accuracy": 0.875, "f1_deviates": 0.357, "f1_meets": 0.834, "evidence_map": 0.922,
    },
    "Span NLI DeBERTa-v2-xlarge": {
        "accuracy": 0.892, "f1_deviates": 0.405, "f1_meets": 0.859, "evidence_map": 0.936,
    },
}  # fmt: skip
METRICS = ("accuracy", "f1_deviates", "f1_meets", "evidence_map", "precision_at_80_recall")


@dataclass(frozen=True)
class Prediction:
    """A checker's answer for one position of one document."""

    verdict: Verdict
    # One score per span of the document (higher = more likely evidence); may be empty when the
    # checker gave no evidence, which then scores every span 0.
    span_scores: tuple[float, ...] = ()


def span_scores_from_passages(
    spans: Sequence[Sequence[int]], passages: Sequence[tuple[int, int, float]]
) -> tuple[float, ...]:
    """Per dataset span, the best score of the passages (start, end, score) covering half of it."""
    scores = [0.0] * len(spans)
    for start, end, score in passages:
        for i in covered_spans(start, end, spans):
            scores[i] = max(scores[i], score)
    return tuple(scores)


def f1(gold: Sequence[bool], predicted: Sequence[bool]) -> float:
    tp = sum(g and p for g, p in zip(gold, predicted, strict=True))
    fp = sum(p and not g for g, p in zip(gold, predicted, strict=True))
    fn = sum(g and not p for g, p in zip(gold, predicted, strict=True))
    return 0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn)


def average_precision(gold: Sequence[int], scores: Sequence[float]) -> float:
    """scikit-learn's average precision: tied scores form one threshold."""
    positives = sum(gold)
    if positives == 0:
        return math.nan
    pairs = sorted(zip(scores, gold, strict=True), key=lambda x: -x[0])
    ap = tp = fp = 0.0
    last_recall = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            tp += pairs[j][1]
            fp += 1 - pairs[j][1]
            j += 1
        recall = tp / positives
        ap += (recall - last_recall) * (tp / (tp + fp))
        last_recall = recall
        i = j
    return ap


def precision_at_recall(gold: Sequence[int], scores: Sequence[float], recall: float) -> float:
    """Precision at the highest threshold reaching `recall` (ties kept together)."""
    positives = sum(gold)
    if positives == 0:
        return math.nan
    pairs = sorted(zip(scores, gold, strict=True), key=lambda x: -x[0])
    tp = n = 0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            tp += pairs[j][1]
            j += 1
        n = j
        if tp / positives >= recall:
            break
        i = j
    return tp / n


def _mean(values: Sequence[float]) -> float:
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def score(
    documents: Sequence[NliDocument],
    predictions: Mapping[str, Mapping[str, Prediction]],
    positions: Sequence[str] | None = None,
) -> dict[str, float]:
    """The five figures for `predictions[document id][position id]` against the gold labels.

    A position a checker left unanswered for a document (no verdict could be read) counts as a
    wrong verdict with no evidence, so every checker is scored on the same pairs and one that
    answers nothing scores nothing: counted "not addressed", it was right wherever the contract
    says nothing, a third of the pairs.
    """
    if positions is None:
        positions = sorted({h for d in documents for h in d.labels})
    per_position: dict[str, list[float]] = {m: [] for m in METRICS}
    for h in positions:
        gold_v: list[Verdict] = []
        pred_v: list[Verdict | None] = []
        span_gold: list[int] = []
        span_pred: list[float] = []
        for d in documents:
            label = d.labels.get(h)
            if label is None:
                continue
            pred = predictions.get(d.id, {}).get(h)
            gold_v.append(label.verdict)
            pred_v.append(pred.verdict if pred is not None else None)
            if label.verdict is not Verdict.NOT_ADDRESSED:
                gold_spans = set(label.spans)
                scores = (pred.span_scores if pred else None) or (0.0,) * len(d.spans)
                if len(scores) != len(d.spans):
                    raise ValueError(
                        f"{d.name}: {len(scores)} span scores for {len(d.spans)} spans"
                    )
                span_gold.extend(int(i in gold_spans) for i in range(len(d.spans)))
                span_pred.extend(scores)
        if not gold_v:
            continue
        per_position["accuracy"].append(
            sum(g is p for g, p in zip(gold_v, pred_v, strict=True)) / len(gold_v)
        )
        for name, verdict in (("f1_deviates", Verdict.DEVIATES), ("f1_meets", Verdict.MEETS)):
            gold = [g is verdict for g in gold_v]
            per_position[name].append(
                f1(gold, [p is verdict for p in pred_v]) if any(gold) else math.nan
            )
        per_position["evidence_map"].append(average_precision(span_gold, span_pred))
        per_position["precision_at_80_recall"].append(
            precision_at_recall(span_gold, span_pred, 0.8)
        )
    return {m: _mean(v) for m, v in per_position.items()}


def per_document_map(
    documents: Sequence[NliDocument],
    predictions: Mapping[str, Mapping[str, Prediction]],
    positions: Sequence[str] | None = None,
) -> float:
    """A diagnostic, not ContractNLI's figure: evidence average precision within each document.

    Averaged over a position's documents that hold its evidence, then over positions. Pooled
    evidence mAP (`score`) also asks a span's score to be comparable between documents; the gap
    between the two says how much of the shortfall is ranking across documents, not within one.
    """
    if positions is None:
        positions = sorted({h for d in documents for h in d.labels})
    per_position = []
    for h in positions:
        values = []
        for d in documents:
            label = d.labels.get(h)
            if label is None or label.verdict is Verdict.NOT_ADDRESSED or not label.spans:
                continue
            pred = predictions.get(d.id, {}).get(h) or Prediction(Verdict.NOT_ADDRESSED)
            scores = pred.span_scores or (0.0,) * len(d.spans)
            gold = [int(i in label.spans) for i in range(len(d.spans))]
            values.append(average_precision(gold, scores))
        per_position.append(_mean(values))
    return _mean(per_position)


def bootstrap_intervals(
    documents: Sequence[NliDocument],
    predictions: Mapping[str, Mapping[str, Prediction]],
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, tuple[float, float]]:
    """95% intervals by resampling NDAs with replacement (the NDA is the unit that varies)."""
    rng = random.Random(seed)
    samples: dict[str, list[float]] = {m: [] for m in METRICS}
    for _ in range(rounds):
        drawn = [documents[rng.randrange(len(documents))] for _ in documents]
        # Copies of one NDA must count as separate documents.
        renamed = [
            NliDocument(f"{i}:{d.id}", d.name, d.text, d.spans, d.labels)
            for i, d in enumerate(drawn)
        ]
        preds = {f"{i}:{d.id}": predictions.get(d.id, {}) for i, d in enumerate(drawn)}
        for m, v in score(renamed, preds).items():
            if not math.isnan(v):
                samples[m].append(v)
    out = {}
    for m, values in samples.items():
        values.sort()
        if not values:
            out[m] = (math.nan, math.nan)
            continue
        out[m] = (values[int(0.025 * (len(values) - 1))], values[int(0.975 * (len(values) - 1))])
    return out
