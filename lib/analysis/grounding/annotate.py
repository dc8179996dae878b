"""Marking each quote's verdict in the report, as Markdown that cannot inject markup."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from lib.analysis.clauses.segment import place_label
from lib.analysis.grounding.tracker import CheckedQuote

# Contract text is untrusted: these characters would start Markdown, HTML, colour directives
# (":red[") or maths ("$") in the suffix, so each is escaped with a backslash.
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:\"])")
EXCERPT_CHARS = 160

LEGEND = (
    "✓ verified — the quote appears word for word in the contract (after "
    "normalising quotes, dashes, spacing and line breaks); ≈ close — a near match, the "
    "contract's wording is shown; ✗ not found — no passage of the contract resembles the quote."
)


# A file has no colours to tell a check's mark from a model's copy of it ("✓ verified" written
# after a claim), so there each mark takes a form the model's text cannot: in Markdown a link to
# the legend (a model's links go only to the contract's own hosts), in Word a coloured run, which
# the Word writer reads from `MARK_OPEN` + its tint's initial + the mark + `MARK_CLOSE`.
LEGEND_HEADING = "Quote checks"
LEGEND_ANCHOR = "quote-checks"
MARK_OPEN, MARK_CLOSE = "\ue002", "\ue003"


def escape(text: str) -> str:
    return _SPECIAL.sub(r"\\\1", " ".join(text.split()))


def _where(clause: str | None, page: int | None) -> str:
    place = place_label(clause, page)
    return f" ({place})" if place else ""


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) > EXCERPT_CHARS:
        flat = flat[: EXCERPT_CHARS - 1].rstrip() + "…"
    return flat


def suffix(item: CheckedQuote, colour: bool = True, markdown: bool = True) -> str:
    """The mark put after one quote; contract text in it is escaped unless `markdown` is off
    (a Word document shows text as it is)."""
    c = item.check

    def clean(text: str) -> str:
        # Contract text: never a mark's delimiter (it could open a coloured run of its own).
        text = text.translate(_OURS)
        return escape(text) if markdown else " ".join(text.split())

    where = _where(clean(c.clause) if c.clause else None, c.page)
    if c.status == "verified":
        text, tint = f"✓ verified{where}", "green"
    elif c.status == "close":
        reads = clean(_excerpt(c.contract_text or ""))
        text, tint = f"≈ close{where} — contract reads: “{reads}”", "orange"
    else:
        text, tint = "✗ not found in the contract", "red"
    if colour:
        return f" :{tint}[{text}]"
    if markdown:
        return f" [{text}](#{LEGEND_ANCHOR})"
    return f" {MARK_OPEN}{tint[0]}{text}{MARK_CLOSE}"


# Stand-ins for the marks while the report passes through a sanitiser: private-use characters
# that no Markdown parser treats as syntax. A report holding any of these, or of a file's mark
# delimiters, has them replaced (one for one: the quotes' places stay where they are).
_OPEN, _CLOSE = "\ue000", "\ue001"
_STAND_IN = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_OURS = str.maketrans(dict.fromkeys(map(ord, _OPEN + _CLOSE + MARK_OPEN + MARK_CLOSE), "\ufffd"))


def annotate_markdown(
    report: str,
    checked: Iterable[CheckedQuote],
    colour: bool = True,
    *,
    offset: int = 0,
    markdown: bool = True,
    sanitise: Callable[[str], str] | None = None,
) -> str:
    """The report with each quote's verdict right after it. `colour=False` for exports that do
    not understand Streamlit's `:red[...]` colour syntax. `offset` says where `report` starts
    when it is one segment of a longer report (the live view draws segments). `sanitise` cleans
    the report's own text first; the marks, ours and already escaped, go in afterwards so the
    sanitiser does not escape their colour syntax. Without colour (a file) each mark takes a form
    the report's own text cannot (see `LEGEND_ANCHOR`)."""
    out: list[str] = []
    marks: list[str] = []
    last = 0
    report = report.translate(_OURS)
    for item in sorted(checked, key=lambda i: i.quote.end):
        end = item.quote.end - offset
        if item.quote.start < offset or end < last or end > len(report):
            continue
        out.append(report[last:end])
        mark = suffix(item, colour, markdown)
        if sanitise:
            out.append(f"{_OPEN}{len(marks)}{_CLOSE}")
            marks.append(mark)
        else:
            out.append(mark)
        last = end
    out.append(report[last:])
    text = "".join(out)
    if sanitise is None:
        return text
    return _STAND_IN.sub(lambda m: marks[int(m.group(1))], sanitise(text))
