"""Runs a `ModelStream` on a worker thread and hands the page batches of text.

Why a thread: Streamlit can only stop a script when it next draws something, and a read blocked
waiting for the first token (cold model load, long prompt) draws nothing. The worker reads the HTTP
stream, timing every token on the raw stream; the script thread stays free to redraw a "waiting…"
line and live figures, and so stays interruptible.

Why batches: `st.write_stream` re-sends the whole text for every piece it is handed, so handing it
each token makes a long report cost quadratic bandwidth and CPU. `batches()` yields whatever has
arrived since the last render, at most once per render interval: a slow stream still shows each
token at once, a fast one is rendered about thirty times a second instead of per token.

Why a shared render budget: every re-render costs the server about a millisecond and the viewer's
browser about ten (profiles in docs/BENCHMARKS.md), whatever the stream's speed. With a fixed
interval, ten sessions streaming at once asked for 200 renders a second and the browsers fell
behind. The process hands out `RENDERS_PER_S` renders a second across all streams in flight: one
or two streams (a review, or a comparison) render every 30 ms, ten every 143 ms each, and the cost
of live rendering stops growing with the number of users.

The worker never calls Streamlit.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from lib.engine.errors import BadResponse, ProviderError
from lib.engine.run_stats import RunStats
from lib.engine.stream_model import ModelStream

_END = object()
DEFAULT_POLL_S = 0.1
MIN_RENDER_INTERVAL_S = 0.03
RENDERS_PER_S = 70.0
JOIN_TIMEOUT_S = 2.0


class _StreamsInFlight:
    """How many runs this process is streaming now, across every session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def add(self, n: int) -> None:
        with self._lock:
            self.count += n


_IN_FLIGHT = _StreamsInFlight()


def render_interval() -> float:
    """Seconds between two renders of one stream, under the process-wide render budget."""
    return max(MIN_RENDER_INTERVAL_S, _IN_FLIGHT.count / RENDERS_PER_S)


class LiveRun:
    """One model run in the background; `batches()` is meant for the script thread."""

    def __init__(
        self, stream: ModelStream, on_end: Callable[[LiveRun], None] | None = None
    ) -> None:
        """`on_end` runs on the worker thread once the run has ended, however it ended.

        Pages use it to record the run (history row, run log) even when the script that started
        the run was stopped or replaced by a rerun before it could do so itself.
        """
        self.stream = stream
        self.error: ProviderError | None = None
        self._on_end = on_end
        self._ended = False
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        _IN_FLIGHT.add(1)
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
            for token in self.stream:
                self._queue.put(token)
        except ProviderError as exc:
            self.error = exc
        except Exception as exc:
            self.error = BadResponse(f"Unexpected failure ({type(exc).__name__}).")
        finally:
            _IN_FLIGHT.add(-1)
            try:
                if self._on_end is not None:
                    self._on_end(self)
            finally:
                self._queue.put(_END)

    def batches(
        self, poll: float = DEFAULT_POLL_S, min_interval: float | None = None
    ) -> Iterator[str]:
        """Text that arrived since the last batch; "" every `poll` seconds while nothing does.

        Batches come at most once per `min_interval`, by default the current `render_interval()`.

        The empty yields let the caller redraw (and so be stoppable) while the model is silent.
        Ends when the run ends, whatever the reason; read `stats` and `error` afterwards.
        """
        last_yield = 0.0
        while True:
            try:
                item = self._queue.get(timeout=poll)
            except queue.Empty:
                yield ""
                continue
            parts: list[str] = []
            ended = item is _END
            if not ended:
                parts.append(item)  # type: ignore[arg-type]
                interval = render_interval() if min_interval is None else min_interval
                ended = self._collect(parts, last_yield + interval)
            if parts:
                last_yield = time.monotonic()
                yield "".join(parts)
            if ended:
                return

    def drain(self) -> tuple[str, bool]:
        """Whatever text is waiting now, without blocking, and whether the run has ended.

        For a page that watches several runs from one thread (`lib.runs.compare`).
        """
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

    def _collect(self, parts: list[str], not_before: float) -> bool:
        """Gather more tokens until `not_before`, then whatever else is waiting; True at the end."""
        while True:
            remaining = not_before - time.monotonic()
            try:
                item = (
                    self._queue.get(timeout=remaining)
                    if remaining > 0
                    else self._queue.get_nowait()
                )
            except queue.Empty:
                return False
            if item is _END:
                return True
            parts.append(item)  # type: ignore[arg-type]

    def cancel(self) -> None:
        """Abort the upstream request now and wait briefly for the worker to finish."""
        self.stream.close()
        self._thread.join(JOIN_TIMEOUT_S)
