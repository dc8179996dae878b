"""Checking a contract against a playbook: the one run every front end starts for it.

API (pages, Compare, Portfolio, `crs-batch`, the HTTP API all call this; none adds a rule)::

    request = PlaybookRequest(document, playbook, checker)
        # checker: None = the built-in checker (no model); a `ModelChoice` (resolved here through
        # `model_choice.resolve`, raising `ChoiceError`); or a `ProviderConfig` a picker resolved.
        # Optional: page, max_tokens, temperature, comparison_id, batch_id.
    run = start_playbook(request, history=..., run_log=..., settings=...,
                         notify=None, refuse_when_busy=False)
        # Raises ChoiceError (also for the clause finder, which writes no verdicts), or
        # RateLimited with refuse_when_busy (the API's 429).
    run.record              # its RunRecord (kind "playbook"), in the history and log at once
    for update in run.updates(idle=0.1):   # blocks; ends after the `PlaybookOutcome`
        PositionUpdate      # one position decided: .index (playbook order), .result
        Tick                # nothing new for `idle` s: .writing (position being written), .stats
        PlaybookOutcome     # the last one: .result (every position in order), .counts,
                            # .summary, .high_severity, .status, .error, .problems, .record
    run.poll()              # what is waiting, without blocking (an event loop woken by notify)
    run.stats               # a model's live figures (None for the built-in checker)
    follow([run_a, run_b])  # (which run, update) for several runs at once (Compare)
    run.cancel()            # stop now: verdicts so far are kept and recorded as cancelled
    run.outcome             # the outcome once ended, else None

What is kept: the run's record (`kind == "playbook"`, `playbook_id`, `playbook_summary`,
`verdict_counts`, `verdicts` as `PositionResult.to_dict` each, `playbook_problems`; read back with
`playbook_library.recorded_result`). A playbook by id or saved key, for any front end:
`playbook_library.find(id, PlaybookStore(run_log))`. Tables for a page or an export:
`playbook_tables` (`verdict_table`, `comparison_table`, `disagreements`).

A model's run goes the review's way (`launch`: the record, the endpoint's key and lock through the
config `model_choice` made, the worker thread, the process's cap on runs); its answer is parsed
on the worker as it streams (`answer.AnswerParser`), so each position's verdict is decided as soon
as the model has written its section, and decided the same way whether or not anyone watches. A
contract and playbook that do not fit the model in one pass are refused as too long (a playbook
has no section-by-section plan). A failed or cancelled run keeps the verdicts it reached; a
position cut off, never reached or past the model's output tokens says so and is never guessed.
The built-in checker decides every position within a second and hands them over one by one.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass

from lib.analysis.documents import Document
from lib.analysis.grounding import contract_index
from lib.analysis.playbook.answer import AnswerParser, section_result
from lib.analysis.playbook.checker import (
    BUILTIN_MODEL,
    BUILTIN_PROVIDER,
    CHECKER_NAME,
    check_playbook,
)
from lib.analysis.playbook.format import (
    Playbook,
    PlaybookResult,
    PositionResult,
    Severity,
    Verdict,
    VerdictCounts,
    position_to_dict,
    verdict_counts,
)
from lib.analysis.playbook.prompt import build_playbook_prompt
from lib.engine.errors import ErrorKind, ProviderError, RateLimited
from lib.engine.fold import LENGTH_REASONS
from lib.engine.limits import busy_message
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ProviderConfig,
)
from lib.engine.providers.registry import SPECS
from lib.engine.run_stats import RunStats, RunStatus
from lib.engine.settings import Settings
from lib.runs.launch import (
    RunRequest,
    end_record,
    launch,
    new_record,
    planned,
    start_record,
    start_together,
    unfit_reason,
)
from lib.runs.live import LiveRun, claim_slot, release_slot
from lib.runs.model_choice import ChoiceError, ModelChoice, resolve
from lib.store.records import RunRecord, SessionHistory, run_maker
from lib.store.run_log import RunLog

KIND = "playbook"
CUT_OFF = "the run ended inside this section"
NOT_REACHED = "the run ended before the model reached this position"
# A run refused before it asked its model anything (`RunRecord.not_started`).
NOT_STARTED = "the run did not start, so the model was not asked"
OUT_OF_TOKENS = "the model ran out of output tokens before this position"
TRUNCATED = (
    "The model ran out of output tokens: raise the max output tokens to check every position."
)
IGNORED_FORMAT = "The model did not answer in the playbook format: no verdict could be read."
RETURNED_NOTHING = "the model returned nothing"
EMPTY_ANSWER = "The model returned nothing: its answer was empty, so no verdict could be read."

Checker = ModelChoice | ProviderConfig | None
# Providers that write no verdicts: the clause finder writes a clause report.

# Providers that write no verdicts whatever they are asked: their specs say so (the clause finder).
NOT_CHECKERS = tuple(provider for provider, spec in SPECS.items() if not spec.follows_prompts)


@dataclass(frozen=True)
class PlaybookRequest:
    """A contract, a playbook, and who checks it (None: the built-in checker)."""

    document: Document
    playbook: Playbook
    checker: Checker = None
    page: str = "playbook"
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    comparison_id: str | None = None
    batch_id: str | None = None


@dataclass(frozen=True)
class PositionUpdate:
    """One position decided (or found unanswerable): its place in the playbook and its result."""

    index: int
    result: PositionResult


@dataclass(frozen=True)
class Tick:
    """Nothing new for a while: which position the model is writing now, and its figures."""

    writing: str | None
    stats: RunStats | None


@dataclass(frozen=True)
class PlaybookOutcome:
    """How the check ended: every position's result in the playbook's order, and why."""

    result: PlaybookResult
    counts: VerdictCounts
    status: RunStatus
    # The run's own error (already redacted by the engine), or None.
    error: str | None
    record: RunRecord

    @property
    def problems(self) -> tuple[str, ...]:
        """Problems with the answer as a whole (the format ignored, sections for unknown
        positions), as kept with the record for History."""
        return tuple(self.record.playbook_problems)

    @property
    def summary(self) -> str:
        return self.counts.line()

    @property
    def high_severity(self) -> tuple[PositionResult, ...]:
        """The high-severity deviations, in the playbook's order."""
        book = self.result.playbook
        return tuple(
            r
            for r in self.result.results
            if r.verdict is Verdict.DEVIATES
            and (p := book.position(r.position_id)) is not None
            and p.severity is Severity.HIGH
        )


