"""Starting a run from a page: its record, its prompt, its worker, and how its end is recorded.

Free of Streamlit so the Review and Compare pages share it and tests can drive it directly. The run
record is added to the history before the first byte is requested, and the worker thread updates
it (and the run log) when the run ends — however it ends, even if the page script was stopped.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path, PurePath
from typing import TypeVar

from lib.analysis.clauses.model import load_model
from lib.analysis.documents import Document
from lib.analysis.grounding import Grounding, GroundingTracker, contract_index
from lib.analysis.grounding.report import finish_grounding, ground_report
from lib.analysis.long_plan import LongPlan, PlanError
from lib.analysis.prompts import TEMPLATES, Prompt, build_prompt
from lib.engine.errors import ContextTooLong, PartnerCannotRun, ProviderError, RateLimited
from lib.engine.events import Source, StreamContext
from lib.engine.limits import busy_message
from lib.engine.provider_config import ProviderConfig, endpoint_label, shown_url
from lib.engine.settings import Settings
from lib.engine.stream_model import ModelStream, stream_model
from lib.runs.endpoint_pool import route_for
from lib.runs.lag_log import LagLog
from lib.runs.live import LiveRun, claim_slot, release_slot, stop_all
from lib.runs.long_review import LongReview
from lib.runs.pricing import run_cost
from lib.runs.run_plan import automatic_plan, one_pass_problem
from lib.store.heartbeat import HEARTBEAT
from lib.store.records import RunRecord, SessionHistory, run_maker
from lib.store.run_log import RunLog

log = logging.getLogger(__name__)
T = TypeVar("T")
# How often a streaming run's report so far is written to the run log (`PreparedRun.save_progress`).
SAVE_EVERY_S = 10.0
# After a write the log refused (a database that went away), how long the run streams before
# trying to save its progress again: each try may wait for the database, and the stream with it.
SAVE_RETRY_S = 60.0
NOT_KEPT_NOTE = (
    "The run history could not be reached when this run ended: History may show it unfinished "
    "(still running, or ended by a stopped process) or not at all until it answers again, and "
    "this app writes it; download the report to keep it."
)
# The grounding of this process's latest finished runs, so a page shows the verdicts the run's
# own tracker reached instead of checking every quote again.
_RECENT_GROUNDING: OrderedDict[str, Grounding] = OrderedDict()
_RECENT_LIMIT = 64
_recent_lock = threading.Lock()


class _ClauseModelLoad:
    """The clause model, loaded once per process on a thread of its own as soon as a page is
    shown (`warm_up`), not by the first run's finish.

    A finished run cross-checks its report's claims of absence with the clause finder. Loaded
    there, the model cost the first run of a process about 0.2 s of CPU on the worker, at the very
    moment the page was drawing the report's last tokens (docs/PROFILES.md, 2026-12-06).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=load_model, name="clause-model", daemon=True)
                self._thread.start()

    def wait(self) -> None:
        """Block until a load already started has ended, so the model is never loaded twice."""
        with self._lock:
            thread = self._thread
        if thread is not None:
            thread.join()


_CLAUSE_MODEL = _ClauseModelLoad()


def warm_up() -> None:
    """Start loading what a run's finish needs, once per process; pages call it as they are
    shown, while the analyst is still choosing a contract."""
    _CLAUSE_MODEL.start()


def grounding_of(run_id: str) -> Grounding | None:
    """The verdicts a run of this process reached as it streamed, while still remembered."""
    with _recent_lock:
        return _RECENT_GROUNDING.get(run_id)


def contract_text_for(record: RunRecord, contract: Document | None) -> str:
    """The reviewed contract's text where it is at hand: `contract` when it is the one the run
    reviewed, else the text stored with the run."""
    if contract is not None and contract.sha256 == record.document_sha256:
        return contract.text
    return record.contract_text or ""


