"""Quote marks in a real browser: they appear while the report streams, and a quote opens its
passage in the contract, highlighted."""

from __future__ import annotations

from playwright.sync_api import expect

from devtools.fake_upstream import Script
from tests.browser.conftest import paste_contract, wait_for_app

CONTRACT = (
    "1. Parties. Acme Ltd supplies widgets to Beta GmbH.\n\n"
    "12.1 Liability. The Supplier's total liability under this Agreement shall not exceed the "
    "fees paid in the twelve months before the claim.\n\n"
    "14.2 Governing law. This Agreement is governed by the laws of England and Wales.\n"
)
REPORT = (
    "# Contract review: widgets\n\n## Clause by clause\n\n"
    "### Limitation of liability — YELLOW\n\n"
    '- Found: yes — §12.1 "total liability under this Agreement shall not exceed the fees paid"\n\n'
    '- Also: "the Supplier may terminate at any time for any reason whatsoever"\n\n'
)
# Enough text after the quotes that their paragraphs complete long before the stream ends.
TAIL = [f" more{i}" for i in range(120)]


def test_marks_appear_while_streaming_and_a_quote_opens_its_passage(page, streamlit_app, upstream):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page, CONTRACT)
    tokens = [REPORT[i : i + 12] for i in range(0, len(REPORT), 12)] + TAIL
    upstream.push(Script(tokens=tokens, delay=0.05))
    page.locator(".st-key-review button").first.click()

    # Marked while the stream is still running: the last token has not been shown yet.
    expect(page.get_by_text("✓ verified (§12.1)")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("✗ not found in the contract")).to_be_visible(timeout=30_000)
    assert not page.get_by_text("more119").count()

    expect(page.get_by_text("complete", exact=False).first).to_be_visible(timeout=30_000)
    page.get_by_text("Quotes checked against the contract", exact=False).click()
    expect(page.get_by_text("The contract at §12.1")).to_be_visible(timeout=30_000)
    highlighted = page.locator("mark, span[style*='background']").filter(
        has_text="shall not exceed"
    )
    expect(highlighted.first).to_be_visible(timeout=30_000)
