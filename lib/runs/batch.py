"""Run many contracts through one or more models: concurrency per endpoint, progress, Stop, resume.

Each contract × model is an item. Items for one endpoint (provider and base URL) share a lane with
a fixed number of worker threads, because that is where load lands: the built-in model and one
local Ollama answer one request at a time (a second would only queue inside the server and distort
every timing), while Claude serves several. Lanes run side by side, so a slow local model does
not hold up Claude. A model on several endpoints has one lane with workers for all of them; each
run goes to the least busy endpoint with room (`endpoint_pool`), so a slow server takes fewer.

Every run goes through `prepare_run`, the path the Review page uses, so it lands in the run log
with its figures and the batch's id. A failed item is recorded and the batch carries on. With a
run log the batch and each item's status are stored (`lib.store.batch_store`) before and after each
run, so `BatchRunner.resume` runs only what is not finished: nothing done is run (or billed) twice.

A batch may instead check every contract against a playbook (`BatchSettings.playbook`): each
item is then the one playbook run (`playbook_run.start_playbook`), by a model or by the built-in
checker (the item's config is None), and its record keeps the verdicts.

Review workers read the stream themselves rather than through `LiveRun`: nothing is drawn token by
token, so batches take no share of the process's live render budget. They do count against the
process's cap on runs streaming at once (CRS_MAX_CONCURRENT_RUNS), as every review does: a worker
waits for a free place before it starts its next item, so tabs × lanes never exceed the cap, and
a review asked for while batches hold every place is refused with the usual message.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from lib.analysis.documents import Document
from lib.analysis.playbook.checker import CHECKER_NAME
from lib.analysis.playbook.format import Playbook
from lib.analysis.playbook.loader import dump_playbook, parse_playbook
from lib.analysis.plural import counted, duration
from lib.analysis.prompts import DEFAULT_TEMPLATE_KEY, TEMPLATES, default_instructions
from lib.engine.events import StreamContext
from lib.engine.provider_config import (
    DEFAULT_MAX_TOKENS,
    DEFAULT_TEMPERATURE,
    ProviderConfig,
    shown_url,
)
from lib.engine.providers.registry import spec_for
from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.runs.batch_sources import CONTRACTNLI_PREFIX, FOLDER_PREFIX, SAMPLE_SOURCE
from lib.runs.estimate import BatchEstimate, estimate_batch
from lib.runs.launch import RunRequest, prepare_run
from lib.runs.live import STREAMS_IN_FLIGHT
from lib.runs.model_choice import ChoiceError, resolve, stored_choice
from lib.runs.playbook_run import (
    BUILTIN_MODEL,
    BUILTIN_PROVIDER,
    PlaybookRequest,
    check_run_request,
    start_playbook,
)
from lib.runs.portfolio import (
    NOT_RESUMED,
    NOT_STARTED,
    GridRun,
    Waiting,
    grid_runs,
    waiting_rows,
)
from lib.store.batch_store import BatchItem, BatchStatus, BatchStore, ItemStatus
from lib.store.heartbeat import HEARTBEAT
from lib.store.records import RunRecord, run_maker
from lib.store.run_log import RunLog

log = logging.getLogger(__name__)

MAX_CONCURRENCY = 32
PAGE = "batch"
# A playbook batch's item checked by the built-in checker: no model, so no config.
Checker = ProviderConfig | None
BUILTIN_SPEC: dict[str, Any] = {
    "provider": BUILTIN_PROVIDER,
    "model": BUILTIN_MODEL,
    "base_url": "",
    "context_length": None,
}


@dataclass(frozen=True)
class BatchSettings:
    """What every run of a batch shares; stored with the batch so a resume asks the same."""

    template_key: str = DEFAULT_TEMPLATE_KEY
    instructions: str = ""
    perspective: str = ""
    max_tokens: int = DEFAULT_MAX_TOKENS
    temperature: float = DEFAULT_TEMPERATURE
    # Where the contracts came from ("sample", "folder:<path>", "upload"), to find them again.
    source: str = "upload"
    # A playbook batch: the playbook as TOML (`dump_playbook`), kept whole so a resume checks
    # against the very positions the batch began with; "" for a batch of reviews.
    playbook: str = ""

    def __post_init__(self) -> None:
        if self.template_key not in TEMPLATES:
            object.__setattr__(self, "template_key", DEFAULT_TEMPLATE_KEY)
        if not self.instructions.strip():
            template = TEMPLATES[self.template_key]
            object.__setattr__(self, "instructions", default_instructions(template))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchSettings:
        names = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def for_playbook(cls, playbook: Playbook, **fields: Any) -> BatchSettings:
        return cls(playbook=dump_playbook(playbook), **fields)

    def playbook_of(self) -> Playbook | None:
        """The batch's playbook, read again with the one loader; None for reviews."""
        return parse_playbook(self.playbook, "the batch's playbook") if self.playbook else None


def _builtin(config: Checker | Mapping[str, Any]) -> bool:
    return config is None or (
        isinstance(config, Mapping) and config.get("provider") == BUILTIN_PROVIDER
    )


