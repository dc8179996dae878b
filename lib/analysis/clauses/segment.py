"""Cut a contract into numbered clauses and the clauses into sentences, keeping exact offsets.

Offsets matter more than tidiness: every quote the finder returns must be an exact substring of
the contract, so nothing here rewrites text — it only decides where clauses and sentences begin and
end. Contracts reach us as PDF extractions with hard line breaks, page numbers and repeated running
headers, so those lines are recognised and left out of clause boundaries rather than cleaned up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from lib.analysis.page_furniture import running_lines, trailing_page_numbers

# Unicode's spaces (category Zs) other than the ASCII one: a PDF or a Word file sets non-breaking,
# figure, narrow and ideographic spaces where the drafter meant a space, and the finder's patterns
# spell a space " ". Each maps to " " one for one, so offsets into the text read are offsets into
# the contract, and a quote is still sliced from the contract itself. A soft hyphen or a
# zero-width space stays: it sits inside a word ("con\u00adfidential"), where a space would cut
# the word in two, and dropping it would move every offset after it.
_SPACES = str.maketrans(
    dict.fromkeys(
        "\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
        "\u202f\u205f\u3000",
        " ",
    )
)


def spaced(text: str) -> str:
    """The contract as the clause finder reads it: every Unicode space an ASCII one, same length
    and offsets, so a rule reads "governing\u00a0law" as "governing law"."""
    return text.translate(_SPACES)


@dataclass(frozen=True)
class Clause:
    """`number` as the text prints it ("(a)"); `cited` with the numbers it sits under
    ("12.1(a)"), as an analyst cites it: a contract has many an "(a)"."""

    number: str | None
    heading: str | None
    text: str
    start: int
    end: int
    cited: str | None = None
    # Page breaks a sentence of the clause runs across: contract spans from the last word before
    # the break to the first word after it, holding the blank lines, the page number and any
    # running header between. A sentence runs over them; a quote shows none of them.
    breaks: tuple[tuple[int, int], ...] = ()

    # Clause numbers that open a sentence inside the clause's text, in sequence after its own
    # ("… INSURANCE 7.1 The Licensee shall …"): (contract offset, number as printed).
    inline: tuple[tuple[int, str], ...] = ()

    def cited_at(self, offset: int) -> str | None:
        """The number a passage starting at `offset` is cited by: the last clause number opening a
        sentence inside the clause at or before it, else the clause's own. A passage that opens
        with a heading before such a number ("ARTICLE SEVEN INSURANCE 7.1 …") is cited by it."""
        cited = self.cited
        for at, number in self.inline:
            lead = self.text[offset - self.start : at - self.start] if at > offset else ""
            if at <= offset or not lead.strip() or _is_heading_line(lead):
                cited = number
        return cited

    def cited_spans(self) -> list[tuple[int, int, str]]:
        """(start, end, number) of each stretch of the clause cited by one number, from where
        each inline number opens its sentence (`cited_at`); none where no number applies."""
        bounds = [(self.start, self.cited), *self.inline]
        ends = [at for at, _ in bounds[1:]] + [self.end]
        return [(at, end, number) for (at, number), end in zip(bounds, ends, strict=True) if number]

    def sentences(self) -> list[Sentence]:
        """The clause's sentences, each running on over the page breaks inside it."""
        return split_sentences(self.text, self.start, self.breaks)


def clause_label(number: str | None) -> str:
    """A clause number as a report, a page or a file cites it: "§3" for "3.", "§12.1",
    "§12.1(a)", "Section 4" as it is; "" for none."""
    if not number:
        return ""
    plain = number.rstrip(".")
    return plain if len(plain.split()) > 1 else f"§{plain}"


def place_label(clause: str | None, page: int | None, separator: str = ", ") -> str:
    """ "§12.1(a), p. 3": where a passage sits, as far as it is known; "" when nothing is."""
    parts = [clause_label(clause), f"p. {page}" if page else ""]
    return separator.join(part for part in parts if part)


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int
    end: int


