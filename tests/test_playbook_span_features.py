"""What the NDA checker's models see of each span, and the sparse arithmetic that scores it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lib.analysis.playbook.nda_model import bundled_model, evidence_ranking, ranking_features
from lib.analysis.playbook.span_features import (
    DIM,
    KEYWORD_WEIGHT,
    char_grams,
    column,
    hashed,
    keyword_features,
    row_dot,
    span_features,
    span_shape,
)

SPANS = [
    "2. Exclusions",
    "Confidential Information shall not include information that:",
    "(a) is independently developed by the Receiving Party;",
    "(b) is lawfully received from a third party.",
]


def test_a_list_item_carries_its_heading_lead_in_and_cues():
    feats = span_features(SPANS)
    item = feats[2]
    assert "c:independent" in item
    assert "l:include" in item  # the lead-in above it
    assert "h:exclusions" in item  # the heading above that
    assert "p:shall_not" in item and "n:lawfully" in item  # its neighbours
    assert "heading" in feats[0] and "heading" not in item


def test_hashed_rows_times_weights_equal_the_dense_product():
    rows = hashed([{"a": 1.0, "b": 0.5}, {}, {"b": 2.0, "c": -1.0}])
    weights = np.zeros((DIM, 2), dtype=np.float32)
    weights[column("a")] = (1.0, 2.0)
    weights[column("b")] = (3.0, -1.0)
    weights[column("c")] = (0.5, 0.5)
    scores = row_dot(rows, weights)
    assert np.allclose(scores, [[2.5, 1.5], [0.0, 0.0], [5.5, -2.5]])
    assert column("a") == column("a") and 0 <= column("zz") < DIM


def test_each_contracts_best_span_is_judged_against_its_own_contract():
    model = bundled_model()
    width = len(model.positions)
    shape = span_shape(["The Recipient shall hold the information in confidence."] * 2)
    strong = np.full((2, width + 1), -8.0)
    strong[:, 0] = (2.0, -4.0)
    weak = np.full((2, width + 1), -8.0)
    weak[:, 0] = (-4.0, -6.0)
    ranked_strong = evidence_ranking(strong, shape, model.ranking)
    ranked_weak = evidence_ranking(weak, shape, model.ranking)
    # The same log-odds ranks higher where it is its contract's best than where it is second to
    # a strong span; a contract's clear best stays its best.
    assert ranked_weak[0, 0] > ranked_strong[1, 0]
    assert ranked_strong[0, 0] > ranked_strong[1, 0]
    empty = evidence_ranking(np.zeros((0, width + 1)), span_shape([]), model.ranking)
    assert empty.shape == (0, width)


def test_a_span_reads_the_other_positions_its_neighbours_and_its_shape():
    # Two positions, and last the log-odds of any position's evidence.
    logits = np.array([[1.0, -2.0, 0.5], [-1.0, 3.0, 2.0], [0.0, 0.0, -1.0]])
    shape = span_shape(["Exclusions", "(a) is public;", "The term is two years."])
    x = ranking_features(logits, shape)
    assert x.shape[:2] == (3, 2)
    # Columns: own (28), every position's log-odds (2), then the span's shape.
    assert x[1, 0, 28:30].tolist() == [-1.0, 3.0]
    assert x[1, 0, 26:28].tolist() == [2.0, 0.0] and x[2, 1, 27] == -3.0  # any position's
    assert x[1, 0, 14] == 3.0 and x[1, 0, 15] == -4.0  # the best other position, own lead
    assert x[1, 0, 17:19].tolist() == [1.0, 0.0]  # the spans before and after
    assert shape[:, 1].tolist() == [0.0, 1.0, 0.0]  # a list item
    assert shape[:, 2].tolist() == [1.0, 0.0, 0.0]  # a heading
    assert x[2, 1, 30:].tolist() == shape[2].tolist()
    # Distance from the best span (row 0 for position 0): one span after it, a neighbour.
    assert x[1, 0, 22:24].tolist() == [np.log1p(1.0), 1.0] and x[1, 0, 25] == 1.0


def test_trees_applied_by_hand_match_scikit_learn_and_a_bad_file_is_refused():
    ensemble = pytest.importorskip("sklearn.ensemble")
    from lib.analysis.playbook.train import _plain_trees

    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    model = ensemble.HistGradientBoostingClassifier(max_iter=20, random_state=0).fit(x, y)
    trees = _plain_trees(model)
    assert np.allclose(trees.log_odds(x), model.decision_function(x))
    trees.check(5)
    with pytest.raises(ValueError):
        trees.check(1)
    looping = dataclasses.replace(trees, left=np.where(trees.leaf, 0, trees.roots[0]))
    with pytest.raises(ValueError):
        looping.check(5)


def test_word_pieces_and_keywords_are_features():
    pieces = char_grams("Disclosing")
    assert {"g:<di", "g:disc", "g:ing>"} <= set(pieces)
    assert abs(sum(v * v for v in pieces.values()) - 1.0) < 1e-9
    assert "g:<di" in span_features(["Disclosing party"])[0]
    feats = keyword_features(
        ["Return or destroy all copies.", "Governing law."],
        {"nda-16": frozenset({"return", "destroy", "copies", "erase"})},
    )
    assert feats[0]["kw:nda-16"] == KEYWORD_WEIGHT * 3 / 4 and feats[1] == {}
