"""Score clause reviews against expert labels (CUAD), from findings or from a report's Markdown.

Three measures, because they answer different questions. Presence: does the review say a clause
is there exactly when it is (what an analyst relies on). Right clause: does a short quote actually
point at the labelled passage. CUAD's span rule: the dataset's own word-overlap match, scored as
CUAD's evaluation (`evaluate.py` of CUAD v1) scores it (per labelled span, one match per label;
every quote on a category labelled absent is a false positive; Parties also match by substring),
so figures can be set beside published ones. Only quotes that are the contract's own words count
(`keep_found`): an invented quote is never a hit. Working from report text lets the same code
score a language model's review and the rule-based one, and every report is read by the same
rules.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from lib.analysis.clauses.categories import CUAD_CATEGORIES, sentence_scores
from lib.analysis.clauses.finder import Findings
from lib.analysis.clauses.mapping import categories_for
from lib.analysis.grounding.index import ContractIndex
from lib.analysis.grounding.matching import check
from lib.analysis.prompts import SAYS_ABSENT, SAYS_PRESENT

MAX_QUOTE_WORDS = 150
COVERAGE = 0.8
JACCARD = 0.5
# CUAD's evaluation accepts a Parties prediction that contains the labelled name.
SUBSTRING_CATEGORIES = frozenset({"Parties"})

Labels = Mapping[str, list[str]]  # category -> labelled spans for one contract


@dataclass
class CategoryPrediction:
    present: bool = False
    quotes: list[str] = field(default_factory=list)
    # Quotes that are not in the contract (`keep_found`): never a hit, always a false positive.
    not_in_contract: int = 0


Prediction = dict[str, CategoryPrediction]  # category -> what one review says


@dataclass(frozen=True)
class PRF:
    tp: int
    fp: int
    fn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __add__(self, other: PRF) -> PRF:
        return PRF(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)


_STRIP = str.maketrans("", "", ".,;:")


def words(text: str) -> list[str]:
    """CUAD's normalisation: drop `. , ; :`, lower-case, a slash splits words ("and/or" is two),
    split on white space."""
    return text.translate(_STRIP).lower().replace("/", " ").split()


def jaccard(a: str, b: str) -> float:
    sa, sb = set(words(a)), set(words(b))
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def coverage(quote: str, span: str) -> float:
    """Share of the span's distinct words that the quote contains."""
    target = set(words(span))
    return len(target & set(words(quote))) / len(target) if target else 0.0


def right_clause(quotes: Iterable[str], spans: Iterable[str]) -> bool:
    """A quote of at most 150 words covers at least 80% of the words of one labelled span."""
    short = [q for q in quotes if 0 < len(words(q)) <= MAX_QUOTE_WORDS]
    return any(coverage(q, s) >= COVERAGE for q in short for s in spans)


def presence(
    predictions: Mapping[str, Prediction],
    labels: Mapping[str, Labels],
    categories: Iterable[str] = CUAD_CATEGORIES,
) -> PRF:
    """F1 over contract×category pairs: predicted present vs labelled non-empty."""
    tp = fp = fn = 0
    cats = tuple(categories)
    for contract, truth in labels.items():
        predicted = predictions.get(contract, {})
        for category in cats:
            said = category in predicted and predicted[category].present
            real = bool(truth.get(category))
            tp += said and real
            fp += said and not real
            fn += real and not said
    return PRF(tp, fp, fn)


def right_clause_rate(
    predictions: Mapping[str, Prediction],
    labels: Mapping[str, Labels],
    categories: Iterable[str] = CUAD_CATEGORIES,
) -> tuple[int, int]:
    """(hits, labelled-present pairs): a quote points at a labelled passage."""
    hits = total = 0
    cats = tuple(categories)
    for contract, truth in labels.items():
        predicted = predictions.get(contract, {})
        for category in cats:
            spans = truth.get(category) or []
            if not spans:
                continue
            total += 1
            guess = predicted.get(category)
            hits += bool(guess and guess.present and right_clause(guess.quotes, spans))
    return hits, total


def span_match(quote: str, span: str, category: str) -> bool:
    """CUAD's match: Jaccard ≥ 0.5, or for Parties the label inside the quote."""
    if category in SUBSTRING_CATEGORIES and span in quote:
        return True
    return jaccard(quote, span) >= JACCARD


def span_counts(
    quotes: list[str], spans: list[str], category: str, not_in_contract: int = 0
) -> PRF:
    """CUAD's `compute_precision_recall` for one contract and category.

    Each labelled span is a hit or a miss once, however many quotes match it; a quote matching
    no span is a false positive, and so is every quote on a category labelled absent (CUAD:
    `fp += len(predictions)`). Quotes not in the contract match nothing, so each is a false
    positive.
    """
    if not spans:
        return PRF(0, len(quotes) + not_in_contract, 0)
    matched = sum(any(span_match(q, s, category) for q in quotes) for s in spans)
    stray = sum(not any(span_match(q, s, category) for s in spans) for q in quotes)
    return PRF(matched, stray + not_in_contract, len(spans) - matched)


def cuad_spans(
    predictions: Mapping[str, Prediction],
    labels: Mapping[str, Labels],
    categories: Iterable[str] = CUAD_CATEGORIES,
) -> dict[str, PRF]:
    """Per category, CUAD's span rule summed over contracts (micro-averaged counts)."""
    out: dict[str, PRF] = {}
    for category in categories:
        total = PRF(0, 0, 0)
        for contract, truth in labels.items():
            spans = truth.get(category) or []
            guess = predictions.get(contract, {}).get(category)
            if guess and guess.present:
                total = total + span_counts(guess.quotes, spans, category, guess.not_in_contract)
            else:
                total = total + span_counts([], spans, category)
        out[category] = total
    return out