Update = PositionUpdate | Tick | PlaybookOutcome


class PlaybookRun:
    """One check in flight. Its worker fills a queue that `updates` and `poll` read."""

    def __init__(self, playbook: Playbook, parser: AnswerParser | None = None) -> None:
        self.playbook = playbook
        self.record: RunRecord  # set by the starter before the run is handed out
        self.outcome: PlaybookOutcome | None = None
        self._parser = parser
        self._live: LiveRun | None = None
        self._order = {p.id: i for i, p in enumerate(playbook.positions)}
        self._results: dict[str, PositionResult] = {}
        self._queue: queue.SimpleQueue[Update] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._done = False
        self._cancelled = threading.Event()

    # -- the worker's side ------------------------------------------------------------------

    def _decide(self, result: PositionResult) -> None:
        with self._lock:
            if result.position_id in self._results:
                return
            self._results[result.position_id] = result
        self._queue.put(PositionUpdate(self._order[result.position_id], result))

    def _unanswered(self, why: str) -> None:
        """Every position still without a result gets one saying why (never a guess)."""
        for p in self.playbook.positions:
            if p.id not in self._results:
                self._decide(PositionResult(p.id, None, f"No verdict: {why}.", problem=why))

    def _end(self, record: RunRecord, problems: tuple[str, ...], checker: str) -> None:
        """Put the verdicts on the run's record (before it is written) and make the outcome."""
        with self._lock:
            results = tuple(self._results[p.id] for p in self.playbook.positions)
        counts = verdict_counts(self.playbook, results)
        # Each verdict keeps the position as checked: History and exports show what was checked,
        # even when a playbook of the same id is edited, replaced or deleted later.
        record.verdicts = [
            {**r.to_dict(), "checked": position_to_dict(p)}
            for r, p in zip(results, self.playbook.positions, strict=True)
        ]
        record.playbook_summary = counts.line()
        record.verdict_counts = asdict(counts)
        record.playbook_problems = list(problems)
        checks = [e.check for r in results for e in r.evidence if e.check]
        if checks:
            record.set_grounding(
                {
                    "total": len(checks),
                    "verified": checks.count("verified"),
                    "close": checks.count("close"),
                    "not_found": checks.count("not_found"),
                    "disagreements": 0,
                }
            )
        self.outcome = PlaybookOutcome(
            PlaybookResult(self.playbook, results, checker),
            counts,
            record.status,
            record.error_message,
            record,
        )

    def _deliver(self, notify: Callable[[], None] | None) -> None:
        """After the record is written: the outcome goes last on the queue."""
        assert self.outcome is not None
        self._queue.put(self.outcome)
        if notify is not None:
            notify()

    # -- the reader's side ------------------------------------------------------------------

    def poll(self) -> list[Update]:
        """Every update waiting now, without blocking (a model's text, read through the parser,
        is let go of, so a poller that reads no `Tick` keeps no queue of it either)."""
        if self._live is not None:
            self._live.drain()
        out: list[Update] = []
        while not self._done:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            out.append(item)
            self._done = isinstance(item, PlaybookOutcome)
        return out

    def updates(self, idle: float = 0.1) -> Iterator[Update]:
        """Each update as it comes, a `Tick` after `idle` seconds without one (so a page can
        redraw and be stopped), ending with the `PlaybookOutcome`."""
        while not self._done:
            try:
                item = self._queue.get(timeout=idle)
            except queue.Empty:
                yield self._tick()
                continue
            self._done = isinstance(item, PlaybookOutcome)
            yield item

    def _tick(self) -> Tick:
        if self._live is None:
            return Tick(None, None)
        self._live.drain()  # the text is read through the parser; keep the queue short
        writing = self._parser.current()[0] if self._parser is not None else None
        return Tick(writing, self._live.stats)

    @property
    def finished(self) -> bool:
        return self.outcome is not None

    @property
    def stats(self) -> RunStats | None:
        """A model's live figures; None for the built-in checker."""
        return self._live.stats if self._live is not None else None

    def cancel(self) -> None:
        """Stop the run now; the verdicts reached so far are kept and recorded."""
        self._cancelled.set()
        if self._live is not None:
            self._live.cancel()


