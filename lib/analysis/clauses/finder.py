"""Find, per CUAD category, the passages of a contract that are that kind of clause.

Quotes are sentences (or runs of them), never whole paragraphs: an analyst checks a quote against
the contract, and a passage of at most 150 words is what the scorer accepts as pointing at the
right clause. Names and dates (parties, agreement date, document title) are extracted from the
opening of the contract, where drafting convention puts them.

Which sentences are clauses of a category is decided by the trained model (`model.py`) reading
each sentence with the rules' scores as features; each finding carries the model's probability
and whether a rule matched. Without the model the rules decide alone, as they always did.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace

import numpy as np

from lib.analysis.clauses.categories import (
    CUAD_CATEGORIES,
    EXTRA_CATEGORIES,
    THRESHOLD,
    sentence_scores,
)
from lib.analysis.clauses.model import ClauseModel, SentenceInput, load_model
from lib.analysis.clauses.segment import (
    Clause,
    Sentence,
    spaced,
    split_clauses,
)

MAX_QUOTE_WORDS = 150
MAX_PER_CATEGORY = 3
# A quote may run on by one sentence of its clause, up to 60 words in all: chosen on contracts
# 01-12, where it lifted right-clause hits from 64 to 66 of 77 for a 1-point loss on CUAD's rule.
RUN_SENTENCES = 1
RUN_WORDS = 60
_PREAMBLE_CHARS = 4000


@dataclass(frozen=True)
class Finding:
    """`quote` is the contract's exact text at [start, end); `clause` is the clause as the finder
    read it (`spaced`), for its number, heading and offsets."""

    category: str
    clause: Clause | None
    quote: str
    start: int
    end: int
    score: float  # the rules' score (≥ 1.0 is a rule match; 0 when no rule fired)
    probability: float | None = None  # the trained model's, when it decided

    @property
    def read(self) -> str:
        """The quote as the rules read it, Unicode spaces as spaces: what a rule matches, while
        `quote` is what a report shows and the quote check finds in the contract."""
        return spaced(self.quote)

    @property
    def rule_match(self) -> bool:
        return self.score >= THRESHOLD

    @property
    def cited(self) -> str | None:
        """The clause number the quote is cited by (`Clause.cited_at`), wherever it is shown."""
        return self.clause.cited_at(self.start) if self.clause else None


@dataclass
class Findings:
    """Ranked findings per category, best first; a category with no list was not found."""

    by_category: dict[str, list[Finding]] = field(default_factory=dict)
    clauses: list[Clause] = field(default_factory=list)
    model_used: bool = False
    # Model probabilities where cross-validated precision is 0.5 to 0.8 (None: rules alone).
    check_band: tuple[float, float] | None = None

    def confident(self, finding: Finding) -> bool:
        """Not borderline: no model score to doubt, or one at or above where its findings are
        right 80% of the time. The one rule for a report: only a confident finding reads "Found:
        yes" and lets a topic be GREEN; the others are listed under "Check these" to check by hand.
        """
        return (
            self.check_band is None
            or finding.probability is None
            or finding.probability >= self.check_band[1]
        )

    def sure(self, category: str) -> list[Finding]:
        """The category's confident findings, best first: the only ones a report states as fact.
        A red flag, the summary's "Most serious", the key findings, the plan and the header rise
        from these alone; a borderline one is quoted under "Check these" and asserts nothing, as
        the topic it belongs to reads "unsure" rather than found."""
        return [f for f in self.get(category) if self.confident(f)]

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
    r"schedule|exhibit|confidential|intellectual|rights?|offering|order|terms|statement|"
    r"plan|program(?:me)?|site|website|system|period|amendment|prospectus|holders?|area|"
    r"licensing|promotion|commission|works?|act|reports?|scope|project|studies|shares|code|"
    r"fees?|conversion|software|users?|description|messages|designee|members|"
    # Documents and instruments the opening defines ('a Demand Note … (the "Demand Note")'):
    # a loan note, an insurance policy or a certificate is what the parties sign, not one of them.
    r"notes?|polic(?:y|ies)|certificates?|instrument|indenture|debentures?|deed)\b",
    re.IGNORECASE,
)
# "Acme Inc., a Florida Corporation": a kind of company, not a name.
_ARTICLE_BEFORE = re.compile(r"\ban?\s+$", re.IGNORECASE)
# "THIS AGREEMENT" read as a company ("THIS AG"): a name does not start with these words.
_OPENING_WORD = re.compile(r"(?:this|the|whereas|now|by|between|and)\b", re.IGNORECASE)
MIN_CLASSIFIED_WORDS = 6
# The model reads shorter sentences than the rules do: "This Agreement is governed by Texas law."
MIN_MODEL_WORDS = 4
# Extracted by the rules (names, dates, titles), whatever the model says.
EXTRACTED = frozenset({"Document Name", "Parties", "Agreement Date"})
# Whole-clause categories: annotators highlight the rule together with its conditions.
RUN_CATEGORIES = frozenset(
    c
    for c in CUAD_CATEGORIES
    if c not in ("Document Name", "Parties", "Agreement Date", "Effective Date", "Governing Law")
)


def sentence_pairs(clauses: list[Clause]) -> list[tuple[Clause, Sentence]]:
    """Sentences of every clause, with a leading clause number left out of the quote."""
    out = []
    for clause in clauses:
        for sentence in clause.sentences():
            lead = _LEAD_NUMBER.match(sentence.text)
            if lead and lead.end() < len(sentence.text):
                cut = lead.end()
                sentence = Sentence(sentence.text[cut:], sentence.start + cut, sentence.end)
            out.append((clause, sentence))
    return out


# A scored neighbour with another role does not join a quote, nor make a further one: after "This
# Agreement shall remain in effect for five years", "Thereafter it renews for one-year terms" is
# the renewal term's passage. A lone sentence's run still takes the next sentence of its clause
# (an option to extend the term is part of the clause as annotators mark it).
_OTHER_ROLE = {
    "Expiration Date": re.compile(r"\b(?:renew\w*|extend\w*|extension)\b", re.IGNORECASE),
}


def _joins(category: str, passage: str) -> bool:
    """Whether a passage may join a quote of this category, or be one after the best: not when
    it plays another category's role."""
    other = _OTHER_ROLE.get(category)
    return other is None or not other.search(passage)


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


