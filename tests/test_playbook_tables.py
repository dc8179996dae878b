"""The playbook tables: verdicts filling in, two checkers side by side, evidence in context."""

from __future__ import annotations

from lib.analysis.playbook.format import Evidence, PositionResult, Verdict
from lib.analysis.playbook.loader import bundled_playbooks
from lib.runs.compare import side_names
from lib.runs.playbook_tables import (
    DIFFER,
    NEEDS_MODEL,
    NO_ANSWER,
    WAITING,
    WRITING,
    comparison_table,
    disagreement_line,
    disagreements,
    in_context,
    verdict_table,
)

BOOK = bundled_playbooks()["commercial"]
IDS = [p.id for p in BOOK.positions]


def test_undecided_positions_say_what_they_wait_for():
    decided = {IDS[0]: PositionResult(IDS[0], Verdict.MEETS, "ok")}
    table = verdict_table(BOOK, decided, writing=IDS[1])
    assert list(table["Verdict"][:3]) == ["✅ meets", WRITING, WAITING]
    assert len(table) == len(IDS)


def test_a_missing_answer_and_a_needed_model_read_differently():
    results = [
        PositionResult(IDS[0], None, "no section", problem="no section"),
        PositionResult(IDS[1], None, "candidates only"),
    ]
    table = verdict_table(BOOK, results)
    assert list(table["Verdict"][:2]) == [NO_ANSWER, NEEDS_MODEL]


def test_disagreements_are_the_positions_whose_verdicts_differ():
    a = [PositionResult(i, Verdict.MEETS, "") for i in IDS[:3]]
    b = [
        PositionResult(IDS[0], Verdict.MEETS, ""),
        PositionResult(IDS[1], Verdict.DEVIATES, ""),
        PositionResult(IDS[2], None, "", problem="no section"),
    ]
    assert disagreements(BOOK, a, b) == [IDS[1], IDS[2]]
    # Said apart: opposite verdicts, and a position only one checker decided.
    line = disagreement_line(BOOK, a, b)
    assert line.startswith("They disagree on **1** of ") and "**1** more was decided by one" in line
    assert "more" not in disagreement_line(
        BOOK, a, [*a[:2], PositionResult(IDS[2], Verdict.DEVIATES, "")]
    )
    names = side_names(["ollama · m", "ollama · m"])
    assert names[0] != names[1]
    table = comparison_table(BOOK, a, b, names)
    assert list(table["Agree"][:3]) == ["✓", DIFFER, DIFFER]
    assert list(table[names[1]][:2]) == ["✅ meets", "❌ deviates"]


def test_evidence_is_shown_in_its_context_and_a_quote_not_found_is_not():
    text = "1. Intro. " + "x" * 300 + " 2. The Supplier indemnifies. " + "y" * 300
    start = text.index("The Supplier")
    end = start + len("The Supplier indemnifies.")
    before, passage, after = in_context(text, Evidence(start, end, "", 1.0))
    assert passage == "The Supplier indemnifies." and before.endswith("2. ")
    assert after.startswith(" yyy") and len(before) == len(after) == 240
    assert in_context(text, Evidence(-1, -1, "invented", 0.0, check="not_found")) is None
