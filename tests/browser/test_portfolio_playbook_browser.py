"""Portfolio with a playbook in a real browser: the built-in checker runs over the sample
contracts, the contracts × positions grid fills with verdicts, and a selected cell opens that
position's evidence in the contract."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from devtools.streamlit_page import wait_idle
from lib.analysis.playbook.loader import bundled_playbooks
from lib.analysis.samples import all_samples
from lib.runs.portfolio_playbook import CELL_COLOURS, LEAD
from lib.store.run_log import RunLog
from tests.browser.conftest import grid_column, wait_for_grid_rows
from tests.browser.test_portfolio_browser import open_portfolio

# The verdicts grid, not the playbook's table editor above it.
GRID = ".st-key-pf_verdicts"


def test_playbook_grid_fills_and_a_cell_opens_its_evidence(page, streamlit_app, tmp_path):
    url = streamlit_app()
    open_portfolio(page, url)
    page.locator(".st-key-pf_mode").get_by_text("Check against a playbook").click()
    page.get_by_text("Playbook and checkers").wait_for(timeout=30_000)
    wait_idle(page)
    page.locator(".st-key-pf_run button").click()
    # The grid fills as runs finish and is sorted by deviations: read its rows once all are in.
    page.get_by_text("5 of 5 runs").wait_for(timeout=60_000)
    page.get_by_text("Verdicts grid").wait_for(timeout=60_000)
    first = len(LEAD)
    page.locator(f'{GRID} [data-testid="glide-cell-{first}-0"]').first.wait_for(
        state="attached", timeout=30_000
    )
    wait_idle(page)
    names = [s.file_name for s in all_samples()[:5]]
    book = bundled_playbooks()["commercial"]
    rows = wait_for_grid_rows(page, 0, names, GRID)
    cells = set(grid_column(page, first, 5, GRID))
    assert cells <= set(CELL_COLOURS), cells

    grid = page.locator(f'{GRID} [data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 40, box["y"] + 35 + 17)
    page.wait_for_function(
        "() => document.activeElement?.closest('[data-testid=\"stDataFrame\"]') != null"
    )
    for _ in range(first):
        page.keyboard.press("ArrowRight")
    page.get_by_text(book.positions[0].position).wait_for(timeout=30_000)
    body = page.evaluate("() => document.body.innerText")
    assert rows[0] in body

    runs = RunLog(tmp_path / "history.sqlite3").query()
    assert len(runs) == 5 and {r.kind for r in runs} == {"playbook"}
    assert {r.playbook_id for r in runs} == {"commercial"} and len({r.batch_id for r in runs}) == 1


def test_the_suggested_nda_playbook_is_given_back_whole_with_the_ndas(page, streamlit_app):
    """Given back with the NDAs, the picker stayed on the NDA playbook in the browser (a dropped
    selectbox value is sent back by the page), and the commercial playbook's id and name boxes,
    hidden for one run, came back empty: the playbook could not be used."""
    url = streamlit_app()
    open_portfolio(page, url)
    page.locator(".st-key-pf_mode").get_by_text("Check against a playbook").click()
    page.get_by_text("Playbook and checkers").wait_for(timeout=30_000)
    wait_idle(page)
    picker = page.locator(".st-key-pf_pb_choice").get_by_role("combobox")
    page.locator(".st-key-pf_source").get_by_text("ContractNLI-layout file").click()
    expect(picker).to_have_value(re.compile("^Non-disclosure agreement"), timeout=30_000)
    wait_idle(page)
    page.locator(".st-key-pf_source").get_by_text("Bundled CUAD sample").click()
    expect(picker).to_have_value("Commercial agreement", timeout=30_000)
    wait_idle(page)
    page.get_by_text("Edit positions").click()
    expect(page.get_by_label("Playbook id")).to_have_value("commercial", timeout=30_000)
    expect(page.get_by_label("Playbook name")).to_have_value("Commercial agreement")
