"""Scorer: hand-computed figures on a tiny fixture, and reading reports back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib.analysis.clauses.categories import CUAD_CATEGORIES, EXTRA_CATEGORIES
from lib.analysis.grounding.index import ContractIndex
from lib.analysis.scoring import (
    PRF,
    CategoryPrediction,
    coverage,
    cuad_spans,
    jaccard,
    keep_found,
    parse_report,
    presence,
    right_clause,
    right_clause_rate,
    span_counts,
)

KNOWN = {*CUAD_CATEGORIES, *EXTRA_CATEGORIES}

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
    # a: one quote on a category labelled absent (one FP); b: labelled, not predicted (one FN).
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
def test_parse_report_finds_nothing_in_reports_without_quotes_or_topics(junk: object) -> None:
    assert parse_report(junk) == {}  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "### Insurance — GREEN\n",
                "### Term and termination — RED\n",
                "## Key findings\n",
                "- Found: yes — clause 3: ",
                "- Found: no — not found\n",
                '"',
                "“",
                "”",
                "\n\n",
                "Exclusivity, ",
                "The term of this Agreement is two years.",
                "Parties: ",
                " · ",
            ]
        )
        | st.text(max_size=30),
        max_size=25,
    ).map("".join)
)
def test_parse_report_never_raises_and_only_returns_what_the_report_quotes(report: str) -> None:
    parsed = parse_report(report)
    for category, guess in parsed.items():
        assert category in KNOWN
        assert all(quote in report for quote in guess.quotes)
        assert guess.present


LAW = "This Agreement is governed by the laws of Texas."


def test_three_quotes_on_one_labelled_span_are_one_hit_as_in_cuad() -> None:
    quotes = [LAW, LAW.lower(), "this agreement is governed by the laws of texas"]
    assert span_counts(quotes, [LAW], "Governing Law") == PRF(1, 0, 0)


def test_each_quote_on_a_category_labelled_absent_is_a_false_positive_as_in_cuad() -> None:
    # CUAD v1's evaluate.py: `fp += len(predictions)` when the category has no label.
    assert span_counts(["a", "b", "c"], [], "Insurance") == PRF(0, 3, 0)
    assert span_counts(["a"], [], "Insurance", not_in_contract=1) == PRF(0, 2, 0)
    assert span_counts([], [], "Insurance") == PRF(0, 0, 0)


def test_a_slash_splits_words_as_in_cuad() -> None:
    # CUAD's get_jaccard replaces "/" with a space: "and/or" is the words "and" and "or".
    assert jaccard("licensor and/or its affiliates", "licensor and or its affiliates") == 1.0
    label = "Rofr/Rofo/Rofn"
    assert span_counts(["rofr rofo rofn"], [label], "Rofr/Rofo/Rofn") == PRF(1, 0, 0)


def test_a_quote_matching_no_labelled_span_is_a_false_positive_once() -> None:
    labels = [LAW, "Each party shall maintain insurance."]
    assert span_counts([LAW, "Unrelated words entirely."], labels, "Governing Law") == PRF(1, 1, 1)


def test_parties_match_by_substring_as_in_cuad() -> None:
    quote = 'ACME CORP., a Delaware corporation with offices at 1 Main Street ("Acme")'
    assert jaccard(quote, "ACME CORP.") < 0.5
    assert span_counts([quote], ["ACME CORP."], "Parties") == PRF(1, 0, 0)
    # The substring rule is CUAD's for Parties only.
    assert span_counts([quote], ["ACME CORP."], "Governing Law") == PRF(0, 1, 1)


CONTRACT = "1. Law. " + LAW + "\n\n2. Insurance. Each party shall maintain insurance."


def test_only_quotes_found_in_the_contract_are_credited() -> None:
    index = ContractIndex.build(CONTRACT)
    invented = "This Agreement is governed by the laws of Delaware and Texas."
    guess = {"Governing Law": CategoryPrediction(True, [invented, " ".join(LAW.split())])}
    kept = keep_found(guess, index)
    assert kept["Governing Law"].quotes == [LAW]
    assert kept["Governing Law"].not_in_contract == 1
    # Still a prediction under CUAD's rule: a false positive, never a hit.
    assert cuad_spans({"c": kept}, {"c": {"Governing Law": [LAW]}}, ("Governing Law",))[
        "Governing Law"
    ] == PRF(1, 1, 0)
    # An invented quote with the labelled words would otherwise score as the right clause.
    labels = {"c": {"Governing Law": ["This Agreement is governed by the laws of Texas."]}}
    only_invented = {"Governing Law": CategoryPrediction(True, [LAW + " Or Delaware, if chosen."])}
    assert right_clause_rate({"c": only_invented}, labels, ("Governing Law",)) == (1, 1)
    assert right_clause_rate(
        {"c": keep_found(only_invented, index)}, labels, ("Governing Law",)
    ) == (0, 1)


def test_every_report_is_read_the_same_way_whoever_names_the_category() -> None:
    """A finder-style category name before a quote cannot move it out of its heading's topics."""
    body = '- Found: yes — {}clause 3: "The term of this Agreement shall be two years from the date hereof."\n'
    named = "## Clause by clause\n### Term and termination — GREEN\n" + body.format("Insurance, ")
    plain = "## Clause by clause\n### Term and termination — GREEN\n" + body.format("")
    assert parse_report(named) == parse_report(plain)
    assert set(parse_report(plain)) == {"Expiration Date"}


def test_words_before_a_quote_narrow_a_shared_heading_for_every_reviewer() -> None:
    line = '- Found: yes — {}clause 4: "Supplier shall not sell competing products."\n'
    heading = "### Competition limits (non-compete, exclusivity) — YELLOW\n"
    by_finder = parse_report(heading + line.format("Exclusivity, "))
    by_model = parse_report(heading + line.format("exclusivity — "))
    assert by_finder == by_model
    assert set(by_model) == {"Exclusivity"}


def test_a_found_clause_whose_words_begin_with_none_is_found_by_the_grid_and_the_scorer():
    """ "Found: nonexclusive …" was a finding in the grid and Compare and nothing to the scorer,
    which read "none" in it: one reading of "found nothing" now serves both."""
    from lib.analysis.prompts import count_findings

    report = (
        "### Exclusivity — GREEN\n"
        '- Found: nonexclusive licence, "Licensor grants Licensee a non-exclusive licence"\n'
    )
    assert count_findings(report).categories == {"Exclusivity": "GREEN"}
    predicted = parse_report(report)
    assert predicted and any(p.present and p.quotes for p in predicted.values())


def test_the_scorecard_reads_a_claim_of_absence_as_the_pages_do():
    """A section that says "Found: no" but quotes a clause in curly quotes was GREEN on the page
    and a claim of absence to the scorecard (it looked for straight quotes only)."""
    from lib.analysis.prompts import count_findings
    from lib.analysis.scorecard import said_absent

    quoted = "### Exclusivity — GREEN\n- Found: no — “Licensor may license others”\n"
    assert count_findings(quoted).categories == {"Exclusivity": "GREEN"}
    assert said_absent(quoted) == set()
    bare = "### Exclusivity — GREEN\n- Found: no\n"
    assert count_findings(bare).categories == {"Exclusivity": "NOT FOUND"}
    assert said_absent(bare) == {"Exclusivity"}
