"""Training the built-in NDA checker on labels in ContractNLI's layout (needs scikit-learn).

    python -m lib.analysis.playbook.train <contractnli.json> [--out <weights.npz>]

The shipped weights (`weights/nda.npz`) were trained this way on all 61 NDAs of ContractNLI's dev
split; `evaluate.py` measures the same training by cross-validation, NDA by NDA.

- Evidence: one L2-regularised logistic regression per position over the dataset's own spans
  (sentences and list items), a span being positive when the annotators chose it as evidence.
- Verdict: one multinomial logistic regression over the best spans' scores, words and cues
  (`nda_model.verdict_features`). It learns from evidence scores that were cross-fitted — each NDA
  scored by evidence models that never saw it — so it is trained on scores as weak as the ones it
  will meet on a new contract. Its strength and the weight of the rare deviates class are chosen
  by cross-validation by NDA inside the training NDAs only, never on the NDAs being measured.

Everything is deterministic (fixed folds, deterministic solvers) and runs on one core. Only the
coefficients are kept, as plain arrays; scikit-learn is needed to train, not to run.
"""

from __future__ import annotations

import argparse
import json
import sys
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
    verdict_features,
)
from lib.analysis.playbook.span_features import (
    DIM,
    Features,
    SparseRows,
    hashed,
    row_dot,
    span_features,
)

INNER_FOLDS = 3
EVIDENCE_C = 4.0
# Candidates tried inside the training NDAs: the verdict model's strength and the weight of
# deviates (Contradiction), the rare class whose F1 counts.
VERDICT_CS = (0.3, 1.0, 3.0)
DEVIATES_WEIGHTS = (1.0, 2.0, 4.0)
# Weights smaller than this change no ranking worth shipping; they are dropped from the file.
PRUNE_BELOW = 0.005


@dataclass(frozen=True)
class Prepared:
    """One labelled NDA: its spans' features and, per position, which spans are evidence."""

    document: NliDocument
    feats: list[Features]
    rows: SparseRows
    evidence: dict[str, np.ndarray]


def span_texts(document: NliDocument) -> list[str]:
    return [document.text[s:e] for s, e in document.spans]


def prepare(document: NliDocument) -> Prepared:
    feats = span_features(span_texts(document))
    evidence = {}
    for h, label in document.labels.items():
        gold = np.zeros(len(document.spans), dtype=np.int8)
        gold[list(label.spans)] = 1
        evidence[h] = gold
    return Prepared(document, feats, hashed(feats), evidence)


def _matrix(rows: Sequence[SparseRows]) -> Any:
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    offsets = np.cumsum([0] + [r.indices.size for r in rows[:-1]])
    indptr = np.concatenate([[0]] + [r.indptr[1:] + o for r, o in zip(rows, offsets, strict=True)])
    indices = np.concatenate([r.indices for r in rows])
    data = np.concatenate([r.data for r in rows])
    return csr_matrix((data, indices, indptr), shape=(len(indptr) - 1, DIM))


def _train_evidence(
    prepared: Sequence[Prepared], positions: Sequence[str]
) -> tuple[np.ndarray, np.ndarray]:
    """One model per position, all fitted on the same matrix of every span."""
    from sklearn.linear_model import LogisticRegression

    x = _matrix([p.rows for p in prepared])
    weights = np.zeros((DIM, len(positions)), dtype=np.float32)
    bias = np.zeros(len(positions))
    for j, h in enumerate(positions):
        y = np.concatenate(
            [p.evidence.get(h, np.zeros(p.rows.rows, dtype=np.int8)) for p in prepared]
        )
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


def _choose_verdict_settings(examples: Sequence[VerdictExample], folds: int) -> tuple[float, float]:
    """The strength and deviates weight that do best across folds of the training NDAs."""
    best: tuple[float, float, float] | None = None
    for c in VERDICT_CS:
        for w in DEVIATES_WEIGHTS:
            predicted = np.zeros(len(examples), dtype=int)
            for k in range(folds):
                train = [e for e in examples if e.document % folds != k]
                held = [i for i, e in enumerate(examples) if e.document % folds == k]
                weights, bias = _fit_verdict(train, c, w)
                logits = _logits(hashed([examples[i].feats for i in held]), weights, bias)
                predicted[held] = logits.argmax(axis=1)
            value = _verdict_objective(examples, predicted)
            if best is None or value > best[0] + 1e-9:
                best = (value, c, w)
    assert best is not None
    return best[1], best[2]


def _logits(rows: SparseRows, weights: np.ndarray, bias: np.ndarray) -> np.ndarray:
    logits: np.ndarray = row_dot(rows, weights) + bias
    return logits


def train_prepared(
    prepared: Sequence[Prepared], inner_folds: int = INNER_FOLDS, about: str = "{}"
) -> NdaModel:
    positions = tuple(sorted({h for p in prepared for h in p.document.labels}))
    examples: list[VerdictExample] = []
    for fold in range(inner_folds):
        held = [(i, p) for i, p in enumerate(prepared) if i % inner_folds == fold]
        rest = [p for i, p in enumerate(prepared) if i % inner_folds != fold]
        weights, bias = _train_evidence(rest, positions)
        evidence = NdaModel(positions, weights, bias, np.zeros((DIM, 3)), np.zeros(3))
        for i, p in held:
            scores = evidence.span_scores(p.rows)
            for j, h in enumerate(positions):
                label = p.document.labels.get(h)
                if label is not None:
                    feats = verdict_features(h, p.feats, scores[:, j])
                    examples.append(VerdictExample(i, h, feats, CLASSES.index(label.verdict)))
    c, deviates_weight = _choose_verdict_settings(examples, inner_folds)
    verdict_weights, verdict_bias = _fit_verdict(examples, c, deviates_weight)
    evidence_weights, evidence_bias = _train_evidence(prepared, positions)
    evidence_weights[np.abs(evidence_weights) < PRUNE_BELOW] = 0.0
    verdict_weights[np.abs(verdict_weights).max(axis=1) < PRUNE_BELOW] = 0.0
    settings = {"verdict_c": c, "deviates_weight": deviates_weight, "evidence_c": EVIDENCE_C}
    about = json.dumps({**json.loads(about), "settings": settings}, sort_keys=True)
    return NdaModel(
        positions, evidence_weights, evidence_bias, verdict_weights, verdict_bias, about
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
