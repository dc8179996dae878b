"""Claims of absence in a report, cross-checked against the clause finder; page offsets from PDFs."""

from __future__ import annotations

from devtools.sample_files import pdf_bytes
from lib.analysis.documents import load_document
from lib.analysis.grounding import cross_check, ground_report
from lib.analysis.samples import load_sample
from lib.store.records import grounding_by_model, run_maker

SAMPLE = load_sample("09_OAKTREECAPITALGROUP_LLC_03_02_2020_EX_10_8_Services_Agreement.txt")


def test_a_section_saying_not_found_is_contradicted_with_the_passage():
    report = "## Clause by clause\n### Governing law — RED\n- Found: no — not found\n"
    (item,) = cross_check(report, SAMPLE.text)
    assert item.category == "Governing Law" and "; §13.1 reads “" in item.message
    assert "England and Wales" in item.message
    assert SAMPLE.text[item.finding.start : item.finding.end] == item.finding.quote


def test_the_missing_section_is_read_bullet_by_bullet():
    report = "## Missing or unusual clauses\n- Governing law: not in the contract\n- Escrow\n"
    topics = [d.topic for d in cross_check(report, SAMPLE.text)]
    assert topics == ["governing law"]


def test_a_found_clause_or_a_truly_absent_one_is_no_disagreement():
    report = (
        "### Governing law — GREEN\n- Found: yes — “This Agreement is governed by the laws”\n"
        "### Source code escrow — GREEN\n- Found: no — not found\n"
    )
    assert cross_check(report, SAMPLE.text) == []


def test_a_cap_found_does_not_contradict_no_uncapped_liability():
    contract = (
        "1. Liability. Each party's aggregate liability shall not exceed the fees paid under "
        "this Agreement in the twelve months before the claim.\n"
    )
    said = "### Uncapped liability — NOT FOUND\n- Found: no — not found\n"
    assert cross_check(said, contract) == []
    (item,) = cross_check("### Liability cap — NOT FOUND\n- Found: no\n", contract)
    assert item.topic == "liability cap" and item.category == "Cap On Liability"


def test_pdf_pages_keep_their_offsets_and_quotes_name_their_page():
    pages = [
        "1. Parties. Acme Ltd supplies widgets.",
        "2. Liability. Nothing limits liability for fraud or gross negligence.",
    ]
    document = load_document(pdf_bytes(pages), "two pages.pdf")
    assert document.page_starts is not None and len(document.page_starts) == 2
    second = document.text[document.page_starts[1] :]
    assert second.startswith("2. Liability")
    grounding = ground_report(
        '- Found: yes — "Nothing limits liability for fraud"', document.text, document.page_starts
    )
    (item,) = grounding.checked
    assert item.check.status == "verified" and item.check.page == 2


def test_grounding_by_model_sums_verdicts(make_record):
    a = make_record(
        provider="ollama",
        model="m1",
        quotes_total=3,
        quotes_verified=2,
        quotes_close=0,
        quotes_not_found=1,
    )
    b = make_record(
        provider="ollama",
        model="m1",
        quotes_total=1,
        quotes_verified=1,
        quotes_close=0,
        quotes_not_found=0,
    )
    c = make_record(provider="anthropic", model="c", quotes_total=None)
    # A playbook check's evidence passages are no review's quotes: not in this chart.
    check = make_record(provider="ollama", model="m1", kind="playbook", quotes_total=5,
                        quotes_verified=5, quotes_close=0, quotes_not_found=0)  # fmt: skip
    frame = grounding_by_model([a, b, c, check]).set_index(["who", "verdict"])["quotes"]
    assert frame[("Ollama · m1", "verified")] == 3 and frame[("Ollama · m1", "not found")] == 1
    assert "Claude (Anthropic) · c" not in {who for who, _ in frame.index}


def test_runs_are_named_as_analysts_read_them_not_by_the_logs_ids():
    assert run_maker("clause_finder", "rules") == "Clause finder (no model)"
    assert run_maker("playbook_checker", "built-in") == "Built-in playbook checker (no model)"
    assert run_maker("ollama", "llama3.2") == "Ollama · llama3.2"
    assert run_maker("retired_provider", "m") == "retired_provider · m"  # kept readable
