"""Batches, their items and stored scorecards, in the run log's database.

Every statement for these tables lives in this module, written in the SQL both databases speak
with `?` parameters (`lib.store.database` adapts them). A viewer scoped to one owner
(`lib.store.owners`) lists only that owner's batches and scorecards. An item is one contract × one
model; its status is written when it starts and when it ends, so a batch interrupted by a crash or
a closed tab knows what is finished and what is not.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lib.store.database import Connection, Cursor, Row
from lib.store.heartbeat import alive, timestamp

if TYPE_CHECKING:
    from lib.store.run_log import RunLog


class ItemStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"
    # A resume could not run it: its contract changed or is gone, or its model cannot be chosen
    # now; `BatchItem.error` says which. The next resume tries it again.
    NOT_RESUMED = "not resumed"


class BatchStatus(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"
    FINISHED = "finished"


@dataclass(frozen=True)
class BatchInfo:
    batch_id: str
    created: datetime
    name: str
    status: BatchStatus
    # Template, instructions, perspective, max tokens, temperature and the contract source.
    settings: dict[str, Any]
    # One dict per model: provider, model, base_url, context_length (never an API key).
    models: list[dict[str, Any]]
    # Whose batch it is ("" for a log without owners): its runs are theirs, whoever resumes it.
    owner: str = ""
    # When the process running it last said so (`lib.store.heartbeat`); None if none ever did.
    heartbeat_at: datetime | None = None

    def live(self, now: datetime | None = None) -> bool:
        """Running, in this process or another on the same log: "running" with a fresh
        heartbeat. A "running" batch whose heartbeat is stale (or missing) was cut off by a
        crash or a restart: its runs not begun are not started, and it may be resumed."""
        return self.status is BatchStatus.RUNNING and alive(self.heartbeat_at, now)

    def state(self, now: datetime | None = None) -> str:
        """Its status in a word, "interrupted" for a running batch no process runs any more."""
        if self.status is BatchStatus.RUNNING and not self.live(now):
            return "interrupted"
        return self.status.value


@dataclass(frozen=True)
class BatchItem:
    batch_id: str
    contract: str
    contract_sha256: str
    model_key: str
    status: ItemStatus
    run_id: str | None = None
    attempts: int = 0
    error: str | None = None
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass(frozen=True)
class StoredScorecard:
    scorecard_id: str
    created: datetime
    name: str
    labels: str
    batch_id: str | None
    body: dict[str, Any]


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _run(db: Connection, sql: str, params: Sequence[Any] = ()) -> Cursor:
    return db.execute(sql, params)


def _item(row: Row) -> BatchItem:
    return BatchItem(
        row["batch_id"],
        row["contract"],
        row["contract_sha256"],
        row["model_key"],
        ItemStatus(row["status"]),
        row["run_id"],
        row["attempts"],
        row["error"],
        datetime.fromisoformat(row["updated"]),
    )


def _batch(row: Row) -> BatchInfo:
    return BatchInfo(
        row["batch_id"],
        datetime.fromisoformat(row["created"]),
        row["name"],
        BatchStatus(row["status"]),
        json.loads(row["settings"]),
        json.loads(row["models"]),
        row["owner"] or "",
        datetime.fromisoformat(row["heartbeat_at"]) if row["heartbeat_at"] else None,
    )


class BatchStore:
    """Reads and writes batches through the run log's connections (one transaction per call)."""

    def __init__(self, run_log: RunLog) -> None:
        self._log = run_log

    def create(
        self,
        name: str,
        settings: dict[str, Any],
        models: list[dict[str, Any]],
        items: Iterable[tuple[str, str, str]],
    ) -> str:
        """A new batch with one pending item per (contract, sha256, model key); its id."""
        batch_id = uuid.uuid4().hex
        now = _now()
        with self._log.transaction() as db:
            _run(
                db,
                "INSERT INTO batches (batch_id, created, name, status, settings, models, owner,"
                " heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (batch_id, now, name, BatchStatus.RUNNING.value, json.dumps(settings),
                 json.dumps(models), self._log.scope.owner, now),
            )  # fmt: skip
            for contract, sha256, model_key in items:
                _run(
                    db,
                    "INSERT INTO batch_items (batch_id, contract, contract_sha256,"
                    " model_key, status, updated) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT DO NOTHING",
                    (batch_id, contract, sha256, model_key, ItemStatus.PENDING.value, now),
                )
        return batch_id

    def _mine(self) -> tuple[str, list[Any]]:
        """` AND owner = ?` when this viewer sees one owner's batches and scorecards only."""
        sees = self._log.scope.sees
        return (" AND owner = ?", [sees]) if sees is not None else ("", [])

    def get(self, batch_id: str) -> BatchInfo | None:
        with self._log.connect() as db:
            mine, params = self._mine()
            row = _run(
                db, f"SELECT * FROM batches WHERE batch_id = ?{mine}", (batch_id, *params)
            ).fetchone()
        return _batch(row) if row else None

    def list(self, limit: int = 200) -> list[BatchInfo]:
        """Newest first."""
        with self._log.connect() as db:
            mine, params = self._mine()
            rows = _run(
                db,
                f"SELECT * FROM batches WHERE 1 = 1{mine} ORDER BY created DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_batch(row) for row in rows]

    def set_status(self, batch_id: str, status: BatchStatus) -> None:
        """Its status, written by a process that is alive: a beat too (a resume takes the
        batch over with a fresh heartbeat, before its runner's first beat)."""
        with self._log.connect() as db:
            _run(
                db,
                "UPDATE batches SET status = ?, heartbeat_at = ? WHERE batch_id = ?",
                (status.value, _now(), batch_id),
            )

    def beat(self, ids: Collection[str], at: datetime) -> None:
        """Stamp the heartbeat of these batches still running: this process runs them."""
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        with self._log.connect() as db:
            _run(
                db,
                f"UPDATE batches SET heartbeat_at = ? WHERE batch_id IN ({marks}) AND status = ?",
                (timestamp(at), *ids, BatchStatus.RUNNING.value),
            )

    def items(self, batch_id: str) -> list[BatchItem]:
        with self._log.connect() as db:
            rows = _run(
                db,
                "SELECT * FROM batch_items WHERE batch_id = ? ORDER BY contract, model_key",
                (batch_id,),
            ).fetchall()
        return [_item(row) for row in rows]

    def start_item(self, batch_id: str, contract: str, model_key: str, run_id: str) -> None:
        with self._log.connect() as db:
            _run(
                db,
                "UPDATE batch_items SET status = ?, run_id = ?, attempts = attempts + 1,"
                " error = NULL, updated = ? WHERE batch_id = ? AND contract = ? AND model_key = ?",
                (ItemStatus.RUNNING.value, run_id, _now(), batch_id, contract, model_key),
            )

    def end_item(
        self,
        batch_id: str,
        contract: str,
        model_key: str,
        status: ItemStatus,
        error: str | None = None,
    ) -> None:
        with self._log.connect() as db:
            _run(
                db,
                "UPDATE batch_items SET status = ?, error = ?, updated = ?"
                " WHERE batch_id = ? AND contract = ? AND model_key = ?",
                (status.value, error, _now(), batch_id, contract, model_key),
            )

    def requeue(self, batch_id: str, items: Iterable[tuple[str, str]]) -> None:
        """These (contract, model key) items are to run again in a resume: pending, so every
        front end reads them as waiting while it runs (not as the stopped or failed run they
        were), and as not started should it stop before they do."""
        now = _now()
        with self._log.transaction() as db:
            for contract, model_key in items:
                _run(
                    db,
                    "UPDATE batch_items SET status = ?, error = NULL, updated = ?"
                    " WHERE batch_id = ? AND contract = ? AND model_key = ?",
                    (ItemStatus.PENDING.value, now, batch_id, contract, model_key),
                )

    def unfinished(self) -> list[BatchInfo]:
        """Batches that have items still to run and that no process runs: stopped, or cut off
        by a crash or a restart while running (`BatchInfo.live`). One another process on a
        shared log still runs is not offered: resumed, its runs would go twice."""
        with self._log.connect() as db:
            mine, params = self._mine()
            rows = _run(
                db,
                "SELECT * FROM batches WHERE batch_id IN (SELECT batch_id FROM batch_items"
                f" WHERE status <> ?){mine} ORDER BY created DESC",
                (ItemStatus.DONE.value, *params),
            ).fetchall()
        now = datetime.now(UTC)
        return [info for info in map(_batch, rows) if not info.live(now)]

    def delete(self, batch_id: str) -> None:
        """The batch and its items (only a batch this viewer sees); its runs stay in the run log."""
        if self.get(batch_id) is None:
            return
        with self._log.transaction() as db:
            _run(db, "DELETE FROM batch_items WHERE batch_id = ?", (batch_id,))
            _run(db, "DELETE FROM batches WHERE batch_id = ?", (batch_id,))

    def save_scorecard(
        self, name: str, labels: str, body: dict[str, Any], batch_id: str | None = None
    ) -> str:
        scorecard_id = uuid.uuid4().hex
        with self._log.connect() as db:
            _run(
                db,
                "INSERT INTO scorecards (scorecard_id, created, name, labels, batch_id, body,"
                " owner) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    scorecard_id,
                    _now(),
                    name,
                    labels,
                    batch_id,
                    json.dumps(body),
                    self._log.scope.owner,
                ),
            )
        return scorecard_id

    def scorecards(self, limit: int = 100) -> list[StoredScorecard]:
        """Newest first."""
        with self._log.connect() as db:
            mine, params = self._mine()
            rows = _run(
                db,
                f"SELECT * FROM scorecards WHERE 1 = 1{mine} ORDER BY created DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [
            StoredScorecard(
                row["scorecard_id"],
                datetime.fromisoformat(row["created"]),
                row["name"],
                row["labels"],
                row["batch_id"],
                json.loads(row["body"]),
            )
            for row in rows
        ]

    def delete_scorecard(self, scorecard_id: str) -> None:
        mine, params = self._mine()
        with self._log.connect() as db:
            _run(
                db, f"DELETE FROM scorecards WHERE scorecard_id = ?{mine}", (scorecard_id, *params)
            )
