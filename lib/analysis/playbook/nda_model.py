"""The built-in NDA checker's model: per position, which spans decide it, and the verdict.

Models trained on ContractNLI's dev split (`train.py`):
- evidence, one logistic regression per position over every span's features
  (`span_features.py`) and the position's keywords: how likely this span is the position's
  evidence (and one more for any position's evidence), then a second stage
  (`evidence_ranking`), small gradient-boosted trees kept as plain arrays (`Trees`), that judges
  a span against its own NDA's spans, its neighbours and the other positions so that scores rank
  across NDAs;
- verdict, one multinomial logistic regression (meets / deviates / not addressed) over how strong
  the position's best evidence is and what its words and cues ("shall not", "except", "only")
  say. Every feature appears twice, shared and prefixed with the position, so each position has
  its own classifier that falls back on what all positions share — deviations are rare (95 of
  1,037 labels) and a cue learnt on one position helps the others.

The weights ship as plain arrays in a NumPy `.npz` (read with `allow_pickle=False`: nothing in the
file can run code), hashed feature columns, so there is no vocabulary to keep.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from lib.analysis.playbook.format import Verdict
from lib.analysis.playbook.span_features import (
    DIM,
    Features,
    SparseRows,
    hashed,
    keyword_features,
    row_dot,
    span_features,
    span_shape,
)

CLASSES: tuple[Verdict, ...] = (Verdict.MEETS, Verdict.DEVIATES, Verdict.NOT_ADDRESSED)
TOP_SPANS = 3
THRESHOLDS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
WEIGHTS_FILE = Path(__file__).parent / "weights" / "nda.npz"
FORMAT = 5
# What `ranking_features` gives a span where it has no neighbour (or no other position).
_FAR = -15.0


def verdict_features(position_id: str, feats: Sequence[Features], scores: np.ndarray) -> Features:
    """What the verdict model sees for one position: its best evidence's strength and words."""
    base: Features = {"bias": 1.0}
    order: list[int] = [int(i) for i in np.argsort(-scores, kind="stable")[:TOP_SPANS]]
    top = [float(scores[i]) for i in order]
    top += [0.0] * (TOP_SPANS - len(top))
    for rank, s in enumerate(top):
        base[f"s{rank}"] = s
    for t in THRESHOLDS:
        if top[0] >= t:
            base[f"max>={t}"] = 1.0
    base["mass"] = min(3.0, float(scores[scores >= 0.2].sum())) if len(scores) else 0.0
    for rank, i in enumerate(order):
        weight = float(scores[i])
        for k, v in feats[i].items():
            # Own words and cues of the evidence, not its neighbours' or word pairs: they say
            # what it decides, and few enough features stay to learn from 61 NDAs.
            if k.startswith("c:") or (":" not in k and "_" not in k):
                base["e:" + k] = base.get("e:" + k, 0.0) + v * weight
                # The best span's words again at full weight, however weak its score: what
                # the likeliest evidence says decides meets against deviates (cross-validated,
                # +0.03 accuracy, +0.03 F1 of deviates, +0.05 F1 of meets).
                if rank == 0:
                    base["t:" + k] = v
    out = dict(base)
    for k, v in base.items():
        out[f"{position_id}|{k}"] = v
    return out


