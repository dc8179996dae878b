"""What the Portfolio page does, free of Streamlit: start a batch, find and resume unfinished ones,
gather the runs and contract texts of the batch shown, and score it.

The page only lays these out, so each step can be tested without a browser and a second front end
(the API, a later page) can do the same thing the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo

from lib.analysis.documents import Document, text_sha256
from lib.analysis.labels import LabelledSet
from lib.analysis.playbook.format import Playbook
from lib.analysis.plural import counted
from lib.analysis.scorecard import (
    NO_LABELS,
    NOTHING_ENDED,
    Scorecard,
    build_scorecard,
    unscored_note,
)
from lib.engine.settings import Settings
from lib.runs.batch import (
    RUNNING,
    BatchRecords,
    BatchRunner,
    BatchSettings,
    Checker,
    batch_records,
    model_key,
    model_label,
    not_resumed_summary,
)
from lib.runs.batch_sources import reload_source
from lib.runs.portfolio import GridRun, Waiting, model_runs
from lib.runs.portfolio_playbook import is_playbook_scorecard
from lib.runs.scans import take_scan
from lib.store.batch_store import BatchInfo, BatchStore, ItemStatus, StoredScorecard
from lib.store.records import RunRecord
from lib.store.run_log import RunLog

UNFINISHED_SHOWN = 5


@dataclass(frozen=True)
class Unfinished:
    """A stored batch that stopped before every run finished, and is not running here now."""

    info: BatchInfo
    left: int
    total: int
    # "2 runs could not resume: …" when its last resume left runs out (`not_resumed_summary`).
    not_resumed: str = ""


def batch_name(
    documents: Sequence[Document], configs: Sequence[Checker], playbook: Playbook | None = None
) -> str:
    contracts = counted(len(documents), "contract")
    if playbook is not None:
        return f"{playbook.name}: {contracts} × {counted(len(configs), 'checker')}"
    return f"{contracts} × {counted(len(configs), 'model')}"


def start_batch(
    documents: Sequence[Document],
    configs: Sequence[Checker],
    batch_settings: BatchSettings,
    settings: Settings,
    run_log: RunLog | None,
) -> BatchRunner:
    """A new batch of every contract × model (× checker, for a playbook: None is the built-in
    checker), running and registered for this process."""
    runner = BatchRunner.create(
        name=batch_name(documents, configs, batch_settings.playbook_of()),
        contracts=documents,
        configs=configs,
        batch_settings=batch_settings,
        settings=settings,
        run_log=run_log,
    )
    return RUNNING.add(runner.start())


def running_batch(run_log: RunLog | None) -> BatchRunner | None:
    """A batch of this viewer's own still running in this process, for a page that lost track of
    it (a reload, a new tab): its progress and Stop come back with it. One they act for
    (`Scope.acts_for`), not merely see: an admin's page must not take over (and stop) a user's
    batch. A stored log tells."""
    if run_log is None:
        return None
    store = BatchStore(run_log)
    for runner in RUNNING.running():
        info = store.get(runner.batch_id)
        if info is not None and run_log.scope.acts_for(info.owner):
            return runner
    return None


def unfinished_batches(store: BatchStore, limit: int = UNFINISHED_SHOWN) -> list[Unfinished]:
    """The viewer's unfinished batches that no worker of this process is running."""
    out = []
    for info in store.unfinished():
        active = RUNNING.get(info.batch_id)
        if active is not None and not active.finished:
            continue
        items = store.items(info.batch_id)
        left = sum(item.status is not ItemStatus.DONE for item in items)
        out.append(Unfinished(info, left, len(items), not_resumed_summary(items)))
        if len(out) == limit:
            break
    return out


def resume_batch(
    info: BatchInfo,
    *,
    documents: Sequence[Document],
    configs: Sequence[Checker],
    settings: Settings,
    run_log: RunLog,
) -> BatchRunner:
    """Run what a stored batch left unfinished. The sample and server folders are read again,
    their scans with OCR as `crs-batch resume` reads them (`take_scan`: a scan left out, its
    runs never ran, and every Resume found the batch unfinished again); an uploaded batch takes
    `documents` (the files uploaded again). Keys are never stored: each model gets the key
    configured for its endpoint now, or the one typed this session for that very model and
    endpoint (`configs`). The runs it cannot run are in the runner's `not_resumed`, with why."""
    again = reload_source(
        str(info.settings.get("source", "")),
        settings,
        settings.batch_dirs,
        scans=lambda scan: take_scan(scan, settings.ocr_limits),
    )
    runner = BatchRunner.resume(
        batch_id=info.batch_id,
        contracts=again.documents if again is not None else list(documents),
        settings=settings,
        run_log=run_log,
        typed_keys={model_key(c): c.api_key for c in configs if c is not None and c.api_key},
        unread=dict(again.problems) if again is not None else None,
    )
    return RUNNING.add(runner.start())


