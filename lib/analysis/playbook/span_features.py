"""What the NDA checker's models see of each span: its words, its cues and its neighbours.

A span is one sentence or list item — the unit ContractNLI's annotators chose evidence from. The
same function describes the dataset's own spans when training and scoring, and the passages
`passages.py` cuts from an uploaded contract at run time, so the model meets what it learnt from.

Features are strings hashed into a fixed number of columns (`DIM`), so the shipped weights are
plain arrays with no vocabulary to keep, and a word never seen in training simply weighs nothing.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

DIM = 1 << 18
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")
Features = dict[str, float]

# Words that decide these positions, written from ContractNLI's hypotheses and drafting usage.
# Each cue is one feature every position's model may weigh: with 61 NDAs to learn from, a cue
# shared by many phrasings ("return or destroy", "shall promptly return") is learnt from all.
CUES: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE)
    for name, pattern in {
        "marked": r"\b(?:mark|marked|legend|designat\w*|identified|labell?ed|stamped)\b",
        "oral": r"\b(?:oral\w*|verbal\w*|visual\w*|spoken)\b",
        "writing": r"\bin writing\b|\bwritten\b|\btangible\b",
        "technical": r"\btechnical\b|\bknow-how\b|\bspecifications?\b|\bsource code\b",
        "business": r"\b(?:business|financial|commercial|marketing|customer\w*|pricing)\b",
        "purpose": r"\bpurposes?\b|\bsolely\b|\bexclusively\b|\bother than\b",
        "employees": r"\bemployees?\b|\bstaff\b|\bofficers?\b|\bdirectors?\b",
        "need_to_know": r"\bneed to know\b|\bneed-to-know\b",
        "advisers": r"\b(?:advis[eo]rs?|consultants?|agents?|attorneys?|counsel|accountants?|"
        r"contractors?|representatives?|affiliates?)\b",
        "compelled": r"\b(?:required|compelled|requested) by (?:law|court|any|applicable)|"
        r"\bsubpoena|\bcourt order|\bjudicial|\bgovernmental|\bregulat\w*",
        "notify": r"\b(?:notify|notice|notification|inform)\b",
        "existence": r"\bexistence\b|\bterms of this agreement\b|\bdiscussions?\b|"
        r"\bnegotiations?\b|\bfact that\b",
        "reverse": r"\breverse[- ]engineer\w*|\bdecompil\w*|\bdisassembl\w*|\banaly[sz]e\b",
        "independent": r"\bindependent\w*\b.{0,40}\bdevelop\w*|\bdevelop\w*\b.{0,40}\bindependent",
        "third_party": r"\bthird part(?:y|ies)\b",
        "rightfully": r"\brightfully\b|\blawfully\b|\bwithout (?:a |any )?(?:duty|obligation|"
        r"restriction)",
        "license": r"\blicen[cs]\w*|\bno rights?\b|\bright,? title\b|\bgrant\w*",
        "return": r"\breturn\w*\b|\bdestr\w*|\bdeliver back\b|\berase\b|\bdelete\b",
        "copies": r"\bcop(?:y|ies|ying)\b|\breproduc\w*|\bduplicat\w*",
        "solicit": r"\bsolicit\w*|\bhire\b|\bemploy\b|\brecruit\w*|\bentice\w*",
        "survive": r"\bsurviv\w*|\bafter (?:the )?(?:termination|expiration)|"
        r"\bfollowing (?:the )?(?:termination|expiration)|\bcontinue\w* (?:in effect|to apply)",
        "retain": r"\bretain\w*|\barchiv\w*|\bback-?ups?\b|\bone copy\b|\bkeep\b",
        "termination": r"\bterminat\w*|\bexpir\w*",
        "definition": r"\bmeans\b|\bshall include\b|\bincludes?\b|\bdefined\b",
        "exclusion": r"\bshall not (?:include|apply)|\bdoes not include|\bexclud\w*|"
        r"\bnot (?:be )?(?:deemed|considered)",
        # The cues of a deviation: a prohibition, an exception, a limit.
        "shall_not": r"\b(?:shall|will|must) not\b|\bshall never\b",
        "may_not": r"\b(?:may|can|could) not\b|\bnot (?:be )?(?:permitted|allowed|entitled)\b",
        "except": r"\bexcept\b|\bunless\b|\bprovided that\b|\bsave\b|\bother than\b",
        "no_obligation": r"\bno (?:obligation|duty|liability)\b|\bnot (?:be )?(?:required|"
        r"obliged|obligated)\b",
        "only": r"\bonly\b|\bsolely\b|\bexclusively\b",
        "negation": r"\b(?:not|no|nothing|neither|nor|never|without)\b",
        "permission": r"\b(?:may|is permitted|are permitted|is entitled|right to)\b",
        "any_form": r"\bwhether (?:or not )?(?:in )?(?:written|oral|writing)|\bin any form\b|"
        r"\bregardless of\b|\bany (?:form|medium|manner)\b",
    }.items()
}
CONTEXT_WEIGHT = 0.5
NEXT_WEIGHT = 0.3
_LEAD_BACK = 8
_HEADING_WORDS = 10
POSITION_BUCKETS = 10
CHAR_GRAMS = (3, 5)
KEYWORD_WEIGHT = 2.0


def words_of(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def text_features(text: str, prefix: str = "", weight: float = 1.0) -> Features:
    """Words and word pairs of a text, each counted once, scaled to unit length.

    Unit length keeps a long span from outscoring a short one merely by holding more words.
    """
    words = words_of(text)
    keys = {prefix + w for w in words}
    keys.update(f"{prefix}{a}_{b}" for a, b in itertools.pairwise(words))
    if not keys:
        return {}
    return dict.fromkeys(keys, weight / math.sqrt(len(keys)))


def char_grams(text: str) -> Features:
    """The 3- to 5-character pieces of a text's words, each once, scaled to unit length.

    Shared by a word's forms ("disclos" in disclose, disclosure, disclosing), so 48 training NDAs
    teach what a whole-word feature would need many more examples to learn.
    """
    keys: set[str] = set()
    for word in words_of(text):
        marked = f"<{word}>"
        for n in range(CHAR_GRAMS[0], CHAR_GRAMS[1] + 1):
            keys.update("g:" + marked[i : i + n] for i in range(len(marked) - n + 1))
    if not keys:
        return {}
    return dict.fromkeys(sorted(keys), 1.0 / math.sqrt(len(keys)))  # one order in every process


def keyword_features(
    texts: Sequence[str], keywords: Mapping[str, frozenset[str]]
) -> list[Features]:
    """Per span, the share of each position's keywords it holds (`kw:<position>`).

    The keywords are learnt from the training NDAs' evidence (`train.choose_keywords`): one
    dense feature per position that every span answers, where a position's words alone are
    thousands of sparse ones.
    """
    out = []
    for text in texts:
        words = set(words_of(text))
        feats: Features = {}
        for position, chosen in keywords.items():
            held = len(words & chosen)
            if held:
                feats[f"kw:{position}"] = KEYWORD_WEIGHT * held / len(chosen)
        out.append(feats)
    return out


def cues(text: str) -> list[str]:
    return [name for name, pattern in CUES.items() if pattern.search(text)]


def _is_heading(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and len(stripped.split()) <= _HEADING_WORDS and stripped[-1] not in ".;,:"


# A list item's mark: "(a)", "1.", "iv)", a bullet.
_LIST_ITEM = re.compile(r"^\s*(?:\(?[a-z0-9]{1,4}[).]|[\u2022\-*\u00b7])\s", re.IGNORECASE)
SHAPE_COLUMNS = 6


def span_shape(texts: Sequence[str]) -> np.ndarray:
    """spans × SHAPE_COLUMNS: each span's length in words, whether it is a list item, a heading
    or a lead-in (ends with ":"), its place in the contract (0 to 1) and the contract's span count.

    What the evidence's second stage reads beside the scores: evidence is a sentence or list item,
    seldom a heading, and a lead-in's evidence sits in the items under it.
    """
    n = len(texts)
    return np.array(
        [
            (
                len(words_of(t)),
                bool(_LIST_ITEM.match(t)),
                _is_heading(t),
                t.rstrip().endswith(":"),
                i / max(1, n - 1),
                n,
            )
            for i, t in enumerate(texts)
        ],
        dtype=np.float64,
    ).reshape(n, SHAPE_COLUMNS)


def span_features(texts: Sequence[str]) -> list[Features]:
    """Per span: its words and cues, the heading and lead-in above it, its neighbours, its place.

    The context matters for list items: "(c) is independently developed" decides nda-12 only
    under "Confidential Information shall not include:" a few lines above.
    """
    own = [text_features(t) for t in texts]
    out = []
    heading: str | None = None
    for i, text in enumerate(texts):
        feats = dict(own[i])
        feats.update(char_grams(text))
        feats.update({f"c:{c}": 1.0 for c in cues(text)})
        if heading is not None:
            feats.update(text_features(heading, "h:", CONTEXT_WEIGHT))
        lead = next(
            (
                texts[j]
                for j in range(i - 1, max(-1, i - 1 - _LEAD_BACK), -1)
                if texts[j].rstrip().endswith(":")
            ),
            None,
        )
        if lead is not None:
            feats.update(text_features(lead, "l:", CONTEXT_WEIGHT))
            feats.update({f"lc:{c}": CONTEXT_WEIGHT for c in cues(lead)})
        if i:
            feats.update({"p:" + k: v * CONTEXT_WEIGHT for k, v in own[i - 1].items()})
        if i + 1 < len(texts):
            feats.update({"n:" + k: v * NEXT_WEIGHT for k, v in own[i + 1].items()})
        feats[f"pos:{i * POSITION_BUCKETS // max(1, len(texts))}"] = 1.0
        feats[f"len:{min(6, int(math.log2(1 + len(text.split()))))}"] = 1.0
        if _is_heading(text):
            feats["heading"] = 1.0
            heading = text
        out.append(feats)
    return out


def column(name: str) -> int:
    """The column a feature is hashed to (crc32: the same on every machine and every run)."""
    return zlib.crc32(name.encode("utf-8")) & (DIM - 1)


@dataclass(frozen=True)
class SparseRows:
    """Features of many rows as compressed sparse rows (what scipy's csr_matrix takes)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1


def hashed(rows: Sequence[Features]) -> SparseRows:
    indptr = [0]
    indices: list[int] = []
    data: list[float] = []
    for feats in rows:
        merged: dict[int, float] = {}
        for k, v in feats.items():
            c = column(k)
            merged[c] = merged.get(c, 0.0) + v
        indices.extend(merged)
        data.extend(merged.values())
        indptr.append(len(indices))
    return SparseRows(
        np.asarray(indptr, dtype=np.int64),
        np.asarray(indices, dtype=np.int32),
        np.asarray(data, dtype=np.float32),
    )


def row_dot(rows: SparseRows, weights: np.ndarray) -> np.ndarray:
    """Each row times `weights` (DIM × k): one score per row and column of `weights`."""
    k = weights.shape[1]
    if rows.rows == 0:
        return np.zeros((0, k), dtype=np.float64)
    products = weights[rows.indices].astype(np.float64) * rows.data[:, None]
    out = np.zeros((rows.rows, k), dtype=np.float64)
    starts = rows.indptr[:-1]
    nonempty = rows.indptr[1:] > starts
    if nonempty.any():
        out[nonempty] = np.add.reduceat(products, starts[nonempty], axis=0)
    return out
