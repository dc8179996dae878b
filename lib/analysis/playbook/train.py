"""Training the built-in NDA checker on labels in ContractNLI's layout (needs scikit-learn).

    python -m lib.analysis.playbook.train <contractnli.json> [--out <weights.npz>]

The shipped weights (`weights/nda.npz`) were trained this way on all 61 NDAs of ContractNLI's dev
split; `evaluate.py` measures the same training by cross-validation, NDA by NDA.

- Evidence: one L2-regularised logistic regression per position over the dataset's own spans
  (sentences and list items), a span being positive when the annotators chose it as evidence,
  and one more whose positives are every position's evidence.
  Beside each span's features it reads each position's keywords (`choose_keywords`, picked from
  the training NDAs' evidence). A second stage (`_fit_ranking`) makes a span's score comparable
  between NDAs; it learns from cross-fitted scores, like the verdict.
- Verdict: one multinomial logistic regression over the best spans' scores, words and cues
  (`nda_model.verdict_features`). It learns from evidence scores that were cross-fitted — each NDA
  scored by evidence models that never saw it — so it is trained on scores as weak as the ones it
  will meet on a new contract. Its strength and the weight of the rare deviates class are chosen
  by cross-validation by NDA inside the training NDAs only, never on the NDAs being measured;
  so is each position's deviates offset (`_deviates_offsets`), from the same held-out logits.

Everything is deterministic (fixed folds, deterministic solvers) and runs on one core. Only the
coefficients are kept, as plain arrays; scikit-learn is needed to train, not to run.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lib.analysis.playbook.contractnli import NliDocument, load_contractnli
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.nda_model import (
    CLASSES,
    WEIGHTS_FILE,
    NdaModel,
    Trees,
    ranking_features,
    text_digest,
    verdict_features,
)
from lib.analysis.playbook.span_features import (
    DIM,
    Features,
    SparseRows,
    hashed,
    keyword_features,
    row_dot,
    span_features,
    span_shape,
    words_of,
)

INNER_FOLDS = 3
EVIDENCE_C = 4.0
# Candidates tried inside the training NDAs: the verdict model's strength and the weight of
# deviates (Contradiction), the rare class whose F1 counts.
VERDICT_CS = (0.3, 1.0, 3.0)
DEVIATES_WEIGHTS = (1.0, 2.0, 4.0)
# Candidates for each position's deviates offset (`_deviates_offsets`), smallest first.
DEVIATES_OFFSETS = tuple(np.arange(0.0, 4.01, 0.25).tolist())
# The second stage's trees (`_fit_ranking`): few and shallow, each leaf holding many spans
# (cross-validated: 0.658-0.668 evidence mAP for 100-400 trees, 7-31 leaves, 20-100 spans a leaf).
RANKING_TREES = {"trees": 100, "learning_rate": 0.05, "leaves": 15, "min_leaf": 100}
# Weights smaller than this change no ranking worth shipping; they are dropped from the file.
PRUNE_BELOW = 0.005
# Per position, this many keywords, each seen in at least KEYWORD_MIN_SPANS of its evidence spans.
KEYWORDS = 40
KEYWORD_MIN_SPANS = 3


@dataclass(frozen=True)
class Prepared:
    """One labelled NDA: its spans' features and, per position, which spans are evidence."""

    document: NliDocument
    texts: list[str]
    feats: list[Features]
    rows: SparseRows
    evidence: dict[str, np.ndarray]
    words: list[frozenset[str]]


def span_texts(document: NliDocument) -> list[str]:
    return [document.text[s:e] for s, e in document.spans]


def prepare(document: NliDocument) -> Prepared:
    texts = span_texts(document)
    feats = span_features(texts)
    evidence = {}
    for h, label in document.labels.items():
        gold = np.zeros(len(document.spans), dtype=np.int8)
        gold[list(label.spans)] = 1
        evidence[h] = gold
    words = [frozenset(words_of(t)) for t in texts]
    return Prepared(document, texts, feats, hashed(feats), evidence, words)


def _lifted(
    chosen: Counter[str], chosen_spans: int, seen: Counter[str], spans: int, top: int
) -> frozenset[str]:
    """The `top` words whose share of the chosen spans most exceeds their share of all spans.

    Smoothed log-odds; a word must appear in KEYWORD_MIN_SPANS chosen spans, so one NDA's idiom
    is not picked.
    """
    lift = {
        w: math.log((n + 0.5) / (chosen_spans + 1)) - math.log((seen[w] + 0.5) / (spans + 1))
        for w, n in chosen.items()
        if n >= KEYWORD_MIN_SPANS
    }
    return frozenset(sorted(lift, key=lambda w: (-lift[w], w))[:top])