def start_playbook(
    request: PlaybookRequest,
    *,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
    notify: Callable[[], None] | None = None,
    refuse_when_busy: bool = False,
    holds_place: bool = False,
    refusal: ProviderError | None = None,
) -> PlaybookRun:
    """Start checking `request.document` against `request.playbook` (see the module's API).

    `notify` runs on the worker after each piece of the answer, each update and the end.
    `holds_place`: the run takes over the caller's place under the process's cap on runs at once
    (a batch worker waited for it) and gives it back when it ends, or at once if it cannot start.
    `refuse_when_busy` (the API): a check takes a place of its own or raises `RateLimited`,
    recording nothing, the built-in checker's too (it spent the CPU the cap holds back, and was
    the one request a client could send past it). `refusal`: the caller could not take a
    model's place (`launch`'s); the built-in checker then runs without one, as on the pages.
    """
    checker = request.checker
    launched = False
    try:
        if isinstance(checker, ModelChoice):
            checker = resolve(checker, settings)
        if checker is not None:
            refuse_non_checker(checker)
            launched = True  # `_start_model` owns the place from here
            return _start_model(
                request,
                checker,
                history,
                run_log,
                settings,
                notify,
                refuse_when_busy,
                holds_place,
                refusal,
            )
        limit = settings.run_limits.max_concurrent_runs
        if not holds_place and refuse_when_busy and limit > 0:
            if not claim_slot(limit):
                raise RateLimited(busy_message(limit))
            holds_place = True
        check = _start_builtin(request, history, run_log, settings, notify, holds_place)
        launched = True  # its worker gives the place back
        return check
    finally:
        if holds_place and not launched:
            release_slot()