@dataclass(frozen=True)
class Candidate:
    """A sentence the finder may quote, with the rules' scores for it."""

    index: int  # position in the sentence list, for runs
    clause: Clause
    sentence: Sentence
    rule_scores: dict[str, float]

    def ruled(self, category: str) -> bool:
        """Whether the rules alone report this sentence for the category: a full rule match on a
        sentence of at least six words (a heading such as "21.6 Governing Law." names a clause,
        it is not one)."""
        return (
            self.rule_scores.get(category, 0.0) >= THRESHOLD
            and len(self.sentence.text.split()) >= MIN_CLASSIFIED_WORDS
        )


def candidates(text: str, pairs: list[tuple[Clause, Sentence]]) -> list[Candidate]:
    """Every sentence long enough to be a clause, scored by the rules (training reads these too)."""
    out = []
    for index, (clause, sentence) in enumerate(pairs):
        if len(sentence.text.split()) < MIN_MODEL_WORDS:
            continue
        out.append(
            Candidate(index, clause, sentence, sentence_scores(sentence.text, clause.heading))
        )
    return out


def model_inputs(text: str, found: list[Candidate]) -> list[SentenceInput]:
    size = max(1, len(text))
    return [
        SentenceInput(c.sentence.text, c.clause.heading, c.rule_scores, c.sentence.start / size)
        for c in found
    ]


def _finding(
    text: str,
    pairs: list[tuple[Clause, Sentence]],
    candidate: Candidate,
    category: str,
    probability: float | None,
) -> Finding:
    sentence = candidate.sentence
    run_end = _run_end(pairs, candidate.index) if category in RUN_CATEGORIES else sentence.end
    start, end = clip_to_words(text, sentence.start, run_end, sentence.start, MAX_QUOTE_WORDS)
    score = candidate.rule_scores.get(category, 0.0)
    return Finding(category, candidate.clause, text[start:end], start, end, score, probability)


def _classified(
    text: str, pairs: list[tuple[Clause, Sentence]], found: list[Candidate]
) -> dict[str, list[Finding]]:
    """The rules alone: a sentence of at least six words scoring 1.0 for a category."""
    out: dict[str, list[Finding]] = {}
    for candidate in found:
        for category in candidate.rule_scores:
            if candidate.ruled(category):
                out.setdefault(category, []).append(
                    _finding(text, pairs, candidate, category, None)
                )
    return out


def _modelled(
    text: str,
    pairs: list[tuple[Clause, Sentence]],
    found: list[Candidate],
    model: ClauseModel,
) -> dict[str, list[Finding]]:
    """The model's findings: sentences at or above a category's threshold, most probable first,
    cut and counted by the category's quote plan (the date first for the effective date)."""
    out: dict[str, list[Finding]] = {}
    if not found:
        return out
    probabilities = model.probabilities(model_inputs(text, found))
    for column, category in enumerate(model.categories):
        if category in EXTRACTED:
            continue
        plan = model.plan(column)
        threshold = float(model.threshold[column])
        own = probabilities[:, column]
        scores = decided(found, own, threshold, category, model.decider(column))
        cut = "merge" if plan.shape == "merge+split" else plan.shape
        merged = _merged(text, pairs, found, scores, threshold, category, plan.count, cut, own)
        if merged and category in DATED:
            merged = _by_role(merged)
        elif category in _LATER_ROLE:
            merged = merged[:1] + [
                f
                for f in merged[1:]
                if _LATER_ROLE[category].search(f.quote) and _joins(category, f.quote)
            ]
        # The best quote always; the others only when they clear the plan's bar.
        merged = [
            f
            for n, f in enumerate(merged[: plan.count])
            if n == 0 or (f.probability or 0.0) >= plan.ratio * threshold
        ]
        if plan.shape == "merge+split":
            merged = [q for f in merged for q in split_quotes(found, f, own)]
        if merged:
            out[category] = merged
    return out


