from pathlib import Path

import pytest

from lib.analysis.prompts import (
    DEFAULT_TEMPLATE_KEY,
    NOT_FOUND,
    TEMPLATES,
    build_prompt,
    count_findings,
    default_instructions,
    fits_context,
)
from lib.analysis.tokens import estimate_tokens

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 Liability is capped at one month's fees."


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_every_template_asks_for_the_skeleton_and_its_categories(key):
    template = TEMPLATES[key]
    prompt = build_prompt(template, CONTRACT, "Acme MSA.pdf")
    for heading in (
        "## Overall risk",
        "## Key findings",
        "## Clause by clause",
        "## Missing or unusual clauses",
        "## Negotiation plan and next steps",
        "not legal advice",
    ):
        assert heading in prompt.system
    for category in template.categories:
        assert category in prompt.system
    assert "GREEN" in prompt.system and "RED" in prompt.system


def test_contract_is_delimited_data_and_appears_once():
    prompt = build_prompt(TEMPLATES["nda"], CONTRACT, 'Odd "name".docx')
    assert prompt.user.count(CONTRACT) == 1
    assert CONTRACT not in prompt.system
    start, end = prompt.user.index(f"<{prompt.tag}"), prompt.user.index(f"</{prompt.tag}>")
    assert start < prompt.user.index(CONTRACT) < end
    assert "not instructions" in prompt.system and "ignore" in prompt.system
    assert 'name="Odd name.docx"' in prompt.user


def test_custom_instructions_replace_the_defaults_and_perspective_is_used():
    template = TEMPLATES[DEFAULT_TEMPLATE_KEY]
    custom = "Only check the liability clauses."
    prompt = build_prompt(template, CONTRACT, "x", instructions=custom, perspective="the customer")
    assert custom in prompt.system
    assert default_instructions(template) not in prompt.system
    assert "reviewing for: the customer" in prompt.system and "for the customer" in prompt.user
    blank = build_prompt(template, CONTRACT, "x", instructions="   ")
    assert default_instructions(template) in blank.system


def test_estimate_covers_system_and_user():
    prompt = build_prompt(TEMPLATES["lease"], CONTRACT * 100, "x")
    assert prompt.estimated_tokens == estimate_tokens(prompt.system) + estimate_tokens(prompt.user)
    assert prompt.estimated_tokens > estimate_tokens(CONTRACT * 100)


def test_fits_context():
    assert fits_context(1000, 1000, 4096)
    assert not fits_context(3500, 1000, 4096)
    assert fits_context(10**6, 1000, None)


def test_count_findings_on_a_realistic_report():
    report = (Path(__file__).parent / "fixtures" / "reports" / "sample_review.md").read_text()
    findings = count_findings(report)
    assert (findings.red, findings.yellow, findings.green) == (2, 1, 2)
    assert findings.categories == {
        "Limitation of liability (cap, uncapped items)": "RED",
        "Indemnity": "YELLOW",
        "Confidentiality": "GREEN",
        "term and termination": "RED",
        "Payment terms": "GREEN",
    }


def test_count_findings_ignores_prose_mentions():
    assert count_findings("The clause is RED hot.\n## Key findings — RED\n").categories == {}


def test_a_green_section_that_found_nothing_counts_as_not_found_for_every_reviewer():
    report = (
        "### Indemnity — GREEN\n- Found: no — not found\n"
        "### Insurance — NOT FOUND\n- Found: no — not found — check by hand\n"
        "### Liability cap — YELLOW\n- Found: no — not found\n- YELLOW: no cap.\n"
        '### Governing law — GREEN\n- Found: yes — clause 9: "Texas law governs."\n'
    )
    findings = count_findings(report)
    assert findings.categories == {
        "Indemnity": NOT_FOUND,
        "Insurance": NOT_FOUND,
        "Liability cap": "YELLOW",
        "Governing law": "GREEN",
    }
    assert (findings.green, findings.yellow, findings.not_found) == (1, 1, 2)
