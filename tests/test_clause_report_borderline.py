"""A topic is found, and can be GREEN, only on a finding the clause finder is confident of."""

from __future__ import annotations

import re

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.report import BORDERLINE_LABEL, write_report
from lib.analysis.prompts import NOT_FOUND, count_findings
from lib.analysis.samples import all_samples
from lib.analysis.scorecard import said_absent

ETELOS = next(s for s in all_samples() if s.title == "Distributor Agreement — Etelos Inc")
PRICING = "Most-favoured-nation, price restrictions, minimum commitments"
_SCORE = re.compile(r"model (\d\.\d\d)\)$")


def _section(report: str, title: str) -> str:
    return report.split(f"### {title} — ", 1)[1].split("\n\n", 1)[0]


def test_a_topic_with_only_borderline_findings_is_not_green_and_not_found_yes() -> None:
    """The Etelos sample's pricing topic was GREEN on a record-keeping sentence (model 0.40) and
    a stock-rotation one (0.10), both "Found: yes", while "Check these" doubted both."""
    report = "".join(write_report(ETELOS.file_name, ETELOS.text))
    section = _section(report, PRICING)
    assert section.startswith(NOT_FOUND)
    assert "Found: yes" not in section
    assert f"- Found: {BORDERLINE_LABEL}" in section
    assert "a minimum of three years" in section  # still quoted, to check by hand
    assert count_findings(report).categories[PRICING] == NOT_FOUND  # the grid's neutral colour
    assert f"- {PRICING}: {BORDERLINE_LABEL}" in report.split("## Missing or unusual", 1)[1]


def test_found_yes_and_check_these_never_name_the_same_finding() -> None:
    """One rule: every quote reads either "Found: yes" (confident) or sits under "Check these"."""
    band = find_clauses(ETELOS.text).check_band
    assert band is not None
    report = "".join(write_report(ETELOS.file_name, ETELOS.text))
    found_yes = [line for line in report.splitlines() if line.startswith("- Found: yes")]
    assert found_yes
    for line in found_yes:
        score = _SCORE.search(line)
        assert score is None or float(score.group(1)) >= band[1], line
    checks = report.split("## Check these\n", 1)[1].split("\n\n", 1)[0]
    assert "Post-Termination Services" in checks and "Post-Termination Services" not in "".join(
        found_yes
    )


def test_a_borderline_section_is_no_claim_of_absence_to_the_scorecard() -> None:
    """It quotes what it is unsure of: the scorecard must not count it as "said absent"."""
    unsure = (
        f"### Insurance — {NOT_FOUND}\n- Found: {BORDERLINE_LABEL}\n"
        '- Borderline — Insurance, §9: "Distributor shall carry adequate insurance cover." '
        "(no rule match; model 0.40)\n"
    )
    assert said_absent(unsure) == set()
    assert said_absent(f"### Insurance — {NOT_FOUND}\n") == {"Insurance"}
    assert said_absent(f"### Insurance — {NOT_FOUND}\n- Found: no — not found\n") == {"Insurance"}
