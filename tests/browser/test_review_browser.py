"""What only a browser shows: the report growing live, and Stop ending the upstream request."""

from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect

from devtools.fake_upstream import Script
from devtools.streamlit_page import wait_idle
from lib.store.run_log import RunLog
from tests.browser.conftest import paste_contract, wait_for_app

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."
STOPPED = "Stopped — the partial report above is kept."


def tokens_shown(page: Page, pattern: str = r"tok\d+") -> int:
    """How many streamed tokens (' tokN') the page shows."""
    return page.evaluate(
        "(pattern) => (document.body.innerText.match(new RegExp(pattern, 'g')) || []).length",
        pattern,
    )


def test_report_streams_in_steps_then_stop_ends_the_upstream(
    page, streamlit_app, upstream, tmp_path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page, CONTRACT)

    upstream.push(Script(tokens=[f" tok{i}" for i in range(150)], delay=0.02))
    page.locator(".st-key-review button").first.click()
    # Sample the page while the report streams: a live report is seen at many partial lengths.
    samples: list[int] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not samples or samples[-1] < 150):
        samples.append(tokens_shown(page))
        time.sleep(0.05)
    growing = sorted(set(s for s in samples if 0 < s < 150))
    assert len(growing) >= 5, f"the report did not stream in steps: {samples}"
    expect(page.get_by_text("tok149")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("complete", exact=False).first).to_be_visible(timeout=30_000)
    # The finished report's status line is drawn above it, before the report itself: wait for
    # the end of the run, when the whole finished report is on screen.
    wait_idle(page)
    assert tokens_shown(page) == 150

    upstream.push(Script(tokens=[f" tok{i}" for i in range(1000, 1400)], delay=0.1))
    page.locator(".st-key-review button").first.click()
    expect(page.get_by_text("tok1002")).to_be_visible(timeout=30_000)
    record = upstream.streams()[-1]
    page.locator(".st-key-stop button").first.click()
    # The event, with a bound generous enough for a busy machine: the stream would run 40 s.
    assert upstream.wait_for_disconnect(15.0, record), "the upstream never saw the disconnect"
    assert not record.completed
    expect(page.get_by_text(STOPPED)).to_be_visible(timeout=30_000)
    assert 3 <= tokens_shown(page, r"tok1\d\d\d") < 400
    assert record.tokens_sent < 400
    # The worker writes the stopped run to the log as it ends, which may be just after the page
    # says so: wait for that write, not for a time.
    log = RunLog(tmp_path / "history.sqlite3")
    deadline = time.monotonic() + 15
    while log.query()[0].status == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    runs = log.query()
    assert [r.status for r in runs] == ["cancelled", "done"]
    assert runs[0].report.strip().startswith("tok1000 tok1001 tok1002")


def test_navigation_names_every_page_and_opens_each(page, streamlit_app, upstream):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    nav = page.get_by_test_id("stSidebarNav")
    expect(nav.get_by_text("Review", exact=True)).to_be_visible(timeout=30_000)
    labels = nav.locator("a").all_inner_texts()
    assert [label.split()[-1] for label in labels] == [
        "Review",
        "Compare",
        "History",
        "Portfolio",
        "Playbook",
    ]
    nav.get_by_text("Compare", exact=True).click()
    expect(page.get_by_role("heading", name="Compare two models")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/compare/?$"))
    nav.get_by_text("History", exact=True).click()
    expect(page.get_by_role("heading", name="History")).to_be_visible(timeout=30_000)
    nav.get_by_text("Playbook", exact=True).click()
    expect(page.get_by_role("heading", name="Playbook")).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile(r"/playbook/?$"))
    nav.get_by_text("Review", exact=True).click()
    expect(page.get_by_label("Contract text")).to_be_visible(timeout=30_000)


def test_a_new_review_shows_nothing_of_the_last_report_while_it_streams(
    page, streamlit_app, upstream
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    wait_for_app(page, url)
    paste_contract(page, CONTRACT)
    upstream.push(Script(tokens=[f"Old{i} paragraph.\n\n" for i in range(6)], delay=0.05))
    page.locator(".st-key-review button").first.click()
    expect(page.get_by_text("Total time")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Old5 paragraph.")).to_be_visible()
    wait_idle(page)

    # The next report writes a paragraph and a word, then its model goes silent: the run goes on.
    upstream.push(
        Script(tokens=["New0 paragraph.\n\n", "New1", " more"], fault="stall", fault_after=2)
    )
    page.locator(".st-key-review button").first.click()
    expect(page.get_by_text("New1")).to_be_visible(timeout=30_000)
    report = page.get_by_test_id("stMain")
    expect(report.get_by_text("Total time")).to_have_count(0)
    expect(report.get_by_text(re.compile(r"Old\d paragraph"))).to_have_count(0)
    expect(page.get_by_text("New0 paragraph.")).to_be_visible()
    page.locator(".st-key-stop button").first.click()
    expect(page.get_by_text(STOPPED)).to_be_visible(timeout=30_000)
