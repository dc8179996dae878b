"""Many analysts at once, the server's share: 25 sessions streaming together from one app process.

On 2 cores, ten Chromium sessions saturate the machine with rendering, so a browser's figure says
more about the browsers than about the server. Here the server is timed from inside: the app runs
with `CRS_BENCH_LAG_FILE` (`lib.runs.lag_log`), and each batch of report text is stamped when its
first token came off the model stream and when it was written to the page's live feed. Target: that lag's
p95 ≤ 50 ms over every batch of every session.

Sessions: `BROWSER_PAGES` Chromium pages (one browser process, a context each, rendering as
foreground tabs; `bench.browser`) give the browser-side p95 as context, and the rest are
websocket clients speaking Streamlit's own protocol (`_WsSession`): they paste the contract and
click Review as a browser does, and the server does the same work for them (script runs, the live
view, the same messages on the wire), but no page is laid out. Twenty-five Chromium renderers on
2 cores would measure the browsers' contention again, and steal the server's CPU while doing so:
with five pages (`--pages 5`) the pages' p95 was 1.0 s and the server's lag p95 rose with them.

The app refuses runs past `CRS_MAX_CONCURRENT_RUNS` (16 by default); the benchmark sets it to the
number of sessions, so every one is admitted and a 26th would be refused.

`python -m bench.sessions [--quick]`
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import websockets
from playwright.sync_api import sync_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.browser import ARGS, _open, _paste, _wait_seen, streamlit, tokens
from bench.stats import cpu_seconds, median, peak_rss_mb, percentile
from devtools.chromium import CHROMIUM
from devtools.fake_upstream import FakeUpstream, Script
from devtools.streamlit_page import wait_idle
from lib.runs.lag_log import read_samples

SESSIONS = 25
BROWSER_PAGES = 2
RATE = 50.0
TARGET_LAG_P95_MS = 50.0
CONTRACT = "1. Parties. Acme Ltd and Beta GmbH. 12.1 The Supplier's liability is unlimited."
# How long the sessions may take to finish after the model's last token before we stop waiting.
CATCH_UP_LIMIT_S = 90


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class _WsSession:
    """One analyst without a browser: Streamlit's websocket protocol, as the page speaks it.

    It reruns the script with the widget states a browser would send (the contract typed in
    the text area, then the Review button's trigger) and reads the report's Markdown deltas,
    stamping when each token first arrives; like the page's component, it reads the run's live
    feed (`lib.ui.live_feed`) for the paragraph being written.
    """

    url: str
    prefixes: list[str]
    widgets: dict[str, str] = field(default_factory=dict)  # "contract" / "review" → widget id
    page_hash: str = ""
    prefix: str | None = None
    seen: list[float] = field(default_factory=list)  # wall time each token index first arrived
    feeds: list[str] = field(default_factory=list)  # live feeds the page mounted, not yet read

    def _rerun(self, *, text: bool, click: bool) -> bytes:
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = ""
        state.page_script_hash = self.page_hash
        if text:
            widget = state.widget_states.widgets.add()
            widget.id = self.widgets["contract"]
            widget.string_value = CONTRACT
        if click:
            widget = state.widget_states.widgets.add()
            widget.id = self.widgets["review"]
            widget.trigger_value = True
        return msg.SerializeToString()

    def _read(self, data: bytes, pattern: re.Pattern[str]) -> bool:
        """Take one server message; True when it ends a script run."""
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "new_session" and msg.new_session.page_script_hash:
            self.page_hash = msg.new_session.page_script_hash
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            which = element.WhichOneof("type")
            if which == "text_area" and element.text_area.label == "Contract text":
                self.widgets["contract"] = element.text_area.id
            elif which == "button" and element.button.label == "Review":
                self.widgets["review"] = element.button.id
            elif which == "markdown":
                self._tokens(element.markdown.body, pattern)
            elif which == "bidi_component" and element.bidi_component.json:
                src = json.loads(element.bidi_component.json).get("src")
                if src:
                    self.feeds.append(src)
        return kind == "script_finished"

    async def _feed(self, client: httpx.AsyncClient, src: str, pattern: re.Pattern[str]) -> None:
        """Read one live feed as the page's component does, stamping each token as it comes."""
        tail = ""
        async with client.stream("GET", f"{self.url}/{src}") as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and line != "data: {}":
                    piece = json.loads(line.removeprefix("data: "))
                    if isinstance(piece, str):
                        tail = (tail + piece)[-400:]
                        self._tokens(tail, pattern)

    def _tokens(self, body: str, pattern: re.Pattern[str]) -> None:
        now = time.time() * 1000
        for prefix, index in pattern.findall(body[-400:]):
            if self.prefix is None:
                self.prefix = prefix
            if prefix == self.prefix:
                while len(self.seen) <= int(index):
                    self.seen.append(now)

    async def run(self, pasted: asyncio.Queue[None], go: asyncio.Event, n: int) -> None:
        pattern = re.compile("(" + "|".join(self.prefixes) + r")(\d{5})")
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        async with websockets.connect(
            ws_url, subprotocols=["streamlit"], max_size=None, ping_interval=None
        ) as ws:

            async def until_finished() -> None:
                while not self._read(await ws.recv(), pattern):
                    pass

            await ws.send(self._rerun(text=False, click=False))
            await until_finished()
            await ws.send(self._rerun(text=True, click=False))
            await until_finished()
            pasted.put_nowait(None)
            await go.wait()
            await ws.send(self._rerun(text=True, click=True))
            # The run's script ends after its report is drawn (and the lag samples written).
            async with httpx.AsyncClient(timeout=None) as client, asyncio.TaskGroup() as feeds:
                while not (self._read(await ws.recv(), pattern) and len(self.seen) >= n):
                    while self.feeds:
                        feeds.create_task(self._feed(client, self.feeds.pop(), pattern))


def _ws_sessions(
    url: str, prefixes: list[str], count: int, n: int, ready: threading.Event
) -> tuple[list[_WsSession], threading.Thread, asyncio.AbstractEventLoop, asyncio.Event]:
    """`count` websocket sessions on their own event loop thread: `ready` is set once every one
    has pasted its contract; each then waits for the returned event before it clicks Review."""
    loop = asyncio.new_event_loop()
    go = asyncio.Event()
    sessions = [_WsSession(url, prefixes) for _ in range(count)]

    async def main() -> None:
        pasted: asyncio.Queue[None] = asyncio.Queue()

        async def all_pasted() -> None:
            for _ in sessions:
                await pasted.get()
            ready.set()

        await asyncio.gather(all_pasted(), *(session.run(pasted, go, n) for session in sessions))

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    return sessions, thread, loop, go


def one_run(browser, upstream: FakeUpstream, n: int, pages_count: int) -> dict:
    prefixes = [f"s{i}x" for i in range(SESSIONS)]
    with tempfile.TemporaryDirectory() as tmp:
        lag_file = Path(tmp) / "lag.txt"
        env = {
            "OPENAI_BASE_URL": f"{upstream.url}/v1",
            "OLLAMA_HOST": "http://127.0.0.1:9",
            "CRS_MAX_CONCURRENT_RUNS": str(SESSIONS),
            "CRS_BENCH_LAG_FILE": str(lag_file),
            "CRS_HISTORY_DB": str(Path(tmp) / "history.sqlite3"),
        }
        with streamlit("app.py", env) as (url, pid):
            rss_before = rss_mb(pid)
            contexts = [browser.new_context() for _ in range(pages_count)]
            pages = [context.new_page() for context in contexts]
            for page in pages:
                _open(page, url, prefixes)
                _paste(page, "Contract text")
                wait_idle(page)
            ready = threading.Event()
            ws, thread, loop, go = _ws_sessions(url, prefixes, SESSIONS - pages_count, n, ready)
            if not ready.wait(timeout=180):
                raise RuntimeError("the websocket sessions could not paste their contracts")
            rss_idle = rss_mb(pid)
            before = len(upstream.streams())
            upstream.push(*(Script(tokens=tokens(p, n), delay=1 / RATE) for p in prefixes))
            cpu_before = cpu_seconds(pid)
            loop.call_soon_threadsafe(go.set)
            for page in pages:
                page.locator(".st-key-review button").first.click()
            deadline = time.monotonic() + n / RATE + CATCH_UP_LIMIT_S
            thread.join(max(1.0, deadline - time.monotonic()))
            browser_added: list[float] = []
            completed = sum(len(s.seen) >= n for s in ws)
            records = upstream.streams()[before:]
            by_prefix = dict(zip(prefixes, records, strict=False))
            ws_added = [
                seen - (t + by_prefix[s.prefix].wall_offset) * 1000
                for s in ws
                if s.prefix in by_prefix
                for seen, t in zip(s.seen, by_prefix[s.prefix].token_times, strict=False)
            ]
            for page in pages:
                seen_all = page.evaluate("() => window.__seen")
                prefix = next((p for p in prefixes if seen_all.get(p)), None)
                if prefix is None:
                    continue
                _wait_seen(page, prefix, n, max(1.0, deadline - time.monotonic()))
                wait_idle(page, timeout_ms=int(max(1.0, deadline - time.monotonic()) * 1000))
                seen = page.evaluate(f"() => window.__seen['{prefix}']")
                completed += len(seen) >= n
                record = by_prefix[prefix]
                sent = [(t + record.wall_offset) * 1000 for t in record.token_times]
                browser_added += [s - t for s, t in zip(seen, sent, strict=False)]
            server_cpu = cpu_seconds(pid) - cpu_before
            peak = peak_rss_mb(pid)
            for context in contexts:
                context.close()
            samples = read_samples(lag_file)
    lags = [s.lag * 1000 for s in samples]
    waits = [(s.drained - s.arrived) * 1000 for s in samples]
    work = [(s.handed - s.drained) * 1000 for s in samples]
    return {
        "completed": completed,
        "runs_admitted": len(records),
        "batches": len(samples),
        "lag_p50_ms": percentile(lags, 50) if lags else float("nan"),
        "lag_p95_ms": percentile(lags, 95) if lags else float("nan"),
        "lag_max_ms": max(lags, default=float("nan")),
        "wait_p95_ms": percentile(waits, 95) if waits else float("nan"),
        "work_p95_ms": percentile(work, 95) if work else float("nan"),
        "cpu_s_per_session": server_cpu / SESSIONS,
        "rss_mb_per_session": (peak - rss_before) / SESSIONS,
        "rss_idle_mb_per_session": (rss_idle - rss_before) / SESSIONS,
        "rss_before_mb": rss_before,
        "peak_rss_mb": peak,
        "browser_p95_ms": percentile(browser_added, 95) if browser_added else float("nan"),
        "ws_p95_ms": percentile(ws_added, 95) if ws_added else float("nan"),
    }


def run(quick: bool = False, pages: int = BROWSER_PAGES) -> dict:
    n, repeats = (300, 1) if quick else (1000, 3)
    rows = []
    with FakeUpstream() as upstream, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        for _ in range(repeats):
            rows.append(one_run(browser, upstream, n, pages))
        browser.close()
    return {"rows": rows, "tokens": n, "pages": pages}


def render(results: dict) -> list[str]:
    rows, n, pages = results["rows"], results["tokens"], results["pages"]

    def mid(key: str) -> float:
        return median([row[key] for row in rows])

    def spread(key: str, digits: int = 0) -> str:
        values = [row[key] for row in rows]
        text = f"{median(values):.{digits}f}"
        return (
            text
            if len(values) == 1
            else f"{text} ({min(values):.{digits}f}–{max(values):.{digits}f})"
        )

    completed = min(row["completed"] for row in rows)
    lines = [
        f"{SESSIONS} sessions streaming at once from one app process, {n:,} tokens each at "
        f"{RATE:.0f} tokens/s from the fake server: {pages} Chromium pages and "
        f"{SESSIONS - pages} websocket sessions (Streamlit's own protocol, no page layout). Run "
        f"cap: `CRS_MAX_CONCURRENT_RUNS={SESSIONS}` (the default, 16, refuses the 17th). Server "
        f"lag timed inside the server (`CRS_BENCH_LAG_FILE`): a batch's first token off the model "
        f"stream → its write to the page's live feed. The websocket sessions read their feeds as "
        f"the page does, all in the benchmark's one Python process beside the fake model server, "
        f"so their figure is context. Median of {len(rows)} run(s), range in brackets.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| sessions complete | {completed} of {SESSIONS} (runs admitted: "
        f"{min(row['runs_admitted'] for row in rows)}) |",
        f"| batches timed | {spread('batches')} |",
        f"| server lag p50 ms | {spread('lag_p50_ms')} |",
        f"| server lag p95 ms | {spread('lag_p95_ms')} |",
        f"| server lag max ms | {spread('lag_max_ms')} |",
        f"| of which waiting to be taken (p95 ms) | {spread('wait_p95_ms')} |",
        f"| of which sending the batch (p95 ms) | {spread('work_p95_ms')} |",
        f"| server CPU per session s | {spread('cpu_s_per_session', 2)} |",
        f"| server RSS per session MB (peak − before) | {spread('rss_mb_per_session', 1)} |",
        f"| server RSS before / peak MB | {mid('rss_before_mb'):.0f} / {mid('peak_rss_mb'):.0f} |",
        f"| websocket sessions, token to client p95 ms | {spread('ws_p95_ms')} |",
        f"| Chromium pages, token to screen p95 ms (context) | {spread('browser_p95_ms')} |",
        "",
    ]
    lag = mid("lag_p95_ms")
    verdicts = [
        f"- all sessions complete: {completed} of {SESSIONS} — "
        f"{'met' if completed == SESSIONS else 'missed'}.",
        f"- server lag p95: {lag:.0f} ms, target ≤ {TARGET_LAG_P95_MS:.0f} ms — "
        f"{'met' if lag <= TARGET_LAG_P95_MS else 'missed'}.",
    ]
    return [*lines, *verdicts]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="shorter streams, one run")
    parser.add_argument("--pages", type=int, default=BROWSER_PAGES, help="Chromium pages")
    args = parser.parse_args(argv)
    print("\n".join(render(run(quick=args.quick, pages=args.pages))))


if __name__ == "__main__":
    main()
