"""Compare page in a real browser: both columns grow at the same time; Stop ends both requests."""

from __future__ import annotations

import itertools
import re
import time

from playwright.sync_api import expect

from devtools.fake_upstream import Script
from devtools.streamlit_page import choose
from tests.browser.conftest import paste_contract, wait_for_app

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
COUNT_JS = (
    "(prefix) => (document.body.innerText.match(new RegExp(prefix + '\\\\d+', 'g')) || []).length"
)


def counts(page) -> tuple[int, int]:
    return page.evaluate(COUNT_JS, "aa"), page.evaluate(COUNT_JS, "bb")


def test_both_columns_stream_together_and_stop_ends_both(page, streamlit_app, upstream):
    url = streamlit_app(
        OLLAMA_HOST=upstream.url,
        ANTHROPIC_BASE_URL=upstream.url,
        ANTHROPIC_API_KEY="fake-ant-browser-test-key-0000",
    )
    wait_for_app(page, f"{url}/compare")  # as analysts reach it: both sides by the live feed
    # Claude is the best configured model, so it takes the left; the right defaults to the clause
    # finder, which reads no stream: put Ollama there so both sides stream from the fake server.
    choose(page, "compare1_provider", "Ollama")
    expect(page.locator(".st-key-compare1_model_ollama")).to_be_visible(timeout=30_000)
    paste_contract(page, CONTRACT)

    n = 120
    upstream.push(
        Script(tokens=[f" aa{i}" for i in range(n)], delay=0.03),
        Script(tokens=[f" bb{i}" for i in range(n)], delay=0.03),
    )
    page.locator(".st-key-compare button").first.click()
    # Sample both columns while they stream: both must be seen growing between two samples.
    samples: list[tuple[int, int]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline and (not samples or samples[-1] != (n, n)):
        samples.append(counts(page))
        time.sleep(0.05)
    both_growing = sum(
        1
        for (a0, b0), (a1, b1) in itertools.pairwise(samples)
        if a1 > a0 and b1 > b0 and a1 < n and b1 < n
    )
    assert both_growing >= 3, f"the columns did not grow in the same time window: {samples}"
    expect(page.get_by_text("Comparison", exact=True)).to_be_visible(timeout=30_000)
    assert counts(page) == (n, n)

    upstream.push(
        Script(tokens=[f" aa{i}" for i in range(1000, 1600)], delay=0.1),
        Script(tokens=[f" bb{i}" for i in range(1000, 1600)], delay=0.1),
    )
    page.locator(".st-key-compare button").first.click()
    expect(page.get_by_text("aa1002")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("bb1002")).to_be_visible(timeout=30_000)
    # Nothing of the last comparison is left beside the new one while it streams.
    expect(page.get_by_text("Comparison", exact=True)).to_have_count(0)
    expect(page.get_by_text(re.compile(r"\baa119\b"))).to_have_count(0)
    running = upstream.streams()[-2:]
    page.locator(".st-key-compare_stop button").first.click()
    for record in running:
        # The event, with a bound generous enough for a busy machine: the streams would run 60 s.
        assert upstream.wait_for_disconnect(15.0, record), f"{record.path} never saw the disconnect"
        assert not record.completed and record.tokens_sent < 600
    # Both columns say they were stopped (the page may draw them a moment apart).
    stopped = page.get_by_text("Stopped — the partial report above is kept.")
    expect(stopped).to_have_count(2, timeout=30_000)
    expect(stopped.nth(1)).to_be_visible()
