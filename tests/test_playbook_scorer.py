"""The ContractNLI scorer against figures computed by hand."""

from __future__ import annotations

import math
import random

import pytest

from lib.analysis.playbook.contractnli import ContractNliError, parse_contractnli
from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.scorer import (
    Prediction,
    average_precision,
    per_document_map,
    precision_at_recall,
    score,
    span_scores_from_passages,
)

E, C, N = "Entailment", "Contradiction", "NotMentioned"
SPANS = [[0, 5], [6, 10], [11, 15], [16, 20]]


def doc(doc_id: str, h1: tuple[str, list[int]], h2: tuple[str, list[int]]) -> dict:
    return {
        "id": doc_id,
        "file_name": f"{doc_id}.txt",
        "text": "x" * 20,
        "spans": SPANS,
        "annotation_sets": [
            {
                "annotations": {
                    "h1": {"choice": h1[0], "spans": h1[1]},
                    "h2": {"choice": h2[0], "spans": h2[1]},
                }
            }
        ],
    }


LABELS = parse_contractnli(
    {
        "labels": {"h1": {"hypothesis": "one"}, "h2": {"hypothesis": "two"}},
        "documents": [
            doc("A", (E, [1]), (N, [])),
            doc("B", (C, [0]), (E, [2])),
            doc("C", (N, []), (E, [0, 1])),
        ],
    }
)
M, D, NA = Verdict.MEETS, Verdict.DEVIATES, Verdict.NOT_ADDRESSED
PREDICTIONS = {
    "A": {"h1": Prediction(M, (0.1, 0.9, 0.2, 0.0)), "h2": Prediction(NA)},
    "B": {"h1": Prediction(M, (0.5, 0.6, 0.1, 0.0)), "h2": Prediction(M, (0.0, 0.0, 0.8, 0.3))},
    "C": {"h1": Prediction(NA), "h2": Prediction(D, (0.7, 0.2, 0.9, 0.1))},
}


def test_the_five_figures_match_a_hand_computation():
    figures = score(LABELS.documents, PREDICTIONS)
    # h1: 2 of 3 right; h2: 2 of 3 right.
    assert figures["accuracy"] == pytest.approx(2 / 3)
    # Meets: h1 tp 1, fp 1 → 2/3; h2 tp 1, fn 1 → 2/3.
    assert figures["f1_meets"] == pytest.approx(2 / 3)
    # Deviates: only h1 has a gold deviation, and it was missed; h2 is left out, not 0.
    assert figures["f1_deviates"] == pytest.approx(0.0)
    # Evidence, h1 over A and B: 0.9✓ 0.6✗ 0.5✓ … → AP 1/2·1 + 1/2·2/3; P@80% = 2/3.
    # h2 over B and C: 0.9✗ 0.8✓ 0.7✓ 0.3✗ 0.2✓ → AP 1/3·1/2 + 1/3·2/3 + 1/3·3/5; P@80% = 3/5.
    ap1 = 0.5 + 0.5 * 2 / 3
    ap2 = (1 / 2 + 2 / 3 + 3 / 5) / 3
    assert figures["evidence_map"] == pytest.approx((ap1 + ap2) / 2)
    assert figures["precision_at_80_recall"] == pytest.approx((2 / 3 + 3 / 5) / 2)


def test_per_document_map_ranks_within_each_document_by_hand():
    # h1: A's gold span ranks first (1), B's second (1/2); h2: B's first (1), C's gold spans
    # come second and third (1/2·1/2 + 1/2·2/3 = 7/12). NotMentioned pairs are left out.
    expected = ((1 + 1 / 2) / 2 + (1 + 7 / 12) / 2) / 2
    assert per_document_map(LABELS.documents, PREDICTIONS) == pytest.approx(expected)