def report_grounding(record: RunRecord, contract: Document | None) -> Grounding | None:
    """A report's quote checks, the same on a page and in a file: the run's own verdicts,
    reached as it streamed, while remembered; else checked afresh against the contract."""
    text = contract_text_for(record, contract)
    if not record.report or not text:
        return None
    if (checked := grounding_of(record.run_id)) is not None:
        return checked
    same = contract is not None and contract.sha256 == record.document_sha256
    page_starts = contract.page_starts if same and contract is not None else None
    return ground_report(record.report, text, page_starts, ocr=record.text_source is not None)


def _remember(run_id: str, grounding: Grounding) -> None:
    with _recent_lock:
        _RECENT_GROUNDING[run_id] = grounding
        while len(_RECENT_GROUNDING) > _RECENT_LIMIT:
            _RECENT_GROUNDING.popitem(last=False)


def save_upload(settings: Settings, name: str, data: bytes) -> Path | None:
    """Keep a copy of an upload only where the operator asked for it.

    Every upload gets a file of its own under a random name (the original suffix kept), created
    readable by this user only whatever the umask: two analysts uploading `contract.pdf` must not
    overwrite or read each other's copy, and a name chosen by an uploader must not be guessable
    or point the write elsewhere (`O_EXCL` refuses an existing file or link).
    """
    if settings.upload_dir is None:
        return None
    settings.upload_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    suffix = "".join(ch for ch in PurePath(name).suffix.lower() if ch.isalnum() or ch == ".")
    path = settings.upload_dir / f"{secrets.token_urlsafe(24)}{suffix[:10]}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    descriptor = os.open(path, flags, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        os.fchmod(file.fileno(), 0o600)  # exactly 0600, whatever the umask took away
        file.write(data)
    return path


@dataclass(frozen=True)
class RunRequest:
    """One run's inputs, as a page, a batch or the API asks for them."""

    page: str
    config: ProviderConfig
    document: Document
    template_key: str
    instructions: str
    perspective: str
    max_tokens: int
    temperature: float
    comparison_id: str | None = None
    batch_id: str | None = None
    # A long review chosen on the page; None lets `run_plan.automatic_plan` decide.
    plan: LongPlan | None = None
    # The per-run thinking switch (`ThinkingSwitch` in the provider's spec): ask the model to
    # think or not (None: leave it to the model), and the budget for providers that take one.
    thinking: bool | None = None
    thinking_budget: int | None = None
    # "review" (a report from a template) or "playbook" (a check against `playbook_id`). Only a
    # review has a section-by-section plan; any other kind gives its own `built_prompt` and is
    # refused as too long when one pass does not fit the model.
    kind: str = "review"
    playbook_id: str | None = None
    # Built once, with the request (kept by `dataclasses.replace`): the page previews, counts and
    # plans for the very prompt that is sent.
    built_prompt: Prompt | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.built_prompt is None:
            prompt = build_prompt(
                TEMPLATES[self.template_key],
                self.document.text,
                self.document.name,
                instructions=self.instructions,
                perspective=self.perspective,
            )
            object.__setattr__(self, "built_prompt", prompt)

    @property
    def prompt(self) -> Prompt:
        assert self.built_prompt is not None  # set in __post_init__
        return self.built_prompt


@dataclass
class PreparedRun:
    """A run whose record is written and whose request is ready; `finish` records its end.

    Batches read `stream` on their own worker threads: they draw nothing, so they take no share
    of the live render budget that `LiveRun` accounts for.
    """

    record: RunRecord
    stream: ModelStream | LongReview
    finish: Callable[[], None]
    # Checks the report's quotes as it streams (fed by whoever draws it); its verdicts are the
    # run's, completed and counted by `finish`.
    tracker: GroundingTracker
    # Called by whoever reads the stream after each piece: writes the report so far to the run
    # log every `SAVE_EVERY_S`, so a crash or a restart loses at most that much of it.
    save_progress: Callable[[], None]


def new_record(
    *,
    page: str,
    provider: str,
    model: str,
    endpoint: str,
    document: Document,
    template: str,
    settings: Settings,
    **fields: object,
) -> RunRecord:
    """A run's record as every run starts it: the document's name, size, hash and text source,
    and its text only where the operator keeps contracts."""
    return RunRecord(
        page=page,
        provider=provider,
        model=model,
        endpoint=shown_url(endpoint),
        document_name=document.name,
        document_chars=document.char_count,
        document_sha256=document.sha256,
        template=template,
        contract_text=document.text if settings.store_contract_text else None,
        text_source=document.text_source,
        **fields,  # type: ignore[arg-type]
    )


