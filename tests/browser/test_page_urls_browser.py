"""Bookmarks and shared links open the page they name: no "Page not found" dialog, on load or reload."""

from __future__ import annotations

import pytest

from tests.browser.conftest import wait_for_app, wait_idle

PAGES = {"compare": "Compare two models", "history": "History"}


@pytest.mark.parametrize("path", list(PAGES))
def test_opening_or_reloading_a_page_url_shows_that_page_without_a_dialog(
    page, streamlit_app, upstream, path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    for load in ("open", "reload"):
        if load == "open":
            wait_for_app(page, f"{url}/{path}")
        else:
            page.reload()
            page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
            wait_idle(page)
        page.get_by_role("heading", name=PAGES[path], exact=True).wait_for(timeout=15_000)
        page.wait_for_timeout(1_500)
        assert page.get_by_text("Page not found", exact=False).count() == 0, load
        assert page.locator('[role="dialog"]').count() == 0, load
        assert page.url.rstrip("/").endswith(f"/{path}"), (load, page.url)
