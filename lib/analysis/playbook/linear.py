"""Sparse linear models in plain Python: features are strings, weights are plain dicts of floats.

Small on purpose: the built-in checker ships its weights as JSON (never pickle, which would run
code on load) and scores a contract in well under a second without numpy or scikit-learn, which
are needed only to train (`train.py`).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from typing import TypeVar

_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
Features = dict[str, float]


def text_features(text: str, prefix: str = "") -> Features:
    """Lower-cased words and word pairs of a passage, each counted once, scaled to unit length.

    Unit length keeps a long passage from outscoring a short one merely by holding more words.
    """
    words = _WORD.findall(text.lower())
    keys = {prefix + w for w in words}
    keys.update(f"{prefix}{a}_{b}" for a, b in itertools.pairwise(words))
    if not keys:
        return {}
    value = 1.0 / math.sqrt(len(keys))
    return dict.fromkeys(keys, value)


def sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def dot(weights: dict[str, float], feats: Features) -> float:
    return sum(weights.get(k, 0.0) * v for k, v in feats.items())


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def binary_score(weights: dict[str, float], feats: Features) -> float:
    return sigmoid(weights.get("", 0.0) + dot(weights, feats))


def softmax_scores(weights: dict[str, list[float]], feats: Features, classes: int) -> list[float]:
    totals = [0.0] * classes
    for k, v in feats.items():
        w = weights.get(k)
        if w:
            for c in range(classes):
                totals[c] += w[c] * v
    return softmax(totals)


# A weight: one number (a binary model) or one per class (a softmax model).
W = TypeVar("W", float, list[float])


def prune(weights: dict[str, W], keep_above: float, digits: int = 4) -> dict[str, W]:
    """Weights rounded for shipping, the negligible ones dropped (they change no ranking)."""
    out: dict[str, W] = {}
    for k, w in weights.items():
        if isinstance(w, list):
            if max(abs(x) for x in w) >= keep_above:
                out[k] = [round(x, digits) for x in w]
        elif abs(w) >= keep_above or k == "":
            out[k] = round(w, digits)
    return out