# Quotes after the best one, for categories where most of them were other passages: kept only
# when they say what the category is about (an expiration date: how long the term runs, not
# how it renews).
_LATER_ROLE = {
    "Expiration Date": re.compile(
        r"\b(?:expir\w*|continu\w*|until|remain\w*\s+in\s+(?:full\s+)?(?:force|effect)|"
        r"in\s+effect|period|years?|months?)\b",
        re.IGNORECASE,
    ),
}


def rule_rows(found: list[Candidate], category: str) -> np.ndarray:
    """Which candidates the rules alone would report for the category (as `_classified`)."""
    return np.fromiter((c.ruled(category) for c in found), dtype=bool, count=len(found))


def decided(
    found: list[Candidate], own: np.ndarray, threshold: float, category: str, decider: str
) -> np.ndarray:
    """Scores to rank and cut by, as the category's decider says: the model's probabilities;
    with a rule match lifted to the threshold ("either"); or only the rule matches, ranked by
    the model ("rules")."""
    if decider == "model":
        return own
    ruled = rule_rows(found, category)
    lifted = np.where(ruled, np.maximum(own, threshold), own)
    return lifted if decider == "either" else np.where(ruled, lifted, 0.0)


# Categories annotators mostly label as the date alone ("June 21, 1999"), not the sentence.
DATED = frozenset({"Effective Date"})


# What a sentence says about the effective date: when the term begins ("shall commence on",
# "continue for", "become effective"). A sentence that only carries the date (the opening's "made
# as of June 1, 2000") is quoted as the date alone, as annotators mark it.
_TERM_CUE = re.compile(
    r"\b(?:commenc\w*|continu\w*|term|(?:shall\s+)?(?:become|be)\s+effective|expir\w*|until|"
    r"period)\b",
    re.IGNORECASE,
)


def _by_role(found: list[Finding]) -> list[Finding]:
    """An effective date's quotes by the role of their sentence: the date inside the best
    sentence, then only the sentences that set when the term begins (the best one also when it
    holds no date to quote, so the category stays found). Once a date is quoted, a sentence that
    only refers to it ("shall commence on the Effective Date") is the term's, not this one's."""
    date = _with_date(found[0])
    kept = [
        f
        for n, f in enumerate(found)
        if (_TERM_CUE.search(f.quote) and (not date or DATE.search(f.quote)))
        or (n == 0 and not date)
    ]
    return date + kept


# A date's role, read from its neighbours: named the effective date just after it ("(the
# "Effective Date")"), or introduced as the effective one just before it ("effective as of").
_EFFECTIVE_ROLE = re.compile(r"\W{0,6}(?:the\s+)?[\"“]?effective\s*date\b", re.IGNORECASE)
_EFFECTIVE_BEFORE = re.compile(r"\beffective\s+(?:as\s+of|on|from)?\s*(?:the\s+)?$", re.IGNORECASE)


def _with_date(finding: Finding) -> list[Finding]:
    """The date inside the best sentence, quoted on its own before the sentence: CUAD's span rule
    matches the date, and the sentence keeps the context an analyst checks it in."""
    dates = list(DATE.finditer(finding.quote))
    if not dates:
        return []
    # "entered into on October 1, 2019 and is made effective as of November 1, 2019": the date
    # that is the effective one, not the signing date before it.
    date = next((d for d in dates if _EFFECTIVE_ROLE.match(finding.quote, d.end())), None)
    date = date or next(
        (d for d in dates if _EFFECTIVE_BEFORE.search(finding.quote[: d.start()])), dates[0]
    )
    start, end = finding.start + date.start(), finding.start + date.end()
    return [replace(finding, quote=date.group(0), start=start, end=end)]


# A neighbouring sentence joins a quote when it scores at least half the category's threshold:
# annotators highlight whole clauses. Chosen by 5-fold CV among four quote shapes (right clause
# over 41 categories 0.724 → 0.746, CUAD span F1 unchanged at 0.60).
MERGE_FLOOR = 0.5