def test_an_unanswered_position_counts_as_wrong_with_no_evidence():
    partial = {"A": {"h2": PREDICTIONS["A"]["h2"]}, "B": PREDICTIONS["B"], "C": PREDICTIONS["C"]}
    figures = score(LABELS.documents, partial)
    assert figures["accuracy"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    # C's h1 is NotMentioned: answered "not addressed" it is right, unanswered it is not.
    unanswered = {**PREDICTIONS, "C": {"h2": PREDICTIONS["C"]["h2"]}}
    assert score(LABELS.documents, unanswered)["accuracy"] == pytest.approx((1 / 3 + 2 / 3) / 2)
    assert score(LABELS.documents, PREDICTIONS)["accuracy"] == pytest.approx((2 / 3 + 2 / 3) / 2)
    # A checker that answered nothing scores nothing.
    nothing = score(LABELS.documents, {})
    assert nothing["accuracy"] == 0 and nothing["f1_meets"] == 0


def test_tied_scores_form_one_threshold_as_in_scikit_learn():
    assert average_precision([1, 0], [0.5, 0.5]) == pytest.approx(0.5)
    assert average_precision([0, 1], [0.9, 0.1]) == pytest.approx(0.5)
    assert precision_at_recall([1, 0, 1, 0], [0.9, 0.8, 0.8, 0.1], 0.8) == pytest.approx(2 / 3)
    assert math.isnan(average_precision([0, 0], [0.3, 0.2]))


def test_a_passage_counts_for_each_span_it_covers_at_least_half_of():
    spans = [[0, 10], [10, 20], [20, 30]]
    assert span_scores_from_passages(spans, [(0, 14, 0.7)]) == (0.7, 0.0, 0.0)
    assert span_scores_from_passages(spans, [(0, 15, 0.7), (12, 30, 0.4)]) == (0.7, 0.7, 0.4)


def test_wrong_length_span_scores_are_refused():
    bad = {"A": {"h1": Prediction(M, (0.1, 0.9))}}
    with pytest.raises(ValueError, match="2 span scores for 4 spans"):
        score(LABELS.documents, bad)


def test_a_malformed_document_is_skipped_and_named():
    broken = doc("Z", (E, [9]), (N, []))
    labels = parse_contractnli({"labels": {}, "documents": [doc("A", (E, [1]), (N, [])), broken]})
    assert [d.id for d in labels.documents] == ["A"]
    assert labels.skipped == ["Z.txt"]
    with pytest.raises(ContractNliError):
        parse_contractnli({"labels": {}})


def test_average_precision_and_precision_at_recall_agree_with_the_official_definitions():
    """Checked against scikit-learn (what ContractNLI's evaluation calls) on tie-heavy scores."""
    metrics = pytest.importorskip("sklearn.metrics")
    rng = random.Random(7)
    for _ in range(200):
        n = rng.randint(2, 30)
        gold = [int(rng.random() < 0.3) for _ in range(n)]
        if not any(gold):
            gold[rng.randrange(n)] = 1
        scores = [rng.choice((0.0, 0.1, 0.5, 0.5, 0.9, rng.random())) for _ in range(n)]
        assert average_precision(gold, scores) == pytest.approx(
            metrics.average_precision_score(gold, scores)
        )
        # The official rule: the highest threshold whose recall reaches 80%, then the precision
        # of every span scored at or above it.
        threshold = max(
            t
            for t in set(scores)
            if sum(g for g, s in zip(gold, scores, strict=True) if s >= t) >= 0.8 * sum(gold)
        )
        predicted = [int(s >= threshold) for s in scores]
        assert precision_at_recall(gold, scores, 0.8) == pytest.approx(
            metrics.precision_score(gold, predicted)
        )


def test_precision_at_80_recall_by_hand():
    # 5 evidence spans: recall reaches 4/5 at the 0.4 threshold, where 6 spans are kept.
    gold = [1, 0, 1, 1, 0, 1, 0, 1]
    scores = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2]
    assert precision_at_recall(gold, scores, 0.8) == pytest.approx(4 / 6)
    assert average_precision(gold, scores) == pytest.approx((1 + 2 / 3 + 3 / 4 + 4 / 6 + 5 / 8) / 5)