def model_key(config: Checker | Mapping[str, Any]) -> str:
    """Identifies a model within a batch: provider, model and endpoint (never the key); of a
    config or of what the store kept of one (`model_spec`); None is the built-in checker."""
    if config is None:
        config = BUILTIN_SPEC
    if isinstance(config, ProviderConfig):
        return f"{config.provider.value}:{config.model}@{shown_url(config.base_url)}"
    return f"{config['provider']}:{config['model']}@{config.get('base_url') or ''}"


def model_label(config: Checker | Mapping[str, Any]) -> str:
    """The reviewer's name in grids, scorecards and files: the one the pages use (`run_maker`)."""
    if _builtin(config):
        return CHECKER_NAME
    if isinstance(config, ProviderConfig):
        return run_maker(config.provider.value, config.model)
    assert isinstance(config, Mapping)
    return run_maker(str(config["provider"]), str(config["model"]))


def review_request(
    batch_settings: BatchSettings,
    config: ProviderConfig,
    document: Document,
    batch_id: str | None = None,
) -> RunRequest:
    """The request of one review in a batch: what a worker runs, and what its estimate is of."""
    return RunRequest(
        page=PAGE,
        config=config,
        document=document,
        template_key=batch_settings.template_key,
        instructions=batch_settings.instructions,
        perspective=batch_settings.perspective,
        max_tokens=batch_settings.max_tokens,
        temperature=batch_settings.temperature,
        batch_id=batch_id,
    )


def check_request(
    batch_settings: BatchSettings,
    playbook: Playbook,
    checker: Checker,
    document: Document,
    batch_id: str | None = None,
) -> PlaybookRequest:
    """The request of one playbook check in a batch: what a worker runs, and what its estimate
    is of (`check_run_request`, as the Playbook page estimates a check)."""
    return PlaybookRequest(
        document,
        playbook,
        checker,
        page=PAGE,
        max_tokens=batch_settings.max_tokens,
        temperature=batch_settings.temperature,
        batch_id=batch_id,
    )


def playbook_plan(contracts: int, checkers: Sequence[Checker]) -> str | None:
    """What the built-in checker of a playbook batch will do, said beside the models' estimate:
    it reads the contracts itself, calling no model; None without it."""
    if all(c is not None for c in checkers):
        return None
    return (
        f"A playbook check: {CHECKER_NAME} reads {counted(contracts, 'contract')} itself: no"
        " model call, no cost."
    )


def estimate_reviews(
    contracts: Sequence[Document],
    configs: Sequence[Checker],
    batch_settings: BatchSettings,
    prices: Mapping[str, tuple[float, float]],
    run_log: RunLog | None,
) -> BatchEstimate | None:
    """A batch estimated before it starts, every contract × model as its workers will run it
    (`estimate_batch`, its time from `run_log`'s earlier runs): each review's plan, or each
    playbook check's one pass as the Playbook page estimates it (`check_run_request`: tokens,
    cost, time, and a check its model's context cannot hold named as too long). None when no
    model runs (the built-in checker alone: `playbook_plan`)."""
    models = [c for c in {model_key(c): c for c in configs}.values() if c is not None]
    if not models:
        return None
    documents = unique_names(contracts)
    playbook = batch_settings.playbook_of()
    if playbook is None:
        requests = [review_request(batch_settings, c, d) for d in documents for c in models]
    else:
        requests = [
            check_run_request(check_request(batch_settings, playbook, c, d), c)
            for d in documents
            for c in models
        ]
    return estimate_batch(requests, prices, run_log)


def model_spec(config: Checker) -> dict[str, Any]:
    """What the store keeps of a config: enough to rebuild it, without the API key."""
    if config is None:
        return dict(BUILTIN_SPEC)
    return {
        "provider": config.provider.value,
        "model": config.model,
        "base_url": shown_url(config.base_url),
        "context_length": config.context_length,
    }


def concurrency_for(config: Checker, overrides: Mapping[str, int] | None = None) -> int:
    """Requests in flight for this config's endpoint (CRS_BATCH_CONCURRENCY, else the provider's
    default), never above the provider's own cap (the built-in model answers one at a time).
    The built-in playbook checker works on this machine's processor: one contract at a time."""
    if config is None:
        return 1
    spec = spec_for(config.provider)
    wanted = (overrides or {}).get(config.provider.value, spec.default_concurrency)
    return max(1, min(spec.max_concurrency or MAX_CONCURRENCY, MAX_CONCURRENCY, int(wanted)))


def unique_names(documents: Sequence[Document]) -> list[Document]:
    """Contracts are items' keys: a second file of the same name gets " (2)" appended."""
    seen: Counter[str] = Counter()
    out = []
    for document in documents:
        seen[document.name] += 1
        if seen[document.name] > 1:
            # Only the name changes: its pages, picture pages and OCR source stay the file's.
            document = replace(document, name=f"{document.name} ({seen[document.name]})")
        out.append(document)
    return out


