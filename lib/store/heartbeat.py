"""Which runs and batches are still being worked on: a heartbeat, one rule for both.

A process that runs something (a run streaming, a model thinking without a token, a batch's
workers) stamps its row's `heartbeat_at` every `BEAT_EVERY_S`, from one beater thread per process
over everything it holds, so a run that waits silently beats as one that streams. A row whose
heartbeat is older than `STALE_AFTER_S` (several missed beats) was left by a process that
stopped: its runs are ended as interrupted (`RunLog.end_orphans`) and its batch reads as
interrupted, resumable (`BatchInfo.live`). "Not in this process" says nothing: on a shared
PostgreSQL log several app processes and `crs-batch` run side by side, and each beats its own.

The beater also sweeps every log this process opened (`watch`) at each beat, so runs a stopped
process left "running" are ended within minutes by whichever process is still up, not only by
the next one to open the log.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from lib.store.run_log import RunLog

log = logging.getLogger(__name__)

# How often a process stamps what it runs: often enough that a few missed beats are minutes.
BEAT_EVERY_S = 30.0
# A heartbeat older than this (ten beats) was left by a process that stopped: long enough that a
# database slow for a minute, or a process busy for one, is not taken for a dead one.
STALE_AFTER_S = 300.0


def timestamp(moment: datetime) -> str:
    """How a heartbeat is stored: ISO text to the microsecond in UTC, so that comparing the
    texts (as SQL does, on both databases) compares the moments."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def stale_before(now: datetime) -> str:
    """The stored heartbeat below which a row is stale at `now`."""
    return timestamp(now - timedelta(seconds=STALE_AFTER_S))


def alive(heartbeat_at: datetime | None, now: datetime | None = None) -> bool:
    """Whether a process beat for the row lately; a row without a heartbeat (written before
    there were any) tells nothing and is not taken as alive."""
    if heartbeat_at is None:
        return False
    return timestamp(heartbeat_at) >= stale_before(now or datetime.now(UTC))


class Beats(Protocol):
    """What the beater stamps: rows by id (`RunLog.beat` for runs, `BatchStore.beat` for
    batches)."""

    def beat(self, ids: Collection[str], at: datetime) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class Heartbeat:
    """One process's beater: the rows it holds, stamped every `every_s` on a daemon thread
    (running while it holds or watches anything), and the logs it sweeps at each beat."""

    def __init__(self, every_s: float = BEAT_EVERY_S, clock: Callable[[], datetime] = _now) -> None:
        self.every_s = every_s
        self.clock = clock
        self._lock = threading.Lock()
        self._held: dict[str, Beats] = {}
        # Logs to sweep, and the age past which a row without a heartbeat is ended; weakly, so a
        # log nobody uses any more (a test's) is not swept for ever.
        self._watched: weakref.WeakKeyDictionary[RunLog, float | None] = weakref.WeakKeyDictionary()
        self._thread: threading.Thread | None = None

    def hold(self, target: Beats, row_id: str) -> None:
        """Beat for `row_id` until `drop`: this process runs it."""
        with self._lock:
            self._held[row_id] = target
        self._start()

    def drop(self, row_id: str) -> None:
        with self._lock:
            self._held.pop(row_id, None)

    def holds(self, row_id: str) -> bool:
        with self._lock:
            return row_id in self._held

    def watch(self, run_log: RunLog, older_than_s: float | None) -> None:
        """Sweep `run_log` at every beat (`RunLog.end_orphans` with `older_than_s`)."""
        with self._lock:
            self._watched[run_log] = older_than_s
        self._start()

    def beat(self) -> None:
        """Stamp every row held, one statement per store, then sweep the logs watched. A store
        that does not answer is tried again at the next beat."""
        now = self.clock()
        with self._lock:
            groups: dict[int, tuple[Beats, list[str]]] = {}
            for row_id, target in self._held.items():
                groups.setdefault(id(target), (target, []))[1].append(row_id)
            watched = list(self._watched.items())
        for target, ids in groups.values():
            try:
                target.beat(ids, now)
            except Exception:
                log.warning("could not write a heartbeat", exc_info=True)
        for run_log, older_than_s in watched:
            try:
                run_log.end_orphans(older_than_s, now=now)
            except Exception:
                log.warning("could not end the runs stopped processes left", exc_info=True)

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """Beat while there is something to beat; a later hold or watch starts it again."""
        while True:
            time.sleep(self.every_s)
            self.beat()
            with self._lock:
                if not self._held and not self._watched:
                    self._thread = None
                    return


# The process's one beater.
HEARTBEAT = Heartbeat()