def start_playbooks(
    requests: Sequence[PlaybookRequest],
    *,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
) -> list[PlaybookRun]:
    """Start one check, or two compared: the models among them take their places under the cap
    on runs at once together, or none does (`launch.start_together`); the built-in checker
    takes none. A model the contract and playbook do not fit (`launch.planned`) starts no model:
    it is recorded as too long, another model as not started for it."""

    def start(i: int, holds_place: bool, refusal: ProviderError | None) -> PlaybookRun:
        return start_playbook(
            requests[i],
            history=history,
            run_log=run_log,
            settings=settings,
            holds_place=holds_place,
            refusal=refusal,
        )

    models = [request.checker is not None for request in requests]
    unfit: dict[int, str] = {}
    for i, request in enumerate(requests):
        if isinstance(request.checker, ProviderConfig):  # a `ModelChoice` is checked as it starts
            run_request, problem = planned(check_run_request(request, request.checker))
            if problem is not None:
                unfit[i] = unfit_reason(run_request, problem)
    return start_together(models, start, PlaybookRun.cancel, settings, unfit)


def refuse_non_checker(config: ProviderConfig) -> None:
    """`ChoiceError` for a provider that writes no verdicts (the clause finder writes a clause
    report): every front end refuses it here, or asks here before it starts anything."""
    if config.provider in NOT_CHECKERS:
        raise ChoiceError(
            "unavailable",
            "The clause finder writes no verdicts: check with the built-in playbook checker.",
        )


def _start_model(
    request: PlaybookRequest,
    checker: ProviderConfig,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
    notify: Callable[[], None] | None,
    refuse_when_busy: bool,
    holds_place: bool,
    refusal: ProviderError | None,
) -> PlaybookRun:
    """A model's check: launched as a review is, its answer parsed on the worker (it owns the
    caller's place from the start, see `start_playbook`)."""
    history = history if history is not None else SessionHistory([])
    document, book = request.document, request.playbook
    try:
        index = contract_index(document.text, document.page_starts)
        run_request = check_run_request(request, checker)
    except BaseException:
        if holds_place:
            release_slot()
        raise
    parser = AnswerParser(book)
    run = PlaybookRun(book, parser)

    def on_text(text: str) -> None:
        for section in parser.feed(text):
            run._decide(section_result(section, index))

    def conclude(record: RunRecord) -> None:
        # A model that ran out of output tokens ended its answer mid-section, like a failed run.
        truncated = record.finish_reason in LENGTH_REASONS
        completed = record.status is RunStatus.DONE and not truncated
        # A run that ended well with nothing written: said so, not read as sections missed.
        empty = completed and parser.empty
        cut = None if completed else parser.current()[0]
        if completed and not empty:
            for section in parser.finish():
                run._decide(section_result(section, index))
        elif cut is not None:
            run._decide(PositionResult(cut, None, f"No verdict: {CUT_OFF}.", problem=CUT_OFF))
        if record.not_started:
            run._unanswered(NOT_STARTED)
        run._unanswered(RETURNED_NOTHING if empty else OUT_OF_TOKENS if truncated else NOT_REACHED)
        problems = list(parser.problems)
        if truncated:
            problems.insert(0, TRUNCATED)
        if parser.ignored_format:
            problems.insert(0, IGNORED_FORMAT)
        if empty:
            problems.insert(0, EMPTY_ANSWER)
        run._end(record, tuple(problems), run_maker(record.provider, record.model))

    run.record, run._live = launch(
        run_request,
        history=history,
        run_log=run_log,
        settings=settings,
        notify=notify,
        refuse_when_busy=refuse_when_busy,
        holds_place=holds_place,
        refusal=refusal,
        on_text=on_text,
        conclude=conclude,
        on_end=lambda: run._deliver(notify),
    )
    return run


