"""The line a model is writing, sent straight to the analyst's browser as it grows.

Why: every live update drawn through Streamlit costs the server a script-thread wake-up, a
protobuf delta, an event-loop hop and a WebSocket send, and the browser a React render of a
Markdown element, whatever the size of the update (docs/PROFILES.md). So the page draws through
Streamlit only what changes slowly: each line once it is complete (a paragraph's finished lines
together), as Markdown, sanitised and with its quotes checked (`lib.ui.live_view`). The line
being written reaches the page over one same-origin event stream per run (`GET /_crs/live/<feed>`),
read by a small component that appends each piece to a text node and drops the part the page has
drawn as Markdown (`cut`).

Untrusted text: the tail is text, never markup. The component only ever sets text nodes, so
nothing a model writes can run, style or load anything, whatever it holds; the JSON-encoded
pieces travel as `data:` lines of the event stream and are never parsed as HTML. A feed is named
by 32 random bytes that only the page drawing the run is given, answers only same-origin
requests, is never cached, and is withdrawn when the page stops watching the run.

The feed exists only where the app is served through its ASGI entry (`app.py`, which calls
`routes()`); elsewhere (Streamlit's `AppTest`) the page draws the tail as Markdown as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import streamlit as st
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from lib.runs.lag_log import LagLog
from lib.runs.live import LiveRun

# Below the app's base URL path (`server.baseUrlPath`), as the component's relative address is.
PATH = "_crs/live/{feed}"
# Seconds between comment lines while the model is silent.
KEEPALIVE_S = 15.0
# At most one write to the browser per this many seconds (250 a second): below what an analyst
# can see, above the pace of a model writing 200 tokens a second, each of which is then sent alone.
WRITE_INTERVAL_S = 0.004
# Fetch Metadata: what a browser says about where a request comes from; "none" is the address bar.
_ALLOWED_SITES = frozenset({"same-origin", "none"})


@dataclass
class Feed:
    """One run's live text for the browser (its answer, or its thinking), and where the page's
    Markdown has reached, in UTF-16 code units (as the browser counts): the component drops the
    text before it (a `cut` event)."""

    live: LiveRun
    thinking: bool = False
    drawn: int = 0

    def since(self, parts: int) -> tuple[str, int]:
        """The text after its first `parts` pieces, and how many pieces there are now."""
        if self.thinking:
            return self.live.stats.thinking_since(parts)
        upto = len(self.live.pieces)  # taken first: the worker may append meanwhile
        return "".join(self.live.pieces[parts:upto]), upto


_FEEDS: dict[str, Feed] = {}
_served = False


def served() -> bool:
    """Whether this process serves the feed route (the app through its ASGI entry)."""
    return _served


def routes() -> list[Route]:
    """The feed's route, for the `st.App` in `app.py`: from then on this process's pages use it.

    Streamlit serves its own routes below `server.baseUrlPath` (the app behind a proxy at
    `/review/`), but an app's routes where they are written; the component's relative address
    resolves below the base path, so the route is put there too."""
    global _served
    _served = True
    return [route(st.get_option("server.baseUrlPath"))]


def route(base: str = "") -> Route:
    """The feed's route below the base URL path `base` ("" or "/": the root)."""
    return Route("/" + "/".join(filter(None, (base.strip("/"), PATH))), _stream, methods=["GET"])


@dataclass
class Published:
    """The page's hold on one feed: where to show it, and how far it has drawn it itself."""

    name: str
    units: int = 0

    def show(self, slot: Any) -> None:
        """Draw the component reading this feed in `slot` (an empty placeholder)."""
        with slot:
            _component()(data={"src": f"_crs/live/{self.name}"})

    def drawn(self, text: str) -> None:
        """The page has drawn the feed's next `text` as Markdown: the component drops it."""
        feed = _FEEDS.get(self.name)
        if feed is not None:
            self.units += utf16_units(text)
            feed.drawn = self.units
            feed.live.wake_readers()

    def withdraw(self) -> None:
        """The page stopped watching: the feed answers no new request (one streaming ends with
        its run)."""
        _FEEDS.pop(self.name, None)


def publish(live: LiveRun, thinking: bool = False) -> Published:
    """A new feed of `live`'s answer (or its thinking); only its name reads it."""
    name = secrets.token_urlsafe(32)
    _FEEDS[name] = Feed(live, thinking)
    if thinking:
        # Thinking is folded into the run's stats, not queued: ask them to wake the readers.
        live.stats.on_thinking = live.wake_readers
    return Published(name)


def utf16_units(text: str) -> int:
    """The length of `text` as the browser counts it."""
    return len(text.encode("utf-16-le")) // 2


