"""Training the built-in NDA checker on labels in ContractNLI's layout.

    python -m lib.analysis.playbook.train <contractnli.json> [--out <weights.json>]

The shipped weights (`weights/nda.json`) were trained this way on all 61 NDAs of ContractNLI's dev
split; `evaluate.py` measures the same training by cross-validation, NDA by NDA. Passages come from
the app's own segmenter (what the checker sees at run time), and a passage is evidence when it
covers at least half of a labelled evidence span. The verdict model learns from evidence scores
that were cross-fitted (each NDA scored by evidence models that never saw it), so it is trained on
scores as weak as the ones it will meet on a new contract.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from lib.analysis.playbook.contractnli import NliDocument, load_contractnli
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.linear import Features, prune, train_binary, train_softmax
from lib.analysis.playbook.nda_model import (
    CLASSES,
    WEIGHTS_FILE,
    NdaModel,
    passage_features,
    verdict_features,
)
from lib.analysis.playbook.passages import covered_spans, split_passages

INNER_FOLDS = 3
EVIDENCE_L2 = 3e-5


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


def _train_evidence(prepared: Sequence[Prepared], positions: Sequence[str], seed: int):
    models = {}
    for h in positions:
        examples = [
            (f, y) for p in prepared for f, y in zip(p.feats, p.evidence.get(h, []), strict=False)
        ]
        models[h] = train_binary(examples, l2=EVIDENCE_L2, seed=seed)
    return models


def train(
    documents: Sequence[NliDocument], seed: int = 0, inner_folds: int = INNER_FOLDS
) -> NdaModel:
    """Both models, from labelled documents."""
    prepared = [prepare(d) for d in documents]
    return train_prepared(prepared, seed, inner_folds)


def train_prepared(
    prepared: Sequence[Prepared], seed: int = 0, inner_folds: int = INNER_FOLDS
) -> NdaModel:
    positions = sorted({h for p in prepared for h in p.document.labels})
    verdict_examples: list[tuple[Features, int]] = []
    for fold in range(inner_folds):
        held = [p for i, p in enumerate(prepared) if i % inner_folds == fold]
        rest = [p for i, p in enumerate(prepared) if i % inner_folds != fold]
        evidence = NdaModel(_train_evidence(rest, positions, seed), {})
        for p in held:
            for h, label in p.document.labels.items():
                scores = evidence.passage_scores(h, p.feats)
                verdict_examples.append(
                    (verdict_features(h, p.feats, scores), CLASSES.index(label.verdict))
                )
    verdict = train_softmax(verdict_examples, len(CLASSES), seed=seed)
    final_evidence = _train_evidence(prepared, positions, seed)
    return NdaModel(
        {h: prune(w, 0.005) for h, w in final_evidence.items()},
        prune(verdict, 0.005),
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
