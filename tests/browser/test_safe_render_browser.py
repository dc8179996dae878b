"""A report cannot make the analyst's browser fetch anything: the image URL's server sees nothing."""

from __future__ import annotations

from devtools.fake_upstream import Script
from tests.browser.conftest import wait_for_app

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
    wait_for_app(page, url)
    box = page.get_by_label("Contract text")
    box.fill(CONTRACT)
    box.press("Control+Enter")
    page.wait_for_timeout(500)
    upstream.push(Script(tokens=report, delay=0.2))
    page.locator(".st-key-review button").first.click()
    page.get_by_text("complete", exact=False).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1_000)

    assert seen == [], f"the browser fetched {seen}"
    body = page.locator('[data-testid="stMainBlockContainer"]')
    text = body.inner_text()
    assert f"x (image not loaded: {image})" in text
    assert f"the portal ({link})" in text
    assert f'<img src="http://127.0.0.1:{port}/raw.png">' in text, text  # a tag shown as text
    hrefs = body.locator("a").evaluate_all("links => links.map(a => a.href)")
    assert not [href for href in hrefs if str(port) in href]
    assert "https://www.acme.com/terms" in hrefs
    assert body.locator("img").count() == 0