@dataclass(frozen=True)
class Progress:
    total: int
    done: int
    failed: int
    cancelled: int
    running: int
    elapsed_s: float
    # Seconds left as estimated when the last run ended (or the batch started): the estimate
    # only changes when a run ends, so it is counted down from there (`left_s`).
    eta_s: float | None
    # Workers waiting for a free place under the process's cap on runs at once.
    waiting: int = 0
    # Runs whose answer is in, being checked and recorded.
    finishing: int = 0
    # Stopped, or every worker gone: nothing more will run, so no time is left to estimate.
    ended: bool = False
    # Seconds since `eta_s` was estimated.
    eta_age_s: float = 0.0
    # A resumed batch's runs it could not run (`BatchRunner.not_resumed`): counted in `total`,
    # or a resume that left 1 of 18 out read "13 of 17 runs done".
    not_resumed: int = 0

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.cancelled

    @property
    def pending(self) -> int:
        return self.total - self.finished - self.running - self.finishing - self.not_resumed

    @property
    def left_s(self) -> float | None:
        """Seconds left: the estimate counted down since it was made, so the line does not say
        "about 14 s left" for 19 s; below a second once the estimate has run out (runs take
        longer than those before them did)."""
        return None if self.eta_s is None else self.eta_s - self.eta_age_s

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0

    def line(self) -> str:
        """One line for a progress bar's label, every run of the batch in it: once stopped, the
        runs that will not start are counted too, or a stopped batch read as nearly all there
        ("5 of 10 runs done · 1 stopped", four runs unaccounted for)."""
        parts = [f"{self.done} of {counted(self.total, 'run')} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} stopped")
        if self.not_resumed:
            parts.append(f"{self.not_resumed} not resumed")
        if self.running:
            parts.append(f"{self.running} running")
        if self.finishing:
            parts.append(f"{self.finishing} being checked")
        if self.waiting:
            parts.append(f"{self.waiting} waiting: the app runs as many reviews as it may at once")
        if self.ended and self.pending > 0:
            parts.append(f"{self.pending} never started")
        left = self.left_s
        if left is not None and self.finished < self.total and not self.ended:
            # A time already passed is no estimate: say only that it is not over yet.
            parts.append(f"about {duration(left)} left" if left >= 1 else "a little longer")
        return " · ".join(parts)


