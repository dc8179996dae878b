"""Find, per CUAD category, the passages of a contract that are that kind of clause.

Quotes are sentences (or runs of them), never whole paragraphs: an analyst checks a quote against
the contract, and a passage of at most 150 words is what the scorer accepts as pointing at the
right clause. Names and dates (parties, agreement and effective date, document title) are
extracted from the opening of the contract, where drafting convention puts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lib.analysis.clauses.categories import (
    CUAD_CATEGORIES,
    EXTRA_CATEGORIES,
    THRESHOLD,
    sentence_scores,
)
from lib.analysis.clauses.segment import Clause, Sentence, split_clauses, split_sentences

MAX_QUOTE_WORDS = 150
MAX_PER_CATEGORY = 3
# A quote may run on by one sentence of its clause, up to 60 words in all: chosen on contracts
# 01-12, where it lifted right-clause hits from 64 to 66 of 77 for a 1-point loss on CUAD's rule.
RUN_SENTENCES = 1
RUN_WORDS = 60
_PREAMBLE_CHARS = 4000


@dataclass(frozen=True)
class Finding:
    category: str
    clause: Clause | None
    quote: str
    start: int
    end: int
    score: float


@dataclass
class Findings:
    """Ranked findings per category, best first; a category with no list was not found."""

    by_category: dict[str, list[Finding]] = field(default_factory=dict)
    clauses: list[Clause] = field(default_factory=list)

    def present(self, category: str) -> bool:
        return bool(self.by_category.get(category))

    def best(self, category: str) -> Finding | None:
        found = self.by_category.get(category)
        return found[0] if found else None

    def get(self, category: str) -> list[Finding]:
        return self.by_category.get(category, [])


def clip_to_words(text: str, start: int, end: int, anchor: int, limit: int) -> tuple[int, int]:
    """Narrow [start, end) to at most `limit` words, keeping `anchor` inside."""
    words = [m.span() for m in re.finditer(r"\S+", text[start:end])]
    if len(words) <= limit:
        return start, end
    at = next((i for i, (s, _) in enumerate(words) if start + s >= anchor), len(words) - 1)
    first = max(0, min(at - limit // 3, len(words) - limit))
    last = first + limit - 1
    return start + words[first][0], start + words[last][1]


_LEAD_NUMBER = re.compile(
    r"\s*(?:(?:section|article|clause)\s+)?(?:\d{1,3}(?:\.\d{1,3})*\.?|\([a-z0-9]{1,5}\))\s+",
    re.IGNORECASE,
)
_NOT_PARTY = re.compile(
    r"\b(?:agreement|date|effective|part(?:y|ies)|term|territory|products?|services?|"
    r"schedule|exhibit|confidential|intellectual|rights?)\b",
    re.IGNORECASE,
)
MIN_CLASSIFIED_WORDS = 6
# Whole-clause categories: annotators highlight the rule together with its conditions.
RUN_CATEGORIES = frozenset(
    c
    for c in CUAD_CATEGORIES
    if c not in ("Document Name", "Parties", "Agreement Date", "Effective Date", "Governing Law")
)


def _sentences(clauses: list[Clause]) -> list[tuple[Clause, Sentence]]:
    """Sentences of every clause, with a leading clause number left out of the quote."""
    out = []
    for clause in clauses:
        for sentence in split_sentences(clause.text, clause.start):
            lead = _LEAD_NUMBER.match(sentence.text)
            if lead and lead.end() < len(sentence.text):
                cut = lead.end()
                sentence = Sentence(sentence.text[cut:], sentence.start + cut, sentence.end)
            out.append((clause, sentence))
    return out


def _run_end(pairs: list[tuple[Clause, Sentence]], index: int) -> int:
    """End of a sentence run: the sentence plus what follows it in its clause, within limits."""
    clause, sentence = pairs[index]
    end, count = sentence.end, len(sentence.text.split())
    for extra in range(1, RUN_SENTENCES + 1):
        if index + extra >= len(pairs) or pairs[index + extra][0] is not clause:
            break
        following = pairs[index + extra][1]
        count += len(following.text.split())
        if count > RUN_WORDS:
            break
        end = following.end
    return end


def _classified(text: str, pairs: list[tuple[Clause, Sentence]]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    for index, (clause, sentence) in enumerate(pairs):
        if len(sentence.text.split()) < MIN_CLASSIFIED_WORDS:
            continue  # a heading such as "21.6 Governing Law." names a clause, it is not one
        scores = sentence_scores(sentence.text, clause.heading)
        for category, score in scores.items():
            if score < THRESHOLD:
                continue
            run_end = _run_end(pairs, index) if category in RUN_CATEGORIES else sentence.end
            start, end = clip_to_words(
                text, sentence.start, run_end, sentence.start, MAX_QUOTE_WORDS
            )
            found.setdefault(category, []).append(
                Finding(category, clause, text[start:end], start, end, score)
            )
    return found


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
DATE = re.compile(
    rf"\b(?:\d{{1,2}}(?:st|nd|rd|th)?\s+(?:day\s+of\s+)?{_MONTH},?\s+(?:\d{{4}}|\d{{2}}\b)"
    rf"|{_MONTH}\s+\d{{1,2}}\s*(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|{_MONTH},?\s+\d{{4}})",
    re.IGNORECASE,
)
_PARTIES_CUES = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\b(?:by and between|between|by and among|among)\b",
        r"\b(?:entered into|is made|made and entered|made by|dated)\b",
        r"\bthe parties\b",
    )
)
_RECITALS = re.compile(
    r"\b(?:WHEREAS|RECITALS|BACKGROUND|NOW,? THEREFORE|IN CONSIDERATION|W I T N E S S)\b"
)
_PARTIES_CHARS = 3000
_EFFECTIVE_CUE = re.compile(r"\beffective\b", re.IGNORECASE)
_DEFINED_NAME = re.compile(r"\(\s*(?:the\s+|each\s+a\s+)?[\"“]([^\"”\n]{2,60})[\"”]")
_COMPANY = re.compile(
    r"\b([A-Z][\w&.,'\-]*(?:\s+[A-Z(][\w&.,'()\-]*){0,7}?,?\s+(?:Inc\.|Incorporated|LLC|"
    r"L\.L\.C\.|Ltd\.?|Limited|Corporation|Corp\.|Company|L\.P\.|LP|plc|PLC|GmbH|S\.A\.|N\.V\.|"
    r"B\.V\.|AG|Co\.|Trust|Bank|University))"
)
_TITLE = re.compile(
    r"\b(?:agreement|contract|licen[cs]e|lease|addendum|amendment|memorandum|terms)\b", re.I
)


def _short_answers(text: str, pairs: list[tuple[Clause, Sentence]]) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    opening = [(c, s) for c, s in pairs if s.start < _PREAMBLE_CHARS]

    for clause, sentence in opening[:12]:
        line = " ".join(sentence.text.split())
        if _TITLE.search(line) and len(line.split()) <= 12 and line.upper() == line:
            found["Document Name"] = [
                Finding("Document Name", clause, sentence.text, sentence.start, sentence.end, 1.0)
            ]
            break

    preamble = None
    for cue in _PARTIES_CUES:
        preamble = next(
            ((c, s) for c, s in opening if cue.search(s.text) and len(s.text.split()) > 6), None
        )
        if preamble is not None:
            break
    if preamble is not None:
        clause, sentence = preamble
        start, end = clip_to_words(
            text, sentence.start, sentence.end, sentence.start, MAX_QUOTE_WORDS
        )
        parties = [Finding("Parties", clause, text[start:end], start, end, 2.0)]
        stop = _RECITALS.search(text, sentence.end, sentence.start + _PARTIES_CHARS)
        region_end = stop.start() if stop else min(len(text), sentence.start + _PARTIES_CHARS)
        region = text[sentence.start : region_end]
        seen: set[str] = set()
        for match in (*_COMPANY.finditer(region), *_DEFINED_NAME.finditer(region)):
            name = match.group(1).strip(" ,")
            if _NOT_PARTY.search(name) or name in seen or "\n\n" in name:
                continue
            seen.add(name)
            s = sentence.start + region.index(name, match.start(1))
            parties.append(Finding("Parties", clause, name, s, s + len(name), 1.0))
        found["Parties"] = parties

    for clause, sentence in opening:
        date = DATE.search(sentence.text)
        if date and (
            sentence is (preamble[1] if preamble else None)
            or re.search(r"\b(?:dated|as of|made|entered|executed|this)\b", sentence.text, re.I)
        ):
            s, e = date.span()
            found["Agreement Date"] = [
                Finding(
                    "Agreement Date",
                    clause,
                    date.group(0),
                    sentence.start + s,
                    sentence.start + e,
                    1.0,
                )
            ]
            break

    for clause, sentence in pairs:
        if _EFFECTIVE_CUE.search(sentence.text) and DATE.search(sentence.text):
            start, end = clip_to_words(
                text, sentence.start, sentence.end, sentence.start, MAX_QUOTE_WORDS
            )
            found["Effective Date"] = [
                Finding("Effective Date", clause, text[start:end], start, end, 1.0)
            ]
            break
    return found


def find_clauses(text: str) -> Findings:
    """Every CUAD category's findings, best first; never raises on odd text."""
    if not isinstance(text, str) or not text.strip():
        return Findings()
    clauses = split_clauses(text)
    pairs = _sentences(clauses)
    found = _classified(text, pairs)
    found.update(_short_answers(text, pairs))
    ranked: dict[str, list[Finding]] = {}
    for category in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES):
        items = found.get(category)
        if not items:
            continue
        if category in ("Parties",):
            ranked[category] = items
            continue
        items = sorted(items, key=lambda f: (-f.score, f.start))
        ranked[category] = items[:MAX_PER_CATEGORY]
    return Findings(ranked, clauses)
