"""Parties and the agreement date as the clause finder extracts them from a contract's opening."""

from __future__ import annotations

from lib.analysis.clauses.finder import find_clauses

# Opens on recitals naming an earlier agreement and a loan note, each with its own date; the
# agreement is dated where the parties sign.
RECITALS_FIRST = (
    "ENDORSEMENT AGREEMENT\n\n"
    'WHEREAS, Acme Group, Inc. (the "Company") and the Trustees of the Smith Family Trust (the '
    '"Trust") entered into a Split Dollar Agreement, dated as of December 5, 1995 (the "Split '
    'Dollar Agreement"); and\n\n'
    "WHEREAS, the Company made loans to the Trust, represented by a Demand Note, dated December "
    '5, 1995, between the Company and the Trust (the "Demand Note"); and\n\n'
    "NOW, THEREFORE, the Company and the Trust agree as follows:\n\n"
    "1. Endorsement. The Company shall endorse the Split Dollar Agreement as set out below.\n\n"
    "IN WITNESS WHEREOF, the parties hereto have executed this Agreement as of this 4th day of "
    "April, 2003.\n\n"
    "ACME GROUP, INC.\n\nBy: /s/ Jane Roe\n"
)


def test_a_loan_note_the_opening_defines_is_not_a_party() -> None:
    names = [f.quote for f in find_clauses(RECITALS_FIRST).get("Parties")[1:]]
    assert "Demand Note" not in names
    assert "ACME GROUP, INC." in names


def test_a_date_a_recital_gives_an_earlier_agreement_is_not_the_agreement_date() -> None:
    dates = [f.quote for f in find_clauses(RECITALS_FIRST).get("Agreement Date")]
    assert dates == ["4th day of April, 2003"]


def test_the_opening_sentences_date_still_comes_before_a_recitals() -> None:
    text = (
        'This Supply Agreement is made as of June 1, 2000 between Acme Inc. ("Acme") and Beta '
        'LLC ("Beta").\n\nWHEREAS, Acme and Beta entered into a Letter Agreement dated March 3, '
        "1998;\n\n1. Supply. Acme shall supply the Products to Beta.\n"
    )
    findings = find_clauses(text)
    assert [f.quote for f in findings.get("Agreement Date")] == ["June 1, 2000"]
    assert {"Acme Inc.", "Beta LLC"} <= {f.quote for f in findings.get("Parties")}
