"""The live feed's route over HTTP: a run's text from the model server (the fake upstream, over
loopback) to an event-stream client, with the page's cuts, and who may read it."""

from __future__ import annotations

import json

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from devtools.fake_upstream import FakeUpstream, Script
from lib.engine.provider_config import Provider, ProviderConfig
from lib.engine.stream_model import stream_model
from lib.runs.lag_log import LagLog, read_samples
from lib.runs.live import LiveRun
from lib.ui import live_feed


@pytest.fixture
def client() -> TestClient:
    return TestClient(Starlette(routes=[live_feed.route()]))


def start(upstream: FakeUpstream, tokens: list[str], delay: float = 0.0) -> LiveRun:
    upstream.push(Script(tokens=tokens, delay=delay))
    cfg = ProviderConfig(Provider.OPENAI, "llama3.2", f"{upstream.url}/v1", read_timeout=10)
    return LiveRun(stream_model(cfg, "sys", "contract"))


def events(client: TestClient, url: str, **headers: str) -> list[tuple[str, str]]:
    """(event type, data) of each event of the response, until the feed's end."""
    found: list[tuple[str, str]] = []
    with client.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        kind = "message"
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line.removeprefix("event: ")
            elif line.startswith("data: "):
                found.append((kind, line.removeprefix("data: ")))
                kind = "message"
    return found


def text_of(found: list[tuple[str, str]]) -> str:
    return "".join(json.loads(data) for kind, data in found if kind == "message")


def test_the_feed_streams_the_run_text_then_ends(client, fake_upstream):
    tokens = [f" tok{i}" for i in range(40)]
    live = start(fake_upstream, tokens, delay=0.005)
    feed = live_feed.publish(live)
    try:
        whole = events(client, f"/_crs/live/{feed.name}")
        assert text_of(whole) == "".join(tokens)
        assert whole[-1] == ("end", "{}")
        again = events(client, f"/_crs/live/{feed.name}")  # the run has ended: all at once
        assert text_of(again) == "".join(tokens)
    finally:
        feed.withdraw()
        live.cancel()


def test_the_thinking_feed_streams_the_thinking_alone(client, fake_upstream):
    fake_upstream.push(Script(thinking=[" ponder", " more"], tokens=[" answer"], delay=0.05))
    cfg = ProviderConfig(Provider.OLLAMA, "qwen3", fake_upstream.url, read_timeout=10)
    live = LiveRun(stream_model(cfg, "sys", "contract"))
    thinking = live_feed.publish(live, thinking=True)
    answer = live_feed.publish(live)
    try:
        assert text_of(events(client, f"/_crs/live/{thinking.name}")) == " ponder more"
        assert text_of(events(client, f"/_crs/live/{answer.name}")) == " answer"
    finally:
        thinking.withdraw()
        answer.withdraw()
        live.cancel()


def test_the_page_cuts_reach_the_browser_as_events(client, fake_upstream):
    live = start(fake_upstream, ["Para one.\n\n", "Para two."], delay=0.3)
    feed = live_feed.publish(live)
    feed.drawn("Para one.\n\n")
    try:
        found = events(client, f"/_crs/live/{feed.name}")
        assert ("cut", str(len("Para one.\n\n"))) in found
    finally:
        feed.withdraw()
        live.cancel()


def test_a_cut_is_counted_as_the_browser_counts(client, fake_upstream):
    # Offsets travel in UTF-16 code units: one emoji is two of them, as in JavaScript.
    assert live_feed.utf16_units("a😀b") == 4
    assert live_feed.utf16_units("é") == 1
    live = start(fake_upstream, [" a"], delay=0.3)
    feed = live_feed.publish(live)
    feed.drawn("a😀b\n\n")
    feed.drawn("é\n\n")
    try:
        assert ("cut", "9") in events(client, f"/_crs/live/{feed.name}")
    finally:
        feed.withdraw()
        live.cancel()


def test_only_a_published_feed_answers_and_only_to_its_own_site(client, fake_upstream):
    assert client.get("/_crs/live/not-a-feed").status_code == 404
    live = start(fake_upstream, [" a", " b"])
    feed = live_feed.publish(live)
    name = feed.name
    try:
        # Another site's page cannot read it, even knowing its name.
        assert (
            client.get(f"/_crs/live/{name}", headers={"Sec-Fetch-Site": "cross-site"}).status_code
            == 403
        )
        assert (
            client.get(f"/_crs/live/{name}", headers={"Sec-Fetch-Site": "same-site"}).status_code
            == 403
        )
        same = events(client, f"/_crs/live/{name}", **{"Sec-Fetch-Site": "same-origin"})
        assert text_of(same) == " a b"
    finally:
        feed.withdraw()
        live.cancel()
    assert client.get(f"/_crs/live/{name}").status_code == 404  # withdrawn with its page


def test_feed_names_are_unguessable(fake_upstream):
    live = start(fake_upstream, [" a"])
    feeds = [live_feed.publish(live) for _ in range(50)]
    try:
        names = {feed.name for feed in feeds}
        assert len(names) == 50 and all(len(name) >= 43 for name in names)  # 32 random bytes
    finally:
        for feed in feeds:
            feed.withdraw()
        live.cancel()


def test_with_a_lag_log_each_write_is_timed_from_its_first_piece(client, fake_upstream, tmp_path):
    """Benchmarks only: the server's lag, from a piece's arrival to its write to the browser."""
    fake_upstream.push(Script(tokens=[f" t{i}" for i in range(20)], delay=0.01))
    cfg = ProviderConfig(Provider.OPENAI, "llama3.2", f"{fake_upstream.url}/v1", read_timeout=10)
    path = tmp_path / "lag.txt"
    live = LiveRun(stream_model(cfg, "sys", "contract"), lag_log=LagLog(path))
    feed = live_feed.publish(live)
    try:
        assert text_of(events(client, f"/_crs/live/{feed.name}")).endswith(" t19")
    finally:
        feed.withdraw()
        live.cancel()
    samples = read_samples(path)
    assert samples and all(s.arrived <= s.drained <= s.handed for s in samples)
    assert samples[0].arrived == pytest.approx(live.arrivals[0], abs=1e-6)


def test_the_route_sits_below_the_apps_base_url_path(fake_upstream):
    # Streamlit puts its own routes below `server.baseUrlPath`, and the component's relative
    # address resolves there: the feed's route must be there too.
    assert live_feed.route().path == "/_crs/live/{feed}"
    assert live_feed.route("/").path == "/_crs/live/{feed}"
    assert live_feed.route("review").path == "/review/_crs/live/{feed}"
    assert live_feed.route("/team/review/").path == "/team/review/_crs/live/{feed}"
    client = TestClient(Starlette(routes=[live_feed.route("review")]))
    live = start(fake_upstream, [" a", " b"])
    feed = live_feed.publish(live)
    try:
        assert text_of(events(client, f"/review/_crs/live/{feed.name}")) == " a b"
    finally:
        feed.withdraw()
        live.cancel()