def start_record(record: RunRecord, history: SessionHistory | None, run_log: RunLog | None) -> None:
    """A new run in this session's history and the run log, before its first byte is asked for;
    the process's heartbeat stamps it until `end_record` (a model thinking for minutes without a
    token is still running, and a process that stopped is told by the beats it missed)."""
    if history is not None:
        history.add(record)
    _write(run_log, record)
    if run_log is not None:
        HEARTBEAT.hold(run_log, record.run_id)


def end_record(record: RunRecord, run_log: RunLog | None) -> None:
    """A run's end written to the run log (its record in the history is the same object); a
    run the log could not take says so, where the page and the API show its notes, and is
    written again once the log takes a write (`save_unsaved`)."""
    HEARTBEAT.drop(record.run_id)
    if _write(run_log, record):
        return
    record.notes.append(NOT_KEPT_NOTE)
    with _unsaved_lock:
        _UNSAVED.append((run_log, record))
        del _UNSAVED[:-UNSAVED_LIMIT]  # a log gone for good: the oldest keep their note only


# Runs whose end the log could not take (a shared database that went away), oldest first: left
# there, History showed them "running" until the two-hour orphan rule called them interrupted.
_UNSAVED: list[tuple[RunLog, RunRecord]] = []
UNSAVED_LIMIT = 200
_unsaved_lock = threading.Lock()
_next_try = 0.0


def save_unsaved(run_log: RunLog | None, *, answered: bool = False) -> None:
    """Write the ends the log behind `run_log` could not take, without their "could not be
    reached" note. Tried at most every `SAVE_RETRY_S` (each try may wait for the database), and
    at once when it has just `answered` another write."""
    global _next_try
    if run_log is None or not _UNSAVED or (time.monotonic() < _next_try and not answered):
        return
    database = _database_of(run_log)
    with _unsaved_lock:
        waiting = [item for item in _UNSAVED if _database_of(item[0]) is database]
        for item in waiting:
            _UNSAVED.remove(item)
    for index, (owner_log, record) in enumerate(waiting):
        record.notes = [note for note in record.notes if note != NOT_KEPT_NOTE]
        try:
            owner_log.append(record)
        except Exception:
            log.warning("the run log still refuses writes; ends waiting: %d", len(waiting) - index)
            for _, left in waiting[index:]:
                if NOT_KEPT_NOTE not in left.notes:
                    left.notes.append(NOT_KEPT_NOTE)
            with _unsaved_lock:
                _UNSAVED[:0] = waiting[index:]
            _next_try = time.monotonic() + SAVE_RETRY_S
            return


def _database_of(run_log: RunLog) -> object:
    """What a log writes to: the views of one database (one per viewer) share it."""
    return getattr(run_log, "database", run_log)


