"""The live feed in a real browser: the paragraph being written is shown as text, never as markup,
each finished paragraph as sanitised Markdown, and nothing the model writes is fetched."""

from __future__ import annotations

from playwright.sync_api import expect

from devtools.fake_upstream import Script
from devtools.streamlit_page import wait_idle
from tests.browser.conftest import fetched_besides_a_sentinel, review_streams

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 Liability is unlimited."
TAIL = "div.crs-live-tail"


def test_the_paragraph_being_written_is_text_and_finished_ones_are_markdown(
    page, streamlit_app, upstream, recorder
):
    port, seen = recorder
    tag = f'<img src="http://127.0.0.1:{port}/tail.png" onerror="window.__ran=1">'
    tokens = [
        "**Bold** first.",
        "\n\n",
        "Now ",
        tag,
        " and **still writing**",
        *[f" w{i:02d}" for i in range(60)],
        "\n\nDone.",
    ]
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    review_streams(page, url, CONTRACT, upstream, Script(tokens=tokens, delay=0.1))

    tail = page.locator(TAIL)
    expect(tail).to_contain_text("w05", timeout=30_000)
    # The paragraph being written: its text as the model wrote it, tag and asterisks included.
    live = tail.inner_text()
    assert tag in live and "**still writing**" in live, live
    assert "Bold" not in live  # the finished paragraph left the tail...
    main = page.locator('[data-testid="stMainBlockContainer"]')
    expect(main.locator("strong", has_text="Bold")).to_be_visible()  # ...for its Markdown
    assert main.locator("img").count() == 0

    page.get_by_text("complete", exact=False).first.wait_for(timeout=60_000)
    wait_idle(page)
    expect(tail).to_have_count(0)  # at the end the tail is Markdown too
    expect(main.locator("strong", has_text="still writing")).to_be_visible()
    text = main.inner_text()
    assert tag in text and "w59" in text and "Done." in text
    assert text.count("w30") == 1  # shown once: never in the tail and its Markdown at once
    assert page.evaluate("() => window.__ran") is None
    fetched = fetched_besides_a_sentinel(page, port, seen)
    assert fetched == ["/sentinel"], f"the browser fetched {fetched}"


def test_a_list_is_drawn_formatted_line_by_line_while_its_last_line_is_written(
    page, streamlit_app, upstream
):
    tokens = ["- **First** item", "\n", "- second", *[f" w{i:02d}" for i in range(60)], "\n"]
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    review_streams(page, url, CONTRACT, upstream, Script(tokens=tokens, delay=0.1))
    tail = page.locator(TAIL)
    expect(tail).to_contain_text("w05", timeout=30_000)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    # The finished line is a list item already; the one being written is text in the tail.
    expect(main.locator("li strong", has_text="First")).to_be_visible()
    expect(tail).not_to_contain_text("First")
    assert "- second" in tail.inner_text()
    assert upstream.streams()[-1].tokens_sent < len(tokens)
    page.get_by_text("complete", exact=False).first.wait_for(timeout=60_000)
    wait_idle(page)
    assert main.locator("li").count() == 2 and main.inner_text().count("w30") == 1


def test_the_paragraph_streams_live_below_a_base_url_path(page, streamlit_app, upstream):
    """Behind a proxy at a sub-path (`server.baseUrlPath`), the feed is found where the page
    looks for it: the paragraph grows in the tail while the model writes it."""
    tokens = ["Now writing", *[f" w{i:02d}" for i in range(80)]]
    url = streamlit_app(OLLAMA_HOST=upstream.url, STREAMLIT_SERVER_BASE_URL_PATH="team/crs")
    assert url.endswith("/team/crs")
    review_streams(page, url, CONTRACT, upstream, Script(tokens=tokens, delay=0.1))
    expect(page.locator(TAIL)).to_contain_text("w05", timeout=30_000)
    assert upstream.streams()[-1].tokens_sent < len(tokens), "seen only once the model finished"
    page.get_by_text("complete", exact=False).first.wait_for(timeout=60_000)
