from pathlib import Path

import pytest

from lib.analysis.playbook.loader import bundled_playbooks
from lib.analysis.playbook.prompt import build_playbook_prompt
from lib.analysis.prompts import (
    DEFAULT_TEMPLATE_KEY,
    NOT_FOUND,
    TEMPLATES,
    Prompt,
    build_prompt,
    count_findings,
    default_instructions,
    fits_context,
)
from lib.analysis.tokens import estimate_tokens


def task_of(prompt: Prompt) -> str:
    """What follows the shared prefix: the template's task."""
    return prompt.user[prompt.prefix_chars :]


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
        assert heading in task_of(prompt)
    for category in template.categories:
        assert category in task_of(prompt)
    assert "GREEN" in task_of(prompt) and "RED" in task_of(prompt)


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
    assert custom in task_of(prompt)
    assert default_instructions(template) not in prompt.user
    assert "reviewing for: the customer" in task_of(prompt)
    assert "for the customer" in task_of(prompt)
    blank = build_prompt(template, CONTRACT, "x", instructions="   ")
    assert default_instructions(template) in task_of(blank)


def test_prompts_on_one_contract_share_the_system_prompt_and_the_contract_as_a_prefix():
    """A re-run, another template or a playbook differ only after the contract: a server's prompt
    cache reads the contract once."""
    prompts = [
        build_prompt(TEMPLATES[key], CONTRACT * 50, "Acme MSA.pdf", perspective=side)
        for key, side in (("general", ""), ("nda", "the customer"), ("general", ""))
    ]
    book = next(iter(bundled_playbooks().values()))
    playbook = build_playbook_prompt(book, CONTRACT * 50, "Acme MSA.pdf")
    first = prompts[0]
    prefix = first.user[: first.prefix_chars]
    assert first.user == prompts[2].user and first.system == prompts[2].system
    for other in (*prompts[1:], playbook):
        assert other.system == first.system
        assert other.prefix_chars == first.prefix_chars
        assert other.user.startswith(prefix)
    assert prefix.index(CONTRACT) < prefix.index(f"</{first.tag}>")
    assert task_of(first) != task_of(prompts[1]) != task_of(playbook)
    assert CONTRACT not in task_of(first)


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


@pytest.mark.parametrize(
    "body",
    [
        '- Found: no — the contract has no "Insurance" clause',
        "- Found: not present in the contract",
        "- Found: absent",
        "The contract is silent on insurance.",
        "- Found: no (searched for “insurance”)",
        '- Found: no — check by hand.\n- Suggested change: add "Supplier shall maintain insurance"',
        '- Found: no — check by hand. Suggested change: add "Supplier shall maintain insurance"',
    ],
)
def test_a_green_section_that_says_nothing_was_found_is_not_green_in_any_words(body):
    """Each of these stayed GREEN: a quoted term, a suggested clause or other words of absence."""
    assert count_findings(f"### Insurance — GREEN\n{body}\n").categories == {"Insurance": NOT_FOUND}


@pytest.mark.parametrize(
    "body",
    [
        '- Found: yes — clause 9: "The Supplier shall maintain insurance."',
        'Not found as a heading, but clause 9 says "the Supplier shall maintain insurance".',
        "- Found: nothing unusual",
    ],
)
def test_a_green_section_that_quotes_or_finds_the_clause_stays_green(body):
    assert count_findings(f"### Insurance — GREEN\n{body}\n").categories == {"Insurance": "GREEN"}
