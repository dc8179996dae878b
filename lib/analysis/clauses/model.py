"""The trained clause model: a linear classifier per CUAD category over hashed sentence features.

Trained on CUAD's expert labels (`devtools/train_clauses.py`, docs/CLAUSE_MODEL.md) and shipped as
plain arrays in `clause_model.npz`, never a pickle: a newer numpy or scikit-learn still loads it,
and loading it cannot run code. Applying it needs numpy alone: features are hashed here with
CRC-32, the same function training used, so scikit-learn is a training tool only. The rules'
own scores are features, so the model learns where each rule is right and where it misfires.

If the file is missing or unreadable, `load_model` returns None once, with a warning, and the
finder runs on its rules alone.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np

MODEL_PATH = Path(__file__).with_name("clause_model.npz")
FORMAT = 1
N_FEATURES = 2**16
# How a quote is cut around its best sentence (finder.py): "run" grows it over the neighbouring
# sentences of its clause that also score for the category, a lone sentence taking the next one of
# its clause; "merge" the same without that next sentence; "sentence" the sentence alone.
# Annotators highlight whole clauses for some categories and one sentence or less for others.
# "merge+split" quotes the passage "merge" would and then, when it holds more than one sentence,
# each of its sentences on its own: annotators mark several sentences of one clause as separate
# spans (insurance, above all), which a joined quote fails under CUAD's rule, and sometimes the
# whole clause, which the passage matches and which the right clause needs.
QUOTE_SHAPES = ("run", "merge", "sentence", "merge+split")
# Who decides a category is present: the model, the model or a rule match ("either"), or a rule
# match alone (the model then only ranks the rule's sentences). Chosen per category on training
# folds: for a few rare categories the readable rules find more than the model learnt.
DECIDERS = ("model", "either", "rules")
MAX_QUOTES = 6
_WORD = re.compile(r"[a-z]+|\d+")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SentenceInput:
    """What the model reads about one candidate sentence."""

    text: str
    heading: str | None
    rule_scores: Mapping[str, float]
    position: float  # where the sentence starts, as a share of the contract (0 to 1)


def _hash(token: str) -> int:
    return zlib.crc32(token.encode("utf-8")) & (N_FEATURES - 1)


def tokens(item: SentenceInput) -> list[str]:
    """The sentence's feature names: words, word pairs, heading words, rule scores, position."""
    words = _WORD.findall(item.text.lower())[:200]
    out = list(words)
    out.extend(f"{a} {b}" for a, b in pairwise(words))
    if item.heading:
        out.extend("h:" + w for w in _WORD.findall(item.heading.lower())[:12])
    for category, score in item.rule_scores.items():
        out.append("r:" + category)
        if score >= 1.0:
            out.append("r+:" + category)
    out.append(f"pos:{min(9, int(item.position * 10))}")
    out.append(f"len:{min(8, len(words) // 8)}")
    return out


def feature_ids(item: SentenceInput) -> np.ndarray:
    """Hashed feature indices, one per distinct feature (values are 1 / sqrt(count))."""
    return np.unique(np.fromiter((_hash(t) for t in tokens(item)), dtype=np.int64))


@dataclass(frozen=True)
class QuotePlan:
    """How the finder quotes one category, chosen per category on out-of-fold findings
    (devtools/train_clauses.py): a quote the annotators would not have marked costs precision
    under CUAD's span rule, one they would have is a hit."""

    count: int = 3  # at most this many quotes
    shape: str = "run"  # one of QUOTE_SHAPES
    ratio: float = 0.0  # quotes after the first need this multiple of the category's threshold


@dataclass(frozen=True)
class ClauseModel:
    """Weights (categories × features), biases, per-category thresholds and the review band."""

    categories: tuple[str, ...]
    weights: np.ndarray  # float32, shape (len(categories), N_FEATURES)
    bias: np.ndarray  # float32, shape (len(categories),)
    threshold: np.ndarray  # a sentence at or above this probability is a finding
    check_band: tuple[float, float]  # probabilities where cross-validated precision is 0.5–0.8
    meta: Mapping[str, object]
    plans: tuple[QuotePlan, ...] = ()  # per category; none: QuotePlan()'s defaults
    deciders: tuple[str, ...] = ()  # per category, one of DECIDERS; none: "model"

    def plan(self, column: int) -> QuotePlan:
        return self.plans[column] if column < len(self.plans) else QuotePlan()

    def decider(self, column: int) -> str:
        return self.deciders[column] if column < len(self.deciders) else "model"

    def index(self, category: str) -> int | None:
        try:
            return self.categories.index(category)
        except ValueError:
            return None

    def probabilities(self, items: Sequence[SentenceInput]) -> np.ndarray:
        """Probability per sentence (rows) and category (columns)."""
        if not items:
            return np.zeros((0, len(self.categories)), dtype=np.float32)
        ids = [feature_ids(item) for item in items]
        lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
        flat = np.concatenate(ids)
        starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
        gathered = self.weights.T[flat]  # (total features, categories)
        sums = np.add.reduceat(gathered, starts, axis=0)
        sums /= np.sqrt(np.maximum(lengths, 1))[:, None]
        probabilities: np.ndarray = 1.0 / (1.0 + np.exp(-(sums + self.bias)))
        return probabilities


def save_model(path: Path, model: ClauseModel) -> None:
    """Plain arrays plus a JSON header; float16 weights keep the file to a few MB."""
    header = {
        "format": FORMAT,
        "n_features": N_FEATURES,
        "categories": list(model.categories),
        "check_band": list(model.check_band),
        "meta": dict(model.meta),
        "plans": [[p.count, p.shape, p.ratio] for p in model.plans],
        "deciders": list(model.deciders),
    }
    np.savez_compressed(
        path,
        header=np.frombuffer(json.dumps(header, sort_keys=True).encode("utf-8"), dtype=np.uint8),
        weights=model.weights.astype(np.float16),
        bias=model.bias.astype(np.float32),
        threshold=model.threshold.astype(np.float32),
    )


def read_model(path: Path) -> ClauseModel:
    """Load a saved model; raises ValueError (or OSError) when it is not one this code reads."""
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(bytes(data["header"]).decode("utf-8"))
        weights = data["weights"].astype(np.float32)
        bias, threshold = data["bias"], data["threshold"]
    categories = tuple(header["categories"])
    if header.get("format") != FORMAT or header.get("n_features") != N_FEATURES:
        raise ValueError("The clause model was saved in a format this version does not read.")
    if weights.shape != (len(categories), N_FEATURES) or bias.shape != threshold.shape:
        raise ValueError("The clause model's arrays do not fit together.")
    low, high = header["check_band"]
    plans = tuple(
        QuotePlan(int(count), str(shape), float(ratio))
        for count, shape, ratio in header.get("plans", [])
    )
    if any(not 1 <= p.count <= MAX_QUOTES or p.shape not in QUOTE_SHAPES for p in plans):
        raise ValueError("The clause model's quote plans are not ones this version reads.")
    deciders = tuple(str(d) for d in header.get("deciders", []))
    if any(d not in DECIDERS for d in deciders):
        raise ValueError("The clause model names a decider this version does not know.")
    return ClauseModel(
        categories,
        weights,
        bias,
        threshold,
        (float(low), float(high)),
        header.get("meta", {}),
        plans,
        deciders,
    )


@cache
def load_model(path: Path = MODEL_PATH) -> ClauseModel | None:
    """The shipped model, loaded once per process; None (with one warning) if it cannot load."""
    try:
        return read_model(path)
    except (OSError, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        log.warning("Clause model not loaded (%s): the clause finder runs on its rules alone.", exc)
        return None