# An exhibit is numbered as a whole ("Exhibit 3", "EXHIBIT IV"); "EXHIBIT 10.1" at the top of a
# filing is the filing's label for the contract, not a clause of it, so it starts no clause.
_NUMBER = re.compile(
    r"""^[ \t]*(?P<num>
        (?:section|article|clause|schedule)\s+(?:\d+(?:\.\d+)*|[ivxlc]+)[a-z]?\.?
      | exhibit\s+(?:\d+|[ivxlc]+)[a-z]?\.?
      | \d{1,3}(?:\.\d{1,3})+\.?
      | \d{1,3}\.
      | \((?:[a-z]{1,2}|[ivxlc]{1,5}|\d{1,3})\)
      | [A-Z]\.
      | [IVXLC]{1,6}\.
    )(?=\s|$)""",
    re.IGNORECASE | re.VERBOSE,
)
_PAGE_FURNITURE = re.compile(
    r"^\s*(?:-?\s*\d{1,4}\s*-?|page\s+\d+(?:\s+of\s+\d+)?|\[\*+\]|\d+\s*/\s*\d+|[ivxlc]{1,5})\s*$",
    re.IGNORECASE,
)
_INLINE_HEADING = re.compile(r"\s*(?P<heading>[A-Z][^.:\n]{1,80}?)[.:](?=\s)")
_TERMINAL = ".:;!?\"')]”’"
_MAX_HEADING_WORDS = 10


_INLINE_NUMBER = re.compile(
    r"[.:;!?\"”)]\s+(?P<num>(?:section|article)\s+\d{1,3}(?:\.\d{1,3})*\.?|\d{1,3}(?:\.\d{1,3})*\.?)"
    r"\s+(?=[\"“(]?[A-Z])",
    re.IGNORECASE,
)
# Lines this long holding half the text or more between them are a contract pasted without its
# line breaks (a page a line, or the whole text one line); paragraphs of a contract that has
# them are left as they are (cutting them lost CUAD span F1).
_LONG_LINE = 1000


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line, end excluding the newline; in a contract pasted without its
    line breaks each long line is cut again where a clause number in sequence starts a sentence
    inside it, the sequence running on from line to line (page to page)."""
    raw = text.splitlines(keepends=True)
    long_chars = sum(len(line) for line in raw if len(line.rstrip("\r\n")) >= _LONG_LINE)
    pasted = long_chars * 2 >= len(text)
    spans = []
    pos = 0
    current: tuple[int, ...] = ()
    for line in raw:
        stripped = line.rstrip("\r\n")
        end = pos + len(stripped)
        current = _number_key(_NUMBER.match(text[pos : min(end, pos + 40)])) or current
        starts: list[int] = []
        if pasted and len(stripped) >= _LONG_LINE:
            starts, current = _inline_clause_starts(text, pos, end, current)
        for start, next_start in zip([pos, *starts], [*starts, end], strict=True):
            spans.append((start, start + len(text[start:next_start].rstrip())))
        pos += len(line)
    return spans


def _inline_clause_starts(
    text: str, start: int, end: int, current: tuple[int, ...]
) -> tuple[list[int], tuple[int, ...]]:
    """Where clauses numbered in sequence ("1." … "2." … "2.1") begin inside one line, and the
    last number reached: text pasted from a web page or a viewer that dropped its line breaks
    still cites "§2", not the first clause for everything. Only the next number after `current`
    at some level counts, so a sentence that merely mentions "Section 5." or "30.", or refers
    back to an earlier clause ("paragraphs 9(b) and 9(c). 12. Termination" after §11), starts
    nothing but the clause in sequence."""
    starts = []
    for match in _INLINE_NUMBER.finditer(text, start, end):
        key = _number_key(match)
        if key and _follows(current, key):
            starts.append(match.start("num"))
            current = key
    return starts, current


def _number_key(match: re.Match[str] | None) -> tuple[int, ...]:
    """ "Section 4.2." → (4, 2); anything that is not a plain decimal number → ()."""
    if match is None:
        return ()
    digits = re.sub(r"^(?:section|article)\s+", "", match.group("num").strip(), flags=re.I)
    parts = digits.rstrip(".").split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else ()


def _follows(current: tuple[int, ...], key: tuple[int, ...]) -> bool:
    """Whether `key` is the number after `current` at its own level (2 after 1.3, 1.4 after 1.3),
    the first below it (1.1 after 1), or the next article's first section (7.1 after 6.4)."""
    level = len(key) - 1
    if len(key) == 2 and len(current) == 2 and key == (current[0] + 1, 1):
        return True  # the next article's first section, its own heading numbered in words
    if level < len(current):
        return key[:level] == current[:level] and key[level] == current[level] + 1
    return level == len(current) and key[:level] == current and key[level] == 1