def text_digest(text: str) -> str:
    """SHA-256 of a contract's words, spacing aside: how the weights remember which NDAs trained
    them without keeping any of their text."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


@cache
def _training_digests(about: str) -> frozenset[str]:
    try:
        return frozenset(str(d) for d in json.loads(about).get("documents", ()))
    except (ValueError, AttributeError, TypeError):
        return frozenset()


@dataclass(frozen=True)
class NdaModel:
    positions: tuple[str, ...]
    # DIM × (positions + 1), and a bias each: one column per position, and a last one for "any
    # position's evidence", which the second stage reads beside them (`ranking_features`).
    evidence_weights: np.ndarray
    evidence_bias: np.ndarray
    # DIM × classes, and one bias per class
    verdict_weights: np.ndarray
    verdict_bias: np.ndarray
    about: str = "{}"
    # Per position, the words most associated with its evidence in the training NDAs.
    keywords: tuple[frozenset[str], ...] = ()
    # The second stage (`evidence_ranking`): gradient-boosted trees over `ranking_features`.
    ranking: Trees = field(default_factory=lambda: no_trees())
    # Per position, added to the deviates logit so the rare class is called about as often as
    # the training NDAs hold it (chosen inside the training NDAs, `train._deviates_offsets`).
    deviates_offset: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def trained_on(self, text: str) -> bool:
        """Whether this NDA's text was one the weights were trained on (its figures on it are
        then not out of sample)."""
        return text_digest(text) in _training_digests(self.about)

    @property
    def evidence(self) -> dict[str, int]:
        """The positions the model decides, each with its column."""
        return {h: j for j, h in enumerate(self.positions)}

    def evidence_rows(self, texts: Sequence[str], feats: Sequence[Features]) -> SparseRows:
        """What the evidence models read: each span's features and its positions' keywords."""
        by_position = dict(zip(self.positions, self.keywords, strict=False))
        extra = keyword_features(texts, by_position)
        return hashed([{**f, **k} for f, k in zip(feats, extra, strict=True)])

    def span_logits(self, rows: SparseRows) -> np.ndarray:
        """spans × (positions + 1): the evidence models' log-odds that a span is a position's
        evidence, and (last) any position's."""
        logits: np.ndarray = row_dot(rows, self.evidence_weights) + self.evidence_bias
        return logits

    def span_scores(self, rows: SparseRows) -> np.ndarray:
        """spans × (positions + 1): how likely each span is each position's (any's) evidence."""
        return _sigmoid(self.span_logits(rows))

    def verdict_probabilities(
        self, position_id: str, feats: Sequence[Features], scores: np.ndarray
    ) -> dict[Verdict, float]:
        rows = hashed([verdict_features(position_id, feats, scores)])
        logits = row_dot(rows, self.verdict_weights)[0] + self.verdict_bias
        j = self.evidence.get(position_id)
        if j is not None and j < len(self.deviates_offset):
            logits[CLASSES.index(Verdict.DEVIATES)] += self.deviates_offset[j]
        exps = np.exp(logits - logits.max())
        probs = exps / exps.sum()
        return {c: float(p) for c, p in zip(CLASSES, probs, strict=True)}

    def check(self, texts: Sequence[str]) -> dict[str, tuple[list[float], dict[Verdict, float]]]:
        """Per position: every span's evidence score and the verdict's probabilities."""
        feats = span_features(texts)
        logits = self.span_logits(self.evidence_rows(texts, feats))
        scores = _sigmoid(logits)
        ranking = evidence_ranking(logits, span_shape(texts), self.ranking)
        return {
            h: (ranking[:, j].tolist(), self.verdict_probabilities(h, feats, scores[:, j]))
            for j, h in enumerate(self.positions)
        }

    def save(self, path: Path) -> None:
        ev_idx, ev_val = _sparse(self.evidence_weights)
        vd_idx, vd_val = _sparse(self.verdict_weights)
        np.savez_compressed(
            path,
            format=np.array(FORMAT),
            about=np.array(self.about),
            positions=np.array(self.positions),
            evidence_index=ev_idx,
            evidence_value=ev_val,
            evidence_bias=self.evidence_bias.astype(np.float32),
            verdict_index=vd_idx,
            verdict_value=vd_val,
            verdict_bias=self.verdict_bias.astype(np.float32),
            keywords=np.array([" ".join(sorted(k)) for k in self.keywords], dtype=str),
            ranking_feature=self.ranking.feature.astype(np.int32),
            ranking_threshold=self.ranking.threshold.astype(np.float64),
            ranking_left=self.ranking.left.astype(np.int32),
            ranking_right=self.ranking.right.astype(np.int32),
            ranking_leaf=self.ranking.leaf.astype(bool),
            ranking_value=self.ranking.value.astype(np.float64),
            ranking_roots=self.ranking.roots.astype(np.int32),
            ranking_baseline=np.array(self.ranking.baseline),
            deviates_offset=self.deviates_offset.astype(np.float32),
        )


def _sigmoid(x: np.ndarray) -> np.ndarray:
    out: np.ndarray = 1.0 / (1.0 + np.exp(-x))
    return out


def _shifted(a: np.ndarray, by: int) -> np.ndarray:
    """`a` moved `by` rows down (up when negative), filled with a score no span reaches."""
    out = np.full_like(a, _FAR)
    if by > 0:
        out[by:] = a[:-by]
    elif by < 0:
        out[:by] = a[-by:]
    return out


