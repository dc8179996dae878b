"""What the NDA checker's models see of each span, and the sparse arithmetic that scores it."""

from __future__ import annotations

import numpy as np

from lib.analysis.playbook.nda_model import bundled_model, evidence_ranking
from lib.analysis.playbook.span_features import (
    DIM,
    KEYWORD_WEIGHT,
    char_grams,
    column,
    hashed,
    keyword_features,
    row_dot,
    span_features,
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
    strong = np.full((2, width), -8.0)
    strong[:, 0] = (2.0, -4.0)
    weak = np.full((2, width), -8.0)
    weak[:, 0] = (-4.0, -6.0)
    ranked_strong = evidence_ranking(strong, model.ranking_weights, model.ranking_bias)
    ranked_weak = evidence_ranking(weak, model.ranking_weights, model.ranking_bias)
    # The same log-odds ranks higher where it is its contract's best than where it is second to
    # a strong span; within a contract the order never changes.
    assert ranked_weak[0, 0] > ranked_strong[1, 0]
    assert ranked_strong[0, 0] > ranked_strong[1, 0] and ranked_weak[0, 0] > ranked_weak[1, 0]
    empty = evidence_ranking(np.zeros((0, width)), model.ranking_weights, model.ranking_bias)
    assert empty.shape == (0, width)


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
