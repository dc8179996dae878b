"""The clause finder's report names its most serious flags by severity, then by priority."""

from __future__ import annotations

from lib.analysis.clauses.red_flags import RedFlag
from lib.analysis.clauses.report import SUGGESTION, most_serious_first, write_report
from lib.analysis.samples import all_samples

MANAKOA = next(s for s in all_samples() if s.file_name.startswith("02_MANAKOA"))


def _flag(severity: str, rule: str) -> RedFlag:
    return RedFlag("Non-Compete", severity, rule, "", None)


def test_the_plan_names_a_should_before_a_nice_to_have() -> None:
    """The Manakoa sample's flags come "no liability cap" (should), termination for convenience
    (nice to have), "no governing law" (should): the plan listed them so."""
    report = "".join(write_report(MANAKOA.file_name, MANAKOA.text))
    plan = report.split("## Negotiation plan and next steps\n", 1)[1].splitlines()
    assert [line.split(":")[0] for line in plan[:3]] == [
        "1. (should) No liability cap found",
        "2. (should) No governing law found",
        "3. (nice to have) Termination for convenience (both sides)",
    ]


def test_flags_order_by_severity_then_priority() -> None:
    flags = [
        _flag("YELLOW", "Auto-renewal"),  # nice to have
        _flag("RED", "Termination for convenience (both sides)"),  # nice to have
        _flag("YELLOW", "Non-compete"),  # should
        _flag("RED", "Uncapped liability"),  # must
    ]
    assert [f.rule for f in most_serious_first(flags)] == [
        "Uncapped liability",
        "Termination for convenience (both sides)",
        "Non-compete",
        "Auto-renewal",
    ]


def test_every_suggestion_has_a_priority_the_order_knows() -> None:
    assert {priority for _, priority, _ in SUGGESTION.values()} <= {
        "must",
        "should",
        "nice to have",
    }
