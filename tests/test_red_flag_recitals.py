"""The sponsorship sample's review: no exclusivity flag from a recital, its instalments found."""

from __future__ import annotations

from lib.analysis.clauses.finder import Finding, Findings, find_clauses
from lib.analysis.clauses.red_flags import red_flags

DENIES = (
    "Cano recognizes and agrees that it does not and will not have exclusive rights and that "
    "other sponsor's logos may appear on the boat."
)
RECITAL = (
    "WHEREAS, Sponsor desires to acquire the exclusive right to be the lead sponsor of the Show "
    "at an agreed price;"
)
TIES = "Supplier appoints Distributor as its exclusive distributor in the Territory."


def _exclusivity_flagged(*quotes: str) -> bool:
    found = [Finding("Exclusivity", None, q, 0, len(q), 1.0, 0.9) for q in quotes]
    findings = Findings({"Exclusivity": found}, model_used=True, check_band=(0.3, 0.75))
    return "Exclusivity" in {flag.rule for flag in red_flags(findings)}


def test_a_recital_wanting_exclusivity_raises_no_flag_where_the_clause_denies_it() -> None:
    assert not _exclusivity_flagged(DENIES, RECITAL)


def test_a_clause_granting_exclusivity_still_raises_the_flag() -> None:
    assert _exclusivity_flagged(RECITAL, TIES)


def test_instalments_under_a_payment_heading_are_payment_terms() -> None:
    text = (
        "1. Services. The Company shall produce forty episodes of the Show per year.\n\n"
        "15. Payment of Money. In consideration of the services, the Company shall be entitled "
        "to compensation in the amount of $150,000.00, to be paid in equal installments of "
        "$37,500.00 on January 1, 2008, April 1, 2008, July 1, 2008 and October 1, 2008.\n"
    )
    (best, *_) = find_clauses(text).get("Payment Terms")
    assert "equal installments" in best.quote