def prepare_run(
    request: RunRequest,
    *,
    history: SessionHistory | None,
    run_log: RunLog | None,
    settings: Settings,
    endpoint_capacity: int | None = None,
    conclude: Callable[[RunRecord], None] | None = None,
    planning: StreamContext | None = None,
) -> PreparedRun:
    """The run's record (in the history and the log at once) and its stream, not yet read.

    `conclude` runs at the end, after the record took the stream's figures and before it is
    written, in place of grounding a review's report (a playbook check records its verdicts).
    A model on several endpoints goes through the process's endpoint pool (`endpoint_pool`),
    each endpoint taking at most `endpoint_capacity` of this process's runs when given (a batch
    lane's concurrency).

    `planning`: cancelled by whoever may stop the run before its stream exists (a batch's Stop),
    it ends a lookup of the model's window that a stalled server holds (`planned`) at once, and
    the run is recorded as cancelled, nothing sent.
    """
    r, problem = planned(request, planning)
    document, config, prompt, plan = r.document, r.config, r.prompt, r.plan
    route = route_for(config, endpoint_capacity)
    refusal = ContextTooLong(problem) if problem else None
    record = new_record(
        page=r.page,
        provider=config.provider.value,
        model=config.model,
        endpoint=config.base_url,
        document=document,
        template=r.template_key,
        settings=settings,
        instructions=r.instructions,
        comparison_id=r.comparison_id,
        batch_id=r.batch_id,
        strategy=plan.strategy.value if plan else None,
        parts=plan.model_calls if plan else None,
        kind=r.kind,
        playbook_id=r.playbook_id,
    )
    source = Source(
        document.name, document.text, r.template_key, document.page_starts, r.perspective
    )
    stream: ModelStream | LongReview
    if plan is not None:
        stream = LongReview(
            config,
            plan,
            temperature=r.temperature,
            open_stream=partial(stream_model, route=route),
            limits=settings.run_limits,
            thinking=r.thinking,
            thinking_budget=r.thinking_budget,
        )
    else:
        stream = stream_model(
            config,
            prompt.system,
            prompt.user,
            max_tokens=r.max_tokens,
            temperature=r.temperature,
            source=source,
            limits=settings.run_limits,
            thinking=r.thinking,
            thinking_budget=r.thinking_budget,
            # A batch sends each contract to each model once: a cache write costs 1.25× the
            # input and would never be read (24 Claude runs wrote 97,013 tokens, read none).
            stable_prefix=prompt.prefix_chars if r.batch_id is None else 0,
            route=route,
        )
        if refusal is not None:
            stream.refuse(refusal)
    if planning is not None and planning.cancelled:
        stream.close()  # stopped while planned: recorded as any run stopped before its answer
    # What reading the contract could not do (a page that is an image, a guessed encoding) goes
    # with the run on every front end: its record, History, the API's `done`, a batch's report.
    stream.stats.notes.extend(document.warnings)

    tracker = GroundingTracker(
        contract_index(document.text, document.page_starts), ocr=document.from_ocr
    )
    # Written once all of the run is ready: a run that could not be made is not left "running",
    # held by the heartbeat with nothing to end it.
    start_record(record, history, run_log)

    saved = time.monotonic()

    def save_progress() -> None:
        nonlocal saved
        if run_log is None or time.monotonic() - saved < SAVE_EVERY_S:
            return
        stats = stream.stats
        record.update_from(stats, run_cost(config, stats, settings.prices))
        written = _write(run_log, record)
        # Timed from the end of the write: one that waited for an unreachable database is
        # not tried again at the next token, and not for a while.
        saved = time.monotonic() + (0.0 if written else SAVE_RETRY_S - SAVE_EVERY_S)

    def finish() -> None:
        stats = stream.stats
        record.update_from(stats, run_cost(config, stats, settings.prices))
        if conclude is not None:
            conclude(record)
        elif record.report:
            _CLAUSE_MODEL.wait()
            grounding = finish_grounding(tracker, record.report, document.text)
            record.set_grounding(grounding.counts)
            _remember(record.run_id, grounding)
        end_record(record, run_log)

    return PreparedRun(record, stream, finish, tracker, save_progress)


