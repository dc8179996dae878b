"""Scorer: hand-computed figures on a tiny fixture, and reading reports back."""

from __future__ import annotations

import pytest

from lib.analysis.scoring import (
    PRF,
    CategoryPrediction,
    coverage,
    cuad_spans,
    jaccard,
    parse_report,
    presence,
    right_clause,
    right_clause_rate,
)

LABELS = {
    "a.txt": {
        "Governing Law": ["This Agreement is governed by the laws of Texas."],
        "Insurance": [],
        "Exclusivity": ["Supplier is the exclusive supplier.", "No other supplier may sell."],
    },
    "b.txt": {
        "Governing Law": [],
        "Insurance": ["Each party shall maintain insurance."],
        "Exclusivity": [],
    },
}
CATS = ("Governing Law", "Insurance", "Exclusivity")
PREDICTIONS = {
    "a.txt": {
        # TP, right clause: covers all words of the label.
        "Governing Law": CategoryPrediction(
            True, ["this agreement is governed by the laws of Texas"]
        ),
        # FP: labelled absent.
        "Insurance": CategoryPrediction(True, ["Insurance is nice."]),
        # TP; one quote matches the first label (Jaccard 1.0), one matches nothing.
        "Exclusivity": CategoryPrediction(
            True, ["Supplier is the exclusive supplier", "Unrelated text here."]
        ),
    },
    "b.txt": {
        # FN for Insurance (absent from prediction); Governing Law said absent: TN.
        "Governing Law": CategoryPrediction(False, []),
    },
}


def test_word_measures_follow_cuad_normalisation() -> None:
    assert jaccard("The laws; of Texas.", "the LAWS of texas") == 1.0
    assert jaccard("a b", "b c") == pytest.approx(1 / 3)
    assert coverage("a b c d", "a b c d e") == pytest.approx(0.8)
    assert coverage("anything", "") == 0.0


def test_presence_by_hand() -> None:
    prf = presence(PREDICTIONS, LABELS, CATS)
    # a: GL TP, Ins FP, Excl TP; b: GL TN, Ins FN, Excl TN.
    assert prf == PRF(tp=2, fp=1, fn=1)
    assert prf.precision == pytest.approx(2 / 3)
    assert prf.recall == pytest.approx(2 / 3)
    assert prf.f1 == pytest.approx(2 / 3)


def test_right_clause_by_hand() -> None:
    assert right_clause_rate(PREDICTIONS, LABELS, CATS) == (2, 3)
    assert right_clause(["a b c d"], ["a b c d e"])
    assert not right_clause(["a b c"], ["a b c d e"])
    long_quote = " ".join(["a", "b", "c", "d", "e"] + ["x"] * 150)
    assert not right_clause([long_quote], ["a b c d e"])


def test_cuad_span_rule_by_hand() -> None:
    table = cuad_spans(PREDICTIONS, LABELS, CATS)
    assert table["Governing Law"] == PRF(1, 0, 0)
    assert table["Insurance"] == PRF(0, 1, 1)
    # Two quotes, one matches; two labels, one matched.
    assert table["Exclusivity"] == PRF(1, 1, 1)
    assert table["Exclusivity"].precision == 0.5
    assert table["Exclusivity"].recall == 0.5


REPORT = """# Contract review: Sample
Parties: "Acme Corp.", "Widget LLC" · Contract type: "SUPPLY AGREEMENT" · Reviewing for: neutral · Dated: "5 May 2020" · Governing law: clause 12: "This Agreement is governed by the laws of Texas."

## Overall risk: MEDIUM
Summary.

## Key findings
- RED — something (clause 3)

## Clause by clause
### Term and termination — RED
- Found: yes — clause 3: "Either party may terminate this Agreement for any reason upon
thirty days written notice."
- Found: yes — clause 2: "This Agreement shall automatically renew for successive one year terms."
### Insurance — GREEN
- Found: no — not found
### Audit rights — GREEN
- Found: yes — clause 9
### Competition limits (non-compete, exclusivity) — YELLOW
- Found: yes — Exclusivity, clause 4: “Supplier is the "exclusive" supplier.”

## Missing or unusual clauses
- Unusual — Most Favored Nation, clause 8: "Prices no less favorable than those offered to any other customer."

## Negotiation plan and next steps
1. Fix it.
> AI-assisted review, not legal advice: check every quote against the contract.
"""


def test_parse_report_maps_headings_and_quotes_to_cuad_categories() -> None:
    parsed = parse_report(REPORT)
    assert parsed["Parties"].quotes == ["Acme Corp.", "Widget LLC"]
    assert parsed["Agreement Date"].quotes == ["5 May 2020"]
    assert parsed["Document Name"].quotes == ["SUPPLY AGREEMENT"]
    assert parsed["Governing Law"].quotes == ["This Agreement is governed by the laws of Texas."]
    assert parsed["Termination For Convenience"].quotes == [
        "Either party may terminate this Agreement for any reason upon\nthirty days written notice."
    ]
    assert parsed["Renewal Term"].quotes == [
        "This Agreement shall automatically renew for successive one year terms."
    ]
    assert "Insurance" not in parsed
    assert parsed["Audit Rights"].present and parsed["Audit Rights"].quotes == []
    assert parsed["Exclusivity"].quotes == ['Supplier is the "exclusive" supplier.']
    assert parsed["Most Favored Nation"].present


@pytest.mark.parametrize(
    "junk", ["", "no headings at all", '"unclosed', "### — RED\n- Found: yes", None]
)
def test_parse_report_never_raises(junk: object) -> None:
    assert isinstance(parse_report(junk), dict)  # type: ignore[arg-type]
