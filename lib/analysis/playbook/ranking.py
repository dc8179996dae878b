"""Okapi BM25 over a contract's passages: candidate evidence for a team's own positions.

A position the built-in models were not trained on can still be matched by its words: the
position, what meets it and what deviates from it form the query. Forty lines of plain Python
rather than a ranking library: one contract is a few hundred passages, and numpy and scipy (which
the libraries need) are not dependencies of the app.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

_WORD = re.compile(r"[a-z]+")
# Words that carry no meaning for matching a position to a passage.
_STOP = frozenset(
    ("a", "an", "and", "any", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in",
     "is", "it", "its", "may", "not", "of", "on", "or", "shall", "such", "that", "the", "their",
     "this", "to", "under", "will", "with", "which", "who", "whose", "all", "each", "other")
)  # fmt: skip
K1 = 1.5
B = 0.75


def _terms(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2]


class Bm25:
    def __init__(self, documents: Sequence[str]):
        self.docs = [Counter(_terms(d)) for d in documents]
        self.lengths = [sum(c.values()) for c in self.docs]
        self.average = (sum(self.lengths) / len(self.lengths)) if self.lengths else 0.0
        df: Counter[str] = Counter()
        for c in self.docs:
            df.update(c.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: str) -> list[float]:
        terms = set(_terms(query))
        out = []
        for counts, length in zip(self.docs, self.lengths, strict=True):
            total = 0.0
            norm = K1 * (1 - B + B * length / self.average) if self.average else K1
            for t in terms:
                tf = counts.get(t)
                if tf:
                    total += self.idf[t] * tf * (K1 + 1) / (tf + norm)
            out.append(total)
        return out
