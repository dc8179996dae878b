"""Where a token's time goes on its way to the screen: `python -m bench.stages [--tokens N]`.

One run of ours at 200 tokens/s, measured twice:

- in this process, through the live view's own code (`lib.ui.live_view.LiveReport`, `lib.runs.live`),
  with each stage timed: read (the model server's send → the worker has the token), step (→ the
  page's next step takes it), then per step: fold (segments), check (quote checks), sanitise,
  and render (the Streamlit element built; no session is attached, so nothing is sent);
- in Chromium against the real app: a WebSocket hook stamps the first message holding each token,
  the MutationObserver the moment it is on screen: server and transport (send → message) and the
  browser's commit (message → screen).

The stages' sum is not the benchmark's latency (the runs differ); it says which stage to work on.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

from bench.stats import median, percentile
from devtools.fake_upstream import FakeUpstream, Script

RATE = 200.0  # tokens/s; 0: as fast as the model server can send
_NUMBER = re.compile(r"t(\d{5})")
WS_HOOK = """
(() => {
  const Native = window.WebSocket;
  window.__ws = [];
  const decoder = new TextDecoder();
  const pattern = /t(\\d{5})/g;
  function Hooked(...args) {
    const ws = new Native(...args);
    ws.addEventListener('message', (event) => {
      const now = performance.timeOrigin + performance.now();
      if (!(event.data instanceof ArrayBuffer)) return;
      let best = -1, m;
      const text = decoder.decode(event.data);
      while ((m = pattern.exec(text)) !== null) best = Math.max(best, Number(m[1]));
      while (window.__ws.length <= best) window.__ws.push(now);
    });
    return ws;
  }
  Hooked.prototype = Native.prototype;
  Object.assign(Hooked, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
  window.WebSocket = Hooked;
})();
"""


def _speed(rate: float) -> str:
    return f"{rate:.0f} tokens/s" if rate else "full speed"


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name:44} —"
    return (
        f"{name:44} p50 {percentile(values, 50):7.2f}  p95 {percentile(values, 95):7.2f}  "
        f"max {max(values):7.2f}  total {sum(values):8.1f}"
    )


def _timed(fn: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    """`fn`, adding the milliseconds spent in each call to `spent` (a function, so it binds as
    a method when set on a class)."""

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.append((time.perf_counter() - started) * 1000)

    return timed


def server(n: int, rate: float = RATE) -> list[str]:
    """The in-process half; returns the printed lines."""
    import streamlit as st

    from bench.browser import CONTRACT, tokens
    from lib.analysis.grounding import ContractIndex, GroundingTracker
    from lib.engine.provider_config import Provider, ProviderConfig
    from lib.engine.stream_model import stream_model
    from lib.runs.live import LiveRun, watch
    from lib.ui import live_view, safe
    from lib.ui.segments import SegmentedText

    spent: dict[str, list[float]] = {k: [] for k in ("fold", "check", "sanitise", "mark")}
    originals = (safe.md, live_view.md, live_view.annotate_markdown, SegmentedText.add)
    received: list[float] = []
    with FakeUpstream() as upstream:
        config = ProviderConfig(Provider.OPENAI, "bench", f"{upstream.url}/v1")
        upstream.push(Script(tokens=tokens("t", n), delay=1 / rate if rate else 0.0))
        stream = stream_model(config, "You review contracts.", CONTRACT, max_tokens=n + 10)

        class Stamped:
            stats = stream.stats

            def __iter__(self) -> Iterator[str]:
                for piece in stream:
                    now = time.time()
                    for _ in _NUMBER.finditer(piece):
                        received.append(now)
                    yield piece

            def close(self) -> None:
                stream.close()

            def refuse(self, error: Any) -> None:
                stream.refuse(error)

        safe.md = live_view.md = _timed(safe.md, spent["sanitise"])
        live_view.annotate_markdown = _timed(live_view.annotate_markdown, spent["mark"])
        SegmentedText.add = _timed(SegmentedText.add, spent["fold"])  # type: ignore[method-assign]
        try:
            tracker = GroundingTracker(ContractIndex.build(CONTRACT))
            tracker.feed = _timed(tracker.feed, spent["check"])  # type: ignore[method-assign]
            pane = live_view.LiveReport(st.container(), tracker, frozenset())
            live = LiveRun(Stamped(), tracker=tracker)
            stepped: list[float] = []
            draws: list[float] = []
            for step in watch([live]):
                now = time.time()
                text = step.texts[0]
                stepped += [now] * len(_NUMBER.findall(text))
                if text:
                    started = time.perf_counter()
                    pane.add(text)
                    draws.append((time.perf_counter() - started) * 1000)
        finally:
            safe.md, live_view.md, live_view.annotate_markdown, SegmentedText.add = originals
        record = upstream.streams()[-1]
    sent = [(t + record.wall_offset) for t in record.token_times]
    read = [(r - s) * 1000 for r, s in zip(received, sent, strict=False)]
    wait = [(p - r) * 1000 for p, r in zip(stepped, received, strict=False)]
    steps = len(draws)
    lines = [
        f"In process: {n:,} tokens at {_speed(rate)}, {steps} steps drawn "
        "(ms; read and step per token, the rest per step)",
        _summary("read: model server's send → worker", read),
        _summary("step: worker → the page's step", wait),
        _summary("fold: segments", spent["fold"]),
        _summary("check: quote checks (tracker.feed)", spent["check"]),
        _summary("sanitise: safe Markdown", spent["sanitise"]),
        _summary("mark: quote marks (annotate, incl. sanitise)", spent["mark"]),
        _summary("draw: the whole step (all of the above + render)", draws),
        f"the last token: read {read[-1]:.1f} ms, step {wait[-1]:.1f} ms, then its step's draw "
        f"{draws[-1]:.1f} ms",
    ]
    return lines


class ThreadCPU:
    """CPU seconds of each thread of a process, sampled until stopped (a thread that ends keeps
    its last figure): which thread of the server spends the run's CPU."""

    def __init__(self) -> None:
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.order: list[int] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        self._thread = threading.Thread(target=self._sample, args=(pid,), daemon=True)
        self._thread.start()

    def _sample(self, pid: int) -> None:
        ticks = os.sysconf("SC_CLK_TCK")
        while not self._stop.is_set():
            for task in Path(f"/proc/{pid}/task").glob("*"):
                with suppress(OSError, ValueError, IndexError):
                    fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
                    tid, cpu = int(task.name), (int(fields[11]) + int(fields[12])) / ticks
                    if tid not in self.first:
                        self.first[tid] = cpu
                        self.order.append(tid)
                    self.last[tid] = cpu
            self._stop.wait(0.05)

    def stop(self) -> list[str]:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        spent = [(tid, self.last[tid] - self.first[tid]) for tid in self.order]
        return [f"  thread {i} (tid {tid}): {cpu:.2f} s" for i, (tid, cpu) in enumerate(spent)
                if cpu >= 0.01]  # fmt: skip


def browser(n: int, rate: float = RATE) -> list[str]:
    """The Chromium half; returns the printed lines."""
    from playwright.sync_api import sync_playwright

    from bench.browser import ARGS, single_stream
    from devtools.chromium import CHROMIUM

    with FakeUpstream() as upstream, sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        page = chromium.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        page.add_init_script(WS_HOOK)
        threads = ThreadCPU()
        figures = single_stream(page, upstream, "app.py", n, rate, on_start=threads.start)
        per_thread = threads.stop()
        arrived = page.evaluate("() => window.__ws")
        seen = page.evaluate("() => window.__seen['t']")
        chromium.close()
        record = upstream.streams()[-1]
    sent = [(t + record.wall_offset) * 1000 for t in record.token_times]
    transport = [a - s for a, s in zip(arrived, sent, strict=False)]
    commit = [s - a for s, a in zip(seen, arrived, strict=False)]
    return [
        f"In Chromium: {n:,} tokens at {_speed(rate)} (ms per token); whole: p50 "
        f"{figures['p50_ms']:.0f}, p95 {figures['p95_ms']:.0f}, server CPU "
        f"{figures['server_cpu_s']:.2f} s",
        _summary("server + WebSocket: send → message", transport),
        _summary("browser commit: message → on screen", commit),
        f"median message → screen {median(commit):.1f} ms over {len(commit):,} tokens; the last "
        f"token: send → message {transport[-1]:.0f} ms, message → screen {commit[-1]:.0f} ms",
        "server CPU by thread, from the server's start (thread 0 is the event loop: WebSocket "
        "sends; the script runs on the thread started at the click, the model is read on the "
        "one after it):",
        *per_thread,
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tokens", type=int, default=4000)
    parser.add_argument("--rate", type=float, default=RATE, help="tokens/s; 0: full speed")
    parser.add_argument("--skip-browser", action="store_true")
    args = parser.parse_args()
    print("\n".join(server(args.tokens, args.rate)), flush=True)
    if not args.skip_browser:
        print("\n".join(browser(args.tokens, args.rate)))


if __name__ == "__main__":
    main()
