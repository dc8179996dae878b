"""The clause finder's report header names every party, a name a PDF wrapped over two lines too."""

from __future__ import annotations

from lib.analysis.clauses.report import write_report
from lib.analysis.grounding import check_report, contract_index
from lib.analysis.scoring import parse_report

# As a PDF extraction wraps the opening: both names run over a line break.
WRAPPED = (
    "Sponsorship Agreement\n\n"
    "THIS AGREEMENT made this 5th day of December, 2007, between R. C. Boyd\n"
    'Enterprises, LLC, a Texas limited liability company ("Company"), and Cano Petroleum,\n'
    'Inc., a Delaware corporation ("Sponsor").\n\n'
    "WHEREAS, the Company produces a television show;\n\n"
    "1. Term. This Agreement shall remain in effect for one year.\n"
)


def _header(text: str) -> str:
    return "".join(write_report("contract", text)).split("\n")[1]


def test_a_party_name_wrapped_over_two_lines_is_listed_on_one_line() -> None:
    header = _header(WRAPPED)
    assert header.startswith('Parties: "R. C. Boyd Enterprises, LLC", "Cano Petroleum, Inc."')


def test_the_wrapped_name_is_checked_against_the_contract_and_found() -> None:
    report = "".join(write_report("contract", WRAPPED))
    checked = {c.quote.text: c.check.status for c in check_report(contract_index(WRAPPED), report)}
    assert checked["R. C. Boyd Enterprises, LLC"] == "verified"


def test_the_report_read_back_credits_both_parties() -> None:
    report = "".join(write_report("contract", WRAPPED))
    quotes = parse_report(report)["Parties"].quotes
    assert "R. C. Boyd Enterprises, LLC" in quotes
    assert "Cano Petroleum, Inc." in quotes
