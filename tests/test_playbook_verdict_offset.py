"""Each position's deviates offset: chosen inside the training NDAs, shipped, and applied."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.nda_model import CLASSES, bundled_model, load_model
from lib.analysis.playbook.passages import split_passages

DEVIATES = CLASSES.index(Verdict.DEVIATES)

NDA = (
    "1. Confidential Information. The Receiving Party shall hold the Confidential Information in "
    "confidence and use it solely for the purpose of evaluating the transaction. "
    "2. Return. Upon termination the Receiving Party shall return or destroy all Confidential "
    "Information. Notwithstanding the foregoing, the Receiving Party may retain one archival copy."
)


def test_the_offset_calls_at_least_as_many_deviations_as_the_training_ndas_hold():
    pytest.importorskip("sklearn")
    from lib.analysis.playbook.train import VerdictExample, _deviates_offsets

    # Six examples of one position, two of them gold deviations; the held-out logits put
    # deviates 0.6 and 1.1 below meets on those two, and 3 below on the others.
    labels = [1, 1, 0, 0, 0, 2]
    gaps = [0.6, 1.1, 3.0, 3.0, 3.0, 3.0]
    logits = np.zeros((6, 3))
    for i, (label, gap) in enumerate(zip(labels, gaps, strict=True)):
        logits[i, 0 if label != 2 else 2] = gap
    examples = [VerdictExample(i, "nda-x", {}, y) for i, y in enumerate(labels)]
    # 1.25 is the smallest offset that calls both deviations (and nothing else).
    assert _deviates_offsets(examples, logits, ["nda-x"]).tolist() == [1.25]
    # Deviations no offset can reach are left alone: pushing would only add false ones.
    far = logits.copy()
    far[1:5, 0] = far[5, 2] = 9.0
    assert _deviates_offsets(examples, far, ["nda-x"]).tolist() == [0.0]
    # A position whose deviations the model already calls keeps no offset.
    logits[:2, DEVIATES] = 5.0
    assert _deviates_offsets(examples, logits, ["nda-x"]).tolist() == [0.0]


def test_the_offset_raises_only_its_own_positions_deviates_and_survives_a_save(tmp_path):
    model = bundled_model()
    texts = [p.text for p in split_passages(NDA)]
    assert model.deviates_offset.shape == (len(model.positions),)
    offset = model.deviates_offset.copy()
    offset[model.evidence["nda-16"]] += 2.0
    shifted = dataclasses.replace(model, deviates_offset=offset)
    before, after = model.check(texts), shifted.check(texts)
    odds = {
        h: (after[h][1][Verdict.DEVIATES] / after[h][1][Verdict.MEETS])
        / (before[h][1][Verdict.DEVIATES] / before[h][1][Verdict.MEETS])
        for h in model.positions
    }
    assert odds["nda-16"] == pytest.approx(np.exp(2.0))
    assert all(v == pytest.approx(1.0) for h, v in odds.items() if h != "nda-16")
    copy = tmp_path / "copy.npz"
    shifted.save(copy)
    assert load_model(copy).deviates_offset.tolist() == offset.tolist()
