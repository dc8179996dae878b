"""A risk is flagged only from a confident finding, by the rule that makes a topic found."""

from __future__ import annotations

import ast
import inspect

import pytest

from lib.analysis.clauses import red_flags as red_flags_module
from lib.analysis.clauses.finder import Finding, Findings
from lib.analysis.clauses.red_flags import RULES, red_flags

QUOTE = (
    "The Company agrees that Cano's logo shall be substantially the same size as other sponsors."
)
BAND = (0.35, 0.85)


def _flags(score: float, probability: float | None, band: tuple[float, float] | None) -> set[str]:
    finding = Finding("Most Favored Nation", None, QUOTE, 0, len(QUOTE), score, probability)
    findings = Findings({"Most Favored Nation": [finding]}, model_used=True, check_band=band)
    return {flag.rule for flag in red_flags(findings)}


@pytest.mark.parametrize(
    ("score", "probability"),
    [
        (0.0, 0.01),  # the bundled sample's report flagged most-favoured-nation from this quote
        (0.0, 0.35),  # in the band: right half the time, quoted under "Check these"
        (1.0, 0.6),  # a rule match the model doubts is borderline too
    ],
)
def test_a_borderline_finding_raises_no_flag_but_stays_a_finding(
    score: float, probability: float
) -> None:
    assert "Most-favoured-nation" not in _flags(score, probability, BAND)


@pytest.mark.parametrize(
    ("score", "probability", "band"),
    [
        (0.0, 0.85, BAND),  # at the band's top: right at least 80% of the time
        (0.0, 0.9, BAND),
        (1.0, None, BAND),  # a rule alone decided: no model score to doubt
        (0.0, 0.01, None),  # rules alone: no band to judge by
    ],
)
def test_a_confident_finding_raises_its_flag(
    score: float, probability: float | None, band: tuple[float, float] | None
) -> None:
    assert "Most-favoured-nation" in _flags(score, probability, band)


def test_a_weak_finding_still_counts_as_found_for_absence_flags() -> None:
    cap = Finding("Cap On Liability", None, "Liability is limited.", 0, 21, 0.0, 0.01)
    findings = Findings({"Cap On Liability": [cap]}, model_used=True, check_band=BAND)
    assert "No liability cap found" not in {flag.rule for flag in red_flags(findings)}


@pytest.mark.parametrize(
    ("quote", "flagged"),
    [
        # The bundled sponsorship sample: a clause about exclusivity that denies it.
        (
            "Cano recognizes and agrees that it does not and will not have exclusive rights and "
            "that other sponsor's logos may appear on the primary boat and vehicle.",
            False,
        ),
        (
            "Nothing in this Agreement grants Distributor an exclusive right to any territory.",
            False,
        ),
        ("Supplier appoints Distributor as its exclusive distributor in the Territory.", True),
        ("During the Term, Customer shall purchase the Products exclusively from Supplier.", True),
    ],
)
def test_an_exclusivity_clause_that_denies_exclusivity_raises_no_flag(
    quote: str, flagged: bool
) -> None:
    finding = Finding("Exclusivity", None, quote, 0, len(quote), 1.0, 0.9)
    findings = Findings({"Exclusivity": [finding]}, model_used=True, check_band=BAND)
    assert ("Exclusivity" in {flag.rule for flag in red_flags(findings)}) is flagged


def test_every_rule_a_flag_can_carry_is_listed_for_playbooks_to_name() -> None:
    # A playbook's deviates_if is checked against RULES: a rule missing there could not be named.
    tree = ast.parse(inspect.getsource(red_flags_module))
    raised = {
        node.args[2].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "add"
        and isinstance(node.args[2], ast.Constant)
    }
    assert len(raised) >= 16 and raised == set(RULES)
