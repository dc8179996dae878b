"""Sparse linear models in plain Python: features are strings, weights are plain dicts of floats.

Small on purpose: the built-in checker ships its weights as JSON (never pickle, which would run
code on load) and scores a contract in well under a second without numpy or scikit-learn.
Training uses AdaGrad over L2-regularised log loss, deterministic for a given seed.
"""

from __future__ import annotations

import itertools
import math
import random
import re
from collections.abc import Iterable, Sequence

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


def train_binary(
    examples: Sequence[tuple[Features, int]],
    epochs: int = 10,
    l2: float = 1e-4,
    positive_weight: float = 1.0,
    seed: int = 0,
) -> dict[str, float]:
    """Logistic regression weights (the key "" is the bias), by SGD with exact L2 decay.

    Every weight decays at every step, seen or not (kept as one shared scale factor, Bottou's
    trick), so a word seen once cannot keep a large weight: decaying only the weights a step
    touches would shrink common words most and let rare ones overfit.
    """
    vector: dict[str, float] = {}
    scale = 1.0
    bias = 0.0
    order = list(range(len(examples)))
    rng = random.Random(seed)
    t = 0
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            feats, label = examples[i]
            rate = 1.0 / (l2 * (t + 1.0 / (l2 * 0.5)))
            t += 1
            margin = bias + scale * sum(vector.get(k, 0.0) * v for k, v in feats.items())
            g = (sigmoid(margin) - label) * (positive_weight if label else 1.0)
            scale *= 1.0 - rate * l2
            if scale < 1e-9:
                vector = {k: w * scale for k, w in vector.items()}
                scale = 1.0
            step = rate * g / scale
            for k, v in feats.items():
                vector[k] = vector.get(k, 0.0) - step * v
            bias -= rate * g * 0.1
    weights = {k: w * scale for k, w in vector.items()}
    weights[""] = bias
    return weights


def binary_score(weights: dict[str, float], feats: Features) -> float:
    return sigmoid(weights.get("", 0.0) + dot(weights, feats))


def train_softmax(
    examples: Sequence[tuple[Features, int]],
    classes: int,
    epochs: int = 15,
    rate: float = 0.3,
    l2: float = 1e-3,
    seed: int = 0,
) -> dict[str, list[float]]:
    """Multinomial logistic regression: per feature, one weight per class."""
    weights: dict[str, list[float]] = {}
    grads: dict[str, list[float]] = {}
    order = list(range(len(examples)))
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(order)
        for i in order:
            feats, label = examples[i]
            probs = softmax_scores(weights, feats, classes)
            for k, v in feats.items():
                w = weights.setdefault(k, [0.0] * classes)
                acc = grads.setdefault(k, [1e-8] * classes)
                for c in range(classes):
                    step = (probs[c] - (c == label)) * v + l2 * w[c]
                    acc[c] += step * step
                    w[c] -= rate * step / math.sqrt(acc[c])
    return weights


def softmax_scores(weights: dict[str, list[float]], feats: Features, classes: int) -> list[float]:
    totals = [0.0] * classes
    for k, v in feats.items():
        w = weights.get(k)
        if w:
            for c in range(classes):
                totals[c] += w[c] * v
    return softmax(totals)


def prune(weights: dict, keep_above: float, digits: int = 4) -> dict:
    """Weights rounded for shipping, the negligible ones dropped (they change no ranking)."""
    out: dict = {}
    for k, w in weights.items():
        if isinstance(w, list):
            if max(abs(x) for x in w) >= keep_above:
                out[k] = [round(x, digits) for x in w]
        elif abs(w) >= keep_above or k == "":
            out[k] = round(w, digits)
    return out


def merge(*parts: Iterable[tuple[str, float]]) -> Features:
    feats: Features = {}
    for part in parts:
        for k, v in part:
            feats[k] = feats.get(k, 0.0) + v
    return feats
