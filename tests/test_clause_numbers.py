"""Clause numbers a report cites: the clause a passage sits in, not a cross-reference or a label."""

from __future__ import annotations

from devtools.sample_files import pdf_bytes
from lib.analysis.clauses.finder import Finding
from lib.analysis.clauses.report import _reference, write_report
from lib.analysis.clauses.segment import split_clauses
from lib.analysis.documents import load_document
from lib.analysis.grounding.report import contract_index
from lib.analysis.samples import load_sample

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


SPHERE_3D = "05_SPHERE3DCORP_06_24_2020_EX_10_12_CONSULTING_AGREEMENT.txt"


def test_a_section_reference_wrapped_to_a_line_start_is_not_a_clause_number() -> None:
    """A PDF of the Sphere 3D sample cited its governing-law clause as "Section 17B": a line of
    the securities clause began "Section 17B of the Exchange Act" where the PDF wrapped it."""
    contract = load_sample(SPHERE_3D)
    paragraphs = [p for p in contract.text.split("\n\n") if p.strip()]
    document = load_document(
        pdf_bytes([paragraphs[i : i + 8] for i in range(0, len(paragraphs), 8)]), "05.pdf"
    )
    assert "\nSection 17B of the Exchange Act" in document.text  # the wrap this is about
    report = "".join(write_report("05.pdf", document.text, page_starts=list(document.page_starts)))
    assert "Section 17B" not in report
    assert _cited(document.text, "Section 17B of the Exchange Act") is None


def test_a_section_number_starts_a_clause_after_a_sentence_or_a_heading_only() -> None:
    text = (
        "ARTICLE II\nSection 2.1 Term. The term is one year, subject to the limits in\n"
        "Section 5 of this Agreement and to the notice in\nSection 6.\n"
        "Section 3 Fees. Fees are due monthly.\nSection 4 of the Plan applies as well.\n"
    )
    numbers = [c.number for c in split_clauses(text)]
    assert numbers == ["ARTICLE II", "Section 2.1", "Section 3"]
    assert _cited(text, "Plan applies") == "Section 3"


# As a filing's text sets a licence: the articles run on inside long lines, with no sentence end
# before a heading's section number.
RUN_ON = (
    "6. Liability.\n\n"
    "6.4 Neither party is liable for lost profits. ARTICLE SEVEN INSURANCE 7.1 The Licensee shall "
    "maintain commercial general liability insurance with a reputable carrier. The insurance "
    "shall name the Licensor. 7.2 The Licensee shall deliver certificates of insurance, as set out "
    "in Section 4.2 of the Schedule.\n"
)


def test_a_number_opening_a_sentence_inside_a_line_is_the_one_cited() -> None:
    clause = next(c for c in split_clauses(RUN_ON) if c.cited == "6.4")

    def cited(words: str) -> str:
        start = RUN_ON.index(words)
        return _reference(Finding("Insurance", clause, words, start, start + len(words), 1.0), None)

    assert cited("Neither party is liable") == "§6.4"
    assert cited("ARTICLE SEVEN INSURANCE 7.1 The Licensee") == "§7.1"
    assert cited("The insurance shall name") == "§7.1"
    assert cited("of the Schedule") == "§7.2"


def test_the_quote_check_and_the_finder_cite_a_passage_by_one_number() -> None:
    """The report's citation (`Finding.cited`) and the quote check's (`contract_index`, which
    History, the playbook's passages and the cross-check read) follow one rule: the check went on
    citing the clause's first number where the report cited the number inside the line."""
    index = contract_index(RUN_ON)
    clause = next(c for c in split_clauses(RUN_ON) if c.cited == "6.4")
    for words, number in (
        ("Neither party is liable", "6.4"),
        ("The insurance shall name", "7.1"),
        ("of the Schedule", "7.2"),
    ):
        start = RUN_ON.index(words)
        finding = Finding("Insurance", clause, words, start, start + len(words), 1.0)
        assert index.clause_at(start) == finding.cited == number
