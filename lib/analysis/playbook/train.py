"""Training the built-in NDA checker on labels in ContractNLI's layout (needs scikit-learn).

    python -m lib.analysis.playbook.train <contractnli.json> [--out <weights.json>]

The shipped weights (`weights/nda.json`) were trained this way on all 61 NDAs of ContractNLI's dev
split; `evaluate.py` measures the same training by cross-validation, NDA by NDA. Passages come from
the app's own segmenter (what the checker sees at run time), and a passage is evidence when it
covers at least half of a labelled evidence span. The verdict model learns from evidence scores
that were cross-fitted (each NDA scored by evidence models that never saw it), so it is trained on
scores as weak as the ones it will meet on a new contract.

scikit-learn fits the models (L2-regularised logistic regression, liblinear for evidence and
lbfgs for the verdict); only their coefficients are kept, as plain JSON numbers, and the app
scores with them in plain Python (`linear.py`), so scikit-learn is needed to train, not to run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lib.analysis.playbook.contractnli import NliDocument, load_contractnli
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.linear import Features, prune
from lib.analysis.playbook.nda_model import (
    CLASSES,
    WEIGHTS_FILE,
    NdaModel,
    passage_features,
    verdict_features,
)
from lib.analysis.playbook.passages import covered_spans, split_passages

INNER_FOLDS = 2
# Inverse regularisation strengths, chosen by cross-validation on the dev split.
EVIDENCE_C = 1.0
VERDICT_C = 1.0
# Weights smaller than this change no ranking worth shipping; they are dropped from the file.
PRUNE_BELOW = 0.03


@dataclass(frozen=True)
class Prepared:
    """One labelled NDA cut into passages, with each passage's features and evidence labels."""

    document: NliDocument
    starts_ends: tuple[tuple[int, int], ...]
    feats: list[Features]
    # position id → per passage, 1 when it covers an evidence span of that position
    evidence: dict[str, list[int]]


def prepare(document: NliDocument) -> Prepared:
    passages = split_passages(document.text)
    covers = [covered_spans(p.start, p.end, document.spans) for p in passages]
    evidence = {}
    for h, label in document.labels.items():
        gold = set(label.spans)
        evidence[h] = [int(bool(gold.intersection(c))) for c in covers]
    return Prepared(
        document,
        tuple((p.start, p.end) for p in passages),
        passage_features(passages),
        evidence,
    )


def _matrix(feats: Sequence[Features]) -> tuple[Any, list[str]]:
    """The features as one sparse matrix (liblinear takes 32-bit indices only) and their names."""
    from sklearn.feature_extraction import DictVectorizer

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(feats).tocsr()
    x.indices = x.indices.astype("int32")
    x.indptr = x.indptr.astype("int32")
    return x, vectorizer.feature_names_


def _fit_binary(x: Any, names: Sequence[str], labels: Sequence[int]) -> dict[str, float]:
    from sklearn.linear_model import LogisticRegression

    if len(set(labels)) < 2:
        return {"": 10.0 if any(labels) else -10.0}
    model = LogisticRegression(C=EVIDENCE_C, solver="liblinear", max_iter=100, tol=1e-3)
    model.fit(x, labels)
    weights = {n: w for n, w in zip(names, model.coef_[0].tolist(), strict=True) if w}
    weights[""] = float(model.intercept_[0])
    return weights


def _fit_softmax(examples: Sequence[tuple[Features, int]]) -> dict[str, list[float]]:
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform([f for f, _ in examples])
    labels = [y for _, y in examples]
    model = LogisticRegression(C=VERDICT_C, max_iter=2000)
    model.fit(x, labels)
    if [int(c) for c in model.classes_] != list(range(len(CLASSES))):
        raise ValueError("the labels must hold all three verdicts to train on")
    weights = {name: model.coef_[:, j].tolist() for j, name in enumerate(vectorizer.feature_names_)}
    bias = weights.setdefault("bias", [0.0] * len(CLASSES))
    weights["bias"] = [b + float(i) for b, i in zip(bias, model.intercept_, strict=True)]
    return weights


def _train_evidence(
    prepared: Sequence[Prepared], positions: Sequence[str]
) -> dict[str, dict[str, float]]:
    """One model per position, all fitted on the same matrix of every passage."""
    feats = [f for p in prepared for f in p.feats]
    x, names = _matrix(feats)
    models: dict[str, dict[str, float]] = {}
    for h in positions:
        labels = [y for p in prepared for y in (p.evidence.get(h) or [0] * len(p.feats))]
        models[h] = _fit_binary(x, names, labels)
    return models


def train(documents: Sequence[NliDocument], inner_folds: int = INNER_FOLDS) -> NdaModel:
    """Both models, from labelled documents."""
    prepared = [prepare(d) for d in documents]
    return train_prepared(prepared, inner_folds)


def train_prepared(prepared: Sequence[Prepared], inner_folds: int = INNER_FOLDS) -> NdaModel:
    positions = sorted({h for p in prepared for h in p.document.labels})
    verdict_examples: list[tuple[Features, int]] = []
    for fold in range(inner_folds):
        held = [p for i, p in enumerate(prepared) if i % inner_folds == fold]
        rest = [p for i, p in enumerate(prepared) if i % inner_folds != fold]
        evidence = NdaModel(_train_evidence(rest, positions), {})
        for p in held:
            for h, label in p.document.labels.items():
                scores = evidence.passage_scores(h, p.feats)
                verdict_examples.append(
                    (verdict_features(h, p.feats, scores), CLASSES.index(label.verdict))
                )
    verdict = _fit_softmax(verdict_examples)
    final_evidence = _train_evidence(prepared, positions)
    return NdaModel(
        {h: prune(w, PRUNE_BELOW, 3) for h, w in final_evidence.items()},
        prune(verdict, PRUNE_BELOW, 3),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a ContractNLI-layout JSON file (or a folder holding one)")
    parser.add_argument("--out", default=str(WEIGHTS_FILE), help="where to write the weights")
    args = parser.parse_args(argv)
    labels = load_contractnli(args.data)
    model = train(labels.documents)
    counts = {v.value: 0 for v in Verdict}
    for d in labels.documents:
        for label in d.labels.values():
            counts[label.verdict.value] += 1
    about = {
        "trained_on": f"{len(labels.documents)} NDAs in ContractNLI's layout",
        "labels": counts,
        "licence": "trained on ContractNLI (Koreeda & Manning, 2021), CC BY 4.0",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(model.to_json(about) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
