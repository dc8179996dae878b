"""The clause finder's report closes with words true of it: no language model wrote it."""

from __future__ import annotations

from lib.analysis.clauses.report import write_report
from lib.analysis.grounding import extract_quotes
from lib.analysis.prompts import SKELETON

TEXT = (
    'This Agreement is made as of June 1, 2000 between Acme Inc. ("Acme") and Beta LLC ("Beta").'
    "\n\n1. Governing Law. This Agreement shall be governed by the laws of Texas.\n"
)


def test_the_clause_finders_report_does_not_call_itself_ai_assisted() -> None:
    report = "".join(write_report("contract", TEXT))
    assert "no language model was used" in report
    assert "AI-assisted" not in report
    assert report.rstrip().endswith(
        "> Automated review, not legal advice: check every quote against the contract."
    )


def test_its_closing_line_is_not_read_as_a_quote_from_the_contract() -> None:
    report = "".join(write_report("contract", TEXT))
    assert not [q for q in extract_quotes(report) if "legal advice" in q.text]


def test_a_models_report_keeps_its_own_closing_line() -> None:
    assert SKELETON.rstrip().endswith(
        "> AI-assisted review, not legal advice: check every quote against the contract."
    )