def estimate_eta(
    lanes: Mapping[str, tuple[int, int, Sequence[float]]], fallback_s: float | None = None
) -> float | None:
    """Seconds left: per lane, (items left, concurrency, durations of its finished items).

    Lanes run in parallel, so the batch ends with its slowest lane. A lane that has finished
    nothing yet borrows `fallback_s` (the mean over all lanes); None until something finished.
    """
    worst: float | None = None
    for left, concurrency, durations in lanes.values():
        if left <= 0:
            continue
        mean = sum(durations) / len(durations) if durations else fallback_s
        if mean is None:
            return None
        rounds = -(-left // max(1, concurrency))
        estimate = rounds * mean
        worst = estimate if worst is None else max(worst, estimate)
    return worst if worst is not None else 0.0


# Why a resume leaves a run out (`NotResumed`), said the same way by every front end.
CHANGED = "the contract changed since the batch started"
GONE = {
    FOLDER_PREFIX: "the contract is no longer in the folder",
    CONTRACTNLI_PREFIX: "the contract is no longer in its ContractNLI file",
    SAMPLE_SOURCE: "the contract is no longer in the bundled sample",
}
NOT_GIVEN = "the contract was not given again (upload it, or name its file, to resume it)"
# How the reason of a run whose model a resume could not choose begins (then why, from
# `model_choice.resolve`), so that reason reads as one wherever it is stored and shown.
MODEL_REFUSED = "its model cannot be chosen"


@dataclass(frozen=True)
class NotResumed:
    """A run a resume could not run, and why: named, never dropped in silence."""

    contract: str
    model_key: str
    model: str  # the model's name as grids and files name it (`model_label`)
    reason: str

    def sentence(self) -> str:
        """ "deal.txt · Ollama · llama3.2 was not resumed: the contract changed since the batch
        started." — the one line `crs-batch` prints and the Portfolio page shows."""
        return f"{self.contract} · {self.model} was not resumed: {self.reason.rstrip('.')}."


def resume_condition(left_out: Sequence[NotResumed]) -> str:
    """ "once the contracts are back as they were, or the model can be chosen": what must change
    before resuming the batch again runs the runs a resume left out, from the reasons present
    (`NotResumed.reason`) and nothing else; "" when none was left out. `crs-batch` promised a
    model that can be chosen after every resume that left a changed contract out."""
    reasons = [left.reason for left in left_out]
    back = sum(r == CHANGED or r in GONE.values() for r in reasons)
    given = reasons.count(NOT_GIVEN)
    models = {left.model_key for left in left_out if left.reason.startswith(MODEL_REFUSED)}
    unread = len(reasons) - back - given - sum(r.startswith(MODEL_REFUSED) for r in reasons)
    conditions = [
        one if n == 1 else many
        for n, one, many in (
            (back, "the contract is back as it was", "the contracts are back as they were"),
            (given, "the contract is given again", "the contracts are given again"),
            (unread, "the file can be read", "the files can be read"),
            (len(models), "the model can be chosen", "the models can be chosen"),
        )
        if n
    ]
    return "once " + ", or ".join(conditions) if conditions else ""


def _why_not_resumed(
    document: Document | None, sha256: str, source: str, unread: str | None
) -> str | None:
    """Why a stored item's contract cannot run again, or None when it is given unchanged."""
    if document is not None:
        return None if document.sha256 == sha256 else CHANGED
    if unread is not None:
        return unread
    prefix = next((p for p in GONE if source == p or source.startswith(p)), None)
    return GONE[prefix] if prefix is not None else NOT_GIVEN


def not_resumed_summary(items: Sequence[BatchItem]) -> str:
    """ "2 runs could not resume: the contract changed since the batch started; …", or "" when a
    resume left none of the batch's items out: said by `crs-batch list` and the Portfolio
    page's unfinished batches beside the runs still left."""
    left = [item for item in items if item.status is ItemStatus.NOT_RESUMED]
    if not left:
        return ""
    reasons = "; ".join(sorted({(item.error or "").rstrip(".") for item in left} - {""}))
    return f"{counted(len(left), 'run')} could not resume" + (f": {reasons}" if reasons else "")


def items_left(items: Sequence[BatchItem], live: bool) -> str:
    """ "1/3 done, 2 left to resume" — a batch's runs as `crs-batch list` counts them: those
    still to run (only "left" while a process runs them: it is not resumed meanwhile) apart
    from those a resume could not run (`not_resumed_summary`), so a finished batch never reads
    as having runs to resume that a resume would leave out again."""
    done = sum(item.status is ItemStatus.DONE for item in items)
    parts = [f"{done}/{len(items)} done"]
    not_resumed = not_resumed_summary(items)
    left = len(items) - done - sum(item.status is ItemStatus.NOT_RESUMED for item in items)
    if left:
        parts.append(f"{left} left" + ("" if live else " to resume"))
    if not_resumed:
        parts.append(not_resumed)
    return ", ".join(parts)


@dataclass
class ItemResult:
    contract: str
    model_key: str
    status: ItemStatus
    record: RunRecord | None = None
    error: str | None = None
    duration_s: float | None = None


@dataclass
class _Lane:
    # Requests in flight on each endpoint, and on all of the lane's endpoints together.
    per_endpoint: int
    concurrency: int = 0
    queue: queue.SimpleQueue[tuple[str, str]] = field(default_factory=queue.SimpleQueue)
    durations: list[float] = field(default_factory=list)
    left: int = 0


class BatchRunner:
    """Runs the items of one batch on worker threads; the page or CLI polls `progress()`."""

    def __init__(
        self,
        *,
        batch_id: str,
        contracts: Mapping[str, Document],
        configs: Mapping[str, Checker],
        items: Iterable[tuple[str, str]],
        batch_settings: BatchSettings,
        settings: Settings,
        run_log: RunLog | None,
        concurrency: Mapping[str, int] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
    ) -> None:
        self.batch_id = batch_id
        self.contracts = dict(contracts)
        self.configs = dict(configs)
        self.items = list(items)
        self.batch_settings = batch_settings
        self.playbook = batch_settings.playbook_of()
        self.settings = settings
        self.run_log = run_log
        self.store = BatchStore(run_log) if run_log is not None else None
        self.results: dict[tuple[str, str], ItemResult] = {}
        self._on_item = on_item
        # A resume's runs it could not run, each with why (`NotResumed`): counted and named.
        self.not_resumed: list[NotResumed] = []
        # A resumed batch's runs done before it was cut off: its progress counts the whole batch.
        self.done_before = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # How to stop each running item now (a review's stream, a check's run).
        self._active: dict[tuple[str, str], Callable[[], None]] = {}
        # The record of each item that started, from its start on (`records`).
        self._records: dict[tuple[str, str], RunRecord] = {}
        self._threads: list[threading.Thread] = []
        # Each review's finish (quote checks, the clause finder's cross-check, the log's row) on
        # a thread of its own, so the worker starts its next request at once: done in the worker,
        # it held an endpoint's place idle for a tenth of a second or more per run.
        self._finishes: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._finisher: threading.Thread | None = None
        self._finishing = 0
        self._workers = 0
        self._waiting = 0
        self._started_at: float | None = None
        # When the last run ended (or the batch started): when the time left was last estimated.
        self._estimated_at: float | None = None
        self._ended_at: float | None = None
        overrides = concurrency if concurrency is not None else settings.batch_concurrency
        self._lanes: dict[str, _Lane] = {}
        self._lane_of: dict[str, str] = {}
        for key, config in self.configs.items():
            lane_key = (
                BUILTIN_PROVIDER if config is None else f"{config.provider.value}@{config.base_url}"
            )
            self._lane_of[key] = lane_key
            per_endpoint = concurrency_for(config, overrides)
            lane = self._lanes.setdefault(lane_key, _Lane(per_endpoint))
            lane.per_endpoint = min(lane.per_endpoint, per_endpoint)
            # A model on several endpoints: as many workers as they take together, each run on
            # the least busy endpoint with room (`endpoint_pool`), plus one per endpoint whose
            # next run is ready (record written, prompt built) when a place frees, so no server
            # idles while a worker records the run it just finished.
            members = 1 if config is None else len(config.members)
            spare = members if members > 1 else 0
            lane.concurrency = lane.per_endpoint * members + spare
        for contract, key in self.items:
            lane = self._lanes[self._lane_of[key]]
            lane.queue.put((contract, key))
            lane.left += 1

    @classmethod
    def create(
        cls,
        *,
        name: str,
        contracts: Sequence[Document],
        configs: Sequence[Checker],
        batch_settings: BatchSettings,
        settings: Settings,
        run_log: RunLog | None,
        concurrency: Mapping[str, int] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
    ) -> BatchRunner:
        """A new batch of every contract × every model, stored when there is a run log (for a
        playbook batch, None among `configs` is the built-in checker)."""
        documents = {d.name: d for d in unique_names(contracts)}
        by_key = {model_key(c): c for c in configs}
        items = [(name_, key) for name_ in documents for key in by_key]
        if run_log is not None:
            batch_id = BatchStore(run_log).create(
                name,
                asdict(batch_settings),
                [model_spec(c) for c in by_key.values()],
                [(n, documents[n].sha256, k) for n, k in items],
            )
        else:
            batch_id = uuid.uuid4().hex
        return cls(batch_id=batch_id, contracts=documents, configs=by_key, items=items,
                   batch_settings=batch_settings, settings=settings, run_log=run_log,
                   concurrency=concurrency, on_item=on_item)  # fmt: skip

    @classmethod
    def resume(
        cls,
        *,
        batch_id: str,
        contracts: Sequence[Document],
        settings: Settings,
        run_log: RunLog,
        typed_keys: Mapping[str, str] | None = None,
        unread: Mapping[str, str] | None = None,
        concurrency: Mapping[str, int] | None = None,
        on_item: Callable[[ItemResult], None] | None = None,
    ) -> BatchRunner:
        """The stored batch's unfinished items (pending, running when cut off, failed, stopped).

        `contracts` must hold the batch's contracts again (re-read from the sample or folder, or
        uploaded again); an item runs only when a contract of the same name and text is given.
        Keys are never stored: each model is chosen again through `model_choice.resolve`, so its
        endpoint must still be allowed and gets only the key configured for it now, or one typed
        for it (`typed_keys` by model key). `unread` says, by name, why a file of the source was
        not read this time (a scan OCR could not read).

        Every unfinished item it cannot run is in `not_resumed` with the reason, and stored
        so (`ItemStatus.NOT_RESUMED`): its contract changed or is gone, it was not read, or its
        model cannot be chosen. Left out silently, a resume of 0 runs reported a finished batch
        that `crs-batch list` still counted runs left in. Those it runs are stored pending
        again, so every front end reads them as waiting while it runs.
        """
        store = BatchStore(run_log)
        info = store.get(batch_id)
        if info is None:
            raise KeyError(f"no batch {batch_id}")
        if info.owner and info.owner != run_log.scope.owner:
            # An admin resuming a user's batch: the runs are the batch's, so they stay in its
            # owner's History and Portfolio (written as the admin's, the owner lost them).
            run_log = run_log.scoped(replace(run_log.scope, owner=info.owner))
        typed = typed_keys or {}
        configs: dict[str, Checker] = {}
        refused: dict[str, str] = {}
        labels: dict[str, str] = {}
        for spec in info.models:
            key = model_key(spec)
            labels[key] = model_label(spec)
            if _builtin(spec):
                configs[key] = None
                continue
            choice = replace(stored_choice(spec), typed_key=typed.get(key))
            try:
                configs[key] = resolve(choice, settings, probe=False)
            except ChoiceError as exc:
                refused[key] = f"{MODEL_REFUSED} — {exc.message}"
        documents = {d.name: d for d in unique_names(contracts)}
        source = BatchSettings.from_dict(info.settings).source
        items: list[tuple[str, str]] = []
        not_resumed: list[NotResumed] = []
        stored = store.items(batch_id)
        for item in stored:
            if item.status is ItemStatus.DONE:
                continue
            why = refused.get(item.model_key) or _why_not_resumed(
                documents.get(item.contract), item.contract_sha256, source,
                (unread or {}).get(item.contract),
            )  # fmt: skip
            if why is None:
                items.append((item.contract, item.model_key))
            else:
                model = labels.get(item.model_key, item.model_key)
                not_resumed.append(NotResumed(item.contract, item.model_key, model, why))
        store.requeue(batch_id, items)
        for left in not_resumed:
            store.end_item(batch_id, left.contract, left.model_key, ItemStatus.NOT_RESUMED,
                           left.reason)  # fmt: skip
        store.set_status(batch_id, BatchStatus.RUNNING)
        runner = cls(batch_id=batch_id, contracts=documents, configs=configs, items=items,
                     batch_settings=BatchSettings.from_dict(info.settings), settings=settings,
                     run_log=run_log, concurrency=concurrency, on_item=on_item)  # fmt: skip
        runner.not_resumed = not_resumed
        runner.done_before = sum(item.status is ItemStatus.DONE for item in stored)
        return runner

    # ----------------------------------------------------------------------------- running

    def start(self) -> BatchRunner:
        """Its workers, and the process's heartbeat stamping the stored batch until it ends: a
        batch whose process stopped is told by the beats it missed (`BatchInfo.live`)."""
        self._started_at = self._estimated_at = time.monotonic()
        if self.store is not None:
            HEARTBEAT.hold(self.store, self.batch_id)
        plan = [
            (lane_key, lane, i)
            for lane_key, lane in self._lanes.items()
            for i in range(min(lane.concurrency, lane.left))
        ]
        self._workers = len(plan)
        self._finisher = threading.Thread(
            target=self._finish_runs, name="batch-finish", daemon=True
        )
        self._finisher.start()
        for lane_key, lane, i in plan:
            thread = threading.Thread(
                target=self._work, args=(lane,), name=f"batch-{lane_key}-{i}", daemon=True
            )
            self._threads.append(thread)
            thread.start()
        if not plan:
            self._finishes.put(None)
        return self

    def _work(self, lane: _Lane) -> None:
        try:
            while not self._stop.is_set():
                try:
                    contract, key = lane.queue.get_nowait()
                except queue.Empty:
                    return
                if not self._take_place():
                    return  # stopped while waiting: the item stays pending for a resume
                self._run_item(lane, contract, key)
        finally:
            with self._lock:
                self._workers -= 1
                last = self._workers == 0
            if last:
                self._finishes.put(None)  # after every run's finish: the batch's own

    def _finish_runs(self) -> None:
        while (finish := self._finishes.get()) is not None:
            try:
                finish()
            except Exception:
                log.exception("batch item could not be finished")
        self._finish()

    def _take_place(self) -> bool:
        """A place under CRS_MAX_CONCURRENT_RUNS, waiting for one; False once stopped."""
        limit = self.settings.run_limits.max_concurrent_runs
        if STREAMS_IN_FLIGHT.admit(limit):
            return True
        with self._lock:
            self._waiting += 1
        try:
            return STREAMS_IN_FLIGHT.wait_admit(limit, self._stop)
        finally:
            with self._lock:
                self._waiting -= 1

    def _run_item(self, lane: _Lane, contract: str, key: str) -> None:
        """One item, holding the worker's place under the cap: given back here, or by a
        playbook check's own run when it ends."""
        started = time.monotonic()
        result = ItemResult(contract, key, ItemStatus.ERROR)
        handed = False
        finish: Callable[[], None] | None = None
        try:
            if self.playbook is not None:
                handed = True  # `start_playbook` owns the place from here
                self._check(contract, key, result)
            else:
                finish = self._review(lane, contract, key, result)
        except Exception as exc:
            log.exception("batch item failed")
            result.error = f"Could not run ({type(exc).__name__})."
        finally:
            if not handed:
                STREAMS_IN_FLIGHT.release()
        if finish is None:
            self._record(lane, contract, key, result, started)
        else:
            self._finishes.put(lambda: self._after(finish, lane, contract, key, result, started))

    def _after(
        self,
        finish: Callable[[], None],
        lane: _Lane,
        contract: str,
        key: str,
        result: ItemResult,
        started: float,
    ) -> None:
        try:
            finish()
        finally:
            self._record(lane, contract, key, result, started, was_finishing=True)

    def _record(
        self,
        lane: _Lane,
        contract: str,
        key: str,
        result: ItemResult,
        started: float,
        was_finishing: bool = False,
    ) -> None:
        """The item's result, in the batch and its store, once its run is finished."""
        result.duration_s = time.monotonic() - started
        with self._lock:
            self._finishing -= was_finishing
            self._estimated_at = time.monotonic()
            lane.left -= 1
            if result.status is ItemStatus.DONE:
                lane.durations.append(result.duration_s)
            self.results[(contract, key)] = result
        self._store(lambda s: s.end_item(self.batch_id, contract, key, result.status, result.error))
        if self._on_item is not None:
            try:
                self._on_item(result)
            except Exception:
                log.exception("batch item callback failed")

    def _started(self, contract: str, key: str, result: ItemResult, record: RunRecord,
                 stop: Callable[[], None]) -> None:  # fmt: skip
        result.record = record
        self._store(lambda s: s.start_item(self.batch_id, contract, key, record.run_id))
        with self._lock:
            self._active[(contract, key)] = stop
            self._records[(contract, key)] = record
        if self._stop.is_set():
            stop()

    def _ended(self, contract: str, key: str, result: ItemResult, record: RunRecord) -> None:
        with self._lock:
            self._active.pop((contract, key), None)
        result.status = {
            RunStatus.DONE: ItemStatus.DONE,
            RunStatus.CANCELLED: ItemStatus.CANCELLED,
        }.get(record.status, ItemStatus.ERROR)
        result.error = record.error_message

    def _review(
        self, lane: _Lane, contract: str, key: str, result: ItemResult
    ) -> Callable[[], None]:
        """Stream one review; returns its finish, which the finisher thread runs."""
        config = self.configs[key]
        assert config is not None  # only a playbook batch has the built-in checker
        # Stop reaches the run from here: planning may ask a stalled server for the model's window.
        planning = StreamContext()
        with self._lock:
            self._active[(contract, key)] = planning.cancel
        if self._stop.is_set():
            planning.cancel()
        try:
            prepared = prepare_run(
                review_request(
                    self.batch_settings, config, self.contracts[contract], self.batch_id
                ),
                history=None,
                run_log=self.run_log,
                settings=self.settings,
                endpoint_capacity=lane.per_endpoint,
                planning=planning,
            )
        except BaseException:
            with self._lock:
                self._active.pop((contract, key), None)
            raise
        self._started(contract, key, result, prepared.record, prepared.stream.close)
        try:
            for _ in prepared.stream:
                prepared.save_progress()
        except Exception:  # the stream's stats hold the error; the batch carries on
            pass
        with self._lock:  # its request is over: no longer running, not yet recorded
            self._active.pop((contract, key), None)
            self._finishing += 1

        def finish() -> None:
            try:
                prepared.finish()
            finally:
                self._ended(contract, key, result, prepared.record)

        return finish

    def _check(self, contract: str, key: str, result: ItemResult) -> None:
        """The one playbook run, by the item's model or the built-in checker; its record (with
        the verdicts) is written by the run itself, however it ends."""
        assert self.playbook is not None
        run = start_playbook(
            check_request(
                self.batch_settings,
                self.playbook,
                self.configs[key],
                self.contracts[contract],
                self.batch_id,
            ),
            history=None,
            run_log=self.run_log,
            settings=self.settings,
            holds_place=True,
        )
        self._started(contract, key, result, run.record, run.cancel)
        try:
            for _ in run.updates(idle=1.0):
                pass
        finally:
            self._ended(contract, key, result, run.record)

    def _store(self, action: Callable[[BatchStore], None]) -> None:
        if self.store is None:
            return
        try:
            action(self.store)
        except Exception:
            log.exception("could not write the batch store")

    def _finish(self) -> None:
        with self._lock:
            if self._ended_at is not None:
                return
            self._ended_at = time.monotonic()
            ran_all = len(self.results) == len(self.items)
        stopped = self._stop.is_set() or not ran_all
        status = BatchStatus.STOPPED if stopped else BatchStatus.FINISHED
        HEARTBEAT.drop(self.batch_id)
        self._store(lambda s: s.set_status(self.batch_id, status))

    def stop(self) -> None:
        """Start nothing new and end every running request now."""
        self._stop.set()
        with self._lock:
            stops = list(self._active.values())
        for stop in stops:
            stop()

    def wait(self, timeout: float | None = None) -> bool:
        """True when every worker, and every run's finish, has ended."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in [*self._threads, *([self._finisher] if self._finisher else [])]:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            thread.join(left)
        return self.finished

    @property
    def finished(self) -> bool:
        threads = [*self._threads, *([self._finisher] if self._finisher else [])]
        return all(not t.is_alive() for t in threads)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def progress(self) -> Progress:
        with self._lock:
            statuses = Counter(r.status for r in self.results.values())
            running = len(self._active)
            finishing = self._finishing
            waiting = self._waiting
            estimated_at = self._estimated_at
            # Running items count as whole ones still to do: the estimate errs long, not short.
            lanes = {
                k: (lane.left, lane.concurrency, list(lane.durations))
                for k, lane in self._lanes.items()
            }
        everything = [d for _, _, durations in lanes.values() for d in durations]
        fallback = sum(everything) / len(everything) if everything else None
        now = self._ended_at or time.monotonic()
        elapsed = now - self._started_at if self._started_at is not None else 0.0
        return Progress(
            total=len(self.items) + self.done_before + len(self.not_resumed),
            done=statuses[ItemStatus.DONE] + self.done_before,
            failed=statuses[ItemStatus.ERROR],
            cancelled=statuses[ItemStatus.CANCELLED],
            running=running,
            elapsed_s=elapsed,
            eta_s=estimate_eta(lanes, fallback),
            waiting=waiting,
            finishing=finishing,
            ended=self._stop.is_set() or self._ended_at is not None,
            eta_age_s=now - estimated_at if estimated_at is not None else 0.0,
            not_resumed=len(self.not_resumed),
        )

    def records(self) -> BatchRecords:
        """The runs started in this process (running ones included) and the items not started:
        waiting until the batch stops or ends, not started after. The grid of a batch run
        without a run log."""
        with self._lock:
            started = dict(self._records)
        live = not self._stop.is_set() and not self.finished
        unstarted = [item for item in self.items if item not in started]
        if live:
            return BatchRecords(started, unstarted)
        return BatchRecords(started, not_started=unstarted)

    def failures(self) -> list[ItemResult]:
        with self._lock:
            return [r for r in self.results.values() if r.status is ItemStatus.ERROR]


@dataclass(frozen=True)
class BatchRecords:
    """What a batch's grid shows, by (contract, model key): the latest run of each contract ×
    model that started, and those still waiting to start while the batch runs (a grid of the
    started runs alone showed 6 rows of a 40-contract batch, and nothing of what was to come)."""

    records: dict[tuple[str, str], RunRecord] = field(default_factory=dict)
    waiting: list[tuple[str, str]] = field(default_factory=list)
    # Runs of the batch since deleted on History: the grid says so, rather than shrink silently.
    deleted: int = 0
    # Of a stopped batch, the items whose run never started: rows too, which a resume runs.
    not_started: list[tuple[str, str]] = field(default_factory=list)
    # The batch is running, in this process or another (`BatchInfo.live`).
    running: bool = False
    # The runs its last resume could not run, each with why.
    not_resumed: list[NotResumed] = field(default_factory=list)

    def grid(self, labels: Mapping[str, str]) -> tuple[list[GridRun], list[Waiting]]:
        """The batch's rows, its models named by `labels` (model key → display label): its runs,
        then a row per run not started, waiting or not started. The Portfolio page's grid and
        exports and `crs-batch`'s files are made of these, so both hold every contract of the
        batch (the files left out the runs a stopped batch never started). A run its last resume
        could not run reads "not resumed" with why, not "not started", which a resume runs."""
        why = {(left.contract, left.model_key): left.reason for left in self.not_resumed}
        unstarted = [key for key in self.not_started if key not in why]
        left_out = sorted(key for key in self.not_started if key in why)
        return grid_runs(self.records, labels), [
            *waiting_rows(self.waiting, labels),
            *waiting_rows(unstarted, labels, NOT_STARTED),
            *(Waiting(c, labels.get(k, k), NOT_RESUMED, why[c, k]) for c, k in left_out),
        ]

    def deleted_note(self) -> str:
        """ "2 runs of this batch were deleted on History"; "" when none was."""
        if not self.deleted:
            return ""
        were = "was" if self.deleted == 1 else "were"
        return f"{counted(self.deleted, 'run')} of this batch {were} deleted on History."

    def not_started_note(self, resumable: bool, here: bool) -> str:
        """What the grid's rows without a run mean: while the batch runs, that it runs — here, or
        in another process (`here` False: crs-batch or another session), whose runs this page
        does not follow — so a batch a resume runs never reads "did not start … Resume it";
        once stopped, "3 runs of this batch did not start before it stopped: resume it …"
        (a batch without a run log cannot be resumed); then each run its last resume could not
        run, with why (`NotResumed.sentence`). "" when there is nothing to say."""
        said = [left.sentence() for left in self.not_resumed]
        if self.running:
            running = (
                "This batch is running: its grid fills as it goes."
                if here
                else "This batch is running in another process (crs-batch or another session):"
                " its grid fills as it goes; open the page again to see the latest."
            )
            return " ".join([running, *said])
        left_out = {(left.contract, left.model_key) for left in self.not_resumed}
        if unstarted := [key for key in self.not_started if key not in left_out]:
            runs = counted(len(unstarted), "run")
            did = f"{runs} of this batch did not start before it stopped"
            said.insert(0, f"{did}: Resume it under Unfinished batches to run them." if resumable
                        else f"{did}.")  # fmt: skip
        return " ".join(said)


def batch_records(run_log: RunLog, batch_id: str) -> BatchRecords:
    """The latest run of each contract × model of a stored batch, from the run log; the items
    not started yet, waiting while the batch runs (a stopped run a resume queued again among
    them) and not started once it stopped or was cut off by a stopped process; the runs its
    last resume could not run; and how many of its runs were deleted from the run log since."""
    store = BatchStore(run_log)
    info = store.get(batch_id)
    # Running somewhere: a batch "running" whose process stopped (its heartbeat stale) will
    # start nothing more until it is resumed.
    running = info is not None and info.live()
    labels = {model_key(spec): model_label(spec) for spec in info.models} if info else {}
    records: dict[tuple[str, str], RunRecord] = {}
    waiting: list[tuple[str, str]] = []
    not_started: list[tuple[str, str]] = []
    not_resumed: list[NotResumed] = []
    deleted = 0
    for item in store.items(batch_id):
        key = (item.contract, item.model_key)
        if item.status is ItemStatus.NOT_RESUMED:
            model = labels.get(item.model_key, item.model_key)
            not_resumed.append(NotResumed(*key, model, item.error or ""))
        if running and item.status is ItemStatus.PENDING:
            waiting.append(key)  # its earlier run, stopped or failed, is to run again
            continue
        record = run_log.get(item.run_id) if item.run_id else None
        if record is not None:
            records[key] = record
        elif item.run_id is not None:
            deleted += 1  # its item still names the run the run log no longer holds
        elif item.status in (ItemStatus.PENDING, ItemStatus.NOT_RESUMED):
            not_started.append(key)
    return BatchRecords(records, waiting, deleted, not_started, running, not_resumed)


class _Registry:
    """Batches running in this process, by id: a page that reruns, or a tab opened again after
    being closed, finds its batch still running here (the worker threads do not need the tab)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[str, BatchRunner] = {}

    def add(self, runner: BatchRunner) -> BatchRunner:
        with self._lock:
            self._runners = {k: r for k, r in self._runners.items() if not r.finished}
            self._runners[runner.batch_id] = runner
        return runner

    def get(self, batch_id: str | None) -> BatchRunner | None:
        with self._lock:
            return self._runners.get(batch_id or "")

    def running(self) -> list[BatchRunner]:
        with self._lock:
            return [r for r in self._runners.values() if not r.finished]


RUNNING = _Registry()
