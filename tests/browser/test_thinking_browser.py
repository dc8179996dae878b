"""A reasoning model on the Review page: the thinking panel grows while the model thinks, folds
when the report starts, and Stop during thinking ends the upstream request."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from devtools.fake_upstream import Script
from lib.store.run_log import RunLog
from tests.browser.conftest import paste_contract, wait_for_app

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."


def count(page: Page, pattern: str) -> int:
    return page.evaluate(
        "(pattern) => (document.body.innerText.match(new RegExp(pattern, 'g')) || []).length",
        pattern,
    )


def test_thinking_panel_grows_then_folds_and_the_report_streams(
    page, streamlit_app, upstream, tmp_path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page, CONTRACT)
    thoughts = [f" thought{i}" for i in range(150)]
    upstream.push(Script(thinking=thoughts, tokens=[f" tok{i}" for i in range(200)], delay=0.03))
    page.locator(".st-key-review button").first.click()

    expect(page.get_by_text("Thinking for", exact=False)).to_be_visible(timeout=15_000)
    panel = page.get_by_test_id("stExpander").filter(has_text="Thinking…")
    panel.get_by_text("Thinking…").click()  # collapsed by default: the analyst opens it
    # The paragraph being thought comes by the live feed, as text, like the report's.
    expect(panel.locator("div.crs-live-tail")).to_contain_text("thought", timeout=15_000)
    samples: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and count(page, r"tok\d+") == 0:
        samples.append(count(page, r"thought\d+"))
        time.sleep(0.05)
    growing = sorted(set(s for s in samples if 0 < s < 150))
    assert len(growing) >= 3, f"the thinking did not grow on screen: {samples}"

    # Folded as the answer starts: one panel, not a stale "Thinking…" beside it until the end.
    expect(page.get_by_test_id("stExpander").filter(has_text="Thought for")).to_be_visible(
        timeout=15_000
    )
    assert count(page, r"tok199") == 0, "the answer had ended: nothing left to check"
    expect(panel).to_have_count(0, timeout=2_000)
    expect(page.get_by_text("tok199")).to_be_visible(timeout=15_000)
    expect(page.get_by_text("complete", exact=False).first).to_be_visible(timeout=15_000)
    # Folded: the thinking is one click away, not on the page, and never in the report.
    expect(page.get_by_test_id("stExpander").filter(has_text="Thought for")).to_be_visible()
    assert count(page, r"thought\d+") == 0
    run = RunLog(tmp_path / "history.sqlite3").query()[0]
    assert run.status == "done" and run.thinking == "".join(thoughts)
    assert "thought" not in run.report and run.report.strip().startswith("tok0")


def test_stop_while_the_model_thinks_ends_the_upstream_request(
    page, streamlit_app, upstream, tmp_path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page, CONTRACT)
    upstream.push(
        Script(thinking=[f" thought{i}" for i in range(2000)], tokens=[" tok0"], delay=0.05)
    )
    page.locator(".st-key-review button").first.click()
    expect(page.get_by_text("Thinking for", exact=False)).to_be_visible(timeout=15_000)
    record = upstream.streams()[-1]
    page.locator(".st-key-stop button").first.click()
    assert upstream.wait_for_disconnect(2.0, record), "the upstream never saw the disconnect"
    still_thinking = "Stopped — the model was still thinking; its thinking so far is kept."
    expect(page.get_by_text(still_thinking)).to_be_visible(timeout=10_000)
    assert record.tokens_sent < 2000
    run = RunLog(tmp_path / "history.sqlite3").query()[0]
    assert run.status == "cancelled" and run.thinking.startswith(" thought0")
    assert run.report == ""