async def _stream(request: Request) -> Response:
    feed = _FEEDS.get(request.path_params["feed"])
    site = request.headers.get("sec-fetch-site")
    if site is not None and site not in _ALLOWED_SITES:
        return Response(status_code=403)
    if feed is None:
        return Response(status_code=404)
    headers = {
        "Cache-Control": "no-store",
        "X-Accel-Buffering": "no",  # nginx: pass each piece on as it comes
        "X-Content-Type-Options": "nosniff",
    }
    return EventSourceResponse(
        _events(feed),
        headers=headers,
        ping=KEEPALIVE_S,  # a comment now and then: a browser that went away is noticed
        sep="\n",
        ping_message_factory=lambda: ServerSentEvent(comment="still writing", sep="\n"),
    )


async def _events(feed: Feed) -> AsyncIterator[ServerSentEvent]:
    """The feed's text, piece by piece as the worker reads it, with the page's cuts between, then
    `end`."""
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()
    # Whether a wake-up is on its way: the worker hands the event loop one per wait, not one per
    # token (each costs a write to the loop's self-pipe and a turn of the loop).
    rung = [False]

    def ring() -> None:
        if rung[0]:
            return
        rung[0] = True
        with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
            loop.call_soon_threadsafe(wake.set)

    live = feed.live
    sent = 0

    def take() -> str:
        """The text put since the last call."""
        nonlocal sent
        text, sent = feed.since(sent)
        return text

    # Benchmarks only: each write timed from its first piece's arrival (`lib.runs.lag_log`).
    lag = LagLog(live.lag_log.path) if live.lag_log is not None and not feed.thinking else None
    live.add_waker(ring)
    try:
        drawn, last_write = 0, 0.0
        while True:
            wake.clear()
            rung[0] = False  # before reading: a piece put after this rings again
            done = live.done  # read before the pieces: a piece put before `done` is then in them
            first = sent
            text = take()
            if text:
                # Every write costs the server a send through the middleware and the socket,
                # whatever its size: a fast model's pieces wait to be sent a few at a time.
                early = last_write + WRITE_INTERVAL_S - loop.time()
                if early > 0:
                    await asyncio.sleep(early)
                    text += take()
                last_write = loop.time()
                if lag is not None:
                    lag.drained(live.arrivals[first], time.monotonic())
                yield ServerSentEvent(json.dumps(text), sep="\n")
                if lag is not None:
                    lag.handed(time.monotonic())  # resumed once the write was sent
            if feed.drawn > drawn:
                drawn = feed.drawn
                yield ServerSentEvent(str(drawn), event="cut", sep="\n")
            if done:
                yield ServerSentEvent("{}", event="end", sep="\n")
                return
            await wake.wait()
    finally:
        live.remove_waker(ring)
        if lag is not None:
            lag.write()


# The component: a text node the feed's pieces are appended to. Trusted code of ours; the text it
# shows is only ever set as text (`appendData`), never as markup.
_JS = """
export default function ({ data, parentElement }) {
  let view = parentElement.querySelector("div.crs-live-tail");
  if (view && view.dataset.feed === data.src) return;
  if (view) { view.source?.close(); view.remove(); }
  view = document.createElement("div");
  view.className = "crs-live-tail";
  view.dataset.feed = data.src;
  const text = document.createTextNode("");
  view.append(text);
  parentElement.append(view);
  // `shown`: where the text node starts in the report; `at`: where the pieces received end
  // (both in UTF-16 code units, as the page's cuts are).
  let shown = 0, at = 0;
  const source = new EventSource(data.src);
  view.source = source;
  source.onmessage = (event) => {
    const piece = JSON.parse(event.data);
    const fresh = at < shown ? piece.slice(shown - at) : piece;
    at += piece.length;
    if (fresh) text.appendData(fresh);
  };
  source.addEventListener("cut", (event) => {
    const upTo = Number(event.data);
    // After the next frame: the page's Markdown of the same text is drawn by then.
    requestAnimationFrame(() => requestAnimationFrame(() => {
      if (upTo <= shown) return;
      text.deleteData(0, Math.max(0, Math.min(upTo, at) - shown));
      shown = upTo;
    }));
  });
  // No reconnecting: at the end, or if the stream breaks, the page draws the text itself.
  source.addEventListener("end", () => source.close());
  source.onerror = () => source.close();
  return () => source.close();
}
"""

_CSS = """
.crs-live-tail {
  white-space: pre-wrap;
  overflow-wrap: anywhere;
  line-height: 1.6;
  margin-bottom: 1rem;
}
"""


@functools.cache
def _component() -> Any:
    # Registered at first use, inside a script run: the server imports this module before its
    # runtime exists.
    return st.components.v2.component(
        "contract_review_studio.live_tail", js=_JS, css=_CSS, isolate_styles=False
    )
