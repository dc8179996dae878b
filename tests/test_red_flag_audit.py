"""An audit is flagged as coming at any time only when its clause asks for no notice, and the
flag asks for a change in the plan like every other."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.finder import Finding, Findings, find_clauses
from lib.analysis.clauses.red_flags import RULES, red_flags
from lib.analysis.clauses.report import SUGGESTION, write_report
from lib.analysis.samples import all_samples

RULE = "Audit at any time or without notice"
FLOTEK = next(s for s in all_samples() if s.file_name.startswith("17_FLOTEK"))


def _open(quote: str) -> bool:
    finding = Finding("Audit Rights", None, quote, 0, len(quote), 1.0, 0.95)
    findings = Findings({"Audit Rights": [finding]}, model_used=True, check_band=(0.3, 0.75))
    return RULE in {flag.rule for flag in red_flags(findings)}


@pytest.mark.parametrize(
    ("quote", "flagged"),
    [
        ("Licensor may audit the books and records of Licensee at any time.", True),
        ("We may, at any time during business hours and without advance notice, audit.", True),
        ("Licensor may inspect the facility unannounced once a year.", True),
        (
            "MBE shall, at any time during the term of this Agreement, be entitled to audit all "
            "such records upon ten (10) days written notice to the Company.",
            False,
        ),
        (
            "Kallo may at any time during normal business hours, upon no less than 10 business "
            "days' notice, inspect the records.",
            False,
        ),
    ],
)
def test_an_audit_at_any_time_is_open_only_without_notice(quote: str, flagged: bool) -> None:
    assert _open(quote) is flagged


def test_notice_set_in_the_next_sentence_of_the_clause_counts() -> None:
    """The Flotek sample's §8: "Flotek shall have the right at any time to (i) inspect … and (ii)
    audit the books and records of FCC. Any such inspection or audit shall be upon reasonable
    notice …" was flagged as an audit that may come without notice."""
    findings = find_clauses(FLOTEK.text)
    assert any("at any time" in f.read for f in findings.sure("Audit Rights"))
    assert RULE not in {flag.rule for flag in red_flags(findings)}


def test_every_rule_has_a_suggested_change() -> None:
    """The open-audit flag had none, so the plan read "Review with counsel"."""
    assert set(SUGGESTION) == set(RULES)


def test_the_plan_says_what_to_ask_of_an_open_audit() -> None:
    text = (
        "SUPPLY AGREEMENT\n\nThis Supply Agreement is made between Acme Inc. and Beta LLC.\n\n"
        "7. Audit. Acme may audit the books and records of Beta at any time and as often as it "
        "wishes.\n\n8. Governing Law. This Agreement is governed by the laws of New York.\n"
    )
    report = "".join(write_report("supply.txt", text))
    plan = report.split("## Negotiation plan and next steps", 1)[1]
    assert f"{RULE}: Require reasonable written notice" in plan