_WORD_NUMBER = re.compile(r"(?:section|article|clause|schedule|exhibit)\s", re.IGNORECASE)


def _clause_number(line: str, previous: str | None) -> re.Match[str] | None:
    """The clause number `line` starts with, if it starts a clause. `previous` is the line just
    above, None after a blank line. A PDF hard-wraps lines, so "Section 17B of the Exchange Act"
    can start a line inside a sentence ("requirements outlined in\nSection 17B of …"): a word
    number ("Section N") there is a cross-reference, not a clause, when the line above does not
    end a sentence or a heading, or when lower-case words carry the sentence on after it."""
    match = _NUMBER.match(line)
    if match is None or previous is None or not _WORD_NUMBER.match(match.group("num")):
        return match
    mid_sentence = not ends_sentence(previous) and not _is_heading_line(previous)
    carried_on = line[match.end() :].lstrip()[:1].islower()
    return None if mid_sentence or carried_on else match


def _is_heading_line(line: str) -> bool:
    words = line.split()
    if not words or len(words) > _MAX_HEADING_WORDS or line.rstrip()[-1] in ".;,":
        return False
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and (
        sum(c.isupper() for c in letters) / len(letters) > 0.6
        or all(w[0].isupper() or not w[0].isalpha() or len(w) <= 3 for w in words)
    )


def _make_clause(
    text: str, start: int, end: int, heading: str | None, breaks: tuple[tuple[int, int], ...] = ()
) -> Clause:
    body = text[start:end]
    lead = len(body) - len(body.lstrip())
    start += lead
    number = None
    match = _NUMBER.match(body[lead:])
    if match:
        number = match.group("num").strip()
        inline = _INLINE_HEADING.match(text, start + match.end(), end)
        if heading is None and inline and len(inline.group("heading").split()) <= 8:
            candidate = inline.group("heading").strip()
            if all(w[0].isupper() or len(w) <= 4 for w in candidate.split()):
                heading = candidate
    first_line, newline, remainder = text[start:end].partition("\n")
    rest = first_line[match.end() :] if match else first_line
    if match and not rest.strip():
        rest, newline, _ = remainder.lstrip().partition("\n")
    if heading is None and (newline or match) and rest.strip() and _is_heading_line(rest):
        heading = " ".join(rest.split())
    return Clause(number, heading, text[start:end], start, end, breaks=breaks)