def _merged(
    text: str,
    pairs: list[tuple[Clause, Sentence]],
    found: list[Candidate],
    scores: np.ndarray,
    threshold: float,
    category: str,
    count: int,
    shape: str,
    shown: np.ndarray | None = None,
) -> list[Finding]:
    """The `count` best sentences. Shape "run": each grown over its clause's neighbouring
    sentences that also score for the category, as one quote of at most 150 words; a sentence
    with no such neighbour is quoted as the rules quote it (with the next sentence of its clause
    for whole-clause categories). Shape "merge": the same without that next sentence. Shape
    "sentence": the sentence alone."""
    taken: set[int] = set()
    out: list[Finding] = []
    floor = threshold * MERGE_FLOOR
    for row in np.argsort(-scores, kind="stable"):
        row = int(row)
        if scores[row] < threshold or len(out) >= count:
            break
        if row in taken:
            continue
        clause = found[row].clause
        first = last = row
        words = len(found[row].sentence.text.split())
        for step in () if shape == "sentence" else (1, -1):
            edge = row
            while 0 <= edge + step < len(found):
                nxt = edge + step
                size = len(found[nxt].sentence.text.split())
                if found[nxt].clause is not clause or scores[nxt] < floor:
                    break
                # A quote never runs over a passage already quoted.
                if not _joins(category, found[nxt].sentence.text) or nxt in taken:
                    break
                if words + size > MAX_QUOTE_WORDS:
                    break
                words += size
                edge = nxt
            first, last = (first, edge) if step == 1 else (edge, last)
        taken.update(range(first, last + 1))
        # The score shown is the model's own, also where a rule match made the finding.
        probability = float((scores if shown is None else shown)[row])
        if first == last and shape == "run":
            out.append(_finding(text, pairs, found[row], category, probability))
            continue
        start, end = clip_to_words(
            text, found[first].sentence.start, found[last].sentence.end,
            found[row].sentence.start, MAX_QUOTE_WORDS,
        )  # fmt: skip
        score = found[row].rule_scores.get(category, 0.0)
        out.append(Finding(category, clause, text[start:end], start, end, score, probability))
    return out


