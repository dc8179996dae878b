"""The persistent run log: every run appended to a local SQLite file.

Several browser sessions (threads of one Streamlit process, or several processes) write at once,
so the file is in WAL mode and every call is one short transaction on its own connection. The file
holds contract-derived text (reports, document names), so it is created readable by its owner only.
The schema is versioned with `PRAGMA user_version`; `MIGRATIONS[n]` lifts version n to n + 1.

"Delete permanently" must mean it: SQLite keeps deleted rows in free pages and old page images in
the `-wal` file. Every connection runs with `secure_delete` (freed content is zeroed), and a delete
ends with a TRUNCATE checkpoint, which copies the zeroed pages home and empties the log.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import asdict, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.runs import batch_store
from lib.runs.csv_export import csv_bytes
from lib.runs.records import RunRecord

log = logging.getLogger(__name__)
SCHEMA_VERSION = 5
BUSY_TIMEOUT_S = 10.0

CREATE_V1 = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    started TEXT NOT NULL,
    page TEXT NOT NULL,
    provider TEXT NOT NULL,
    model TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    document_name TEXT NOT NULL,
    document_chars INTEGER NOT NULL,
    template TEXT NOT NULL,
    instructions TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    tokens_reported INTEGER NOT NULL,
    ttft_s REAL,
    total_s REAL,
    tokens_per_s REAL,
    status TEXT NOT NULL,
    finish_reason TEXT,
    error_kind TEXT,
    error_message TEXT,
    cost_usd REAL,
    report TEXT NOT NULL,
    contract_text TEXT,
    notes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_started ON runs(started);
"""

MIGRATIONS: dict[int, str] = {
    1: """
    ALTER TABLE runs ADD COLUMN document_sha256 TEXT NOT NULL DEFAULT '';
    ALTER TABLE runs ADD COLUMN comparison_id TEXT;
    CREATE INDEX runs_comparison ON runs(comparison_id);
    """,
    2: """
    ALTER TABLE runs ADD COLUMN quotes_total INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_verified INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_close INTEGER;
    ALTER TABLE runs ADD COLUMN quotes_not_found INTEGER;
    ALTER TABLE runs ADD COLUMN crosscheck_disagreements INTEGER;
    ALTER TABLE runs ADD COLUMN strategy TEXT;
    ALTER TABLE runs ADD COLUMN parts INTEGER;
    """,
    3: batch_store.MIGRATION,
    4: """
    ALTER TABLE runs ADD COLUMN text_source TEXT;
    """,
}

RECORD_FIELDS = [f.name for f in fields(RunRecord)]
FILTERABLE = {"provider", "model", "status", "page", "template"}


def _execute_all(db: sqlite3.Connection, script: str) -> None:
    """One statement at a time: `executescript` would commit the open transaction first."""
    for statement in filter(str.strip, script.split(";")):
        db.execute(statement)


def _to_row(record: RunRecord) -> dict[str, Any]:
    row = asdict(record)
    row["started"] = record.started.isoformat()
    row["tokens_reported"] = int(record.tokens_reported)
    row["notes"] = json.dumps(record.notes)
    row["status"] = record.status.value
    return row


def _to_record(row: sqlite3.Row) -> RunRecord:
    data = {name: row[name] for name in RECORD_FIELDS}
    data["started"] = datetime.fromisoformat(data["started"])
    data["tokens_reported"] = bool(data["tokens_reported"])
    data["notes"] = json.loads(data["notes"] or "[]")
    data["status"] = RunStatus(data["status"])
    return RunRecord(**data)


class RunLog:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # Create the file owner-only before SQLite opens it, so it is never world-readable.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        with self.connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            self._migrate(db)

    @contextlib.contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """One short-lived connection in autocommit mode, for stores that share this file."""
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA secure_delete = ON")
        try:
            yield db
        finally:
            db.close()

    @staticmethod
    def _migrate(db: sqlite3.Connection) -> None:
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                _execute_all(db, CREATE_V1)
                version = 1
            while version < SCHEMA_VERSION:
                _execute_all(db, MIGRATIONS[version])
                version += 1
            db.execute(f"PRAGMA user_version = {version}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def append(self, record: RunRecord) -> None:
        """Insert or replace by run_id: a run is written when it starts and again when it ends."""
        row = _to_row(record)
        names = ", ".join(row)
        marks = ", ".join(f":{name}" for name in row)
        with self.connect() as db:
            db.execute(f"INSERT OR REPLACE INTO runs ({names}) VALUES ({marks})", row)

    def get(self, run_id: str) -> RunRecord | None:
        with self.connect() as db:
            row = db.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return _to_record(row) if row else None

    def query(
        self,
        *,
        provider: Sequence[str] | str | None = None,
        model: Sequence[str] | str | None = None,
        status: Sequence[str] | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        document: str | None = None,
        limit: int = 5000,
    ) -> list[RunRecord]:
        """Newest first. List filters match any of their values; `document` is a substring."""
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (("provider", provider), ("model", model), ("status", status)):
            if value:
                values = [value] if isinstance(value, str) else list(value)
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if since is not None:
            clauses.append("started >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("started <= ?")
            params.append(until.isoformat())
        if document:
            clauses.append("document_name LIKE ? ESCAPE '\\'")
            escaped = document.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        sql = f"SELECT * FROM runs {where} ORDER BY started DESC LIMIT ?"
        with self.connect() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [_to_record(row) for row in rows]

    def distinct(self, column: str) -> list[str]:
        if column not in FILTERABLE:
            raise ValueError(f"cannot list values of {column!r}")
        with self.connect() as db:
            rows = db.execute(f"SELECT DISTINCT {column} FROM runs ORDER BY {column}").fetchall()
        return [row[0] for row in rows]

    def delete(self, run_ids: Sequence[str]) -> int:
        if not run_ids:
            return 0
        with self.connect() as db:
            marks = ", ".join("?" * len(run_ids))
            deleted = db.execute(
                f"DELETE FROM runs WHERE run_id IN ({marks})", list(run_ids)
            ).rowcount
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            # A long read elsewhere held the log; the next delete or the last close checkpoints it.
            log.warning("run log: the write-ahead log could not be emptied after a delete")
        return deleted

    def count(self) -> int:
        with self.connect() as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]


def export_json(records: Sequence[RunRecord]) -> bytes:
    return json.dumps([_to_row(r) for r in records], ensure_ascii=False, indent=1).encode("utf-8")


def export_csv(records: Sequence[RunRecord]) -> bytes:
    frame = pd.DataFrame([_to_row(r) for r in records], columns=list(RECORD_FIELDS))
    return csv_bytes(frame, index=False)


def open_run_log(settings: Settings) -> RunLog | None:
    """The configured log, or None when the operator switched it off."""
    if not settings.history_enabled:
        return None
    return RunLog(settings.history_db_path)
