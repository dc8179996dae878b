"""The clause finder's report names its most serious flags by severity, then by priority."""

from __future__ import annotations

from lib.analysis.clauses.red_flags import RedFlag
from lib.analysis.clauses.report import SUGGESTION, most_serious_first, write_report
from lib.analysis.samples import all_samples

ETELOS = next(s for s in all_samples() if s.title == "Distributor Agreement — Etelos Inc")


def _flag(severity: str, rule: str) -> RedFlag:
    return RedFlag("Non-Compete", severity, rule, "", None)


def test_most_serious_is_the_highest_priority_flag_not_the_first() -> None:
    """The Etelos sample's summary named termination for convenience ("nice to have") as most
    serious, while its plan rated the non-compete "should"."""
    report = "".join(write_report(ETELOS.file_name, ETELOS.text))
    assert "Most serious: non-compete." in report
    plan = report.split("## Negotiation plan and next steps\n", 1)[1]
    assert plan.startswith("1. (should) Non-compete:")


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
