"""Parsing a model's playbook answer while it streams: one section per position.

The model is asked for `### [id] title`, then `Verdict:`, `Reason:` and `Evidence:` lines
(`prompt.py`). Text arrives in pieces cut anywhere, even inside a UTF-8 character, so the parser
keeps the unfinished line and reads a section only once the next one has begun (or the stream has
ended). Nothing is guessed: a position the model skipped is "missing", a section whose verdict
cannot be read is "malformed", and an answer with no sections at all is reported as a model that
ignored the format; an answer of nothing at all is `empty`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from enum import StrEnum

from lib.analysis.grounding import ContractIndex, check
from lib.analysis.playbook.format import Evidence, Playbook, PositionResult, Verdict

_HEADING = re.compile(r"^\s{0,3}#{2,4}\s*\[\s*([^\]\n]{1,64}?)\s*\]\s*(.*)$")
_FIELD = re.compile(r"^\s*[-*]?\s*\**(verdict|reason|evidence)\**\s*:\s*\**\s*(.*?)\s*$", re.I)
_QUOTED = re.compile(r"[\"“]([^\"“”]{3,})[\"”]")
_OPENING = '"“'
_CLOSING = '"”'
# '"…" (clause 3); "…"' or '"…"; "…"': where one quote of a line ends and the next begins.
_NEXT_QUOTE = re.compile(r'(?<=["”])\s*(?:\([^()"“”]{0,40}\)\s*[;,]?|;)\s*(?=["“])')
# Words from which a quote on a shared line is a passage of its own, not a defined term.
MIN_QUOTE_WORDS = 4
# A line that opens with a quoted term and goes on in words ('"Confidential Information" means
# …'): the model quoted the passage without marks of its own, so the passage is the whole line.
_TERM_FIRST = re.compile(
    r'^["“](?P<term>[^"“”]{1,80})["”]\s*(?=\w)(?!(?:clause|section|cl|art|article|para)\b)', re.I
)
# The reference after a quote: '(clause 2.01)', as the format asks, or '— clause 2.01'.
_TRAILING_REFERENCE = re.compile(
    r'\s*(?:\([^()"“”]{0,40}\)|\s[—–-]\s*(?:clause|section|§)\s*[\w.()]{1,20})\s*[.;,]?\s*$', re.I
)
_VERDICTS = {
    "meets": Verdict.MEETS,
    "met": Verdict.MEETS,
    "deviates": Verdict.DEVIATES,
    "not addressed": Verdict.NOT_ADDRESSED,
}
MAX_QUOTES = 3
MAX_LINE_CHARS = 4000


class Status(StrEnum):
    OK = "ok"
    MALFORMED = "malformed"
    MISSING = "missing"


@dataclass(frozen=True)
class Section:
    position_id: str
    status: Status
    verdict: Verdict | None = None
    reason: str = ""
    quotes: tuple[str, ...] = ()
    problem: str = ""


@dataclass
class _Open:
    position_id: str
    lines: list[str] = field(default_factory=list)


def _verdict(value: str) -> Verdict | None:
    words = " ".join(re.sub(r"[^a-z ]", " ", value.lower()).split())
    return _VERDICTS.get(words)


def _parse_section(open_: _Open) -> Section:
    verdict_text = None
    reason = ""
    quotes: list[str] = []
    in_evidence = False
    for line in open_.lines:
        field_match = _FIELD.match(line)
        if field_match:
            name, value = field_match.group(1).lower(), field_match.group(2)
            in_evidence = name == "evidence"
            if name == "verdict" and verdict_text is None:
                verdict_text = value
            elif name == "reason" and not reason:
                reason = value
            elif name == "evidence" and value and value.lower().strip(". ") != "none":
                quotes.extend(_quotes(value))
            continue
        if in_evidence and line.lstrip().startswith((">", "-", "*")):
            quotes.extend(_quotes(line.lstrip(" >-*")))
    quotes = [q for q in quotes if q][:MAX_QUOTES]
    if verdict_text is None:
        return Section(open_.position_id, Status.MALFORMED, reason=reason, quotes=tuple(quotes),
                       problem="no Verdict: line")  # fmt: skip
    verdict = _verdict(verdict_text)
    if verdict is None:
        return Section(
            open_.position_id, Status.MALFORMED, reason=reason, quotes=tuple(quotes),
            problem=f"unreadable verdict {verdict_text[:40]!r}",
        )  # fmt: skip
    return Section(open_.position_id, Status.OK, verdict, reason, tuple(quotes))


def _quotes(text: str) -> list[str]:
    """The quotes of one evidence line. The format asks for one quote a line, opening it with a
    quote mark: that quote runs to the line's last closing mark, so defined terms quoted inside
    it ('"“Confidential Information” shall mean …"', '"“Affiliate”, “Control” and …"') stay in
    it. Several quotes on one line are taken apart where each ends with its clause or a
    semicolon, or where every one of them is a passage of its own (four words or more). A line
    that opens with a quoted term and goes on in words is one quote, the term's marks kept; so is
    a line without an opening mark whose only quotes are terms that words follow ('The
    "Confidential Information" means …'): cut to the term, it would be found wherever the
    contract first names it. A short quote that ends its line ('Section 5.2: "twelve months"')
    is the quote."""
    text = text.strip()
    pieces = [q.strip() for q in _QUOTED.findall(text)]
    if text[:1] not in _OPENING:
        line = _TRAILING_REFERENCE.sub("", text)
        after = line[max(line.rfind(mark) for mark in _CLOSING) + 1 :] if pieces else ""
        if any(len(piece.split()) >= MIN_QUOTE_WORDS for piece in pieces) or (
            pieces and not re.search(r"\w", after)
        ):
            return pieces
        return _whole(line if pieces else text)
    if len(pieces) > 1 and all(len(piece.split()) >= MIN_QUOTE_WORDS for piece in pieces):
        return pieces
    cut = [_one_quote(piece).strip() for piece in _NEXT_QUOTE.split(text)]
    return [piece for piece in cut if len(piece) >= 3]


def _one_quote(text: str) -> str:
    """From after the opening mark to before the last closing one (the clause reference after
    it left out); the rest of the line when it never closes. A quote that opens with a quoted
    term and goes on in words is kept whole, the term's marks with it: cut at the term's
    closing mark, it would be the term alone, found wherever the contract first names it (its
    preamble) rather than in the passage quoted."""
    text = text.strip()
    term = _TERM_FIRST.match(text)
    if term and len(term.group("term").split()) < MIN_QUOTE_WORDS:
        whole = _TRAILING_REFERENCE.sub("", text)
        marks = sum(whole.count(mark) for mark in '"“”')
        # '"Seller" shall deliver the Goods"': the passage's own closing mark, with no opening.
        return whole[:-1] if marks % 2 and whole[-1:] in _CLOSING else whole
    text = text[1:]
    end = max(text.rfind(mark) for mark in _CLOSING)
    return text[:end] if end > 0 else text


def _whole(text: str) -> list[str]:
    text = text.strip().strip('"“”').strip()
    return [text] if len(text) >= 3 else []


class AnswerParser:
    """Feed the streamed answer; `sections` holds each finished section as soon as it is."""

    def __init__(self, playbook: Playbook):
        self.playbook = playbook
        self._ids = {p.id for p in playbook.positions}
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._open: _Open | None = None
        self.sections: dict[str, Section] = {}
        self.problems: list[str] = []
        self.finished = False
        self._text_outside = False
        self._wrote = False

    def feed(self, chunk: str | bytes) -> list[Section]:
        """The sections this chunk finished (each position's at most once)."""
        text = self._decoder.decode(chunk) if isinstance(chunk, bytes) else chunk
        self._wrote = self._wrote or bool(text.strip())
        self._pending += text
        done: list[Section] = []
        while "\n" in self._pending:
            line, self._pending = self._pending.split("\n", 1)
            done.extend(self._line(line[:MAX_LINE_CHARS]))
        if len(self._pending) > MAX_LINE_CHARS:
            self._pending = self._pending[:MAX_LINE_CHARS]
        return done

    def finish(self) -> list[Section]:
        """Ends the stream: the last section, then every position never answered, as missing."""
        if self.finished:
            return []
        self.finished = True
        done = self.feed(self._decoder.decode(b"", final=True))
        if self._pending:
            done.extend(self._line(self._pending))
            self._pending = ""
        done.extend(self._close())
        for p in self.playbook.positions:
            if p.id not in self.sections:
                section = Section(p.id, Status.MISSING, problem="the model wrote no section")
                self.sections[p.id] = section
                done.append(section)
        return done

    @property
    def ignored_format(self) -> bool:
        """True when the model wrote text but not one section in the asked format."""
        answered = any(s.status is not Status.MISSING for s in self.sections.values())
        return self._text_outside and not answered

    @property
    def empty(self) -> bool:
        """True when the model has written nothing but white space: an empty answer is not an
        answer in the wrong format, and its reader should hear that it was empty."""
        return not self._wrote

    def current(self) -> tuple[str | None, str]:
        """The position being written now and its text so far (for a live view)."""
        if self._open is None:
            return None, ""
        return self._open.position_id, "\n".join([*self._open.lines, self._pending])

    def _line(self, line: str) -> list[Section]:
        heading = _HEADING.match(line)
        if heading:
            done = self._close()
            position_id = heading.group(1).strip()
            if position_id not in self._ids:
                self.problems.append(f"a section for unknown position {position_id[:64]!r}")
                self._open = None
            elif position_id in self.sections:
                self.problems.append(f"a second section for {position_id!r} was ignored")
                self._open = None
            else:
                self._open = _Open(position_id)
            return done
        if self._open is not None:
            self._open.lines.append(line)
        elif line.strip():
            self._text_outside = True
        return []

    def _close(self) -> list[Section]:
        if self._open is None:
            return []
        section = _parse_section(self._open)
        self._open = None
        self.sections[section.position_id] = section
        return [section]


# How well a quote was found, best last: of two quotes of one passage the better one is kept.
_CHECK_RANK = {"not_found": 0, "close": 1, "verified": 2}


def _one_per_passage(evidence: list[Evidence]) -> list[Evidence]:
    """The evidence with each contract passage once. A model that quotes a passage twice (once
    exactly, once off by a word) would otherwise get two comments on the same words in the
    Word file and two quotes counted; the better-checked quote is kept, in the first's place."""
    kept: list[Evidence] = []
    for item in evidence:
        same = next(
            (
                i
                for i, k in enumerate(kept)
                if item.start >= 0 and k.start >= 0 and item.start < k.end and k.start < item.end
            ),
            None,
        )
        if same is None:
            kept.append(item)
        elif (_CHECK_RANK.get(item.check, 0), item.score) > (
            _CHECK_RANK.get(kept[same].check, 0),
            kept[same].score,
        ):
            kept[same] = item
    return kept


def section_result(section: Section, index: ContractIndex) -> PositionResult:
    """A parsed section as a position's result, each quote checked against the contract and
    each passage quoted once."""
    if section.status is not Status.OK:
        what = "no section" if section.status is Status.MISSING else section.problem
        return PositionResult(
            section.position_id, None, f"The model's answer has {what}.", problem=what
        )
    evidence = []
    for quote in section.quotes:
        found = check(index, quote)
        if found.start is None or found.end is None:
            evidence.append(Evidence(-1, -1, quote, 0.0, check=found.status))
        else:
            evidence.append(
                Evidence(
                    found.start,
                    found.end,
                    found.contract_text or quote,
                    found.score,
                    found.clause,
                    found.page,
                    found.status,
                )
            )
    return PositionResult(
        section.position_id, section.verdict, section.reason, tuple(_one_per_passage(evidence))
    )
