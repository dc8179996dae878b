"""Figures for the built-in NDA checker, cross-validated by NDA, with 95% intervals.

    python -m lib.analysis.playbook.evaluate <contractnli.json> [--folds 5] [--rounds 1000]

The NDAs are dealt into folds (shuffled with a fixed seed, so every run splits alike); each fold's
NDAs are checked by a model trained on the other folds only, and the figures are computed once over
all NDAs' held-out answers, as ContractNLI's evaluation does (`scorer.py`). Intervals resample NDAs
with replacement. Evidence is ranked over the dataset's own spans, as the published span models
rank it, and again from the NDA's bare text cut by the app's own splitter (what an uploaded
contract gets). The time per NDA is the whole built-in check of its text, as the app runs it.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from lib.analysis.playbook.checker import check_playbook
from lib.analysis.playbook.contractnli import NliDocument, load_contractnli
from lib.analysis.playbook.loader import bundled_playbooks
from lib.analysis.playbook.nda_model import NdaModel
from lib.analysis.playbook.passages import split_passages
from lib.analysis.playbook.scorer import (
    METRICS,
    PUBLISHED,
    Prediction,
    bootstrap_intervals,
    per_document_map,
    score,
    span_scores_from_passages,
)
from lib.analysis.playbook.train import prepare, span_texts, train_prepared


def predict(model: NdaModel, document: NliDocument) -> dict[str, Prediction]:
    """The model's verdict and span scores for every position of one NDA, on its own spans."""
    out = {}
    for h, (scores, probs) in model.check(span_texts(document)).items():
        verdict = max(probs, key=probs.__getitem__)
        out[h] = Prediction(verdict, tuple(scores))
    return out


def predict_as_uploaded(model: NdaModel, document: NliDocument) -> dict[str, Prediction]:
    """The same, from the NDA's bare text cut by the app's own splitter, as for an upload.

    Each passage's score is mapped onto the dataset's spans it covers at least half of.
    """
    passages = split_passages(document.text)
    out = {}
    for h, (scores, probs) in model.check([p.text for p in passages]).items():
        verdict = max(probs, key=probs.__getitem__)
        scored = [(p.start, p.end, x) for p, x in zip(passages, scores, strict=True)]
        out[h] = Prediction(verdict, span_scores_from_passages(document.spans, scored))
    return out


@dataclass
class CrossValidation:
    """Held-out answers for every NDA, on the dataset's spans and as uploaded, and timings."""

    on_spans: dict[str, dict[str, Prediction]] = field(default_factory=dict)
    as_uploaded: dict[str, dict[str, Prediction]] = field(default_factory=dict)
    # The whole built-in check of an NDA's text, as the app runs it (splitting, clause finder,
    # features, both models).
    seconds: list[float] = field(default_factory=list)


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
) -> CrossValidation:
    prepared = [prepare(d) for d in documents]
    fold = folds_of(documents, folds, seed)
    playbook = bundled_playbooks()["nda"]
    out = CrossValidation()
    for k in range(folds):
        train = [p for p, f in zip(prepared, fold, strict=True) if f != k]
        model = train_prepared(train)
        for p, f in zip(prepared, fold, strict=True):
            if f == k:
                out.on_spans[p.document.id] = predict(model, p.document)
                out.as_uploaded[p.document.id] = predict_as_uploaded(model, p.document)
                started = time.perf_counter()
                check_playbook(p.document.text, playbook, model=model)
                out.seconds.append(time.perf_counter() - started)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", help="a ContractNLI-layout JSON file (or a folder holding one)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=1000, help="bootstrap rounds")
    args = parser.parse_args(argv)
    labels = load_contractnli(args.data)
    documents = labels.documents
    cv = cross_validate(documents, args.folds)
    print(f"Built-in NDA checker, {len(documents)} NDAs, {args.folds}-fold cross-validation by NDA")
    for title, predictions in (
        ("ranking the dataset's own spans", cv.on_spans),
        ("as uploaded: the app's own passages, mapped onto the dataset's spans", cv.as_uploaded),
    ):
        figures = score(documents, predictions)
        intervals = bootstrap_intervals(documents, predictions, args.rounds)
        print(f" {title}")
        for m in METRICS:
            low, high = intervals[m]
            print(f"  {m:<24} {figures[m]:.3f}  (95% interval {low:.3f}-{high:.3f})")
        diagnostic = per_document_map(documents, predictions)
        print(f"  {'evidence_map_per_nda':<24} {diagnostic:.3f}  (diagnostic: within each NDA)")
    seconds = sorted(cv.seconds)
    print(
        f"  seconds per NDA          median {seconds[len(seconds) // 2]:.3f}, max {seconds[-1]:.3f}"
    )
    print("Published on ContractNLI's test split (reference):")
    for name, ref in PUBLISHED.items():
        print("  " + name + ": " + ", ".join(f"{k} {v:.3f}" for k, v in ref.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
