"""The API's browser client (lib/api/static/client.js) in Chromium against the running API: text
arrives token by token, Stop ends the upstream request, a cut connection resumes exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.api_server import ApiServer
from devtools.cut_proxy import CutProxy
from devtools.fake_upstream import FakeUpstream, Script

CONTRACT = "1. Parties. Acme Ltd and Beta GmbH.\n12.1 The Supplier's liability is unlimited."

# Note each request the client sends with Last-Event-ID: proof that it reconnected.
RECORD_RESUMES = """
window.__resumedFrom = [];
const original = window.fetch;
window.fetch = (url, init = {}) => {
  const id = init.headers && init.headers["Last-Event-ID"];
  if (id) window.__resumedFrom.push(id);
  return original(url, init);
};
"""
# Note the report's length each time the page changes it: what a reader saw, however busy the
# machine running the test is.
RECORD_LENGTHS = """
window.__lengths = [];
document.addEventListener("DOMContentLoaded", () => {
  const report = document.querySelector("#report");
  const note = () => window.__lengths.push(report.textContent.length);
  new MutationObserver(note).observe(report, {childList: true, characterData: true, subtree: true});
});
"""


@pytest.fixture
def api(tmp_path, upstream) -> Iterator[CutProxy]:
    env = {"OLLAMA_HOST": upstream.url, "CRS_HISTORY_DB": str(tmp_path / "history.sqlite3")}
    with ApiServer(env, tmp_path / "api.log") as server, CutProxy(server.port) as proxy:
        yield proxy


def shown(page) -> str:
    return page.locator("#report").inner_text()


def start_review(page, url: str, resume: bool) -> None:
    page.goto(url)
    page.fill("#contract", CONTRACT)
    if not resume:
        page.uncheck("#resume")
    page.click("#review")


def test_report_arrives_token_by_token(page, api: CutProxy, upstream: FakeUpstream):
    sent = [f" t{i:03d}" for i in range(60)]
    upstream.push(Script(tokens=sent, delay=0.05))
    page.add_init_script(RECORD_LENGTHS)
    start_review(page, api.url, resume=False)
    page.wait_for_function(
        "() => document.querySelector('#status').innerText.startsWith('done')", timeout=60_000
    )
    seen = page.evaluate("() => window.__lengths")
    lengths = sorted({n for n in seen if 0 < n < len("".join(sent))})
    assert len(lengths) >= 30, f"the text did not grow token by token: {lengths}"
    assert all(length % 5 == 0 for length in lengths), "a token was split or merged oddly"
    assert shown(page).strip() == "".join(sent).strip()


def test_stop_ends_the_upstream_request(page, api: CutProxy, upstream: FakeUpstream):
    upstream.push(Script(tokens=[f" t{i:03d}" for i in range(400)], delay=0.05))
    start_review(page, api.url, resume=True)
    page.wait_for_function("() => document.querySelector('#report').innerText.length >= 20")
    record = upstream.streams()[-1]
    page.click("#stop")
    # The event, with a bound generous enough for a busy machine: the stream would run 20 s.
    assert upstream.wait_for_disconnect(15.0, record), "the upstream never saw the Stop"
    assert not record.completed
    page.wait_for_function("() => document.querySelector('#status').innerText === 'stopped'")
    assert record.tokens_sent < 400


def test_cut_connection_resumes_with_no_missing_or_repeated_token(
    page, api: CutProxy, upstream: FakeUpstream
):
    sent = [f" t{i:03d}" for i in range(80)]
    upstream.push(Script(tokens=sent, delay=0.04))
    page.add_init_script(RECORD_RESUMES)
    start_review(page, api.url, resume=True)
    page.wait_for_function("() => document.querySelector('#report').innerText.length >= 50")
    api.cut()
    before = shown(page)
    page.wait_for_function(
        "() => document.querySelector('#status').innerText.startsWith('done')", timeout=20_000
    )
    after = shown(page)
    assert len(before) < len(after)
    assert after.split() == "".join(sent).split(), "a token was lost or repeated"
    resumed_from = page.evaluate("() => window.__resumedFrom")
    assert len(resumed_from) == 1, "the client did not reconnect after the cut"
    assert api.cuts == 1 and len(upstream.streams()) == 1
    assert upstream.streams()[0].completed
