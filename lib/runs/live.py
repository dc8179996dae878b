"""Runs a `ModelStream` on a worker thread and hands the page batches of text.

Why a thread: Streamlit can only stop a script when it next draws something, and a read blocked
waiting for the first token (cold model load, long prompt) draws nothing. The worker reads the HTTP
stream, timing every token on the raw stream; the script thread stays free to redraw a "waiting…"
line and live figures, and so stays interruptible.

Why steps: redrawing the page for every token makes a long report cost quadratic bandwidth and
CPU. `watch()` hands the page whatever each run produced since the last render, at most once per
render interval: a token that arrives after a quiet spell is handed over at once (the worker
rings the watcher), a fast stream is rendered about seventy times a second instead of per token.

Why a shared render budget: every re-render costs the server a little (about half a millisecond
of CPU, figures in docs/BENCHMARKS.md, "Many analysts at once") whatever the stream's speed, so the
process hands out `RENDERS_PER_S` renders a second across the pages watching runs: one page (a
review, or a comparison, whose sides are drawn in the same step) renders once per animation frame
(17 ms), twenty-five every 31 ms each, a hundred every 125 ms, and the server's cost of live
rendering stops growing with the number of users. The budget is sized by the server's cost, not
by the browsers': each analyst's browser draws only its own page. (A budget of 70 renders a second
once kept ten Chromium pages sharing one 2-core benchmark machine from falling behind, and made
every analyst wait 357 ms between renders with twenty-five pages watching.)

The worker never calls Streamlit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from lib.analysis.grounding import GroundingTracker
from lib.engine.errors import BadResponse, ProviderError, RateLimited
from lib.engine.limits import InFlight, busy_message
from lib.engine.run_stats import RunStats
from lib.runs.lag_log import LagLog


class TextStream(Protocol):
    """What a live run reads: a `ModelStream`, or a long review made of several of them."""

    stats: RunStats

    def __iter__(self) -> Iterator[str]: ...

    def close(self) -> None: ...

    def refuse(self, error: ProviderError) -> None: ...


_END = object()
DEFAULT_POLL_S = 0.1
# One animation frame: a page redrawn more often than the screen refreshes shows nothing more.
MIN_RENDER_INTERVAL_S = 1 / 60
RENDERS_PER_S = 800.0
JOIN_TIMEOUT_S = 2.0
# Seconds without a token (of the answer or of the thinking) before the live line says the model
# has gone silent: longer than a model's pause between two tokens, short of an analyst wondering.
SILENCE_NOTICE_S = 5.0


# Runs streaming in this process now, across every session: watched runs and batch workers.
STREAMS_IN_FLIGHT = InFlight()
# Pages drawing runs live now (`watch`), across every session: they share the render budget.
WATCHERS = InFlight()


def silence_note(stats: RunStats, now: float | None = None) -> str | None:
    """What the live line says once a run that was sending has been silent `SILENCE_NOTICE_S` or
    more: for how long, and after how much silence the run ends by itself (the read timeout it
    uses). None while it sends, before its first token (the waiting line says that) and after
    its end.

    Why: a stalled stream showed its last figures, its speed frozen as if current, for as long as
    the read timeout (5 minutes by default), with no sign that nothing was coming."""
    heard = stats.last_heard
    if heard is None or stats.ended_at is not None:
        return None
    silent = (time.monotonic() if now is None else now) - heard
    if silent < SILENCE_NOTICE_S:
        return None
    ends = (
        f" — the run ends after {stats.read_timeout:g} s of silence"
        if stats.read_timeout is not None
        else ""
    )
    return f"nothing received for {silent:.0f} s{ends} (Stop to end it now)"


def claim_slot(limit: int, places: int = 1) -> bool:
    """Take one of the `limit` (> 0) places for runs streaming at once, before the run exists:
    a front end that answers "busy" (the API's 429) then records nothing for a refused request.
    The place passes to the `LiveRun` made with `claimed=True`, or back with `release_slot`.

    `places` runs that are one piece of work (a comparison's sides) take theirs all at once or
    none: one side started and billed while the cap refused the other is no comparison."""
    return STREAMS_IN_FLIGHT.admit(limit, places)


def release_slot() -> None:
    STREAMS_IN_FLIGHT.release()


def render_interval(floor: float = MIN_RENDER_INTERVAL_S) -> float:
    """Seconds between two renders of one page, under the process-wide render budget; `floor`
    is the shortest (one animation frame unless a benchmark measures another)."""
    return max(floor, WATCHERS.count / RENDERS_PER_S)


class LiveRun:
    """One model run in the background; the script thread reads it through `watch()`."""

    def __init__(
        self,
        stream: TextStream,
        on_end: Callable[[LiveRun], None] | None = None,
        tracker: GroundingTracker | None = None,
        notify: Callable[[], None] | None = None,
        max_concurrent: int = 0,
        claimed: bool = False,
        lag_log: LagLog | None = None,
        on_text: Callable[[str], None] | None = None,
        min_render_interval: float | None = None,
        refusal: ProviderError | None = None,
    ) -> None:
        """`on_end` runs on the worker thread once the run has ended, however it ended.

        Pages use it to record the run (history row, run log) even when the script that started
        the run was stopped or replaced by a rerun before it could do so itself. `tracker` checks
        the report's quotes as it is drawn; only the script thread feeds it.

        `notify` runs on the worker thread after each piece of text and after the end: a reader
        on an event loop (the HTTP API) is woken at once instead of polling `drain()`. A run
        beyond `max_concurrent` runs streaming in this process (0: no cap) ends at once as rate
        limited, through the same path, so the page shows why and the history records it;
        `claimed`: the caller already holds its place (`claim_slot`). `refusal`: the caller
        could not take its place (a comparison's sides take theirs together): the run ends at
        once with it, through the same path.

        `lag_log` (benchmarks only, `CRS_BENCH_LAG_FILE`) times each batch from its first token's
        arrival to its draw (`lib.runs.lag_log`); without it no token is timed here.

        `on_text` reads each piece of text on the worker thread before it is queued: a playbook
        check parses its answer there, so its verdicts are decided even when nobody watches.

        `min_render_interval` (benchmarks only, `CRS_BENCH_RENDER_INTERVAL`) replaces the one
        animation frame between two renders of the page watching this run.
        """
        self.stream = stream
        self.tracker = tracker
        self.error: ProviderError | None = None
        self._on_end = on_end
        # Woken on the worker thread after each piece of text and after the end (`add_waker`).
        self._wakers: list[Callable[[], None]] = [notify] if notify is not None else []
        self._on_text = on_text
        self._ended = False
        # Every piece of text so far, in order, for readers besides the page (`lib.ui.live_feed`);
        # `done` once the last piece is in.
        self.pieces: list[str] = []
        # With a lag log: when each piece came off the model stream (the live feed times its
        # writes from them).
        self.arrivals: list[float] = []
        self.done = False
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.lag_log = lag_log
        self.min_render_interval = (
            MIN_RENDER_INTERVAL_S if min_render_interval is None else min_render_interval
        )
        # When the first token now waiting in the queue arrived; read and reset under the lock, so
        # a token put between a drain and its reset is never left without a time.
        self._lag_lock = threading.Lock()
        self._waiting_since: float | None = None
        # Rung after each piece of text and at the end, so a waiting `watch` steps at once.
        self.bell = threading.Event()
        self._admitted = refusal is None and (claimed or STREAMS_IN_FLIGHT.admit(max_concurrent))
        if not self._admitted:
            self.error = refusal or RateLimited(busy_message(max_concurrent))
            stream.refuse(self.error)
        self._thread = threading.Thread(target=self._pump, name="model-stream", daemon=True)
        self._thread.start()

    @property
    def stats(self) -> RunStats:
        return self.stream.stats

    @property
    def finished(self) -> bool:
        return not self._thread.is_alive()

    def _pump(self) -> None:
        try:
            if self._admitted:
                for token in self.stream:
                    if self._on_text is not None:
                        self._on_text(token)
                    if self.lag_log is None:
                        self.pieces.append(token)
                        self._queue.put(token)
                    else:
                        self.arrivals.append(time.monotonic())  # before its piece is readable
                        self.pieces.append(token)
                        self._put_timed(token)
                    if not self.bell.is_set():  # setting takes a lock; most tokens find it set
                        self.bell.set()
                    for wake in self._wakers:
                        wake()
        except ProviderError as exc:
            self.error = exc
        except Exception as exc:
            self.error = BadResponse(f"Unexpected failure ({type(exc).__name__}).")
        finally:
            if self._admitted:
                STREAMS_IN_FLIGHT.release()
            try:
                if self._on_end is not None:
                    self._on_end(self)
            finally:
                self.done = True
                self._queue.put(_END)
                self.bell.set()
                for wake in self._wakers:
                    wake()

    def add_waker(self, wake: Callable[[], None]) -> None:
        """Call `wake` on the worker thread after each new piece of `pieces` and after `done`.
        A reader adds its waker before it first reads `pieces`, so it misses nothing."""
        # A new list each time: the worker iterates the old one meanwhile, untouched.
        self._wakers = [*self._wakers, wake]

    def remove_waker(self, wake: Callable[[], None]) -> None:
        self._wakers = [w for w in self._wakers if w is not wake]

    def wake_readers(self) -> None:
        """Wake every reader now: something besides the text changed (`lib.ui.live_feed.cut`)."""
        for wake in self._wakers:
            wake()

    def _put_timed(self, token: str) -> None:
        with self._lag_lock:
            if self._waiting_since is None:
                self._waiting_since = time.monotonic()
            self._queue.put(token)

    def drain(self) -> tuple[str, bool]:
        """Whatever text is waiting now, without blocking, and whether the run has ended.

        For `watch`, which takes turns between the runs a page shows.
        """
        if self.lag_log is None:
            return self._take()
        with self._lag_lock:
            text, ended = self._take()
            arrived, self._waiting_since = self._waiting_since, None
        if text and arrived is not None:
            self.lag_log.drained(arrived, time.monotonic())
        return text, ended

    def handed(self) -> None:
        """The text last drained is now in its placeholder: the end of its lag sample."""
        if self.lag_log is not None:
            self.lag_log.handed(time.monotonic())

    def _take(self) -> tuple[str, bool]:
        parts: list[str] = []
        ended = self._ended
        while not ended:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _END:
                ended = self._ended = True
            else:
                parts.append(item)  # type: ignore[arg-type]
        return "".join(parts), ended

    def cancel(self) -> None:
        """Abort the upstream request now and wait briefly for the worker to finish."""
        self.stream.close()
        self._thread.join(JOIN_TIMEOUT_S)


IDLE_S = 0.1


@dataclass(frozen=True)
class Step:
    """New text per side since the last step ("" when a side produced nothing), and the order to
    draw the sides in.

    The browser applies the sides' updates one after the other, so the side drawn second reaches
    the screen a little later (docs/BENCHMARKS.md, Compare). The side that goes first takes turns,
    so neither model always shows later.
    """

    texts: tuple[str, ...]
    order: tuple[int, ...]

    @property
    def any_text(self) -> bool:
        return any(self.texts)


def watch(lives: Sequence[LiveRun], idle: float = IDLE_S) -> Iterator[Step]:
    """Steps until every run has ended: at most one per `render_interval()` while text (or a
    model's thinking, read from its stats) flows, one per `idle` while all sides are silent (so
    the caller can redraw waiting lines and be stopped). The interval runs from one drain to the
    next, so the time the caller spends drawing a step is not added to the wait for the next one;
    once it has passed, the next step comes as soon as a worker has text.
    """
    bell = threading.Event()
    for live in lives:
        live.bell = bell  # every worker of this page rings the one bell the page waits on
    ended = [False] * len(lives)
    last_step = time.monotonic()
    turn = 0
    # Thinking is read from each run's stats, not the queue: a step is due when it grew too.
    thought = [0] * len(lives)
    floor = min(live.min_render_interval for live in lives)
    WATCHERS.admit(0)
    try:
        while not all(ended):
            bell.clear()
            drained_at = time.monotonic()
            texts = []
            for i, live in enumerate(lives):
                text, done = ("", True) if ended[i] else live.drain()
                ended[i] = done
                texts.append(text)
            thinking = [live.stats.thinking_chars for live in lives]
            moved, thought = thinking != thought, thinking
            order = tuple((turn + i) % len(lives) for i in range(len(lives)))
            step = Step(tuple(texts), order)
            now = time.monotonic()
            if step.any_text or moved or now - last_step >= idle or all(ended):
                last_step = now
                turn += 1
                yield step
            if all(ended):
                break
            time.sleep(max(0.0, drained_at + render_interval(floor) - time.monotonic()))
            # Thinking grows without ringing (it is not text in the queue): keep the pace then.
            if not any(live.stats.is_thinking for live in lives):
                bell.wait(max(0.0, last_step + idle - time.monotonic()))
    finally:
        WATCHERS.release()


def stop_all(lives: Sequence[LiveRun]) -> None:
    for live in lives:
        live.stream.close()
    for live in lives:
        live.cancel()
