"""A contract prepared once for checking many quotes against it."""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field

from lib.analysis.grounding.normalise import Normalised, normalise
from lib.analysis.page_furniture import running_lines

_WORD = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class ContractIndex:
    """Normalised contract text, its offset map, and a word-pair index for finding near matches.

    Word pairs rather than single words: a pair like "shall indemnify" occurs a handful of times
    in a contract where "shall" occurs hundreds, so votes from pairs point at few places.
    """

    original: str
    norm: Normalised
    word_starts: list[int]
    word_ends: list[int]
    pairs: dict[str, list[int]]
    words: dict[str, list[int]]
    page_starts: list[int] = field(default_factory=list)
    clause_spans: list[tuple[int, int, str]] = field(default_factory=list)

    @classmethod
    def build(
        cls,
        text: str,
        page_starts: list[int] | None = None,
        clause_spans: list[tuple[int, int, str]] | None = None,
    ) -> ContractIndex:
        """Index `text`. `page_starts`: original offset where each page begins (page 1 first);
        `clause_spans`: (start, end, label) in original offsets, nested spans allowed."""
        norm = normalise(text, running_lines(text, page_starts))
        word_starts: list[int] = []
        word_ends: list[int] = []
        tokens: list[str] = []
        for m in _WORD.finditer(norm.text):
            word_starts.append(m.start())
            word_ends.append(m.end())
            tokens.append(m.group())
        pairs: dict[str, list[int]] = defaultdict(list)
        words: dict[str, list[int]] = defaultdict(list)
        for i, token in enumerate(tokens):
            words[token].append(i)
        for i in range(len(tokens) - 1):
            pairs[f"{tokens[i]} {tokens[i + 1]}"].append(i)
        return cls(
            text,
            norm,
            word_starts,
            word_ends,
            dict(pairs),
            dict(words),
            sorted(page_starts or []),
            sorted(clause_spans or [], key=lambda s: (s[0], -s[1])),
        )

    def page_at(self, offset: int) -> int | None:
        """1-based page holding original `offset`, or None when pages are unknown."""
        if not self.page_starts:
            return None
        return max(1, bisect_right(self.page_starts, offset))

    def clause_at(self, offset: int) -> str | None:
        """Label of the innermost clause span holding original `offset`."""
        best: tuple[int, int, str] | None = None
        for start, end, label in self.clause_spans:
            if start > offset:
                break
            if offset < end and (best is None or end - start <= best[1] - best[0]):
                best = (start, end, label)
        return best[2] if best else None
