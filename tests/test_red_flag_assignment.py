"""The assignment red flag: a bar on assignment worded like a freedom is not a freedom."""

from __future__ import annotations

import pytest

from lib.analysis.clauses.finder import find_clauses
from lib.analysis.clauses.red_flags import red_flags

RULE = "Assignment without consent"


def _rules(clause: str) -> set[str]:
    text = (
        f"SERVICES AGREEMENT\n\n1. Services. The Supplier shall provide the services.\n\n{clause}\n"
    )
    return {f.rule for f in red_flags(find_clauses(text))}


@pytest.mark.parametrize(
    "clause",
    [
        "12. Assignment. Neither party may assign this Agreement or any rights under it without "
        "the prior written consent of the other party.",
        "12. Assignment. The Customer may not assign this Agreement without the prior written "
        "consent of the Supplier.",
        "12. Assignment. No party may assign this Agreement, in whole or in part, without the "
        "prior written approval of the other parties.",
    ],
)
def test_a_bar_on_assignment_without_consent_raises_no_red_flag(clause: str) -> None:
    assert RULE not in _rules(clause)


def test_assignment_without_consent_still_raises_the_red_flag() -> None:
    clause = (
        "12. Assignment. Either party may assign this Agreement to an affiliate without the "
        "consent of the other party."
    )
    assert RULE in _rules(clause)
