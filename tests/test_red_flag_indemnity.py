"""The one-sided indemnity flag: raised only where one party alone gives an indemnity."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.finder import Finding, Findings
from lib.analysis.clauses.red_flags import red_flags
from lib.analysis.clauses.segment import split_clauses

SUPPLIER = (
    "Supplier agrees to indemnify and hold harmless Customer against any losses arising out of "
    "Supplier's breach of this Agreement."
)
CUSTOMER = (
    "Customer agrees to indemnify and hold harmless Supplier against any losses arising out of "
    "Customer's use of the Products."
)


def _finding(text: str, quote: str) -> Finding:
    start = text.index(quote)
    return Finding("Indemnity", None, quote, start, start + len(quote), 1.0)


def _one_sided(text: str, quotes: list[str]) -> bool:
    findings = Findings(
        {"Indemnity": [_finding(text, q) for q in quotes]}, clauses=split_clauses(text)
    )
    return "One-sided indemnity" in {flag.rule for flag in red_flags(findings)}


def test_two_findings_with_different_indemnifiers_are_mutual() -> None:
    # A service agreement quoted both undertakings, yet its report opened with this RED flag:
    # only the first finding was read.
    text = f"9. Indemnification.\n(a) {SUPPLIER}\n(b) {CUSTOMER}\n"
    assert not _one_sided(text, [SUPPLIER, CUSTOMER])


def test_the_other_sides_indemnity_elsewhere_in_the_contract_counts() -> None:
    text = f"9. Indemnification.\n{SUPPLIER}\n\n12. Products.\n{CUSTOMER}\n"
    assert not _one_sided(text, [SUPPLIER])


def test_any_mutual_finding_makes_the_indemnity_mutual() -> None:
    mutual = "The parties agree to mutually indemnify one another against third-party claims."
    text = f"9. Indemnification.\n{SUPPLIER}\n{mutual}\n"
    assert not _one_sided(text, [SUPPLIER, mutual])


def test_an_indemnity_each_party_gives_elsewhere_counts() -> None:
    both = "Each party hereto agrees to indemnify the other party against environmental claims."
    text = f"9. Indemnification.\n{SUPPLIER}\n\n15. Environment.\n{both}\n"
    assert not _one_sided(text, [SUPPLIER])


@pytest.mark.parametrize(
    "procedure",
    [
        # The indemnified party's duties in the procedure give no indemnity of its own.
        "Customer will promptly notify Supplier in writing of any claim for indemnification.",
        "Each party will promptly notify the other party of any claim for indemnification.",
        "Nothing in this Agreement shall obligate Customer to indemnify Supplier.",
        # The indemnified party just before "and hold": not an indemnifier.
        "Supplier shall indemnify Customer and hold it harmless from any fines.",
    ],
)
def test_one_party_indemnifying_alone_is_still_flagged(procedure: str) -> None:
    text = f"9. Indemnification.\n{SUPPLIER}\n{procedure}\n"
    assert _one_sided(text, [SUPPLIER])
