"""Termination for convenience reads as mutual only when the clauses let both sides end it."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.finder import Finding, Findings
from lib.analysis.clauses.red_flags import red_flags

CATEGORY = "Termination For Convenience"
BOTH = "Termination for convenience (both sides)"
ONE = "Termination for convenience by one side only"


def _tfc(*quotes: str) -> dict[str, str]:
    """The termination-for-convenience flag's rule and the quote it cites."""
    found = [Finding(CATEGORY, None, q, 0, len(q), 1.0, 0.95) for q in quotes]
    findings = Findings({CATEGORY: found}, model_used=True, check_band=(0.3, 0.75))
    (flag,) = [f for f in red_flags(findings) if f.category == CATEGORY]
    assert flag.finding is not None
    return {"rule": flag.rule, "quote": flag.finding.quote}


@pytest.mark.parametrize(
    "quote",
    [
        # The Oaktree sample, §10.2: names of several words.
        "This Agreement may be terminated, either in respect of a Fund or in its entirety, by "
        "either Oaktree US or the Sub-Advisor for any reason upon 30 days' written notice to the "
        "other.",
        # A services agreement in CUAD.
        "Each of the Recipient and the Provider may, in their sole discretion, terminate this "
        "Agreement in whole or in part, at any time without cause.",
        "Either Party may terminate this Agreement upon thirty (30) days written notice.",
    ],
)
def test_a_right_given_to_both_named_parties_is_mutual(quote: str) -> None:
    assert _tfc(quote)["rule"] == BOTH


def test_a_right_given_to_one_party_is_one_sided() -> None:
    quote = "Licensee may terminate this Agreement at any time upon 30 days' notice to Licensor."
    assert _tfc(quote)["rule"] == ONE


def test_a_further_right_for_one_party_alone_makes_it_one_sided() -> None:
    """A CUAD licence: either party may end the project, ArTara alone the agreement; the report
    read the first finding only and said "(both sides)"."""
    either = (
        "Either Party may terminate the Project and all commitments and obligations with respect "
        "thereto, subject to Section 8.3 herein, upon thirty (30) days written notice to the "
        "other Party."
    )
    artara = (
        "This Agreement may be terminated by ArTara upon thirty (30) days prior written notice "
        "to University. 8.2 Termination by Either Party."
    )
    assert _tfc(either, artara) == {"rule": ONE, "quote": artara}


def test_rights_of_their_own_for_each_party_are_mutual() -> None:
    """Each side given its own clause ("Datec may terminate …", "The BSP may terminate …")."""
    datec = "Datec may terminate this agreement for convenience by giving the BSP 6 months notice."
    bsp = "The BSP may terminate this agreement for convenience by giving Datec 6 months notice."
    assert _tfc(datec, bsp)["rule"] == BOTH
