"""Figures for the built-in NDA checker, cross-validated by NDA, with 95% intervals.

    python -m lib.analysis.playbook.evaluate <contractnli.json> [--folds 5] [--rounds 1000]

The NDAs are dealt into folds (shuffled with a fixed seed, so every run splits alike); each fold's
NDAs are checked by a model trained on the other folds only, and the figures are computed once over
all NDAs' held-out answers. Intervals resample NDAs with replacement. The checker is run as the app
runs it — its own passages, mapped onto the dataset's spans by the half-coverage rule.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence

from lib.analysis.playbook.contractnli import NliDocument, load_contractnli
from lib.analysis.playbook.nda_model import NdaModel
from lib.analysis.playbook.scorer import (
    METRICS,
    PUBLISHED,
    Prediction,
    bootstrap_intervals,
    score,
    span_scores_from_passages,
)
from lib.analysis.playbook.train import Prepared, prepare, train_prepared


def predict(model: NdaModel, prepared: Prepared) -> dict[str, Prediction]:
    out = {}
    for h in prepared.document.labels:
        scores = model.passage_scores(h, prepared.feats)
        probs = model.verdict_probabilities(h, prepared.feats, scores)
        verdict = max(probs, key=probs.__getitem__)
        passages = [(s, e, x) for (s, e), x in zip(prepared.starts_ends, scores, strict=True)]
        out[h] = Prediction(verdict, span_scores_from_passages(prepared.document.spans, passages))
    return out


def folds_of(documents: Sequence[NliDocument], folds: int, seed: int = 0) -> list[int]:
    """The fold of each document: a fixed shuffle, then dealt round-robin."""
    order = list(range(len(documents)))
    random.Random(seed).shuffle(order)
    fold = [0] * len(documents)
    for rank, i in enumerate(order):
        fold[i] = rank % folds
    return fold


def cross_validate(
    documents: Sequence[NliDocument], folds: int = 5, seed: int = 0
) -> tuple[dict[str, dict[str, Prediction]], list[float]]:
    prepared = [prepare(d) for d in documents]
    fold = folds_of(documents, folds, seed)
    predictions: dict[str, dict[str, Prediction]] = {}
    seconds: list[float] = []
    for k in range(folds):
        train = [p for p, f in zip(prepared, fold, strict=True) if f != k]
        model = train_prepared(train)
        for p, f in zip(prepared, fold, strict=True):
            if f == k:
                started = time.perf_counter()
                predictions[p.document.id] = predict(model, prepare(p.document))
                seconds.append(time.perf_counter() - started)
    return predictions, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a ContractNLI-layout JSON file (or a folder holding one)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds")
    args = parser.parse_args(argv)
    labels = load_contractnli(args.data)
    documents = labels.documents
    predictions, seconds = cross_validate(documents, args.folds)
    figures = score(documents, predictions)
    intervals = bootstrap_intervals(documents, predictions, args.rounds)
    print(f"Built-in NDA checker, {len(documents)} NDAs, {args.folds}-fold cross-validation by NDA")
    for m in METRICS:
        low, high = intervals[m]
        print(f"  {m:<24} {figures[m]:.3f}  (95% interval {low:.3f}-{high:.3f})")
    seconds.sort()
    print(
        f"  seconds per NDA          median {seconds[len(seconds) // 2]:.3f}, max {seconds[-1]:.3f}"
    )
    print("Published on ContractNLI's test split (reference):")
    for name, ref in PUBLISHED.items():
        print("  " + name + ": " + ", ".join(f"{k} {v:.3f}" for k, v in ref.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
