"""The API's runs in flight: each run's events, kept so a dropped client can pick up where it left.

One `ApiRun` per run. The model is read by the same `LiveRun` worker the pages use; the worker
wakes this event loop through `notify` and `_pump` turns what it drained into numbered events. A
playbook check is the one `PlaybookRun` the pages start: `_pump_check` turns each position it
decides into a `verdict` event, in the order decided.
Every event is kept until the run has ended and its grace period passed, so any number of HTTP
responses can follow one run from any point (`Last-Event-ID`) without asking the model again.

Whether a run outlives its last client is the client's choice (`resume`): a client that does not
resume gets the usual contract of this pattern (going away ends the upstream request at once); one
that does keeps the run going for `resume_grace_s` with nobody connected, and stops it explicitly
with `DELETE /api/runs/{id}`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

from lib.analysis.playbook.format import Playbook
from lib.analysis.plural import counted
from lib.api.report_request import ApiError
from lib.engine.errors import ErrorKind
from lib.engine.limits import InFlight
from lib.engine.provider_config import endpoint_label
from lib.engine.run_stats import RunStats, RunStatus
from lib.runs.estimate import Prices, RunEstimate, estimate_run
from lib.runs.launch import RunRequest
from lib.runs.live import LiveRun, stop_all
from lib.runs.playbook_run import PlaybookOutcome, PlaybookRun, PositionUpdate
from lib.store.records import RunRecord
from lib.store.run_log import RunLog

Starter = Callable[[Callable[[], None]], tuple[RunRecord, LiveRun]]
CheckStarter = Callable[[Callable[[], None]], PlaybookRun]


def event_id(run_id: str, seq: int) -> str:
    """`<run id>:<n>`: the id alone says which run to resume, so the same URL can resume it."""
    return f"{run_id}:{seq}"


# Event numbers this long are more events than any run keeps; longer is not ours (and Python
# refuses to read an int of over 4,300 digits, which answered 500).
MAX_EVENT_DIGITS = 18
STREAM_FAILED = "The run could not be streamed and was stopped; what it wrote is in its record."

log = logging.getLogger(__name__)


def error_event(message: str, kind: ErrorKind, record: RunRecord) -> dict[str, Any]:
    """A run's `error` event: what failed, its kind, and the run's notes (as `done` has them)."""
    return {"type": "error", "message": message, "kind": kind.value, "notes": list(record.notes)}


def parse_event_id(value: str) -> tuple[str, int] | None:
    """`<run id>:<n>` → (run id, n); None for anything this server never sent."""
    run_id, _, seq = value.strip().rpartition(":")
    if not run_id or not (seq.isascii() and seq.isdigit()) or len(seq) > MAX_EVENT_DIGITS:
        return None
    return run_id, int(seq)


def encode(run_id: str, seq: int, payload: dict[str, Any]) -> bytes:
    """One SSE event: an `id:` line and one `data:` line of JSON (which never holds a newline)."""
    data = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return f"id: {event_id(run_id, seq)}\ndata: {data}\n\n".encode()


def figures(record: RunRecord) -> dict[str, Any]:
    """The run's figures, as the `done` event and `GET /api/runs/{id}` give them."""
    return {
        "run_id": record.run_id,
        "status": record.status.value,
        "provider": record.provider,
        "model": record.model,
        "finish_reason": record.finish_reason,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
        "tokens_reported": record.tokens_reported,
        "ttft_s": record.ttft_s,
        "total_s": record.total_s,
        "tokens_per_s": record.tokens_per_s,
        "ttft_thinking_s": record.ttft_thinking_s,
        "thinking_s": record.thinking_s,
        "thinking_tokens": record.thinking_tokens,
        "thinking_reported": record.thinking_reported,
        "cost_usd": record.cost_usd,
        "cache_write_tokens": record.cache_write_tokens,
        "cache_read_tokens": record.cache_read_tokens,
        "served_by": endpoint_label(record.served_by),
        "notes": list(record.notes),
        **review_plan(record),
    }


def review_plan(record: RunRecord) -> dict[str, Any]:
    """How the contract was reviewed: `strategy` null for one pass, else "parts" or "focus"
    with the model calls (`parts`) made before the merge, as History's "Review" column says."""
    return {"strategy": record.strategy, "parts": record.parts}