def shown_records(
    info: BatchInfo | None, run_log: RunLog | None, runner: BatchRunner | None
) -> BatchRecords:
    """(contract, model key) → the latest run, and the runs still waiting to start: from the run
    log for a stored batch, else from the batch running in this session without a log."""
    if info is not None and run_log is not None:
        return batch_records(run_log, info.batch_id)
    if runner is not None:
        return runner.records()
    return BatchRecords()


def model_labels(info: BatchInfo | None, session_labels: Mapping[str, str]) -> dict[str, str]:
    """Model key → the label the grid shows, from the stored batch or this session's batch."""
    if info is None:
        return dict(session_labels)
    return {model_key(spec): model_label(spec) for spec in info.models}


def shown_template(info: BatchInfo | None, session_template: str) -> str:
    return BatchSettings.from_dict(info.settings).template_key if info else session_template


def shown_playbook(info: BatchInfo | None, runner: BatchRunner | None) -> Playbook | None:
    """The playbook of the batch shown (None: a batch of reviews), from the stored batch or the
    one running in this session without a log."""
    if info is not None:
        return BatchSettings.from_dict(info.settings).playbook_of()
    return runner.playbook if runner is not None else None


def contract_texts(
    info: BatchInfo | None,
    settings: Settings,
    session_texts: Mapping[str, str],
    records: Mapping[tuple[str, str], RunRecord],
) -> dict[str, str]:
    """Contract name → text, to find quotes in: this session's contracts, and for a stored batch
    from the sample or a server folder, its source read again. A text is kept only when it is the
    very text a run of that name read (its hash): a contract chosen on the page, or a folder file
    edited since, may share a stored batch's name and not its words."""
    texts = dict(session_texts)
    if info is not None:
        again = reload_source(str(info.settings.get("source", "")), settings, settings.batch_dirs)
        if again is not None:
            texts.update({d.name: d.text for d in again.documents})
    read: dict[str, set[str]] = {}
    for (contract, _model), record in records.items():
        read.setdefault(contract, set()).add(record.document_sha256)
    return {
        name: text
        for name, text in texts.items()
        if name in read and text_sha256(text) in read[name]
    }


def score_runs(
    title: str,
    runs: Sequence[GridRun],
    labelled: LabelledSet,
    texts: Mapping[str, str],
    waiting: Sequence[Waiting] = (),
) -> Scorecard | str:
    """The batch's runs scored against the labels as the card `title`, or why there is nothing
    to score: no contract of it is labelled, or none of their runs has ended. Runs still running
    and contracts not run yet (`waiting`: waiting for a place, not started before the batch
    stopped, or not resumed) are left out and counted (`unscored_note`), not scored as failed
    runs that found nothing: the model was never asked. The Portfolio page and `crs-batch` both
    score through it, so their cards leave out and count the same runs."""
    by_model: dict[str, dict[str, RunRecord]] = {}
    queued: dict[str, list[str]] = {}
    for run in runs:
        by_model.setdefault(run.model, {})[run.contract] = run.record
    for slot in waiting:
        by_model.setdefault(slot.model, {})
        queued.setdefault(slot.model, []).append(slot.contract)
    scored = {
        model: model_runs(records, labelled, queued.get(model, ()))
        for model, records in by_model.items()
    }
    scored = {model: runs_ for model, runs_ in scored.items() if runs_}
    if not scored:
        return NO_LABELS
    if all(run.running for runs_ in scored.values() for run in runs_.values()):
        return NOTHING_ENDED
    keyed = {labelled.match(n) or n: t for n, t in texts.items()}
    return build_scorecard(title, labelled, scored, keyed)


def previous_scorecard(
    stored: Sequence[StoredScorecard], chosen_id: str | None
) -> StoredScorecard | None:
    """The review scorecard stored before `chosen_id` on the same labels and the same contracts,
    to compare with (newest first in `stored`): one that scored other contracts says nothing of
    a model's change, and the one before the card shown, not before the newest card; never one
    made mid-batch, whose models each scored a different part. Stored, so it is named with its
    date (`dated_name`)."""
    ids = [s.scorecard_id for s in stored]
    if chosen_id not in ids:
        return None
    at = ids.index(chosen_id)
    chosen = Scorecard.from_dict(stored[at].body)
    for earlier in stored[at + 1 :]:
        if earlier.labels != stored[at].labels or is_playbook_scorecard(earlier.body):
            continue
        card = Scorecard.from_dict(earlier.body)
        if sorted(card.contracts) == sorted(chosen.contracts) and not unscored_note(card):
            return earlier
    return None


def dated_name(stored: StoredScorecard, zone: tzinfo, zone_name: str) -> str:
    """A stored scorecard's name with when it was made, in the viewer's time zone: scorecards of
    one batch on the same labels share a name, so the name alone does not say which one."""
    return f"{stored.name} · {stored.created.astimezone(zone):%Y-%m-%d %H:%M:%S} {zone_name}"