def _evidence_words(
    prepared: Sequence[Prepared], position: str, verdicts: Sequence[Verdict]
) -> tuple[Counter[str], int]:
    """The words of a position's evidence spans in NDAs with one of `verdicts`, and the count."""
    words: Counter[str] = Counter()
    spans = 0
    for p in prepared:
        label = p.document.labels.get(position)
        if label is None or label.verdict not in verdicts:
            continue
        for i in np.flatnonzero(p.evidence[position]):
            words.update(p.words[i])
            spans += 1
    return words, spans


def choose_keywords(
    prepared: Sequence[Prepared], positions: Sequence[str]
) -> tuple[frozenset[str], ...]:
    """Per position, the words of its evidence spans against those of every span.

    Chosen from the training NDAs only (inside each cross-validation fold).
    """
    seen: Counter[str] = Counter()
    for p in prepared:
        for words in p.words:
            seen.update(words)
    spans = sum(len(p.words) for p in prepared)
    addressed = (Verdict.MEETS, Verdict.DEVIATES)
    return tuple(
        _lifted(*_evidence_words(prepared, h, addressed), seen, spans, KEYWORDS) for h in positions
    )


def evidence_rows(
    p: Prepared, keywords: Sequence[frozenset[str]], positions: Sequence[str]
) -> SparseRows:
    """The span rows the evidence models read: features plus the positions' keyword shares."""
    extra = _matrix(
        [hashed(keyword_features(p.texts, dict(zip(positions, keywords, strict=True))))]
    )
    merged = (_matrix([p.rows]) + extra).tocsr()
    merged.sort_indices()
    return SparseRows(
        merged.indptr.astype(np.int64),
        merged.indices.astype(np.int32),
        merged.data.astype(np.float32),
    )


def _matrix(rows: Sequence[SparseRows]) -> Any:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    offsets = np.cumsum([0] + [r.indices.size for r in rows[:-1]])
    indptr = np.concatenate([[0]] + [r.indptr[1:] + o for r, o in zip(rows, offsets, strict=True)])
    indices = np.concatenate([r.indices for r in rows])
    data = np.concatenate([r.data for r in rows])
    return csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, DIM))


def _train_evidence(
    prepared: Sequence[Prepared], positions: Sequence[str], keywords: Sequence[frozenset[str]]
) -> tuple[np.ndarray, np.ndarray]:
    """One model per position, and one for any position's evidence, all on the same matrix."""
    from sklearn.linear_model import LogisticRegression

    x = _matrix([evidence_rows(p, keywords, positions) for p in prepared])
    weights = np.zeros((DIM, len(positions) + 1), dtype=np.float32)
    bias = np.zeros(len(positions) + 1)
    targets = [
        np.concatenate([p.evidence.get(h, np.zeros(p.rows.rows, dtype=np.int8)) for p in prepared])
        for h in positions
    ]
    targets.append(np.max(targets, axis=0) if targets else np.zeros(x.shape[0], dtype=np.int8))
    for j, y in enumerate(targets):
        if y.min() == y.max():
            bias[j] = 10.0 if y.max() else -10.0
            continue
        model = LogisticRegression(
            C=EVIDENCE_C, solver="liblinear", dual=True, max_iter=500, random_state=0
        )
        model.fit(x, y)
        weights[:, j] = model.coef_[0]
        bias[j] = float(model.intercept_[0])
    return weights, bias


@dataclass(frozen=True)
class VerdictExample:
    document: int
    position: str
    feats: Features
    label: int


def _fit_verdict(
    examples: Sequence[VerdictExample], c: float, deviates_weight: float
) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    rows = hashed([e.feats for e in examples])
    # Fitted on the columns in use only: a few thousand rather than all DIM hashed columns.
    used, compact = np.unique(rows.indices, return_inverse=True)
    x = _matrix([SparseRows(rows.indptr, compact.astype(np.int32), rows.data)])[:, : used.size]
    y = np.array([e.label for e in examples])
    weight = {i: 1.0 for i in range(len(CLASSES))}
    weight[CLASSES.index(Verdict.DEVIATES)] = deviates_weight
    if set(y.tolist()) != set(range(len(CLASSES))):
        raise ValueError("the labels must hold all three verdicts to train on")
    # One versus the rest with liblinear's dual solver: seconds where a multinomial fit over the
    # same sparse words takes minutes; the verdict is the class with the highest score.
    weights = np.zeros((DIM, len(CLASSES)), dtype=np.float32)
    bias = np.zeros(len(CLASSES))
    for k in range(len(CLASSES)):
        model = LogisticRegression(
            C=c, solver="liblinear", dual=True, max_iter=1000, random_state=0,
            class_weight={0: 1.0, 1: weight[k]},
        )  # fmt: skip
        model.fit(x, (y == k).astype(int))
        weights[used, k] = model.coef_[0]
        bias[k] = float(model.intercept_[0])
    return weights, bias


