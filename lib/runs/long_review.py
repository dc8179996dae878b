"""A long-contract review: the planned model calls one after another, then the merge, as one run.

`LongReview` has the interface of a `ModelStream` (iterate it for text, read `.stats`, `close()`
from any thread), so `LiveRun`, the live view, the run record and the history treat it as one run.
Its text is each step's findings under a `## <step>` heading, as they stream, then the merged
report; its stats add up every call's tokens and say where the run is (`progress`, with an ETA).

Stop: `close()` aborts the call in flight; whatever the finished steps wrote stays in the text
and so in the record. An error in any call ends the run with that error, the text so far kept.
Either way a note says how many steps finished and that trying again runs them all again (no
step's findings are reused), and the run has no finish reason: that is the merged report's.
The run's caps (wall time, output) and thinking switch are the whole run's: each call gets what
is left of them, and a reasoning model's thinking in every call shows as the run's thinking.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from lib.analysis.long_plan import LongPlan, merge_user, step_findings
from lib.analysis.plural import duration
from lib.engine.errors import BadResponse, OutputLimit, ProviderError, TimedOut
from lib.engine.fold import fail
from lib.engine.limits import RunLimits, output_message, wall_time_message
from lib.engine.provider_config import ProviderConfig
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.stream_model import ModelStream, stream_model

StreamOpener = Callable[..., ModelStream]
MERGE_SEPARATOR = "\n\n---\n\n"


@dataclass
class LongRunStats(RunStats):
    """Figures of the whole run: the calls finished so far plus the one in flight."""

    strategy: str = ""
    planned_calls: int = 0
    calls_done: int = 0
    done_input_tokens: int = 0
    done_output_tokens: int = 0
    done_reported: bool = True
    done_cache_written: int | None = None
    done_cache_read: int | None = None
    # Each call thinks and answers in its own stretch of time: the run's thinking time and speed
    # add up the calls' own, not the time from the first call's thought to the last one's word.
    done_thinking_s: float | None = None
    done_answer_tokens: int = 0
    done_answer_s: float = 0.0
    current: RunStats | None = field(default=None, repr=False)

    def thinking_seconds(self, now: float | None = None) -> float | None:
        current = self.current
        more = current.thinking_seconds(now) if current is not None else None
        if more is None:
            return self.done_thinking_s
        return more + (self.done_thinking_s or 0.0)

    @property
    def last_heard(self) -> float | None:
        """Each call is silent from its own request on: the silence its read timeout counts."""
        heard = super().last_heard
        current = self.current
        if heard is None or current is None:
            return heard
        return max(heard, current.started_at)

    def speed_sample(self) -> tuple[int, float]:
        tokens, seconds = self.done_answer_tokens, self.done_answer_s
        current = self.current
        if current is not None and (span := current.answer_seconds):
            tokens, seconds = tokens + current.answer_token_count, seconds + span
        return tokens, seconds

    def add_markup(self, text: str) -> None:
        """Our own headings: part of the text, but not model output and not timed as such."""
        self._parts.append(text)
        self._chars += len(text)

    @property
    def has_text(self) -> bool:
        return self._chars > 0

    def close_call(self, call: RunStats) -> None:
        # Detached first: a page reading the figures meanwhile counts the call once at most.
        self.current = None
        if not call.answered:
            # Refused or stopped before any answer: not billed, and nothing it counted is the
            # run's (its prompt's estimate was added to the reported counts, and priced).
            return
        if (thought := call.thinking_seconds()) is not None:
            self.done_thinking_s = (self.done_thinking_s or 0.0) + thought
        if span := call.answer_seconds:
            self.done_answer_tokens += call.answer_token_count
            self.done_answer_s += span
        self.thinking_tokens = _add(self.thinking_tokens, call.thinking_tokens)
        self.done_input_tokens += call.input_token_count
        self.done_output_tokens += call.output_token_count
        self.done_reported = self.done_reported and call.tokens_reported
        self.done_cache_written = _add(self.done_cache_written, call.cache_written)
        self.done_cache_read = _add(self.done_cache_read, call.cache_read)
        self.calls_done += 1
        # Each call may be served by another endpoint of a pooled model: name every one once.
        served = [url for url in self.endpoint.split(",") if url]
        if call.endpoint and call.endpoint not in served:
            self.endpoint = ",".join([*served, call.endpoint])

    @property
    def input_token_count(self) -> int:
        current = self.current
        return self.done_input_tokens + (current.input_token_count if current else 0)

    @property
    def output_token_count(self) -> int:
        current = self.current
        return self.done_output_tokens + (current.output_token_count if current else 0)

    @property
    def cache_written(self) -> int | None:
        current = self.current
        return _add(self.done_cache_written, current.cache_written if current else None)

    @property
    def cache_read(self) -> int | None:
        current = self.current
        return _add(self.done_cache_read, current.cache_read if current else None)

    @property
    def tokens_reported(self) -> bool:
        current = self.current
        return (
            self.calls_done > 0
            and self.done_reported
            and (current is None or current.tokens_reported)
        )


def _add(total: int | None, more: int | None) -> int | None:
    """A sum of counts some calls may not report: None until one does."""
    if more is None:
        return total
    return more + (total or 0)


class _Stopped(Exception):
    """The run was stopped while a call was in flight."""


class LongReview:
    """Runs a `LongPlan` and its merge; shaped like `ModelStream`."""

    def __init__(
        self,
        config: ProviderConfig,
        plan: LongPlan,
        *,
        temperature: float,
        open_stream: StreamOpener = stream_model,
        limits: RunLimits | None = None,
        thinking: bool | None = None,
        thinking_budget: int | None = None,
    ) -> None:
        self.config = config
        self.plan = plan
        self.temperature = temperature
        self._open = open_stream
        self.limits = limits or RunLimits()
        self.thinking = thinking
        self.thinking_budget = thinking_budget
        self.stats = LongRunStats(
            estimated_input_tokens=plan.estimated_input_tokens,
            strategy=plan.strategy.value,
            planned_calls=plan.model_calls + 1,
            read_timeout=config.read_timeout,
        )
        self.findings: list[str] = []
        self.merged: str | None = None
        self._lock = threading.Lock()
        self._cancelled = threading.Event()
        self._current: ModelStream | None = None
        self._call_seconds: list[float] = []
        # The last finished call's: the run's own once the merged report (its last call) is in.
        self._finish_reason: str | None = None
        self._noted = False
        self._generator = self._run()

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._generator)

    def close(self) -> None:
        """Stop now, from any thread; the finished steps' findings stay in the text."""
        self._cancelled.set()
        with self._lock:
            current = self._current
        if current is not None:
            current.close()
        self._note_unfinished()
        self.stats.finish(RunStatus.CANCELLED)
        with contextlib.suppress(ValueError):  # another thread is iterating: it stops itself
            self._generator.close()

    def refuse(self, error: ProviderError) -> None:
        """End a run that never started (the app is at its limit of runs), with `error`."""
        self._cancelled.set()
        fail(self.stats, error)
        with contextlib.suppress(ValueError):
            self._generator.close()

    # --- the run ---------------------------------------------------------------------------

    def _run(self) -> Iterator[str]:
        stats = self.stats
        stats.started_at = time.monotonic()
        try:
            yield from self._steps()
            yield from self._merge()
        except _Stopped:
            self._note_unfinished()
            stats.finish(RunStatus.CANCELLED)
            return
        except ProviderError as exc:
            self._note_unfinished()
            fail(stats, exc)
            raise
        except GeneratorExit:
            self._cancelled.set()
            self._note_unfinished()
            stats.finish(RunStatus.CANCELLED)
            raise
        except Exception as exc:
            error = BadResponse(f"Unexpected failure in a long review ({type(exc).__name__}).")
            self._note_unfinished()
            fail(stats, error)
            raise error from None
        stats.progress = None
        stats.finish_reason = self._finish_reason
        stats.finish(RunStatus.DONE)

    def _note_unfinished(self) -> None:
        """Say, once, how far a run that ends without its merged report got: the error alone
        names only the call that failed, and the steps' findings are not kept for another try."""
        with self._lock:
            if self.stats.status is not RunStatus.RUNNING or self._noted:
                return
            self._noted = True
        total = len(self.plan.steps)
        done = min(len(self.findings), total)
        self.stats.notes.append(
            f"{done} of {total} steps of this long review finished; no combined report was made."
            " Trying again runs every step again."
        )

    def _markup(self, text: str) -> Iterator[str]:
        self.stats.add_markup(text)
        yield text

    def _heading(self, title: str) -> Iterator[str]:
        lead = "\n\n" if self.stats.has_text else ""
        yield from self._markup(f"{lead}## {title}\n\n")

    def _steps(self) -> Iterator[str]:
        for step in self.plan.steps:
            if self._cancelled.is_set():
                raise _Stopped
            yield from self._heading(step.label)
            if step.local_text is not None:
                yield from self._markup(step.local_text)
                self.findings.append(step_findings(step.label, step.local_text))
                continue
            text = yield from self._call(step.label, step.system, step.user, step.max_tokens)
            self.findings.append(step_findings(step.label, text))

    def _merge(self) -> Iterator[str]:
        merge = self.plan.merge
        findings = list(self.findings)
        rounds = 0
        while (batches := merge.next_round(findings)) is not None:
            rounds += 1
            self.stats.planned_calls += sum(len(b) > 1 for b in batches)
            combined = []
            for number, batch in enumerate(batches, 1):
                if len(batch) == 1:
                    combined.append(batch[0])
                    continue
                label = f"Combining findings (round {rounds}, {number} of {len(batches)})"
                yield from self._heading(label)
                text = yield from self._call(
                    label, merge.round_system, merge_user(batch), merge.round_output_tokens
                )
                combined.append(text)
            findings = combined
        yield from self._markup(MERGE_SEPARATOR if self.stats.has_text else "")
        text = yield from self._call(
            "Merged report",
            merge.final_system,
            merge_user(merge.final_findings(findings)),
            merge.final_output_tokens,
        )
        self.merged = text

    def _call(self, label: str, system: str, user: str, max_tokens: int) -> Iterator[str]:
        """Stream one model call into the run; returns its text."""
        self._set_progress(label)
        started = time.monotonic()
        limits = self._limits_left()
        sub = self._open(
            self.config,
            system,
            user,
            max_tokens=max_tokens,
            temperature=self.temperature,
            limits=limits,
            thinking=self.thinking,
            thinking_budget=self.thinking_budget,
        )
        thought = 0

        def mirror_thinking() -> None:
            nonlocal thought
            first = thought == 0
            new, thought = sub.stats.thinking_since(thought)
            if first and new:  # each call's thinking its own paragraph, named by its step
                lead = "\n\n" if self.stats.thinking_chars else ""
                new = f"{lead}{label}:\n\n{new}"
            self.stats.add_thinking(new)

        sub.stats.on_thinking = mirror_thinking
        with self._lock:
            self._current = sub
        self.stats.current = sub.stats
        if self._cancelled.is_set():
            sub.close()
        try:
            for token in sub:
                self.stats.add_text(token)
                yield token
        except ProviderError as exc:
            if self._cancelled.is_set():
                raise _Stopped from None
            self.stats.notes.extend(sub.stats.notes)
            raise self._as_run_limit(exc, limits) from None
        finally:
            with self._lock:
                self._current = None
            self.stats.close_call(sub.stats)
        if self._cancelled.is_set() or sub.stats.status is RunStatus.CANCELLED:
            raise _Stopped
        self.stats.notes.extend(f"{label}: {note}" for note in sub.stats.notes)
        self._finish_reason = sub.stats.finish_reason
        self._call_seconds.append(time.monotonic() - started)
        return sub.stats.text

    def _limits_left(self) -> RunLimits:
        """The run's caps less what the calls before used; a cap already reached ends the run
        as it would end one call."""
        limits, stats = self.limits, self.stats
        seconds, chars = limits.max_run_seconds, limits.max_output_chars
        if seconds > 0:
            seconds -= time.monotonic() - (stats.started_at or time.monotonic())
            if seconds <= 0:
                raise TimedOut(wall_time_message(limits.max_run_seconds))
        if chars > 0:
            # The report's cap: thinking is held to it apart, within each call, as in one run.
            chars -= stats.chars
            if chars <= 0:
                raise OutputLimit(output_message(limits.max_output_chars))
        return RunLimits(seconds, chars, limits.max_concurrent_runs)

    def _as_run_limit(self, exc: ProviderError, left: RunLimits) -> ProviderError:
        """A call stopped at what was left of a cap is the run stopped at the cap: say so in
        the run's figures, not the call's."""
        limits = self.limits
        if isinstance(exc, TimedOut) and exc.message == wall_time_message(left.max_run_seconds):
            return TimedOut(wall_time_message(limits.max_run_seconds))
        if isinstance(exc, OutputLimit):
            return OutputLimit(output_message(limits.max_output_chars))
        return exc

    def _set_progress(self, label: str) -> None:
        stats = self.stats
        done, planned = stats.calls_done, max(stats.planned_calls, stats.calls_done + 1)
        line = f"{label} · call {done + 1} of {planned}"
        if self._call_seconds:
            left = sum(self._call_seconds) / len(self._call_seconds) * (planned - done)
            line += f" · about {duration(left)} left"
        stats.progress = line
