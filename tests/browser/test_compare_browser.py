"""Compare page in a real browser: both columns grow at the same time; Stop ends both requests."""

from __future__ import annotations

import itertools
import time

from devtools.fake_upstream import Script
from tests.browser.conftest import wait_for_app, wait_idle

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
COUNT_JS = (
    "(prefix) => (document.body.innerText.match(new RegExp(prefix + '\\\\d+', 'g')) || []).length"
)


def counts(page) -> tuple[int, int]:
    return page.evaluate(COUNT_JS, "aa"), page.evaluate(COUNT_JS, "bb")


def test_both_columns_stream_together_and_stop_ends_both(page, streamlit_app, upstream):
    url = streamlit_app(
        "app_pages/compare.py",
        OLLAMA_HOST=upstream.url,
        ANTHROPIC_BASE_URL=upstream.url,
        ANTHROPIC_API_KEY="fake-ant-browser-test-key-0000",
    )
    wait_for_app(page, url)
    box = page.get_by_label("Contract text")
    box.fill(CONTRACT)
    box.press("Control+Enter")
    wait_idle(page)

    n = 120
    upstream.push(
        Script(tokens=[f" aa{i}" for i in range(n)], delay=0.03),
        Script(tokens=[f" bb{i}" for i in range(n)], delay=0.03),
    )
    page.locator(".st-key-compare button").first.click()
    samples: list[tuple[int, int]] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        samples.append(counts(page))
        if samples[-1] == (n, n) and page.get_by_text("Comparison", exact=True).count():
            break
        time.sleep(0.05)
    both_growing = sum(
        1
        for (a0, b0), (a1, b1) in itertools.pairwise(samples)
        if a1 > a0 and b1 > b0 and a1 < n and b1 < n
    )
    assert both_growing >= 3, f"the columns did not grow in the same time window: {samples}"
    assert samples[-1] == (n, n)

    upstream.push(
        Script(tokens=[f" aa{i}" for i in range(1000, 1600)], delay=0.1),
        Script(tokens=[f" bb{i}" for i in range(1000, 1600)], delay=0.1),
    )
    page.locator(".st-key-compare button").first.click()
    page.wait_for_function(
        "() => (document.body.innerText.match(/aa1\\d\\d\\d/g) || []).length >= 3"
        " && (document.body.innerText.match(/bb1\\d\\d\\d/g) || []).length >= 3",
        timeout=15_000,
    )
    running = upstream.streams()[-2:]
    page.locator(".st-key-compare_stop button").first.click()
    for record in running:
        assert upstream.wait_for_disconnect(2.0, record), f"{record.path} never saw the disconnect"
        assert record.tokens_sent < 600
    # Both columns say they were stopped (the page may draw them a moment apart).
    page.wait_for_function(
        "() => document.body.innerText.split('Stopped — the partial report above is kept.').length - 1 === 2",
        timeout=10_000,
    )