def _verdict_objective(examples: Sequence[VerdictExample], predicted: np.ndarray) -> float:
    """Accuracy plus F1 of deviates, each averaged over positions as ContractNLI does."""
    deviates = CLASSES.index(Verdict.DEVIATES)
    accuracy, f1s = [], []
    for h in sorted({e.position for e in examples}):
        idx = [i for i, e in enumerate(examples) if e.position == h]
        gold = np.array([examples[i].label for i in idx])
        pred = predicted[idx]
        accuracy.append(float((gold == pred).mean()))
        if (gold == deviates).any():
            tp = int(((gold == deviates) & (pred == deviates)).sum())
            fp = int(((gold != deviates) & (pred == deviates)).sum())
            fn = int(((gold == deviates) & (pred != deviates)).sum())
            f1s.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return float(np.mean(accuracy)) + (float(np.mean(f1s)) if f1s else 0.0)


def _held_out_logits(
    examples: Sequence[VerdictExample], folds: int, c: float, deviates_weight: float
) -> np.ndarray:
    """Each example's verdict logits from a model trained on the other folds' NDAs."""
    logits = np.zeros((len(examples), len(CLASSES)))
    for k in range(folds):
        train = [e for e in examples if e.document % folds != k]
        held = [i for i, e in enumerate(examples) if e.document % folds == k]
        weights, bias = _fit_verdict(train, c, deviates_weight)
        logits[held] = _logits(hashed([examples[i].feats for i in held]), weights, bias)
    return logits


def _choose_verdict_settings(
    examples: Sequence[VerdictExample], folds: int
) -> tuple[float, float, np.ndarray]:
    """The strength and deviates weight that do best across folds of the training NDAs.

    Also returns the held-out logits of the chosen settings, which `_deviates_offsets` reads.
    """
    best: tuple[float, float, float, np.ndarray] | None = None
    for c in VERDICT_CS:
        for w in DEVIATES_WEIGHTS:
            logits = _held_out_logits(examples, folds, c, w)
            value = _verdict_objective(examples, logits.argmax(axis=1))
            if best is None or value > best[0] + 1e-9:
                best = (value, c, w, logits)
    assert best is not None
    return best[1], best[2], best[3]


def _deviates_offsets(
    examples: Sequence[VerdictExample], logits: np.ndarray, positions: Sequence[str]
) -> np.ndarray:
    """Per position, what to add to the deviates logit so deviations are called as often as seen.

    The shared verdict model under-calls a position's deviations (a rare class among 17
    positions); the offset is the smallest of DEVIATES_OFFSETS that calls at least as many
    deviates over the held-out training NDAs as they hold gold deviations. Where none does, the
    model cannot rank that position's deviations and pushing would only add false ones: 0.
    Chosen from cross-fitted logits of the training NDAs only (cross-validated: +0.04 F1 of
    deviates, -0.002 accuracy).
    """
    deviates = CLASSES.index(Verdict.DEVIATES)
    labels = np.array([e.label for e in examples])
    owner = np.array([e.position for e in examples])
    out = np.zeros(len(positions))
    for j, h in enumerate(positions):
        mine = owner == h
        gold = int((labels[mine] == deviates).sum())
        for offset in DEVIATES_OFFSETS:
            shifted = logits[mine].copy()
            shifted[:, deviates] += offset
            if int((shifted.argmax(axis=1) == deviates).sum()) >= gold:
                out[j] = offset
                break
    return out


def _fit_ranking(x: Sequence[np.ndarray], y: Sequence[np.ndarray]) -> Trees:
    """The second stage: a span's evidence log-odds made comparable between contracts.

    Small gradient-boosted trees (RANKING_TREES) over `ranking_features`, trained on
    cross-fitted scores of the contracts that address each position (the only ones evidence is
    scored on), one model shared by the positions. Kept as plain arrays (`Trees`).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    model = HistGradientBoostingClassifier(
        max_iter=RANKING_TREES["trees"],
        learning_rate=RANKING_TREES["learning_rate"],
        max_leaf_nodes=RANKING_TREES["leaves"],
        min_samples_leaf=RANKING_TREES["min_leaf"],
        early_stopping=False,
        random_state=0,
    )
    with threadpool_limits(limits=1):  # one core, as everything else here: the same trees anywhere
        model.fit(np.vstack(x), np.concatenate(y))
    return _plain_trees(model)


def _plain_trees(model: Any) -> Trees:
    """A fitted binary HistGradientBoostingClassifier's trees, as `Trees` (its node arrays)."""
    parts = [tree[0].nodes for tree in model._predictors]
    starts = np.cumsum([0] + [len(n) for n in parts[:-1]])
    nodes = np.concatenate(parts)
    shift = np.concatenate([np.full(len(n), o) for n, o in zip(parts, starts, strict=True)])
    leaf = nodes["is_leaf"].astype(bool)
    return Trees(
        np.where(leaf, 0, nodes["feature_idx"]).astype(np.int64),
        np.where(leaf, 0.0, nodes["num_threshold"]).astype(np.float64),
        np.where(leaf, 0, nodes["left"] + shift).astype(np.int64),
        np.where(leaf, 0, nodes["right"] + shift).astype(np.int64),
        leaf,
        np.where(leaf, nodes["value"], 0.0).astype(np.float64),
        starts.astype(np.int64),
        float(np.ravel(model._baseline_prediction)[0]),
    )