def verdict_event(playbook: Playbook, update: PositionUpdate) -> dict[str, Any]:
    """One position decided: its place, title and severity, the verdict (null when none could be
    read, `problem` saying why; null with an empty `problem` when the built-in checker leaves it
    to a model), the reason and the evidence, most decisive first."""
    position = playbook.positions[update.index]
    return {
        "type": "verdict",
        "index": update.index,
        "title": position.title,
        "severity": position.severity.value,
        **update.result.to_dict(),
    }


def stats_event(stats: RunStats) -> dict[str, Any]:
    thinking_s = stats.thinking_seconds()
    return {
        "type": "stats",
        "output_tokens": stats.output_token_count,
        "elapsed_s": round(stats.elapsed(), 3),
        "tokens_per_s": stats.tokens_per_second,
        "thinking": stats.is_thinking,
        "thinking_s": None if thinking_s is None else round(thinking_s, 3),
        "thinking_tokens": stats.thought_tokens,
        "served_by": endpoint_label(stats.endpoint),
        # Where a run of several calls is, as the page says it ("Indemnity · call 5 of 17 ·
        # about 31 s left"); null for a run of one call.
        "progress": stats.progress,
    }


@dataclass(eq=False)
class ApiRun:
    record: RunRecord
    # A review's live run; None for a playbook check, which is `check`.
    live: LiveRun | None
    resume: bool
    events: list[bytes] = field(default_factory=list)
    ended: bool = False
    # Stop was asked for: a second DELETE, before the run has ended, stops nothing more.
    stop_asked: bool = False
    clients: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    grace: asyncio.TimerHandle | None = None
    # Pieces of the run's thinking already sent as `thinking` events.
    thinking_sent: int = 0
    # When its last client left (monotonic): an ended run's events are kept a grace from then.
    left_at: float = field(default_factory=time.monotonic)
    check: PlaybookRun | None = None

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def add(self, payload: dict[str, Any]) -> None:
        self.events.append(encode(self.run_id, len(self.events), payload))
        changed, self.changed = self.changed, asyncio.Event()
        changed.set()

    @property
    def stats(self) -> RunStats | None:
        """The run's live figures: its review's, or its check's model's (None for the built-in
        checker)."""
        if self.check is not None:
            return self.check.stats
        return self.live.stats if self.live is not None else None

    def now(self) -> RunRecord:
        """The run as it stands: its record, with its live figures while the record (written
        when the run has ended) still says running. What `GET /api/runs/{id}` shows and what a
        DELETE that stops nothing answers, so the two agree: a stopped review is `cancelled` at
        once, though its record says so only once its worker has finished."""
        stats = self.stats
        if stats is None or self.record.status is not RunStatus.RUNNING:
            return self.record
        record = replace(self.record)
        record.update_from(stats)
        return record

    def ask_stop(self) -> dict[str, Any]:
        """`DELETE /api/runs/{id}`: stop the run, or, for one that has ended or was already told
        to stop (a second DELETE stops nothing more), `stopped: false` with its status as `now`
        has it."""
        if self.ended or self.stop_asked:
            return {"run_id": self.run_id, "stopped": False, "status": self.now().status.value}
        self.stop()
        return {"run_id": self.run_id, "stopped": True}

    def stop(self) -> None:
        """End the upstream request now: the socket is shut down from this thread. A check is
        cancelled on a thread of its own (it waits briefly for its worker), not the event loop."""
        self.stop_asked = True
        if self.live is not None:
            self.live.stream.close()
        elif self.check is not None:
            threading.Thread(target=self.check.cancel, name="check-cancel", daemon=True).start()


# Estimates (`POST /api/estimate`) made at once by this process. Each may plan a long contract for
# a small context: about 4.6 s of CPU for 1.99M characters, and eight at once made a clause
# finder's trivial estimate wait 32 s.
ESTIMATES_AT_ONCE = 2


def estimates_busy(limit: int) -> str:
    return (
        f"This server is already making {counted(limit, 'estimate')}, its limit at one time: "
        "send it again in a moment."
    )