def launch(
    request: RunRequest,
    *,
    history: SessionHistory,
    run_log: RunLog | None,
    settings: Settings,
    notify: Callable[[], None] | None = None,
    refuse_when_busy: bool = False,
    on_text: Callable[[str], None] | None = None,
    conclude: Callable[[RunRecord], None] | None = None,
    on_end: Callable[[], None] | None = None,
    holds_place: bool = False,
    refusal: ProviderError | None = None,
) -> tuple[RunRecord, LiveRun]:
    """Start a run someone watches: its worker thread (`notify`: see `LiveRun`), with the run's
    tracker checking its quotes as they are drawn.

    A run over `CRS_MAX_CONCURRENT_RUNS` ends at once as rate limited and is recorded, so the
    page's history says why. With `refuse_when_busy` (the API, where anyone who reaches it could
    otherwise fill the run log with refusals) it raises `RateLimited` instead, recording nothing.

    A run that reads its own answer (a playbook check) passes `on_text` (each piece of text, on
    the worker), `conclude` (see `prepare_run`) and `on_end` (after the end is written).

    `holds_place`: the caller already holds a place under the cap (a batch worker waited for
    one); it passes to the run, which gives it back when it ends (or here, if it cannot start).
    `refusal`: the caller could not take the run's place (`places_for`), or another run started
    with it will not fit its model (`start_together`); the run is recorded as refused with it, as
    a run over the cap is.
    """
    limit = settings.run_limits.max_concurrent_runs
    claimed = holds_place or (refuse_when_busy and limit > 0)
    if claimed and not holds_place and not claim_slot(limit):
        raise RateLimited(busy_message(limit))
    try:
        run = prepare_run(
            request, history=history, run_log=run_log, settings=settings, conclude=conclude
        )
    except BaseException:
        if claimed:
            release_slot()
        raise

    def end(_live: LiveRun) -> None:
        try:
            run.finish()
        finally:
            if on_end is not None:
                on_end()

    def text(piece: str) -> None:
        if on_text is not None:
            on_text(piece)
        run.save_progress()

    live = LiveRun(
        run.stream,
        on_end=end,
        on_text=text,
        tracker=run.tracker,
        notify=notify,
        max_concurrent=limit,
        claimed=claimed,
        lag_log=LagLog(settings.bench_lag_file) if settings.bench_lag_file else None,
        min_render_interval=settings.bench_render_interval,
        refusal=refusal,
    )
    return run.record, live


@dataclass(frozen=True)
class Places:
    """Places under `CRS_MAX_CONCURRENT_RUNS` for runs that are one piece of work (a comparison's
    sides), taken all at once or none: one side started and billed while the cap refused the
    other left half a comparison.

    `held`: one place per run, each passed to its run (`holds_place`), which gives it back when
    it ends. `refusal`: none was taken, and every run starts refused with it (and is recorded,
    as a lone run over the cap is). Neither: the cap is off.
    """

    held: bool
    refusal: ProviderError | None


def places_for(count: int, settings: Settings) -> Places:
    """Take the places of `count` runs that start together (see `Places`), before any of them
    exists, so a refused comparison bills nothing."""
    limit = settings.run_limits.max_concurrent_runs
    if limit <= 0 or count == 0:  # no cap, or only runs that take no place (the built-in checker)
        return Places(held=False, refusal=None)
    if claim_slot(limit, count):
        return Places(held=True, refusal=None)
    return Places(held=False, refusal=RateLimited(busy_message(limit, count)))


def start_together(
    takes_place: Sequence[bool],
    start: Callable[[int, bool, ProviderError | None], T],
    cancel: Callable[[T], None],
    settings: Settings,
    unfit: Mapping[int, str] | None = None,
) -> list[T]:
    """Start runs that make one comparison: those that `takes_place` take their places under the
    cap together (`places_for`), or all start refused. `start(i, holds_place, refusal)` starts
    the i-th; if one cannot start, the later ones' places are given back (its own went back
    with it) and those already started are cancelled: a side alone is no comparison.

    `unfit`: by index, why a run will not run on its model (`unfit_reason`, naming its run).
    Then no place is taken and nothing is sent (the other side, sent alone, was billed for half
    a comparison). Each unfit run starts refused as too long; every other one that takes a place
    starts refused as not started for its partner (`PartnerCannotRun`), saying which could not
    run. Both are recorded, so History keeps the comparison's two rows as it keeps those of a
    comparison the cap refused, but only the run that does not fit says "too long": recorded as
    too long itself, a side whose own estimate said it fits read as that model's failure."""
    refusals: list[ProviderError | None]
    if unfit:
        places = Places(held=False, refusal=None)
        partner = PartnerCannotRun(f"{NOT_TOGETHER}: {' '.join(unfit.values())}")
        refusals = [
            ContextTooLong(f"{unfit[i]} {NOT_TOGETHER}.") if i in unfit else partner
            for i in range(len(takes_place))
        ]
    else:
        places = places_for(sum(takes_place), settings)
        refusals = [places.refusal] * len(takes_place)
    runs: list[T] = []
    try:
        for i, takes in enumerate(takes_place):
            runs.append(start(i, takes and places.held, refusals[i] if takes else None))
    except BaseException:
        if places.held:
            for _ in range(sum(takes_place[len(runs) + 1 :])):
                release_slot()
        for run in runs:
            cancel(run)
        raise
    return runs


