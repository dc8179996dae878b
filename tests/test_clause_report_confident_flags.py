"""A flag the report states as fact rises from a finding the same report calls found, never from
one it calls borderline ("Found: unsure")."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.red_flags import red_flags
from lib.analysis.clauses.report import write_report
from lib.analysis.samples import SampleContract, all_samples

SAMPLES = all_samples()
BIOPURE = next(s for s in SAMPLES if s.file_name.startswith("19_BIOPURE"))
OAKTREE = next(s for s in SAMPLES if s.file_name.startswith("09_OAKTREE"))


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.file_name[:12])
def test_every_flag_cites_a_confident_finding(sample: SampleContract) -> None:
    findings = find_clauses(sample.text)
    for flag in red_flags(findings):
        assert flag.finding is None or findings.confident(flag.finding), flag


def test_a_borderline_exclusivity_quote_is_checked_not_asserted() -> None:
    """The Biopure sample's summary read "Most serious: exclusivity" from a quote scored 0.44
    that ends "The Company has appointed a limited number of Agents", while its topic read
    "Found: unsure"."""
    report = "".join(write_report(BIOPURE.file_name, BIOPURE.text))
    assert "Exclusivity" not in report.split("## Clause by clause", 1)[0]
    plan = report.split("## Negotiation plan and next steps", 1)[1]
    assert "Exclusivity" not in plan
    check = report.split("## Check these", 1)[1].split("## Missing", 1)[0]
    assert "- Exclusivity, §1.1:" in check


def test_a_borderline_termination_quote_raises_no_flag() -> None:
    """The Oaktree sample's §10.2, scored 0.52, was flagged RED as the most serious risk."""
    report = "".join(write_report(OAKTREE.file_name, OAKTREE.text))
    assert "Termination for convenience" not in report
    assert "- Termination For Convenience, §10.2:" in report.split("## Check these", 1)[1]
