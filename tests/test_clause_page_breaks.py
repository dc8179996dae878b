"""A sentence a page break cuts in two is one clause and one quote, without the page's furniture.

A contract's text keeps its pages' breaks: blank lines, a page number (on its own line or closing
the page's last line) and a running header. The clause finder reads a sentence on across them,
cites it by its own clause number, and quotes it whole with none of the furniture in the quote,
which the quote check still finds in the contract.
"""

from __future__ import annotations

import re

from lib.analysis.clauses import split_clauses
from lib.analysis.clauses.report import write_report
from lib.analysis.grounding import check_report, contract_index
from lib.analysis.page_furniture import trailing_page_numbers
from lib.analysis.samples import load_sample, sample_names

_QUOTE = re.compile(r'"([^"\n]+)"|“([^”\n]+)”')


def _sample(prefix: str) -> str:
    return load_sample(next(n for n in sample_names() if n.startswith(prefix))).text


def _report(text: str) -> str:
    return "".join(write_report("contract", text))


def _lines_quoting(report: str, words: str) -> list[str]:
    """Report lines holding `words` inside a quote, white space read as one space."""
    return [line for line in report.splitlines() if words in " ".join(line.split())]


def _unverified(text: str, report: str) -> list[str]:
    checked = check_report(contract_index(text), report)
    return [c.quote.text for c in checked if c.check.status != "verified"]


def test_a_liability_exclusion_runs_on_past_the_page_number_and_header() -> None:
    text = _sample("22_")
    report = _report(text)
    lines = _lines_quoting(report, "GOODWILL, BUSINESS")
    assert lines
    for line in lines:
        assert "BUSINESS 3" not in line and "Source:" not in line
        assert "INTERRUPTION AND THE LIKE) RELATING TO THIS AGREEMENT" in line
    assert _unverified(text, report) == []


def test_a_termination_right_keeps_its_trigger_from_before_the_page_break() -> None:
    text = _sample("19_")
    report = _report(text)
    lines = _lines_quoting(report, "terminate this Agreement upon giving at least ninety (90) days")
    lines = [line for line in lines if "to the Agent" in line]
    assert lines
    for line in lines:
        quote = " ".join(line.split())
        assert "§4.2(f)" in quote
        assert "In the event the Company terminates, sells or otherwise transfers" in quote
        assert " 13 " not in quote and "-12-" not in quote
    assert _unverified(text, report) == []


def test_an_assignment_over_a_bare_page_break_is_cited_by_its_clause() -> None:
    text = _sample("12_")
    report = _report(text)
    lines = _lines_quoting(report, "Product have been made for the Company")
    assert lines
    for line in lines:
        quote = " ".join(line.split())
        assert "§2:" in quote and "unnumbered paragraph" not in quote
        assert '"Turpin acknowledges and agrees that all Work Product have been made' in quote
    assert _unverified(text, report) == []


BROKEN = (
    "1. Ownership. The Licensee agrees that all Work\n\n\n\n\nProduct belongs to the Licensor.\n\n"
    "2. Liability. Neither party is liable for lost profits, business    7\n\n"
    "ACME LICENCE AGREEMENT\n\n"
    "interruption or goodwill.\n\n"
    "GENERAL PROVISIONS\n\n\n\n"
    "The parties may amend this Agreement in writing.\n\n"
    "3. Notices. Notices go to the address in Section 8    8\n\n"
    "ACME LICENCE AGREEMENT\n\n"
    "4. Assignment. Neither party may assign this Agreement.    9\n\n"
    "ACME LICENCE AGREEMENT\n\n"
)


def test_a_sentence_runs_on_over_a_page_break_and_a_heading_does_not() -> None:
    clauses = split_clauses(BROKEN)
    assert [c.cited for c in clauses] == ["1.", "2.", None, "3.", "4."]
    ownership, liability = clauses[0], clauses[1]
    assert [" ".join(s.text.split()) for s in ownership.sentences()] == [
        "1. Ownership.",
        "The Licensee agrees that all Work Product belongs to the Licensor.",
    ]
    assert liability.sentences()[-1].text.endswith("interruption or goodwill.")
    assert clauses[2].heading == "GENERAL PROVISIONS"


def test_only_numbers_in_page_sequence_closing_a_line_are_page_numbers() -> None:
    spans = trailing_page_numbers(BROKEN)
    assert [BROKEN[s:e] for s, e in spans] == ["7", "8", "9"]
    assert trailing_page_numbers("Notices go to the address in Section 8\n\nNext.") == []