def split_clauses(text: str) -> list[Clause]:
    """Clauses in document order; page furniture lines fall outside every clause's start and end.

    A clause starts at a numbered line (`12.1`, `(a)`, `Section 4`, `ARTICLE IX`) or after a blank
    line, unless the previous text stops mid-sentence and the next line carries on the sentence
    (`_runs_on`: a sentence broken by a page break, its page number and running header left in
    the clause's `breaks`), or a "Section N" line carries on the sentence above (a cross-reference
    a hard wrap put first: `_clause_number`). A short heading line on its own is joined to the
    clause it introduces.
    """
    if not text or not text.strip():
        return []
    lines = _lines(text)
    furniture = {start for start, _ in running_lines(text)}
    page_numbers = {end: start for start, end in trailing_page_numbers(text)}
    blocks: list[tuple[list[int], list[tuple[int, int]]]] = []  # [start, end], breaks per clause
    heading_only = False
    block_lines = 0
    gap = True
    blank_lines = 0
    furniture_seen = False
    previous = ""
    for s, e in lines:
        line = text[s:e]
        norm = " ".join(line.split())
        if not norm:
            gap = True
            blank_lines += 1
            continue
        if _PAGE_FURNITURE.match(line) or s in furniture:
            gap = True
            furniture_seen = True
            continue
        before = previous
        numbered = _clause_number(line, None if gap else previous)
        previous = line
        absorb_heading = heading_only and not numbered and (not gap or block_lines == 1)
        run_on: tuple[int, int] | None = None
        if blocks and gap and not numbered and not absorb_heading:
            page_break = furniture_seen or blank_lines >= 2
            first_word = s + len(line) - len(line.lstrip())
            run_on = _runs_on(
                text, blocks[-1][0][1], page_numbers, before, line, page_break, first_word
            )
        if blocks and (absorb_heading or (not numbered and (not gap or run_on))):
            blocks[-1][0][1] = e
            if run_on:
                blocks[-1][1].append(run_on)
            block_lines += 1
            heading_only = absorb_heading and _is_heading_line(line)
        else:
            blocks.append(([s, e], []))
            block_lines = 1
            rest = line[numbered.end() :] if numbered else line
            heading_only = not rest.strip() or _is_heading_line(rest)
        gap = False
        blank_lines = 0
        furniture_seen = False
    clauses = []
    for (start, end), breaks in blocks:
        clause = _make_clause(text, start, end, None, tuple(breaks))
        if clause.text.strip():
            clauses.append(clause)
    return [replace(c, inline=_inline_numbers(text, c)) for c in _with_citations(clauses)]


# A clause number ("7.1", "5.") opening a sentence inside a line: after a sentence's end or a
# heading in capitals ("ARTICLE SEVEN INSURANCE 7.1 The …"), before a capital.
_OPENING_NUMBER = re.compile(
    r"(?:[.:;!?\"”)]|\b[A-Z]{2,})[^\S\n]+"
    r"(?P<num>\d{1,3}(?:\.\d{1,3})+\.?|\d{1,3}\.)[^\S\n]+(?=[\"“(]?[A-Z])"
)


def _inline_numbers(text: str, clause: Clause) -> tuple[tuple[int, str], ...]:
    """Clause numbers opening a sentence inside `clause`, each the next in sequence after the
    number before it: "as set out in Section 4.2" or a number out of sequence cites nothing."""
    current = _number_key(_NUMBER.match(clause.text))
    if not current:
        return ()
    found = []
    for match in _OPENING_NUMBER.finditer(text, clause.start, clause.end):
        key = _number_key(match)
        if key and _follows(current, key):
            found.append((match.start("num"), match.group("num")))
            current = key
    return tuple(found)


def _runs_on(
    text: str,
    previous_end: int,
    page_numbers: dict[int, int],
    previous_line: str,
    line: str,
    page_break: bool,
    first_word: int,
) -> tuple[int, int] | None:
    """The break to read past when the text after a gap carries on the sentence before it: from
    the last word before the gap (a page number closing that line left out) to `first_word`, where
    the line goes on.

    The text before must stop mid-sentence. A line in lower case carries it on across any gap; one
    that opens with a capital ("Work⏎⏎Product have been made …") only across a page break
    (`page_break`: page furniture or several blank lines in the gap), and neither it nor the line
    before may read as a heading: a title over its first paragraph is not one sentence."""
    tail_end = len(text[: page_numbers.get(previous_end, previous_end)].rstrip())
    if ends_sentence(text[max(0, tail_end - 2) : tail_end]):
        return None
    first = line.lstrip()[:1]
    if first.islower():
        return tail_end, first_word
    if not (first.isupper() and page_break):
        return None
    if _is_heading_line(previous_line) or _is_heading_line(line):
        return None
    return tail_end, first_word


_ROMAN = re.compile(r"x{0,3}(?:ix|iv|v?i{0,3})", re.IGNORECASE)


