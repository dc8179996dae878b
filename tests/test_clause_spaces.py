"""A contract set with non-breaking (or other Unicode) spaces, as PDFs and Word files carry them,
reads to the clause finder as the same contract with plain spaces, while every quote stays the
contract's own text."""

from __future__ import annotations

import re
import unicodedata

import pytest

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.red_flags import red_flags
from lib.analysis.clauses.report import write_report
from lib.analysis.clauses.segment import spaced
from lib.analysis.samples import all_samples

SAMPLE = next(s for s in all_samples() if "MANAKOASERVICESCORP" in s.file_name)


def offsets(text: str) -> dict[str, list[tuple[int, int]]]:
    return {
        c: [(f.start, f.end) for f in items] for c, items in find_clauses(text).by_category.items()
    }


def risk(report: str) -> str:
    found = re.search(r"^## Overall risk: (\w+)", report, re.MULTILINE)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    "space", ["\u00a0", "\u3000", "\u2007", "\u202f"], ids=lambda s: f"U+{ord(s):04X}"
)
def test_unicode_spaces_read_as_spaces(space: str) -> None:
    """Every space set as U+00A0 turned an NDA's overall risk from MEDIUM to HIGH: the red-flag
    rules spell a space " ", read "either\u00a0party" as no party and a termination for
    convenience open to both sides as one side's only."""
    text = SAMPLE.text.replace(" ", space)
    plain = "".join(write_report(SAMPLE.file_name, SAMPLE.text))
    report = "".join(write_report(SAMPLE.file_name, text))
    assert offsets(text) == offsets(SAMPLE.text)
    assert [f.rule for f in red_flags(find_clauses(text))] == [
        f.rule for f in red_flags(find_clauses(SAMPLE.text))
    ]
    assert risk(report) == risk(plain)
    assert spaced(report) == plain  # the same report, its quotes keeping the contract's spaces


def test_every_quote_is_the_contracts_own_text() -> None:
    text = SAMPLE.text.replace(" ", "\u00a0")
    findings = find_clauses(text)
    quotes = [f for items in findings.by_category.values() for f in items]
    assert quotes and all(f.quote == text[f.start : f.end] for f in quotes)
    assert all(" " not in f.quote for f in quotes)


def test_every_unicode_space_and_no_other_character_is_read_as_one() -> None:
    """A soft hyphen or a zero-width space sits inside a word: read as a space, it would cut it."""
    spaces = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Zs"]
    assert spaced("".join(spaces)) == " " * len(spaces)
    assert spaced("con\u00adfiden\u200btial\u2028") == "con\u00adfiden\u200btial\u2028"


def test_a_name_wrapped_after_a_non_breaking_space_reads_on_one_line() -> None:
    """The header sets a party's name wrapped across lines on one line, and a line of
    non-breaking spaces is a blank line, as a line of plain spaces is."""
    text = (
        "CONSULTING AGREEMENT\n\nThis Consulting Agreement is made as of June 1, 2020 between "
        'Acme Widgets, Inc., a Delaware corporation (the "Company"), and R. C. Boyd \n'
        'Enterprises, LLC (the "Consultant").\n \n1. Governing Law. This Agreement shall be '
        "governed by the laws of the State of New York.\n"
    )
    plain = "".join(write_report("contract", text))
    report = "".join(write_report("contract", text.replace(" ", "\u00a0")))
    assert '"R. C. Boyd Enterprises, LLC"' in plain
    assert spaced(report) == plain
