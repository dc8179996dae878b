"""What only a browser shows: the report growing live, and Stop ending the upstream request."""

from __future__ import annotations

import time

from devtools.fake_upstream import Script
from lib.runs.run_log import RunLog
from tests.browser.conftest import wait_for_app

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."


def report_length(page) -> int:
    """Characters of streamed report text on the page (tokens are ' tokN')."""
    return page.evaluate("() => (document.body.innerText.match(/tok\\d+/g) || []).length")


def paste_contract(page) -> None:
    box = page.get_by_label("Contract text")
    box.fill(CONTRACT)
    box.press("Control+Enter")
    page.wait_for_timeout(500)


def test_report_streams_in_steps_then_stop_ends_the_upstream(
    page, streamlit_app, upstream, tmp_path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page)

    tokens = [f" tok{i}" for i in range(150)]
    upstream.push(Script(tokens=tokens, delay=0.02))
    page.locator(".st-key-review button").first.click()
    samples: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        samples.append(report_length(page))
        if page.get_by_text("complete", exact=False).count() and samples[-1] >= 150:
            break
        time.sleep(0.05)
    growing = sorted(set(s for s in samples if 0 < s < 150))
    assert len(growing) >= 5, f"the report did not stream in steps: {samples}"
    assert samples[-1] == 150

    slow = [f" tok{i}" for i in range(1000, 1400)]
    upstream.push(Script(tokens=slow, delay=0.1))
    page.locator(".st-key-review button").first.click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not upstream.streams()[-1].tokens_sent >= 5:
        time.sleep(0.05)
    page.wait_for_function(
        "() => (document.body.innerText.match(/tok1\\d\\d\\d/g) || []).length >= 3", timeout=10_000
    )
    record = upstream.streams()[-1]
    page.locator(".st-key-stop button").first.click()
    assert upstream.wait_for_disconnect(2.0, record), "the upstream never saw the disconnect"
    page.get_by_text("Stopped — the partial report above is kept.").wait_for(timeout=10_000)
    shown = page.evaluate("() => (document.body.innerText.match(/tok1\\d\\d\\d/g) || []).length")
    assert 3 <= shown < 400
    assert record.tokens_sent < 400
    runs = RunLog(tmp_path / "history.sqlite3").query()
    assert [r.status for r in runs] == ["cancelled", "done"]
    assert runs[0].report.strip().startswith("tok1000 tok1001 tok1002")


def test_navigation_names_every_page_and_opens_each(page, streamlit_app, upstream):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Review", exact=True).wait_for(timeout=15_000)
    labels = nav.locator("a").all_inner_texts()
    assert [label.split()[-1] for label in labels] == ["Review", "Compare", "History", "Portfolio"]
    nav.get_by_text("Compare", exact=True).click()
    page.get_by_role("heading", name="Compare two models").wait_for(timeout=15_000)
    assert page.url.rstrip("/").endswith("/compare")
    nav.get_by_text("History", exact=True).click()
    page.get_by_role("heading", name="History").wait_for(timeout=15_000)
    nav.get_by_text("Review", exact=True).click()
    page.get_by_label("Contract text").wait_for(timeout=15_000)
