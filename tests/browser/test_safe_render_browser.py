"""A report cannot make the analyst's browser fetch anything: the image URL's server sees nothing."""

from __future__ import annotations

from playwright.sync_api import expect

from devtools.fake_upstream import Script
from devtools.streamlit_page import wait_idle
from tests.browser.conftest import fetched_besides_a_sentinel, review_streams

CONTRACT = "1. Parties. Acme Ltd (www.acme.com) and Beta GmbH.\n12.1 Liability is unlimited."


def test_report_images_and_foreign_links_are_text_and_nothing_is_fetched(
    page, streamlit_app, upstream, recorder
):
    port, seen = recorder
    image = f"http://127.0.0.1:{port}/p.png?q=secret"
    link = f"http://127.0.0.1:{port}/follow"
    report = [
        "## Overall risk: HIGH\n\n",
        f"Leak ![x]({image}) here.\n\n",
        f'Inline <img src="http://127.0.0.1:{port}/raw.png"> tag.\n\n',
        f"See [the portal]({link}) and [Acme](https://www.acme.com/terms).\n\n",
        f"![ref][r]\n\n[r]: http://127.0.0.1:{port}/ref.png\n\n",
        "Done.",
    ]
    url = streamlit_app(OLLAMA_HOST=upstream.url)
    review_streams(page, url, CONTRACT, upstream, Script(tokens=report, delay=0.2))
    page.get_by_text("complete", exact=False).first.wait_for(timeout=60_000)
    wait_idle(page)
    body = page.locator('[data-testid="stMainBlockContainer"]')
    expect(body).to_contain_text("Done.")
    # The finished report is on screen: anything it made the browser load has been asked for.
    fetched = fetched_besides_a_sentinel(page, port, seen)
    assert fetched == ["/sentinel"], f"the browser fetched {fetched}"
    text = body.inner_text()
    assert f"x (image not loaded: {image})" in text
    assert f"the portal ({link})" in text
    assert f'<img src="http://127.0.0.1:{port}/raw.png">' in text, text  # a tag shown as text
    hrefs = body.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if str(port) in href]
    assert "https://www.acme.com/terms" in hrefs
    assert body.locator("img").count() == 0
