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


def test_a_passage_shown_for_a_position_not_addressed_is_labelled_a_candidate():
    passage = Evidence(0, 12, "Some passage", 0.8)
    results = [
        PositionResult(IDS[0], Verdict.NOT_ADDRESSED, "closest quoted", (passage,)),
        PositionResult(IDS[1], Verdict.MEETS, "ok", (passage,)),
    ]
    table = verdict_table(BOOK, results)
    assert list(table["Evidence"][:2]) == [
        "(closest candidate, to check) Some passage",
        "Some passage",
    ]


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


def test_a_verdict_whose_quotes_are_not_in_the_contract_is_unsupported_everywhere():
    """A model said "meets" quoting "…State of California", which the contract does not hold:
    the evidence panel said "Not found", yet Compare read ✓ agree and the counts had a meet."""
    from lib.analysis.playbook.format import verdict_counts
    from lib.runs.playbook_tables import UNSUPPORTED, verdict_word

    invented = Evidence(-1, -1, "governed by the laws of the State of California", 0.0,
                        check="not_found")  # fmt: skip
    verified = Evidence(0, 9, "governed", 1.0, check="verified")
    bare = PositionResult(IDS[0], Verdict.MEETS, "California law", (invented,))
    backed = PositionResult(IDS[0], Verdict.MEETS, "", (invented, verified))
    assert bare.unsupported and not backed.unsupported
    assert verdict_table(BOOK, [bare])["Verdict"][0].startswith(UNSUPPORTED)
    assert verdict_word(bare) == "unsupported meets"
    counts = verdict_counts(BOOK, [bare])
    assert (counts.meets, counts.unsupported) == (0, 1)
    assert "1 unsupported" in counts.line()
    # Never "agree", even with a checker that gave the same verdict.
    other = [PositionResult(IDS[0], Verdict.MEETS, "", (verified,))]
    assert disagreements(BOOK, [bare], other) == [IDS[0]]
    assert list(comparison_table(BOOK, [bare], other, ("a", "b"))["Agree"][:1]) == [UNSUPPORTED]
    line = disagreement_line(BOOK, [bare], other)
    assert line.startswith("They disagree on **0** of ") and "**1** more rests on quotes" in line
    assert disagreements(BOOK, [backed], other) == []
    # The Portfolio grid's cell, coloured apart in its legend.
    from lib.runs.portfolio_playbook import CELL_COLOURS, LEAD, cell

    assert cell(bare, BOOK) == "unsupported" in CELL_COLOURS and "unsupported" in LEAD