def _with_citations(clauses: list[Clause]) -> list[Clause]:
    """Each clause with the number it is cited by: an item "(a)" or "(ii)" under the last clause
    numbered in full ("12.1", "Section 4"), and under the items of other kinds it sits in."""
    parent = ""
    items: list[tuple[str, str]] = []  # (kind, "(a)") from the outermost item in
    cited = []
    for clause in clauses:
        number = clause.number
        if number is None:
            cited.append(clause)
            continue
        if not number.startswith("("):
            parent, items = number.rstrip("."), []
            cited.append(replace(clause, cited=number))
            continue
        kind = _item_kind(number[1:-1], items)
        same = next((i for i, (k, _) in enumerate(items) if k == kind), len(items))
        items = [*items[:same], (kind, number)]
        cited.append(replace(clause, cited=parent + "".join(n for _, n in items)))
    return cited


def _item_kind(label: str, items: list[tuple[str, str]]) -> str:
    """ "1", "a", "A", "i" or "I": what kind of list an item's label belongs to. "(i)" after
    "(h)" is a letter, otherwise a Roman numeral."""
    if label.isdigit():
        return "1"
    letter = "A" if label.isupper() else "a"
    if _ROMAN.fullmatch(label):
        for kind, previous in items:
            if kind == letter and len(label) == 1 and ord(previous[1:-1][-1]) + 1 == ord(label):
                return letter
        return "I" if label.isupper() else "i"
    return letter


def ends_sentence(text: str) -> bool:
    """Whether `text` stops where a sentence or a lead-in may end, not mid-sentence."""
    tail = text.rstrip()
    return bool(tail) and tail[-1] in _TERMINAL


_ABBREVIATIONS = {
    "inc",
    "ltd",
    "co",
    "corp",
    "no",
    "nos",
    "mr",
    "mrs",
    "ms",
    "dr",
    "st",
    "sec",
    "art",
    "e.g",
    "i.e",
    "u.s",
    "u.k",
    "l.p",
    "l.l.c",
    "llc",
    "n.a",
    "s.a",
    "vs",
    "v",
    "etc",
    "para",
    "cf",
    "jr",
    "sr",
    "fig",
    "approx",
    "dept",
    "est",
    "p",
    "pp",
    "u.s.a",
    "s",
    "b.v",
    "n.v",
    "plc",
}
_SENTENCE_END = re.compile(
    r"(?<=[.!?])[\"'”’)\]]*\s+(?=[\"'“(\[]?[A-Z0-9(])|(?<=;)\s+|[ \t]*\n[ \t]*\n\s*"
)
_TRAILING_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)\.$")


def split_sentences(
    text: str, offset: int = 0, breaks: tuple[tuple[int, int], ...] = ()
) -> list[Sentence]:
    """Sentences (semicolons count as ends: CUAD's labelled passages often stop at them).

    `offset` is where `text` sits in the whole contract, so the returned offsets are contract
    offsets. Abbreviations such as "Inc." and single initials do not end a sentence, and nothing
    inside a page break a sentence runs across (`breaks`, contract offsets) ends one.
    """
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if any(b <= offset + match.start() < e for b, e in breaks):
            continue
        piece = text[start : match.start()]
        blank = "\n" in match.group(0) and not match.group(0).lstrip(" \t").startswith(("'", '"'))
        trailing = None if blank else _TRAILING_WORD.search(piece)
        if trailing and (
            trailing.group(1).lower() in _ABBREVIATIONS or len(trailing.group(1)) == 1
        ):
            continue
        if not blank and (_NUMBER.fullmatch(piece.strip()) or len(piece.split()) < 2):
            continue  # a clause number such as "12.1." is not a sentence
        _add(sentences, text, start, match.start(), offset)
        start = match.end()
    _add(sentences, text, start, len(text), offset)
    return sentences


def _add(out: list[Sentence], text: str, start: int, end: int, offset: int) -> None:
    piece = text[start:end]
    lead = len(piece) - len(piece.lstrip())
    trail = len(piece) - len(piece.rstrip())
    start, end = start + lead, end - trail
    if end > start:
        out.append(Sentence(text[start:end], start + offset, end + offset))
