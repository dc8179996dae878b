"""Clause numbers a report cites: the clause a passage sits in, not a cross-reference or a label."""

from __future__ import annotations

from lib.analysis.clauses.report import write_report
from lib.analysis.clauses.segment import split_clauses

FILLER = " ".join(["The parties shall act in good faith in performing this Agreement."] * 16)
# Pasted a page a line: every page is a long line, none of them half the text, and the clause
# numbers run on from page to page.
PAGES = [
    f"SERVICE AGREEMENT between Acme Inc. and Beta LLC. {FILLER} 1. Prospectuses. The Trust "
    f"shall provide prospectuses. {FILLER} 2. Relationship. Each party is independent.",
    f"{FILLER} 3. Price Errors. (a) Notification. The Trust shall give notice. {FILLER} (b) "
    "Underpayments. The Trust shall pay the difference.",
    f"(c) Overpayments. The Administrator shall repay any excess. {FILLER} The Trust applies "
    "the provisions of paragraphs 1(b) and 1(c). 4. Termination. Either party may terminate "
    f"this Agreement on 90 days' notice. {FILLER} Notices go to the address in Section 2. 1 "
    "Copies are kept. 5. Governing Law. This Agreement shall be governed by the laws of the "
    "State of Ohio.",
]
PASTED = "\n\n\n2\n\n\n".join(PAGES)


def _cited(text: str, words: str) -> str | None:
    return next(c.cited for c in split_clauses(text) if words in c.text)


def test_a_contract_pasted_a_page_a_line_cites_each_clause_by_its_own_number() -> None:
    assert all(len(page) < len(PASTED) / 2 for page in PAGES)
    assert _cited(PASTED, "Overpayments") == "3(c)"
    assert _cited(PASTED, "terminate this Agreement on 90 days") == "4."
    assert _cited(PASTED, "governed by the laws of the State of Ohio") == "5."


def test_a_cross_reference_or_a_number_out_of_sequence_starts_no_clause() -> None:
    numbers = [c.number for c in split_clauses(PASTED)]
    assert numbers.count("1.") == 1 and "1(c)" not in numbers
    assert _cited(PASTED, "Copies are kept") == "4."


def test_a_filings_exhibit_label_is_not_a_clause_number() -> None:
    text = (
        "EXHIBIT 10.1\n\nSponsorship Agreement\n\nTHIS AGREEMENT made this 5th day of December, "
        '2007, between Acme Inc. ("Acme") and Beta LLC ("Beta").\n\n'
        "1. Governing Law. This Agreement shall be governed by the laws of Texas.\n"
    )
    assert split_clauses(text)[0].number is None
    header = "".join(write_report("contract", text)).split("\n")[1]
    assert "Dated: unnumbered paragraph" in header
    assert "EXHIBIT" not in header


def test_an_exhibit_numbered_as_a_whole_is_still_cited() -> None:
    text = "1. Term. One year.\n\nExhibit 2\n\nThe Services. Acme shall clean the premises.\n"
    assert _cited(text, "clean the premises") == "Exhibit 2"