def plan_for(r: RunRequest, ctx: StreamContext | None = None) -> LongPlan | None:
    """The review's plan when nobody chose one (`automatic_plan`): the one its run gets and
    its estimate (`lib.runs.estimate`) shows; raises `PlanError`."""
    return automatic_plan(
        r.config,
        r.document,
        r.template_key,
        prompt_tokens=r.prompt.estimated_tokens,
        max_tokens=r.max_tokens,
        instructions=r.instructions,
        perspective=r.perspective,
        ctx=ctx,
    )


def planned(r: RunRequest, ctx: StreamContext | None = None) -> tuple[RunRequest, str | None]:
    """`r` with the plan its run follows (`plan_for` when nobody chose one), and why it cannot
    run at all, if so: a review that fits the model neither whole nor section by section, or
    another kind (a playbook check) whose one pass does not fit. The one check every run gets
    (`prepare_run`), and a comparison before any side starts (`launch_together`). The reason is
    whole sentences, read alone as a refused run's error and after the estimate's own sentence
    (`lib.runs.estimate`): cut into one of them, it read "…section by section: A 1,024-token…".

    `ctx`: the run being planned, whose Stop ends a lookup of the model's window in flight
    (`run_plan.model_context`)."""
    if r.kind != "review":
        return r, one_pass_problem(r.config, r.prompt.estimated_tokens, r.max_tokens, ctx)
    if r.plan is not None:
        return r, None
    try:
        plan = plan_for(r, ctx)
    except PlanError as exc:
        return r, f"The contract does not fit the model, even section by section. {exc}"
    return (replace(r, plan=plan) if plan is not None else r), None


# Why a comparison one side of which will not fit starts neither (`start_together`).
NOT_TOGETHER = "Neither side was started, as a comparison runs both sides or neither"


def unfit_reason(r: RunRequest, problem: str) -> str:
    """Why a run of a comparison will not run (`planned`), naming its model and endpoint
    (`start_together`): two sides may run one model at two servers."""
    where = endpoint_label(r.config.base_url) if r.config.base_url else ""
    at = f" at {where}" if where else ""
    return f"{run_maker(r.config.provider.value, r.config.model)}{at} does not fit. {problem}"


def launch_together(
    requests: Sequence[RunRequest],
    *,
    history: SessionHistory,
    run_log: RunLog | None,
    settings: Settings,
) -> list[tuple[RunRecord, LiveRun]]:
    """Start runs that make one comparison: all of them, or all refused (`start_together`).

    Each side's long-contract plan is made first: made as each side started, the second side's
    run began a clause-finder pass (over a second on a long contract) after the first's, and
    the sides' shared time axis was off by that much. A side that will not fit its model
    (`planned`) starts neither, and nothing is sent: it is recorded as too long, the other as
    not started for it (`start_together`)."""
    made = [planned(r) for r in requests]
    requests = [r for r, _ in made]
    unfit = {i: unfit_reason(r, problem) for i, (r, problem) in enumerate(made) if problem}

    def start(
        i: int, holds_place: bool, refusal: ProviderError | None
    ) -> tuple[RunRecord, LiveRun]:
        return launch(
            requests[i],
            history=history,
            run_log=run_log,
            settings=settings,
            holds_place=holds_place,
            refusal=refusal,
        )

    return start_together(
        [True] * len(requests), start, lambda run: stop_all([run[1]]), settings, unfit
    )


def _write(run_log: RunLog | None, record: RunRecord) -> bool:
    """Whether the log took the record (no log: nothing to take, and nothing lost)."""
    if run_log is None:
        return True
    try:
        run_log.append(record)
    except Exception:
        log.exception("could not write the run log")
        return False
    save_unsaved(run_log, answered=True)  # it answers again: the ends it missed go in now
    return True
