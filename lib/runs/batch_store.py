"""Batches, their items and stored scorecards, in the run log's database.

Every statement for these tables lives in this module, written in plain SQL with `?` parameters
and executed through `_run` alone, so a port to another database changes the placeholder style in
one place. An item is one contract × one model; its status is written when it starts and when it
ends, so a batch interrupted by a crash or a closed tab knows what is finished and what is not.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.runs.run_log import RunLog

# Lifts the run log from schema version 2 to 3 (see `lib.runs.run_log.MIGRATIONS`). No comments
# and no semicolons inside statements: the migration runner splits on semicolons.
MIGRATION = """
CREATE TABLE batches (
    batch_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    settings TEXT NOT NULL,
    models TEXT NOT NULL
);
CREATE TABLE batch_items (
    batch_id TEXT NOT NULL REFERENCES batches(batch_id) ON DELETE CASCADE,
    contract TEXT NOT NULL,
    contract_sha256 TEXT NOT NULL,
    model_key TEXT NOT NULL,
    status TEXT NOT NULL,
    run_id TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    updated TEXT NOT NULL,
    PRIMARY KEY (batch_id, contract, model_key)
);
CREATE TABLE scorecards (
    scorecard_id TEXT PRIMARY KEY,
    created TEXT NOT NULL,
    name TEXT NOT NULL,
    labels TEXT NOT NULL,
    batch_id TEXT,
    body TEXT NOT NULL
);
CREATE INDEX scorecards_created ON scorecards(created);
ALTER TABLE runs ADD COLUMN batch_id TEXT;
CREATE INDEX runs_batch ON runs(batch_id);
"""


class ItemStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    ERROR = "error"
    CANCELLED = "cancelled"


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


def _run(db: sqlite3.Connection, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """The one place statements are executed (and where a port would translate `?`)."""
    return db.execute(sql, tuple(params))


def _item(row: sqlite3.Row) -> BatchItem:
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


def _batch(row: sqlite3.Row) -> BatchInfo:
    return BatchInfo(
        row["batch_id"],
        datetime.fromisoformat(row["created"]),
        row["name"],
        BatchStatus(row["status"]),
        json.loads(row["settings"]),
        json.loads(row["models"]),
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
        with self._log.connect() as db:
            _run(db, "BEGIN IMMEDIATE")
            try:
                _run(
                    db,
                    "INSERT INTO batches (batch_id, created, name, status, settings, models)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (batch_id, now, name, BatchStatus.RUNNING.value, json.dumps(settings),
                     json.dumps(models)),
                )  # fmt: skip
                for contract, sha256, model_key in items:
                    _run(
                        db,
                        "INSERT OR IGNORE INTO batch_items (batch_id, contract, contract_sha256,"
                        " model_key, status, updated) VALUES (?, ?, ?, ?, ?, ?)",
                        (batch_id, contract, sha256, model_key, ItemStatus.PENDING.value, now),
                    )
                _run(db, "COMMIT")
            except BaseException:
                _run(db, "ROLLBACK")
                raise
        return batch_id

    def get(self, batch_id: str) -> BatchInfo | None:
        with self._log.connect() as db:
            row = _run(db, "SELECT * FROM batches WHERE batch_id = ?", (batch_id,)).fetchone()
        return _batch(row) if row else None

    def list(self, limit: int = 200) -> list[BatchInfo]:
        """Newest first."""
        with self._log.connect() as db:
            rows = _run(
                db, "SELECT * FROM batches ORDER BY created DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_batch(row) for row in rows]

    def set_status(self, batch_id: str, status: BatchStatus) -> None:
        with self._log.connect() as db:
            _run(db, "UPDATE batches SET status = ? WHERE batch_id = ?", (status.value, batch_id))

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

    def unfinished(self) -> list[BatchInfo]:
        """Batches that have items still to run: stopped, or cut off by a crash while running."""
        with self._log.connect() as db:
            rows = _run(
                db,
                "SELECT * FROM batches WHERE batch_id IN (SELECT batch_id FROM batch_items"
                " WHERE status <> ?) ORDER BY created DESC",
                (ItemStatus.DONE.value,),
            ).fetchall()
        return [_batch(row) for row in rows]

    def delete(self, batch_id: str) -> None:
        """The batch and its items; its runs stay in the run log."""
        with self._log.connect() as db:
            _run(db, "DELETE FROM batch_items WHERE batch_id = ?", (batch_id,))
            _run(db, "DELETE FROM batches WHERE batch_id = ?", (batch_id,))

    def save_scorecard(
        self, name: str, labels: str, body: dict[str, Any], batch_id: str | None = None
    ) -> str:
        scorecard_id = uuid.uuid4().hex
        with self._log.connect() as db:
            _run(
                db,
                "INSERT INTO scorecards (scorecard_id, created, name, labels, batch_id, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (scorecard_id, _now(), name, labels, batch_id, json.dumps(body)),
            )
        return scorecard_id

    def scorecards(self, limit: int = 100) -> list[StoredScorecard]:
        """Newest first."""
        with self._log.connect() as db:
            rows = _run(
                db, "SELECT * FROM scorecards ORDER BY created DESC LIMIT ?", (limit,)
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
        with self._log.connect() as db:
            _run(db, "DELETE FROM scorecards WHERE scorecard_id = ?", (scorecard_id,))
