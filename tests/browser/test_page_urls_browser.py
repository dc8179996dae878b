"""Bookmarks and shared links open the page they name, under the app's own navigation: no "Page
not found" dialog, on load or reload, even as the first visit after the server starts."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from devtools.streamlit_page import wait_idle

PAGES = {"compare": "Compare two models", "history": "History"}
NAVIGATION = ["Review", "Compare", "History", "Portfolio", "Playbook"]


@pytest.mark.parametrize("path", list(PAGES))
def test_opening_or_reloading_a_page_url_shows_that_page_without_a_dialog(
    page, streamlit_app, upstream, path
):
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    # Nothing but the app itself: a page icon fetched from Google's servers told a third party
    # who opens the app, and when.
    elsewhere: list[str] = []
    app = urlsplit(url).netloc
    page.on(
        "request",
        lambda request: (
            elsewhere.append(request.url)
            if urlsplit(request.url).scheme in ("http", "https", "ws", "wss")
            and urlsplit(request.url).netloc != app
            else None
        ),
    )
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
        # The app's own navigation, even for the first visit of a fresh server: never the
        # pages folder's file names ("app", "compare", …) of Streamlit's old multipage mode.
        nav = page.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()
        assert [text.split()[-1] for text in nav] == NAVIGATION, (load, nav)
        assert elsewhere == [], (load, elsewhere)


def test_the_review_url_the_navigation_names_opens_the_review_page(page, streamlit_app, upstream):
    """/review is what analysts type and share for the page the navigation calls "Review"; it
    found no page, as Review is served at /. It opens Review, marked in the navigation, with the
    link's query kept."""
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    page.goto(f"{url}/review?from=link")
    heading = page.get_by_role("heading", name="Contract Review Studio", exact=True)
    expect(heading).to_be_visible(timeout=30_000)
    wait_idle(page)
    assert page.get_by_text("Page not found", exact=False).count() == 0
    assert page.locator('[role="dialog"]').count() == 0
    assert urlsplit(page.url).path.rstrip("/") == "", page.url
    assert urlsplit(page.url).query == "from=link", page.url
    nav = page.get_by_test_id("stSidebarNav").locator("a")
    assert [text.split()[-1] for text in nav.all_inner_texts()] == NAVIGATION
    expect(nav.filter(has_text="Review")).to_have_attribute("aria-current", "page")