def _logits(rows: SparseRows, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits: np.ndarray = row_dot(rows, weights) + bias
    return logits


def train_prepared(
    prepared: Sequence[Prepared], inner_folds: int = INNER_FOLDS, about: str = "{}"
) -> NdaModel:
    positions = tuple(sorted({h for p in prepared for h in p.document.labels}))
    examples: list[VerdictExample] = []
    ranking_x: list[np.ndarray] = []
    ranking_y: list[np.ndarray] = []
    for fold in range(inner_folds):
        held = [(i, p) for i, p in enumerate(prepared) if i % inner_folds == fold]
        rest = [p for i, p in enumerate(prepared) if i % inner_folds != fold]
        keywords = choose_keywords(rest, positions)
        weights, bias = _train_evidence(rest, positions, keywords)
        evidence = NdaModel(positions, weights, bias, np.zeros((DIM, 3)), np.zeros(3))
        for i, p in held:
            logits = evidence.span_logits(evidence_rows(p, keywords, positions))
            scores = 1.0 / (1.0 + np.exp(-logits))
            features = ranking_features(logits, span_shape(p.texts))
            for j, h in enumerate(positions):
                label = p.document.labels.get(h)
                if label is not None:
                    feats = verdict_features(h, p.feats, scores[:, j])
                    examples.append(VerdictExample(i, h, feats, CLASSES.index(label.verdict)))
                    if label.verdict is not Verdict.NOT_ADDRESSED:
                        ranking_x.append(features[:, j])
                        ranking_y.append(p.evidence[h])
    c, deviates_weight, held_out = _choose_verdict_settings(examples, inner_folds)
    deviates_offset = _deviates_offsets(examples, held_out, positions)
    verdict_weights, verdict_bias = _fit_verdict(examples, c, deviates_weight)
    ranking = _fit_ranking(ranking_x, ranking_y)
    keywords = choose_keywords(prepared, positions)
    evidence_weights, evidence_bias = _train_evidence(prepared, positions, keywords)
    evidence_weights[np.abs(evidence_weights) < PRUNE_BELOW] = 0.0
    verdict_weights[np.abs(verdict_weights).max(axis=1) < PRUNE_BELOW] = 0.0
    settings = {
        "verdict_c": c,
        "deviates_weight": deviates_weight,
        "evidence_c": EVIDENCE_C,
        "deviates_offset": {
            h: o for h, o in zip(positions, deviates_offset.tolist(), strict=True) if o
        },
    }
    about = json.dumps({**json.loads(about), "settings": settings}, sort_keys=True)
    return NdaModel(
        positions,
        evidence_weights,
        evidence_bias,
        verdict_weights,
        verdict_bias,
        about,
        keywords,
        ranking,
        deviates_offset,
    )


def train(documents: Sequence[NliDocument], about: dict[str, Any] | None = None) -> NdaModel:
    """Both models, from labelled documents."""
    return train_prepared([prepare(d) for d in documents], about=json.dumps(about or {}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a ContractNLI-layout JSON file (or a folder holding one)")
    parser.add_argument("--out", default=str(WEIGHTS_FILE), help="where to write the weights")
    args = parser.parse_args(argv)
    labels = load_contractnli(args.data)
    counts = {v.value: 0 for v in Verdict}
    for d in labels.documents:
        for label in d.labels.values():
            counts[label.verdict.value] += 1
    about = {
        "trained_on": f"{len(labels.documents)} NDAs in ContractNLI's layout",
        # Digests, not texts: a scorecard can then say which NDAs it scores in sample.
        "documents": sorted(text_digest(d.text) for d in labels.documents),
        "labels": counts,
        "licence": "trained on ContractNLI (Koreeda & Manning, 2021), CC BY 4.0",
    }
    model = train(labels.documents, about)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    model.save(Path(args.out))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