def check_run_request(request: PlaybookRequest, checker: ProviderConfig) -> RunRequest:
    """A model's check as the run `launch` starts: the playbook prompt, in one pass; what
    `launch.planned` checks (and an estimate shows) before it starts."""
    document, book = request.document, request.playbook
    return RunRequest(
        page=request.page,
        config=checker,
        document=document,
        template_key=KIND,
        instructions="",
        perspective="",
        max_tokens=request.max_tokens,
        temperature=request.temperature,
        comparison_id=request.comparison_id,
        batch_id=request.batch_id,
        kind=KIND,
        playbook_id=book.id,
        built_prompt=build_playbook_prompt(book, document.text, document.name),
    )


def _start_builtin(
    request: PlaybookRequest,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
    notify: Callable[[], None] | None,
    holds_place: bool,
) -> PlaybookRun:
    """The built-in checker, on a worker thread of its own like a model's run; a place it
    `holds_place` under the cap on runs at once is given back when it ends."""
    document, book = request.document, request.playbook
    record = new_record(
        page=request.page,
        provider=BUILTIN_PROVIDER,
        model=BUILTIN_MODEL,
        endpoint="",
        document=document,
        template=KIND,
        settings=settings,
        comparison_id=request.comparison_id,
        batch_id=request.batch_id,
        kind=KIND,
        playbook_id=book.id,
    )
    start_record(record, history, run_log)
    run = PlaybookRun(book)
    run.record = record

    def work() -> None:
        started = time.monotonic()
        try:
            result = check_playbook(document.text, book, document.page_starts)
            record.status = RunStatus.DONE
            for r in result.results:
                if run._cancelled.is_set():
                    record.status = RunStatus.CANCELLED
                    break
                run._decide(r)
                if notify is not None:
                    notify()
        except Exception as exc:  # the checker never should; the run still ends and is kept
            record.status = RunStatus.ERROR
            record.error_kind = ErrorKind.BAD_RESPONSE.value
            record.error_message = f"The built-in checker failed ({type(exc).__name__})."
        finally:
            run._unanswered("the check ended before this position")
            record.total_s = round(time.monotonic() - started, 4)
            run._end(record, (), CHECKER_NAME)
            end_record(record, run_log)
            if holds_place:
                release_slot()
            run._deliver(notify)

    threading.Thread(target=work, name="playbook-check", daemon=True).start()
    return run


FOLLOW_WAIT_S = 0.02


def follow(runs: Sequence[PlaybookRun], idle: float = 0.1) -> Iterator[tuple[int, Update]]:
    """Several runs' updates as they come, each with its run's place in `runs`; a `Tick` for
    each run still going after `idle` seconds without news. Ends after every run's outcome."""
    done = [False] * len(runs)
    last = time.monotonic()
    while not all(done):
        moved = False
        for i, run in enumerate(runs):
            for update in [] if done[i] else run.poll():
                moved = True
                done[i] = isinstance(update, PlaybookOutcome)
                yield i, update
        now = time.monotonic()
        if moved:
            last = now
            continue
        if now - last >= idle:
            last = now
            for i, run in enumerate(runs):
                if not done[i]:
                    yield i, run._tick()
        time.sleep(FOLLOW_WAIT_S)