def split_quotes(found: list[Candidate], passage: Finding, own: np.ndarray) -> list[Finding]:
    """A passage and, when it holds more than one sentence (candidate), each of them quoted on
    its own after it, most probable first, each with its own model score: annotators often mark
    the sentences of one clause as separate spans, and CUAD's rule fails a quote joining them."""
    starts = [c.sentence.start for c in found]
    first = max(0, bisect_right(starts, passage.start) - 1)
    rows = [
        row
        for row in range(first, bisect_left(starts, passage.end))
        if found[row].sentence.end > passage.start
    ]
    if len(rows) < 2:
        return [passage]
    out = [passage]
    for row in sorted(rows, key=lambda r: -own[r]):
        sentence = found[row].sentence
        start, end = max(sentence.start, passage.start), min(sentence.end, passage.end)
        score = found[row].rule_scores.get(passage.category, 0.0)
        quote = passage.quote[start - passage.start : end - passage.start]
        out.append(replace(passage, quote=quote, start=start, end=end, score=score,
                           probability=float(own[row]), clause=found[row].clause))  # fmt: skip
    return out


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
# A blank left to fill in ("____", "[ ]"); a day is a number (OCR may split "10t h", "1s t") or a
# blank.
_BLANK = r"(?:_{2,}|\[\s*\])"
_ORDINAL = (
    r"(?:(?:twenty|thirty)[- ]?)?(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)"
    r"|tenth|eleventh|twelfth|(?:thir|four|fif|six|seven|eigh|nine)teenth|twentieth|thirtieth"
)
_DAY = rf"(?:\d{{1,2}}\s?(?:s\s?t|n\s?d|r\s?d|t\s?h)?|{_BLANK}|{_ORDINAL})"
_YEAR = r"(?:\d{4}|\d{3}_|20_+|\d{2}\b)"
# Not inside a word, but a blank may run into the date ("_Dec. 8, 2005").
DATE = re.compile(
    rf"(?<![^\W_])(?:{_DAY}\s+(?:day\s+of\s+)?(?:{_MONTH}|{_BLANK})\s*[,.]?\s*{_YEAR}"
    rf"|{_MONTH}\s+{_DAY}\s*,?\s*\d{{4}}"
    rf"|\d{{1,2}}/\d{{1,2}}/\d{{2,4}}\b|\d{{1,2}}-\d{{1,2}}-\d{{2,4}}\b|{_MONTH},?\s+\d{{4}})",
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
_FIRST_DATE_CHARS = 1500
_SIGNATURE_CHARS = 3000
_SIGNED = re.compile(r"\b(?:date[d:]?|signed|executed|this|on)\b", re.IGNORECASE)
_EFFECTIVE_CUE = re.compile(r"\beffective\b", re.IGNORECASE)
_RECITAL = re.compile(r"WHEREAS\b", re.IGNORECASE)
_DEFINED_NAME = re.compile(r"\(\s*(?:the\s+|each\s+a\s+)?[\"“]([^\"”\n]{2,60})[\"”]")
# A party named without a company word, just before the name the contract gives it: 'and
# Stephen Marley ("Talent"), an individual'. Only after "between" or "and": after a comma it is
# most often the end of an address ("Central, Hong Kong ("XFN")").
_PERSON = re.compile(
    r"(?:(?<=\bbetween )|(?<=\band ))"
    r"([A-Z][a-z]+(?:\s+[A-Z]\.)?(?:\s+[A-Z][a-z'’-]+){1,3})(?=\s*,?\s*\(\s*(?:the\s+)?[\"“])"
)
_THE = re.compile(r"^the\s+", re.IGNORECASE)
# The body's first numbered clause ("1. Engagement.", "Section 1"): names it defines ("Talent
# Attributes", "Territories") are the contract's terms, not its parties.
_BODY_NUMBER = re.compile(r"(?:\d|section\b|article\b)", re.IGNORECASE)
_COMPANY = re.compile(
    r"\b((?:[A-Z]|[a-z][A-Z])[\w&.,'\-]*(?:\s+[A-Z(][\w&.,'()\-]*){0,7}?,?\s+(?:Inc\.|Incorporated|LLC|"
    r"L\.L\.C\.|Ltd\.?|Limited|Corporation|Corp\.|Company|L\.P\.|LP|plc|PLC|GmbH|S\.A\.|N\.V\.|"
    r"B\.V\.|AG|Co\.|Trust|Bank|University)(?![\w&]))"
)
_TITLE = re.compile(
    r"\b(?:agreement|contract|licen[cs]e|lease|addendum|amendment|memorandum|terms)\b", re.I
)


# A run of words on one line with at most two spaces between them: PDF extractions set a title
# and the text beside it apart by wide gaps ("OUTSOURCING AGREEMENT        dated as of").
_TITLE_PIECE = re.compile(r"\S+(?:[ \t]{1,2}\S+)*")
_TITLE_PIECES = 60


# The run of capitals stays within one sentence and one piece of a line: a word ending in a full
# stop (other than initials, "U.S.") ends a sentence, and a gap of three spaces or more sets the
# title apart from the text beside it. An SEC filing's redaction notice in capitals ("… WOULD
# CAUSE COMPETITIVE HARM TO THE REGISTRANT IF PUBLICLY DISCLOSED. SERVICES AGREEMENT") and a
# PDF's "BIOPURE CORPORATION        AGENCY AGREEMENT" are not part of the title.
_CAPITALS_WORD = r"(?:[A-Z]\.(?:[A-Z]\.)+|[A-Z][A-Z0-9&'’.,/\-]*(?<!\.))"
_CAPITALS_TITLE = re.compile(
    rf"(?<![\w&'’.-])(?:{_CAPITALS_WORD}[ \t]{{1,2}}){{0,8}}"
    r"(?:AGREEMENT|CONTRACT|LICEN[CS]E|LEASE|ADDENDUM|AMENDMENT|MEMORANDUM|TERMS)(?![\w])"
)
_NOT_TITLE_START = re.compile(r"(?:THIS|THE|WHEREAS|NOW|SUCH|ANY|EACH)\s+")


def document_title(text: str) -> str | None:
    """The contract's title as the finder quotes it under Document Name, on one line."""
    span = _document_name(text)
    return " ".join(text[span[0] : span[1]].split()) if span else None


def _document_name(text: str) -> tuple[int, int] | None:
    """The title, as CUAD's annotators mark it: the first run of capitals in the opening that ends
    in a kind of agreement ("ODM SUPPLY AGREEMENT"), else the first short line or line piece in
    Title Case that names one."""
    for match in _CAPITALS_TITLE.finditer(text, 0, _PREAMBLE_CHARS):
        start, end = match.span()
        lead = _NOT_TITLE_START.match(text, start)
        if lead:
            start = lead.end()
        if end - start > 3 and len(text[start:end].split()) >= 2:
            return start, end
    for number, match in enumerate(_TITLE_PIECE.finditer(text, 0, _PREAMBLE_CHARS)):
        if number >= _TITLE_PIECES:
            break
        line = match.group(0)
        words = line.split()
        if len(words) > 12 or not _TITLE.search(line) or line.endswith((".", ",", ";")):
            continue
        capitals = line.upper() == line
        title_case = sum(w[:1].isupper() for w in words if len(w) > 3) >= max(
            1, sum(len(w) > 3 for w in words) - 1
        )
        if capitals or title_case:
            return match.span()
    return None


def _fallback_date(text: str, recitals: list[Sentence]) -> tuple[int, int] | None:
    """With no date in an opening sentence: one the sentence split cut ("this 16 day of August.
    2012") in the opening, not in a recital, else the last date of the signature blocks ("Date:
    1/14/02"), where annotators mark the agreement date when the opening leaves it blank or
    out."""
    date = next(
        (
            d
            for d in DATE.finditer(text, 0, _FIRST_DATE_CHARS)
            if not any(r.start <= d.start() < r.end for r in recitals)
        ),
        None,
    )
    if date is None:
        signed = [
            d
            for d in DATE.finditer(text, max(0, len(text) - _SIGNATURE_CHARS))
            if _SIGNED.search(text, max(0, d.start() - 40), d.start())
        ]
        date = signed[-1] if signed else None
    return date.span() if date else None


_WITNESS = re.compile(r"IN\s+WITNESS\s+WHEREOF", re.IGNORECASE)
# "By:" opening a signature line ("By: /s/ Jane Roe", "By Its Authorized Representative:").
_SIGNED_BY = re.compile(r"(?<![\w/])By\b\s*(?::|_|/s/|Its\b|\n)")
_NOT_NAME = re.compile(
    r"(?:name|title|date|by|its|signature|witness|address|attention|very truly|accepted|"
    r"agreed|confirmed|in witness|page|exhibit|schedule|source)\b",
    re.IGNORECASE,
)
# The first line with text after a cue, and its words up to a gap of three spaces or more.
_NEXT_LINE = re.compile(r"[^\s][^\n]*")
_LINE_WORDS = re.compile(r"\S+(?:[ \t]{1,2}\S+)*")
# One or more labels ending in a colon at the start of a name line.
_LABELS = re.compile(r"(?:[A-Z][\w.&'-]*:\s*)+")
_SIGNATURE_BLOCK_CHARS = 2500
_SIGNATURE_NAMES = 6


def _signature_names(text: str, quoted: list[Finding]) -> list[Finding]:
    """The parties as named above their signatures ("LIFE TECHNOLOGIES CORPORATION / By: ..."),
    each its own short quote of the name line, where the opening does not already quote that
    exact name: annotators mark the names there too, and CUAD credits a quote holding a name."""
    witness = list(_WITNESS.finditer(text))
    start = witness[-1].start() if witness else max(0, len(text) - _SIGNATURE_CHARS)
    end = min(len(text), start + _SIGNATURE_BLOCK_CHARS)
    out: list[Finding] = []
    seen = {f.quote for f in quoted}
    for by in _SIGNED_BY.finditer(text, start, end):
        line_start = max(start, text.rfind("\n", start, by.start()) + 1)
        line = text[line_start : by.start()]
        if not line.strip():  # the name sits on the line above ("ACME INC.\n\nBy: ...")
            stop = len(text[start:line_start].rstrip()) + start
            line_start = max(start, text.rfind("\n", start, stop) + 1)
            line = text[line_start:stop]
        for piece in _LINE_WORDS.finditer(line):
            # Labels before the name ("CLUB:  SPONSOR: JACKSONVILLE JAGUARS, LLC") are not it.
            label = _LABELS.match(piece.group(0))
            name = piece.group(0)[label.end() if label else 0 :].rstrip(" ,")
            if _new_name(name, seen):
                seen.add(name)
                s = line_start + piece.start() + (label.end() if label else 0)
                out.append(Finding("Parties", None, name, s, s + len(name), 1.0))
    return out[:_SIGNATURE_NAMES]


_LIST_CUE = re.compile(
    r"^[ \t]*(?:(?:by[ \t]+and[ \t]+)?between|b[ \t]?e[ \t]?t[ \t]?w[ \t]?e[ \t]?e[ \t]?n"
    r"|-?[ \t]*and[ \t]*-?)[ \t]*:?[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def _listed_names(text: str, quoted: list[Finding]) -> list[Finding]:
    """Parties set out as a list in the opening ("BETWEEN:\n\nMODUS MEDIA INTERNATIONAL\n\nAND
    \n\nDRAGON SYSTEMS, INC."): the name on the first line after each "between" or "and"."""
    out: list[Finding] = []
    seen = {f.quote for f in quoted}
    for cue in _LIST_CUE.finditer(text, 0, _PREAMBLE_CHARS):
        line = _NEXT_LINE.search(text, cue.end())
        piece = _LINE_WORDS.match(text, line.start()) if line else None
        if piece is None:
            continue
        name = piece.group(0).rstrip(" ,")
        if _new_name(name, seen):
            seen.add(name)
            out.append(
                Finding("Parties", None, name, piece.start(), piece.start() + len(name), 1.0)
            )
    return out


# A name above a signature is a company's ("ACME CORP.", "Blue Hills Bank") when it carries a
# company word or is set in capitals; a person's name, a job title or an address is not a party's
# (on the 469 training contracts, 90% of the names this keeps match a labelled party).
_COMPANY_WORD = re.compile(
    r"\b(?:inc|incorporated|llc|l\.l\.c|ltd|limited|corp|corporation|company|co|lp|l\.p|llp|"
    r"plc|trust|bank|fund|s\.?a|ag|gmbh|b\.?v|n\.?v|partners|holdings?|group|association|"
    r"university)\b",
    re.IGNORECASE,
)
_NOT_SIGNER = re.compile(
    r"\b(?:president|officer|director|secretary|treasurer|chairman|manager|counsel|general "
    r"partner|member|attorney|signatory|witness|agreement|article|section|addendum|date)\b",
    re.IGNORECASE,
)


def _is_name(piece: str) -> bool:
    """A company's name as set above a signature: 1-10 words, each long word capitalised, with
    a company word or in capitals; not a label ("Name:"), a closing ("Very truly yours"), a job
    title, an address or "a Delaware corporation"."""
    words = piece.split()
    if not 1 <= len(words) <= 10 or _NOT_NAME.match(piece) or piece.endswith(":"):
        return False
    if "/s/" in piece or "_" in piece or piece[0].isdigit() or _NOT_SIGNER.search(piece):
        return False
    if re.match(r"(?:an?|the)\s", piece, re.IGNORECASE) and not piece.isupper():
        return False
    long_words = [w for w in words if len(w) > 3 and w[0].isalpha()]
    if not long_words or not all(w[0].isupper() for w in long_words):
        return False
    capitals = piece.isupper() and sum(len(w) > 1 for w in words) >= 2
    return capitals or bool(_COMPANY_WORD.search(piece))


def _new_name(name: str, quoted: set[str]) -> bool:
    """A company's name (`_is_name`) that no party quote already holds."""
    return _is_name(name) and name not in quoted and not any(name in q for q in quoted)


# A letter agreement opens without "between": "Acme Corp., a Delaware corporation (the
# "Company"), confirms its agreement with ..." names the parties by defining them.
_LETTER_CUE = re.compile(r"\(\s*(?:the\s+)?[\"“][A-Z][^\"”\n]{1,40}[\"”]")
# A table of contents can push the opening sentence past _PREAMBLE_CHARS.
_LATE_PREAMBLE_CHARS = 15000


def _preamble(opening: list[tuple[Clause, Sentence]]) -> tuple[Clause, Sentence] | None:
    """The sentence that names the parties: the first with the strongest cue, else a sentence
    defining a company's name (a letter agreement)."""
    for cue in _PARTIES_CUES:
        for clause, sentence in opening:
            if cue.search(sentence.text) and len(sentence.text.split()) > 6:
                return clause, sentence
    for clause, sentence in opening:
        if _LETTER_CUE.search(sentence.text) and _COMPANY.search(sentence.text):
            return clause, sentence
    return None


def _without_article(name: str) -> str:
    """'The ARC Group, Inc.' as 'ARC Group, Inc.', where what follows "The" is still a company's
    name ('The Bank' is not one): a name starting with "The" is otherwise taken for the opening's
    own words ("THIS AGREEMENT", "The Company") and dropped."""
    rest = _THE.sub("", name, count=1)
    return rest if rest != name and _COMPANY.fullmatch(rest) else name


def _names_end(
    pairs: list[tuple[Clause, Sentence]], preamble: Clause, sentence: Sentence, region_end: int
) -> int:
    """Where the parties' names stop: the recitals (`region_end`) or the body's first numbered
    clause after the parties sentence, whichever comes first."""
    for clause, later in pairs:
        if later.start >= region_end:
            break
        if (
            later.start > sentence.start
            and clause is not preamble
            and clause.number
            and _BODY_NUMBER.match(clause.number)
        ):
            return max(sentence.end, clause.start)
    return region_end


def _short_answers(
    text: str, pairs: list[tuple[Clause, Sentence]], skip_effective: bool = False
) -> dict[str, list[Finding]]:
    found: dict[str, list[Finding]] = {}
    opening = [(c, s) for c, s in pairs if s.start < _PREAMBLE_CHARS]

    title = _document_name(text)
    if title is not None:
        start, end = title
        clause = next((c for c, s in pairs if s.start <= start < s.end), None)
        found["Document Name"] = [
            Finding("Document Name", clause, text[start:end], start, end, 1.0)
        ]

    preamble = _preamble(opening) or _preamble(
        [(c, s) for c, s in pairs if s.start < _LATE_PREAMBLE_CHARS]
    )
    if preamble is not None:
        clause, sentence = preamble
        stop = _RECITALS.search(text, sentence.end, sentence.start + _PARTIES_CHARS)
        region_end = stop.start() if stop else min(len(text), sentence.start + _PARTIES_CHARS)
        # The quote runs from the opening sentence up to the recitals: parties set out as a list
        # ("between: … - and - …") or named after an abbreviation ("B.C. Ltd.") stay in it.
        start, end = clip_to_words(
            text, sentence.start, max(sentence.end, region_end), sentence.start, MAX_QUOTE_WORDS
        )
        end = len(text[start:end].rstrip()) + start
        parties = [Finding("Parties", clause, text[start:end], start, end, 2.0)]
        region = text[sentence.start : _names_end(pairs, clause, sentence, region_end)]
        seen: set[str] = set()
        names = (_COMPANY, _DEFINED_NAME, _PERSON)
        for match in (m for pattern in names for m in pattern.finditer(region)):
            name = _without_article(match.group(1).strip(" ,"))
            if (
                _NOT_PARTY.search(name)
                or _OPENING_WORD.match(name)
                or name in seen
                or "\n\n" in name
                or _ARTICLE_BEFORE.search(region, max(0, match.start() - 4), match.start())
            ):
                continue
            seen.add(name)
            s = sentence.start + region.index(name, match.start(1))
            parties.append(Finding("Parties", clause, name, s, s + len(name), 1.0))
        found["Parties"] = parties + _listed_names(text, parties)
    signers = _signature_names(text, found.get("Parties", []))
    if signers:
        found.setdefault("Parties", []).extend(signers)

    # A date in a sentence that says the agreement is made or dated, else the first date of the
    # opening (a title page: "AGENCY AGREEMENT  May 14, 2014").
    # A recital's date is an earlier agreement's or a loan's ("WHEREAS, the Company and the Trust
    # entered into a Split Dollar Agreement, dated as of December 5, 1995"), not this one's.
    recitals = [sentence for _, sentence in opening if _RECITAL.match(sentence.text)]
    dated = [
        (clause, sentence)
        for clause, sentence in opening
        if sentence is (preamble[1] if preamble else None)
        or re.search(r"\b(?:dated|as of|made|entered|executed|this)\b", sentence.text, re.I)
    ]
    first = [p for p in opening if p[1].start < _FIRST_DATE_CHARS]
    for clause, sentence in [p for p in dated + first if p[1] not in recitals]:
        date = DATE.search(sentence.text)
        if date:
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
    if "Agreement Date" not in found:
        fallback = _fallback_date(text, recitals)
        if fallback is not None:
            start, end = fallback
            clause = next((c for c, s in pairs if s.start <= start < s.end), None)
            found["Agreement Date"] = [
                Finding("Agreement Date", clause, text[start:end], start, end, 1.0)
            ]

    for clause, sentence in [] if skip_effective else pairs:
        if _EFFECTIVE_CUE.search(sentence.text) and DATE.search(sentence.text):
            start, end = clip_to_words(
                text, sentence.start, sentence.end, sentence.start, MAX_QUOTE_WORDS
            )
            found["Effective Date"] = [
                Finding("Effective Date", clause, text[start:end], start, end, 1.0)
            ]
            break
    return found


def find_clauses(text: str, model: ClauseModel | bool | None = True) -> Findings:
    """Every CUAD category's findings, best first; never raises on odd text.

    `model`: True for the shipped model (rules alone if it cannot load), False for the rules
    alone, or a model of one's own (cross-validation).
    """
    if not isinstance(text, str) or not text.strip():
        return Findings()
    # Everything is matched on the text as read, and every quote is then cut from the contract
    # at the same offsets: a contract with non-breaking spaces is read as the one without.
    read = spaced(text)
    clauses = split_clauses(read)
    pairs = sentence_pairs(clauses)
    found = findings_from(read, clauses, pairs, candidates(read, pairs), model)
    if read == text:
        return found
    found.by_category = {
        category: [replace(f, quote=text[f.start : f.end]) for f in items]
        for category, items in found.by_category.items()
    }
    return found


def findings_from(
    text: str,
    clauses: list[Clause],
    pairs: list[tuple[Clause, Sentence]],
    found: list[Candidate],
    model: ClauseModel | bool | None = True,
) -> Findings:
    """`find_clauses` on a contract already cut up (cross-validation cuts each contract once)."""
    chosen = load_model() if model is True else (model or None)
    ruled = _classified(text, pairs, found)
    if chosen is not None:
        modelled = _modelled(text, pairs, found, chosen)
        learned = set(chosen.categories) - EXTRACTED
        # Categories the model knows are its call; the rest (e.g. indemnity) stay with the rules.
        ruled = {c: f for c, f in ruled.items() if c not in learned} | modelled
    ruled.update(_short_answers(text, pairs, skip_effective=chosen is not None))
    ruled = {c: [f for f in items if not _in_break(f)] for c, items in ruled.items()}
    ranked: dict[str, list[Finding]] = {}
    planned = set(chosen.categories) - EXTRACTED if chosen is not None else set()
    for category in (*CUAD_CATEGORIES, *EXTRA_CATEGORIES):
        items = ruled.get(category)
        if not items:
            continue
        if category in ("Parties",) or category in planned:
            # The model's findings come ranked and counted by its quote plan.
            ranked[category] = items
            continue
        items = sorted(items, key=_rank)
        ranked[category] = items[:MAX_PER_CATEGORY]
    band = chosen.check_band if chosen is not None else None
    return Findings(ranked, clauses, model_used=chosen is not None, check_band=band)


def _in_break(f: Finding) -> bool:
    """Whether a finding lies inside a page break its clause's sentence runs across: a date or a
    name there is the running header's ("Source: …, 11/19/2019"), not the contract's."""
    return f.clause is not None and any(s <= f.start and f.end <= e for s, e in f.clause.breaks)


def _rank(f: Finding) -> tuple[float, float, int]:
    return (-(f.probability if f.probability is not None else 0.0), -f.score, f.start)