class Planner:
    """Every plan the API makes (`estimate_run`), off the event loop: a run's, by a caller that
    already holds the run's place under the cap on runs at once (a request the cap refuses plans
    nothing), and an estimate's, under a small cap of its own (`ESTIMATES_AT_ONCE`)."""

    def __init__(self, estimates_at_once: int = ESTIMATES_AT_ONCE) -> None:
        self.estimates_at_once = estimates_at_once
        self.estimates = InFlight()
        # Plans made so far: what the tests count to see that a refused request made none.
        self.made = 0

    async def plan(
        self, request: RunRequest, prices: Prices, run_log: RunLog | None
    ) -> RunEstimate:
        self.made += 1
        return await asyncio.to_thread(estimate_run, request, prices, run_log)

    async def estimate(
        self, request: RunRequest, prices: Prices, run_log: RunLog | None
    ) -> RunEstimate:
        """`plan`, or 429 (`kind` `estimates_busy`) while `estimates_at_once` are being made."""
        if not self.estimates.admit(self.estimates_at_once):
            raise ApiError(
                429, estimates_busy(self.estimates_at_once), retry_after_s=2, kind="estimates_busy"
            )
        try:
            return await self.plan(request, prices, run_log)
        finally:
            self.estimates.release()


class RunHub:
    """All runs this server is streaming or still keeps events for."""

    def __init__(self, *, resume_grace_s: float, stats_interval_s: float) -> None:
        self.resume_grace_s = resume_grace_s
        self.stats_interval_s = stats_interval_s
        self._runs: dict[str, ApiRun] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.planner = Planner()

    def get(self, run_id: str) -> ApiRun | None:
        return self._runs.get(run_id)

    @property
    def runs(self) -> list[ApiRun]:
        return list(self._runs.values())

    async def start(
        self, starter: Starter, *, resume: bool, estimate: dict[str, Any] | None = None
    ) -> ApiRun:
        """Start a run on a worker thread (`starter` records it and launches it) and pump it;
        `start` carries the run's `estimate` (`lib.runs.estimate`), when given."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed: the server is stopping
                loop.call_soon_threadsafe(wake.set)

        record, live = await asyncio.to_thread(starter, notify)
        run = ApiRun(record, live, resume, wake=wake)
        self._runs[run.run_id] = run
        run.add(
            {
                "type": "start",
                "run_id": run.run_id,
                "provider": record.provider,
                "model": record.model,
                # One figure for what the run sends: its estimate's, all calls (the merge's too).
                "estimated_input_tokens": (
                    estimate["input_tokens"] if estimate else live.stats.estimated_input_tokens
                ),
                "resume": resume,
                **review_plan(record),
                "estimate": estimate,
            }
        )
        task = asyncio.create_task(self._guarded(run, self._pump(run)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def start_check(self, starter: CheckStarter, *, resume: bool) -> ApiRun:
        """Start a playbook check on a worker thread (`starter` records and starts it) and pump
        its verdicts."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def notify() -> None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

        check = await asyncio.to_thread(starter, notify)
        run = ApiRun(check.record, None, resume, wake=wake, check=check)
        self._runs[run.run_id] = run
        stats = check.stats
        run.add(
            {
                "type": "start",
                "run_id": run.run_id,
                "provider": check.record.provider,
                "model": check.record.model,
                "estimated_input_tokens": stats.estimated_input_tokens if stats else None,
                "resume": resume,
                "playbook": check.playbook.id,
                "positions": len(check.playbook.positions),
            }
        )
        task = asyncio.create_task(self._guarded(run, self._pump_check(run, check)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return run

    async def _guarded(self, run: ApiRun, pump: Coroutine[Any, Any, None]) -> None:
        """A pump that fails (a bug, or text no event can carry) stops its run and ends its
        stream with an error: otherwise the client waits for ever on keep-alives and the run
        holds its place among the app's runs."""
        try:
            await pump
        except Exception:
            log.exception("run %s could not be streamed", run.run_id)
            run.stop()
            run.add(error_event(STREAM_FAILED, ErrorKind.BAD_RESPONSE, run.record))
            self._ended(run)

    async def _pump_check(self, run: ApiRun, check: PlaybookRun) -> None:
        next_stats = time.monotonic() + self.stats_interval_s
        outcome: PlaybookOutcome | None = None
        while outcome is None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_stats - time.monotonic())):
                    await run.wake.wait()
            run.wake.clear()
            for update in check.poll():
                if isinstance(update, PositionUpdate):
                    run.add(verdict_event(check.playbook, update))
                elif isinstance(update, PlaybookOutcome):
                    outcome = update
            stats = check.stats
            if outcome is None and time.monotonic() >= next_stats:
                next_stats = time.monotonic() + self.stats_interval_s
                if stats is not None and stats.first_token_at is not None:
                    run.add(stats_event(stats))
        record = outcome.record
        if record.status is RunStatus.ERROR:
            kind = ErrorKind(record.error_kind or ErrorKind.BAD_RESPONSE)
            run.add(error_event(outcome.error or "", kind, record))
        else:
            counts = outcome.counts
            run.add(
                {
                    "type": "done",
                    **figures(record),
                    "summary": outcome.summary,
                    "counts": {
                        "meets": counts.meets,
                        "deviates": counts.deviates,
                        "not_addressed": counts.not_addressed,
                        "need_model": counts.need_model,
                        "unanswered": counts.unanswered,
                        "high_severity_deviations": counts.high_severity_deviations,
                        "unsupported": counts.unsupported,
                    },
                    "problems": list(outcome.problems),
                }
            )
        self._ended(run)

    def _ended(self, run: ApiRun) -> None:
        run.ended = True
        if run.grace is not None:
            run.grace.cancel()
        asyncio.get_running_loop().call_later(self.resume_grace_s, self._forget, run)

    async def _pump(self, run: ApiRun) -> None:
        assert run.live is not None
        stats = run.live.stats
        next_stats = time.monotonic() + self.stats_interval_s
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, next_stats - time.monotonic())):
                    await run.wake.wait()
            run.wake.clear()
            text, ended = run.live.drain()
            # Read after the drain: all thinking that came before this text is in the stats, so
            # the thinking events go out before the tokens that followed it.
            thinking, run.thinking_sent = stats.thinking_since(run.thinking_sent)
            if thinking:
                run.add({"type": "thinking", "text": thinking})
            if text:
                run.add({"type": "token", "text": text})
            if ended:
                break
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + self.stats_interval_s
                if stats.first_token_at is not None or stats.first_thinking_at is not None:
                    run.add(stats_event(stats))
        error, record = run.live.error, run.record
        if error is not None:
            run.add(error_event(error.message, error.kind, record))
        elif record.status is RunStatus.ERROR:
            # Refused inside the run before any request (a contract its model cannot hold): no
            # exception reached the worker, and `done` said "error" with no kind or message.
            kind = ErrorKind(record.error_kind or ErrorKind.BAD_RESPONSE)
            run.add(error_event(record.error_message or "", kind, record))
        else:
            run.add({"type": "done", **figures(record)})
        self._ended(run)

    def _forget(self, run: ApiRun) -> None:
        """Drop an ended run's events once no reconnect can still want them: the grace period
        counts from when its last client left, not from the run's end (a client that fell
        behind and reconnects within the grace still gets every event)."""
        left = time.monotonic() - run.left_at if run.clients == 0 else 0.0
        if run.clients == 0 and left >= self.resume_grace_s:
            self._runs.pop(run.run_id, None)
        else:
            wait = self.resume_grace_s - left if run.clients == 0 else self.resume_grace_s
            asyncio.get_running_loop().call_later(wait, self._forget, run)

    async def follow(self, run: ApiRun, after: int) -> AsyncIterator[bytes]:
        """The run's events after number `after` (-1: all), then the live rest until it ends.

        Leaving early (the client went away) detaches; the last client leaving stops the run at
        once, or after the grace period when the client asked to resume.
        """
        self._attach(run)
        try:
            seq = after + 1
            while True:
                changed = run.changed
                while seq < len(run.events):
                    yield run.events[seq]
                    seq += 1
                if run.ended:
                    return
                await changed.wait()
        finally:
            self._detach(run)

    def _attach(self, run: ApiRun) -> None:
        run.clients += 1
        if run.grace is not None:
            run.grace.cancel()
            run.grace = None

    def _detach(self, run: ApiRun) -> None:
        run.clients -= 1
        run.left_at = time.monotonic()
        if run.clients or run.ended:
            return
        if run.resume:
            run.grace = asyncio.get_running_loop().call_later(
                self.resume_grace_s, self._grace_over, run
            )
        else:
            run.stop()

    def _grace_over(self, run: ApiRun) -> None:
        run.grace = None
        if run.clients == 0:
            run.stop()

    def stop_everything(self) -> None:
        """Server shutdown: end every upstream request so each run is recorded as cancelled."""
        stop_all([run.live for run in self._runs.values() if not run.ended and run.live])
        for run in self._runs.values():
            if not run.ended and run.check is not None:
                run.check.cancel()
