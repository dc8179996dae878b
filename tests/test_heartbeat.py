"""The heartbeat: runs and batches a process still works on are stamped, and those whose process
stopped are told by the beats they missed, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from lib.engine.run_stats import RunStatus
from lib.runs.batch import batch_records
from lib.runs.portfolio_session import unfinished_batches
from lib.store.batch_store import BatchStore
from lib.store.heartbeat import Heartbeat, timestamp
from lib.store.run_log import RunLog

ITEMS = [("a.txt", "x", "k"), ("b.txt", "x", "k")]


def stamp(log: RunLog, table: str, key: str, row_id: str) -> str | None:
    with log.connect() as db:
        row = db.execute(f"SELECT heartbeat_at FROM {table} WHERE {key} = ?", [row_id]).fetchone()
    return row["heartbeat_at"]


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_process_beats_for_what_it_holds_until_dropped_and_sweeps_what_it_watches(
    log_target, make_record
):
    """A run that waits silently (a model thinking, no token for minutes) beats as one that
    streams: the beater stamps what the process holds, not what it last wrote. And a process
    restarted within minutes found its predecessor's beats still fresh on opening the log:
    every live process ends stale runs at each beat, not only the next one to open it."""
    log = RunLog(log_target)
    store = BatchStore(log)
    run, gone = make_record(), make_record()
    log.append(run)
    log.append(gone)
    batch_id = store.create("b", {}, [], ITEMS)
    clock = Clock()
    log.beat([gone.run_id], clock.now - timedelta(minutes=1))
    heartbeat = Heartbeat(every_s=3600, clock=clock)
    heartbeat.hold(log, run.run_id)
    heartbeat.hold(store, batch_id)
    heartbeat.watch(log, None)
    for _ in range(2):
        clock.now += timedelta(minutes=3)
        heartbeat.beat()
        assert stamp(log, "runs", "run_id", run.run_id) == timestamp(clock.now)
        assert stamp(log, "batches", "batch_id", batch_id) == timestamp(clock.now)
    assert log.get(run.run_id).status is RunStatus.RUNNING
    assert log.get(gone.run_id).error_kind == "interrupted"  # 7 minutes without a beat
    beaten = clock.now
    heartbeat.drop(run.run_id)
    heartbeat.drop(batch_id)
    clock.now += timedelta(seconds=30)
    heartbeat.beat()
    assert stamp(log, "runs", "run_id", run.run_id) == timestamp(beaten)
    assert not heartbeat.holds(run.run_id) and not heartbeat.holds(batch_id)


def test_the_beater_beats_on_its_own(log_target, make_record):
    log = RunLog(log_target)
    run = make_record()
    log.append(run)
    old = timestamp(datetime.now(UTC) - timedelta(minutes=1))
    log.beat([run.run_id], datetime.now(UTC) - timedelta(minutes=1))
    heartbeat = Heartbeat(every_s=0.02)
    heartbeat.hold(log, run.run_id)
    try:
        deadline = time.monotonic() + 2
        while stamp(log, "runs", "run_id", run.run_id) == old and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stamp(log, "runs", "run_id", run.run_id) > old
    finally:
        heartbeat.drop(run.run_id)


def test_a_batch_whose_heartbeat_is_stale_lists_its_runs_not_started_and_is_resumable(
    log_target,
):
    """A batch its process left "running" showed its contracts "waiting" for ever, and could not
    be told from one another process on the shared log still runs."""
    log = RunLog(log_target)
    store = BatchStore(log)
    live, cut_off = store.create("live", {}, [], ITEMS), store.create("cut off", {}, [], ITEMS)
    store.beat([cut_off], datetime.now(UTC) - timedelta(minutes=6))

    running = batch_records(log, live)
    assert running.waiting == [("a.txt", "k"), ("b.txt", "k")] and running.not_started == []
    stopped = batch_records(log, cut_off)
    assert stopped.waiting == [] and stopped.not_started == [("a.txt", "k"), ("b.txt", "k")]
    assert "did not start before it stopped" in stopped.not_started_note(resumable=True, here=False)

    # Offered for a resume; the one still beating (in another process, maybe) is not.
    assert [info.batch_id for info in store.unfinished()] == [cut_off]
    assert [u.info.batch_id for u in unfinished_batches(store)] == [cut_off]
    assert store.get(cut_off).state() == "interrupted"
    assert store.get(live).state() == "running"


def test_a_batch_without_a_heartbeat_reads_as_interrupted(log_target):
    """A batch an older version left "running" has no heartbeat to say it still runs."""
    log = RunLog(log_target)
    store = BatchStore(log)
    batch_id = store.create("old", {}, [], ITEMS)
    with log.connect() as db:
        db.execute("UPDATE batches SET heartbeat_at = NULL WHERE batch_id = ?", [batch_id])
    assert batch_records(log, batch_id).not_started == [("a.txt", "k"), ("b.txt", "k")]
    assert [info.batch_id for info in store.unfinished()] == [batch_id]
