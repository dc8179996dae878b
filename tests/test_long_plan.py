"""Planning a long-contract review: every call fits, parts follow the contract's structure."""

from __future__ import annotations

import itertools

import pytest

from devtools.long_contract import KEY_CLAUSES, long_contract
from lib.analysis.clauses import split_clauses
from lib.analysis.long_plan import (
    Budget,
    PlanError,
    Strategy,
    merge_user,
    pack_findings,
    plan_long_review,
    split_parts,
)
from lib.analysis.prompts import NOT_FOUND, TEMPLATES, count_findings, default_instructions
from lib.analysis.tokens import estimate_tokens

GENERAL = TEMPLATES["general"]


@pytest.fixture(scope="module")
def contract():
    return long_contract(300_000)


def plan(contract, strategy: Strategy, context: int = 8192, max_tokens: int = 4096):
    return plan_long_review(
        GENERAL,
        contract.text,
        "Franchise agreement",
        context_length=context,
        max_tokens=max_tokens,
        strategy=strategy,
        instructions=default_instructions(GENERAL),
        page_starts=contract.page_starts,
    )


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("context", [4096, 8192, 32_768])
def test_every_call_fits_the_context_with_room_for_its_answer(contract, strategy, context):
    long_plan = plan(contract, strategy, context)
    assert long_plan.model_calls >= 2
    for step in long_plan.steps:
        if step.local_text is None:
            assert step.estimated_input_tokens + step.max_tokens <= Budget.usable_of(context)
            assert step.max_tokens >= 256


def test_parts_cover_the_whole_contract_in_order_cut_between_clauses(contract):
    text = contract.text
    spans = split_parts(text, 5000)
    assert spans[0].start == 0 and spans[-1].end == len(text)
    assert all(a.end == b.start for a, b in itertools.pairwise(spans))
    assert all(estimate_tokens(text[s.start : s.end]) <= 5000 for s in spans)
    clause_starts = {c.start for c in split_clauses(text)}
    assert all(s.start in clause_starts for s in spans[1:])
    # Most cuts fall at an article, the contract's top level.
    at_article = sum(text[s.start :].startswith("ARTICLE") for s in spans[1:])
    assert at_article >= 0.8 * (len(spans) - 1)


def test_parts_carry_their_pages_and_the_whole_text(contract):
    long_plan = plan(contract, Strategy.PARTS)
    pages = [step.pages for step in long_plan.steps]
    assert pages[0][0] == 1 and pages[-1][1] == len(contract.page_starts)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(pages))
    assert long_plan.steps[0].label.startswith(f"Part 1 of {len(pages)}, pp. 1–")
    body = "".join(s.user.split(">\n", 1)[1].rsplit("\n</contract-", 1)[0] for s in long_plan.steps)
    assert body == contract.text


def test_a_clause_longer_than_a_part_is_split_at_a_break():
    text = "1. Scope. " + "The supplier shall deliver the goods. " * 400
    spans = split_parts(text, 500)
    assert len(spans) > 1 and "".join(text[s.start : s.end] for s in spans) == text
    assert all(text[s.end - 1] == " " for s in spans[:-1])


def test_focus_sends_the_relevant_clauses_for_a_fraction_of_the_tokens(contract):
    parts = plan(contract, Strategy.PARTS)
    focus = plan(contract, Strategy.FOCUS)
    assert focus.estimated_input_tokens < parts.estimated_input_tokens / 5
    by_label = {step.label: step for step in focus.steps}
    liability = by_label["Limitation of liability (cap, uncapped items)"]
    assert KEY_CLAUSES["Limitation of Liability"] in liability.user
    assert KEY_CLAUSES["Governing Law"] in by_label["Governing law and disputes"].user
    assert "Northwind Foods" in focus.steps[0].user  # the opening: parties and dates
    missing = by_label["Liquidated damages"]
    assert "Found: no" in (missing.local_text or "") and missing.estimated_input_tokens == 0
    # The app's own words, not the model's: a neutral "not found", never a YELLOW finding that
    # Compare and the grid counted as the model's.
    assert count_findings(missing.local_text or "").categories == {"Liquidated damages": NOT_FOUND}


def test_a_context_too_small_to_merge_is_refused(contract):
    with pytest.raises(PlanError):
        plan(contract, Strategy.PARTS, context=1024)


@pytest.mark.parametrize("text", ["", "   \n\n ", "x" * 50_000, "\x00\ufeff<contract>" * 900])
def test_odd_text_never_crashes(text):
    for strategy in Strategy:
        long_plan = plan_long_review(
            GENERAL, text, "odd", context_length=4096, max_tokens=1024, strategy=strategy
        )
        for step in long_plan.steps:
            assert step.estimated_input_tokens + step.max_tokens <= Budget.usable_of(4096)


def test_findings_are_packed_to_fit_and_every_round_shrinks():
    findings = [
        f"### Indemnity — RED\n- finding {i} " + "word " * (50 * (i % 7)) for i in range(30)
    ]
    findings.append("huge " * 5000)
    room = 900
    while len(findings) > 1:
        batches = pack_findings(findings, room)
        assert all(estimate_tokens(merge_user(b)) <= room for b in batches)
        assert all(len(b) >= 2 for b in batches[:-1])
        assert len(batches) < len(findings)
        findings = ["merged " * 100 for _ in batches]


def test_planning_one_contract_again_for_another_reader_finds_its_clauses_once(
    contract, monkeypatch
):
    """Each change of "Reviewing for" ran the clause finder over the whole contract again: 1.2–1.7
    s a keystroke on 300,000 characters, though the findings depend on the text alone."""
    import lib.analysis.long_plan as long_plan

    found: list[int] = []
    real = long_plan.find_clauses

    def counting(text: str):
        found.append(len(text))
        return real(text)

    monkeypatch.setattr(long_plan, "find_clauses", counting)
    long_plan._findings.cache_clear()
    template = TEMPLATES["general"]
    plans = [
        plan_long_review(
            template,
            contract.text,
            "c",
            context_length=8192,
            max_tokens=1024,
            strategy=Strategy.FOCUS,
            perspective=reader,
        )
        for reader in ("the customer", "the supplier", "the customer")
    ]
    assert found == [len(contract.text)]
    assert "the supplier" in plans[1].steps[0].system and "the customer" in plans[2].steps[0].system
