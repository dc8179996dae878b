"""Playbook page in a real browser: the verdict table fills in position by position while a fake
model writes, and two checkers compared show the position where they disagree."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from devtools.fake_upstream import FakeUpstream, Script
from devtools.streamlit_page import choose, wait_idle
from tests.browser.conftest import wait_for_app

CONTRACT = (
    "SUPPLY AGREEMENT\n\n7. Indemnity. The Supplier shall indemnify and hold harmless the Customer "
    "against all claims.\n\n"
    "9. Governing Law. This Agreement shall be governed by the laws of the State of New York.\n"
)
ANSWER = (
    "### [liability-cap] Liability cap\nVerdict: NOT ADDRESSED\nReason: No cap.\nEvidence: none\n\n"
    "### [indemnity] Mutual indemnity\nVerdict: {indemnity}\nReason: Only the Supplier.\n"
    'Evidence:\n> "The Supplier shall indemnify and hold harmless the Customer" (clause 7)\n\n'
    "### [governing-law] Governing law\nVerdict: MEETS\nReason: New York law.\nEvidence:\n"
    '> "governed by the laws of the State of New York" (clause 9)\n'
)


PROGRESS_JS = "() => (document.body.innerText.match(/\\d+ of \\d+ positions decided/) || [''])[0]"


def answer_lines(indemnity: str) -> list[str]:
    return [line + "\n" for line in ANSWER.format(indemnity=indemnity).split("\n")]


def open_playbook_page(page: Page, url: str) -> None:
    wait_for_app(page, url)
    box = page.get_by_label("Contract text")
    box.fill(CONTRACT)
    box.press("Control+Enter")
    wait_idle(page)
    choose(page, "playbook_book_choice", "Commercial agreement")
    wait_idle(page)


def pick_model(page: Page, side: str) -> None:
    page.locator(f".st-key-playbook_{side}_kind").get_by_text("A model").click()
    expect(page.locator(f".st-key-playbook_{side}_provider")).to_be_visible(timeout=30_000)
    choose(page, f"playbook_{side}_provider", "Ollama")
    expect(page.locator(f".st-key-playbook_{side}_model_ollama")).to_be_visible(timeout=30_000)
    wait_idle(page)


def cell(page: Page, grid: str, column: int, row: int) -> str:
    """A cell of a selectable table: the grid's column 0 holds the row selectors."""
    locator = f'{grid} [data-testid="glide-cell-{column + 1}-{row}"]'
    return page.locator(locator).first.inner_text()


def test_the_verdict_table_fills_in_while_the_model_writes(
    page: Page, streamlit_app, upstream: FakeUpstream
):
    url = streamlit_app("pages/playbook.py", OLLAMA_HOST=upstream.url)
    open_playbook_page(page, url)
    pick_model(page, "a")
    upstream.push(Script(tokens=answer_lines("DEVIATES"), delay=0.25, dialect="ollama"))
    page.locator(".st-key-playbook_check button").click()

    # Sample the progress line while the model writes: positions are decided one by one, and
    # the first is on the page before the model has finished its answer.
    seen: list[tuple[str, bool]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        streams = upstream.streams()
        line = page.evaluate(PROGRESS_JS)
        done = bool(streams) and streams[-1].completed
        if line and (not seen or seen[-1][0] != line):
            seen.append((line, done))
        if page.get_by_text("Select a row to open its evidence").count():
            break
        time.sleep(0.05)
    decided = [int(line.split()[0]) for line, _ in seen]
    assert decided and decided == sorted(decided), seen
    assert any(n >= 1 and not done for n, (_, done) in zip(decided, seen, strict=True)), seen
    assert len(set(decided)) >= 2, f"the table did not fill in position by position: {seen}"

    wait_idle(page)
    grid = '[class*="st-key-playbook_result_table"]'  # keyed by the check it shows
    page.locator(f'{grid} [data-testid="glide-cell-3-1"]').first.wait_for(state="attached")
    rows = {cell(page, grid, 0, r): cell(page, grid, 2, r) for r in range(5)}
    assert rows["Mutual indemnity"] == "❌ deviates", rows
    assert rows["Governing law"] == "✅ meets", rows
    body = page.evaluate("() => document.body.innerText")
    assert "1 meet, 1 deviate, 1 not addressed" in body

    # A second check: the last result leaves the page as the new table starts filling in (it
    # stayed, faded, under the new table until the check ended).
    upstream.push(Script(tokens=answer_lines("MEETS"), delay=0.25, dialect="ollama"))
    wait_idle(page)
    expect(page.locator(".st-key-playbook_check button")).to_be_enabled(timeout=30_000)
    page.locator(".st-key-playbook_check button").click()
    # Sampled while the second check streams: its progress line is never beside the last result.
    both = "() => [(" + PROGRESS_JS + ")() !== '', document.body.innerText.includes('1 deviate')]"
    samples: list[tuple[bool, bool]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        streams = upstream.streams()
        if len(streams) >= 2 and streams[-1].completed:
            break
        if len(streams) >= 2:
            progress, last_result = page.evaluate(both)
            samples.append((progress, last_result))
        time.sleep(0.05)
    assert any(progress for progress, _ in samples), "the second check was not seen filling in"
    assert not any(progress and last for progress, last in samples), samples


def test_compare_highlights_where_the_checkers_disagree(
    page: Page, streamlit_app, upstream: FakeUpstream
):
    url = streamlit_app("pages/playbook.py", OLLAMA_HOST=upstream.url)
    open_playbook_page(page, url)
    page.locator(".st-key-playbook_compare").get_by_text("Compare with a second checker").click()
    expect(page.locator(".st-key-playbook_b_kind")).to_be_visible(timeout=30_000)
    wait_idle(page)
    pick_model(page, "b")
    # The built-in checker finds the one-sided indemnity; the model says it meets the position.
    upstream.push(Script(tokens=answer_lines("MEETS"), delay=0.05, dialect="ollama"))
    page.locator(".st-key-playbook_check button").click()
    page.get_by_text("Two checkers compared").wait_for(timeout=60_000)
    wait_idle(page)
    grid = '[class*="st-key-playbook_result_compare"]'
    page.locator(f'{grid} [data-testid="glide-cell-5-1"]').first.wait_for(state="attached")
    rows = {cell(page, grid, 0, r): (cell(page, grid, 2, r), cell(page, grid, 3, r),
                                     cell(page, grid, 4, r)) for r in range(5)}  # fmt: skip
    assert rows["Mutual indemnity"] == ("❌ deviates", "✅ meets", "⚠️ differ"), rows
    assert rows["Governing law"][2] == "✓", rows
    body = page.evaluate("() => document.body.innerText")
    assert "They disagree on" in body
