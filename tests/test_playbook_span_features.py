"""What the NDA checker's models see of each span, and the sparse arithmetic that scores it."""

from __future__ import annotations

import numpy as np

from lib.analysis.playbook.nda_model import evidence_ranking
from lib.analysis.playbook.span_features import DIM, column, hashed, row_dot, span_features

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
    logits = np.array([[2.0, -6.0], [0.0, -4.0]])
    ranking = evidence_ranking(logits)
    # The second position's best span is weak in absolute terms but still ranks first within
    # its contract, and the order within a contract never changes.
    assert ranking[1, 1] > ranking[0, 1] and ranking[0, 0] > ranking[1, 0]
    assert ranking[1, 1] > 1 / (1 + np.exp(4.0))
    assert evidence_ranking(np.zeros((0, 3))).shape == (0, 3)
