"""Bookmarks and shared links open the page they name: no "Page not found" dialog, on load or reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from devtools.streamlit_page import wait_idle

PAGES = {"compare": "Compare two models", "history": "History"}


@pytest.mark.parametrize("path", list(PAGES))
def test_opening_or_reloading_a_page_url_shows_that_page_without_a_dialog(
    page, streamlit_app, upstream, path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    for load in ("open", "reload"):
        if load == "open":
            page.goto(f"{url}/{path}")
        else:
            page.reload()
        # The page's own heading, then the end of that run: a "Page not found" dialog would be
        # drawn during the run, so once it has ended, what is on screen is what stays.
        heading = page.get_by_role("heading", name=PAGES[path], exact=True)
        expect(heading).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert page.get_by_text("Page not found", exact=False).count() == 0, load
        assert page.locator('[role="dialog"]').count() == 0, load
        assert page.url.rstrip("/").endswith(f"/{path}"), (load, page.url)