def ranking_features(logits: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """spans × positions × features: each span's evidence log-odds against its contract's.

    `logits` holds a column per position and a last one for any position's evidence
    (`NdaModel.span_logits`).

    - its own: the log-odds, its gap to the contract's best and second best, its rank (log, and
      first / second / third), its share of the contract's softmax (and that share's log);
    - the contract's: its best, the best's lead over the second and over the median, the
      spread of its scores and the span's distance from their mean in spreads;
    - the other positions': the span's log-odds for all of them, the highest of the others and
      its own lead over it, whether it is this position's span above all (evidence of one
      position is seldom another's);
    - its neighbours': the log-odds of the spans before and after it, their gap to the best,
      and the best of the two spans either side; how far it sits from the contract's best and
      second-best span (evidence comes in runs of sentences and list items);
    - whether it is evidence of any position at all (the last column), and its lead over the
      contract's likeliest such span: operative clauses against recitals and boilerplate;
    - its shape (`span_shape`): length, list item, heading, lead-in, place in the contract.
    """
    anywhere = logits[:, -1:]
    logits = logits[:, :-1]
    spans, width = logits.shape
    best = logits.max(axis=0)
    order = np.argsort(-logits, axis=0, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(spans)[:, None], axis=0)
    ranked = np.sort(logits, axis=0)
    second = ranked[-2] if spans > 1 else best
    median = np.median(logits, axis=0)
    spread = logits.std(axis=0)
    exps = np.exp(logits - best)
    share = exps / exps.sum(axis=0)
    others = np.broadcast_to(logits[:, None, :], (spans, width, width))
    best_other = np.where(np.eye(width, dtype=bool)[None], -np.inf, others).max(axis=-1)
    before, after = _shifted(logits, 1), _shifted(logits, -1)
    near = np.maximum.reduce([before, after, _shifted(logits, 2), _shifted(logits, -2)])
    from_best = np.arange(spans)[:, None] - order[0]
    from_second = np.arange(spans)[:, None] - order[min(1, spans - 1)]
    columns = (
        logits,
        logits - best,
        np.log1p(rank),
        rank == 0,
        rank == 1,
        rank == 2,
        share,
        np.log(share + 1e-6),
        np.broadcast_to(best, logits.shape),
        np.broadcast_to(best - second, logits.shape),
        logits - second,
        np.broadcast_to(best - median, logits.shape),
        np.broadcast_to(spread, logits.shape),
        (logits - median) / (spread + 1e-6),
        best_other if width > 1 else np.full_like(logits, _FAR),
        logits - best_other if width > 1 else logits - _FAR,
        logits.argmax(axis=1)[:, None] == np.arange(width),
        before,
        after,
        before - best,
        after - best,
        near - best,
        np.log1p(np.abs(from_best)),
        np.sign(from_best),
        np.log1p(np.abs(from_second)),
        np.minimum(np.abs(from_best), np.abs(from_second)) == 1,
        np.broadcast_to(anywhere, logits.shape),
        np.broadcast_to(anywhere - anywhere.max(), logits.shape),
    )
    own = np.stack([np.asarray(c, dtype=np.float64) for c in columns], axis=-1)
    return np.concatenate(
        [
            own,
            others,
            np.broadcast_to(shape[:, None, :], (spans, width, shape.shape[1])),
        ],
        axis=-1,
    )


@dataclass(frozen=True)
class Trees:
    """Gradient-boosted regression trees as plain arrays, applied by hand (no scikit-learn).

    Nodes of every tree side by side: a node's feature and threshold (a row whose feature is at
    most the threshold goes left), its children, whether it is a leaf and its value; `roots` is
    where each tree starts. The log-odds of a row is `baseline` plus its leaves' values.
    """

    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    leaf: np.ndarray
    value: np.ndarray
    roots: np.ndarray
    baseline: float = 0.0

    def log_odds(self, x: np.ndarray) -> np.ndarray:
        """rows × features -> rows: every tree walked for every row at once, level by level."""
        nodes = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        while True:
            at_leaf = self.leaf[nodes]
            if at_leaf.all():
                break
            left = x[rows, self.feature[nodes]] <= self.threshold[nodes]
            down = np.where(left, self.left[nodes], self.right[nodes])
            nodes = np.where(at_leaf, nodes, down)
        out: np.ndarray = self.baseline + self.value[nodes].sum(axis=1)
        return out

    def check(self, features: int) -> None:
        """Refuse a file whose trees point outside themselves or the features (or loop)."""
        n = len(self.leaf)
        inner = ~self.leaf
        if not all(len(a) == n for a in (self.feature, self.threshold, self.left, self.right)):
            raise ValueError("ranking trees: arrays of different lengths")
        if len(self.value) != n or (
            self.roots.size and not 0 <= self.roots.min() <= self.roots.max() < n
        ):
            raise ValueError("ranking trees: a root out of range")
        for child in (self.left[inner], self.right[inner]):
            # Children come after their parent, so a walk always ends at a leaf.
            if child.size and (child.max() >= n or (child <= np.flatnonzero(inner)).any()):
                raise ValueError("ranking trees: a child out of range")
        if (
            inner.any()
            and not 0 <= self.feature[inner].min() <= self.feature[inner].max() < features
        ):
            raise ValueError("ranking trees: a feature out of range")


def no_trees() -> Trees:
    """A second stage that ranks every span alike (a model not yet trained)."""
    index, number = np.zeros(0, dtype=np.int64), np.zeros(0)
    return Trees(index, number, index, index, np.zeros(0, dtype=bool), number, index)


def evidence_ranking(logits: np.ndarray, shape: np.ndarray, trees: Trees) -> np.ndarray:
    """Evidence scores that rank spans across contracts as well as within one.

    A span is judged against its own contract's spans, the other positions and its neighbours
    (`ranking_features`) by trees learnt from cross-fitted scores of contracts that address the
    position: such a contract holds its evidence, so its strongest span moves up against weak
    contracts' spans (evidence mean average precision pools every contract's spans).
    """
    spans, width = logits.shape[0], logits.shape[1] - 1
    if not spans:
        return _sigmoid(logits[:, :width])
    x = ranking_features(logits, shape).reshape(spans * width, -1)
    return _sigmoid(trees.log_odds(x)).reshape(spans, width)


def _sparse(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of a DIM × k array that hold a weight, and those rows (half precision)."""
    index = np.flatnonzero(np.abs(weights).max(axis=1) > 0).astype(np.int32)
    return index, weights[index].astype(np.float16)


def _dense(index: np.ndarray, value: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((DIM, k), dtype=np.float32)
    if index.size and (index.min() < 0 or index.max() >= DIM):
        raise ValueError("weight index out of range")
    out[index] = value.astype(np.float32)
    return out


def load_model(path: str | Path) -> NdaModel:
    """Weights from an `.npz` of plain arrays (pickles refused)."""
    with np.load(path, allow_pickle=False) as data:
        if int(data["format"]) != FORMAT:
            raise ValueError("unknown weights format")
        positions = tuple(str(h) for h in data["positions"])
        return NdaModel(
            positions,
            _dense(data["evidence_index"], data["evidence_value"], len(positions) + 1),
            data["evidence_bias"].astype(np.float64),
            _dense(data["verdict_index"], data["verdict_value"], len(CLASSES)),
            data["verdict_bias"].astype(np.float64),
            str(data["about"]),
            tuple(frozenset(str(k).split()) for k in data["keywords"]),
            _trees(data, len(positions)),
            data["deviates_offset"].astype(np.float64),
        )


def _trees(data: Any, positions: int) -> Trees:
    trees = Trees(
        data["ranking_feature"].astype(np.int64),
        data["ranking_threshold"].astype(np.float64),
        data["ranking_left"].astype(np.int64),
        data["ranking_right"].astype(np.int64),
        data["ranking_leaf"].astype(bool),
        data["ranking_value"].astype(np.float64),
        data["ranking_roots"].astype(np.int64),
        float(data["ranking_baseline"]),
    )
    dummy = np.zeros((2, positions + 1))
    trees.check(ranking_features(dummy, span_shape(["", ""])).shape[-1])
    return trees


@cache
def bundled_model() -> NdaModel:
    """The weights that ship with the app (plain arrays, nothing downloaded)."""
    return load_model(WEIGHTS_FILE)