def keep_found(prediction: Prediction, index: ContractIndex) -> Prediction:
    """The prediction with only the quotes that are the contract's own words as quotes.

    "Verified" is the grounding check's exact match (white space, quote marks and elisions
    aside); a near miss is not the contract's text, so it cannot be credited. The others are
    counted, not dropped: each stays a false positive under CUAD's rule. Presence stands as the
    review said it.
    """
    out: Prediction = {}
    for category, guess in prediction.items():
        quotes = [q for q in guess.quotes if check(index, q).status == "verified"]
        missing = guess.not_in_contract + len(guess.quotes) - len(quotes)
        out[category] = CategoryPrediction(guess.present, quotes, missing)
    return out


def from_findings(findings: Findings) -> Prediction:
    return {
        category: CategoryPrediction(True, [f.quote for f in items])
        for category, items in findings.by_category.items()
        if items
    }


_QUOTE = re.compile(r"\"((?:[^\"\n]|\n(?![ \t]*\n)){2,}?)\"|“((?:[^”\n]|\n(?![ \t]*\n)){2,}?)”")
_HEADING_LINE = re.compile(r"^(#{2,6})[ \t]*(.*)$", re.MULTILINE)
_HEADER_LABELS = (
    (re.compile(r"\bpart(?:y|ies)\b", re.I), "Parties"),
    (re.compile(r"\bcontract type\b|\bdocument name\b", re.I), "Document Name"),
    (re.compile(r"\b(?:agreement date|dated)\b", re.I), "Agreement Date"),
    (re.compile(r"\beffective\b", re.I), "Effective Date"),
    (re.compile(r"\bgoverning law\b", re.I), "Governing Law"),
    (re.compile(r"\bnotice\b", re.I), "Notice Period To Terminate Renewal"),
    (re.compile(r"\brenew\w*\b", re.I), "Renewal Term"),
    (re.compile(r"\b(?:term|expir)\w*\b", re.I), "Expiration Date"),
)


def _assign(quote: str, prefix: str, candidates: tuple[str, ...]) -> str | None:
    """The category a quote belongs to, read the same way in every reviewer's report.

    The words before the quote on its line narrow the heading's categories by the same keyword
    table the headings go through (so "Found: yes — exclusivity, clause 4" and "Exclusivity,
    clause 4" read alike, whoever wrote them); under a heading with no categories those words
    decide alone. Among what is left the quote goes to the one it reads most like, else the first.
    """
    named = categories_for(prefix) if prefix.strip() else ()
    pool = tuple(c for c in candidates if c in named) if candidates else named
    pool = pool or candidates
    if not pool:
        return None
    if len(pool) == 1:
        return pool[0]
    scores = sentence_scores(quote)
    best = max(pool, key=lambda c: scores.get(c, 0.0))
    return best if scores.get(best, 0.0) > 0 else pool[0]


def parse_report(markdown: str) -> Prediction:
    """Per category, whether a report says it is present and the quotes it gives for it.

    Headings may be CUAD names or template categories ("Term and termination …"); a heading that
    covers several CUAD categories hands each quote to the one it reads most like. Text before
    the first `##` (parties, dates, governing law) is read by the label in front of each quote.
    Quotes may run over several lines but never over a blank one.
    """
    result: Prediction = {}
    if not isinstance(markdown, str):
        return result
    headings = [(m.start(), len(m.group(1)), m.group(2)) for m in _HEADING_LINE.finditer(markdown)]
    starts = [h[0] for h in headings]

    def context(pos: int) -> tuple[bool, tuple[str, ...]]:
        index = bisect.bisect_right(starts, pos) - 1
        if index < 0:
            return True, ()
        _, level, title = headings[index]
        if level < 3:
            return False, ()
        title = re.split(r"\s+[-–—:]+\s+\**(?:GREEN|YELLOW|RED)\b", title, flags=re.I)[0]
        return False, categories_for(title.strip(" *_`"))

    for match in _QUOTE.finditer(markdown):
        quote = match.group(1) or match.group(2)
        line_start = markdown.rfind("\n", 0, match.start()) + 1
        prefix = markdown[line_start : match.start()]
        in_header, candidates = context(match.start())
        if in_header:
            segment = re.split(r"\s·\s", prefix)[-1]
            label = re.split(r"[\"“]", segment, maxsplit=1)[0]
            category = next((c for p, c in _HEADER_LABELS if p.search(label)), None)
        elif SAYS_ABSENT.search(prefix):
            continue
        else:
            category = _assign(quote, prefix, candidates)
        if category:
            _add(result, category, quote)

    for line_match in re.finditer(r"^.*$", markdown, re.MULTILINE):
        line = line_match.group(0)
        if SAYS_PRESENT.search(line) and not SAYS_ABSENT.search(line):
            _, candidates = context(line_match.start())
            if len(candidates) == 1:
                result.setdefault(candidates[0], CategoryPrediction()).present = True
    return result


def _add(result: Prediction, category: str, quote: str) -> None:
    entry = result.setdefault(category, CategoryPrediction())
    entry.present = True
    if quote not in entry.quotes:
        entry.quotes.append(quote)
