"""The persistent run log: every run appended to an SQLite file, or to a team's PostgreSQL.

Several browser sessions (threads of one Streamlit process, or several processes or machines)
write at once, so every call is one short transaction and a run is written by an upsert on its id.
The schema is versioned (`lib.store.migrations`, the one list of migrations for runs, batches
and scorecards; `lib.store.database` says how to write one). A `RunLog` is seen through a
`Scope`: the runs it writes carry the scope's owner, and it reads only the runs the scope may see.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from lib.engine.run_stats import RunStatus
from lib.engine.settings import Settings
from lib.store.csv_export import csv_bytes, exportable
from lib.store.database import Database, StoreUnavailable, driver_errors, open_database
from lib.store.heartbeat import HEARTBEAT, stale_before, timestamp
from lib.store.migrations import CREATE_V1, MIGRATIONS, SCHEMA_VERSION
from lib.store.owners import EVERYONE, Scope
from lib.store.records import RunRecord

# Lists of runs leave out the long texts; `get` reads them for the one run opened.
LONG_TEXT = ("report", "contract_text", "thinking", "verdicts")

RECORD_FIELDS = [f.name for f in fields(RunRecord)]
# Who writes runs here: every front end records each review and playbook check it runs, so a page
# that says where runs come from names them all (History's empty state said only two pages).
RECORDED_BY = "the Review, Compare, Playbook and Portfolio pages, crs-batch and the API"
FILTERABLE = {"provider", "model", "status", "page", "template", "kind"}


def _to_row(record: RunRecord) -> dict[str, Any]:
    row = asdict(record)
    row["started"] = record.started.isoformat()
    row["tokens_reported"] = int(record.tokens_reported)
    row["thinking_reported"] = int(record.thinking_reported)
    row["notes"] = json.dumps(record.notes)
    row["verdicts"] = json.dumps(record.verdicts, ensure_ascii=False)
    row["verdict_counts"] = json.dumps(record.verdict_counts)
    row["playbook_problems"] = json.dumps(record.playbook_problems, ensure_ascii=False)
    row["status"] = record.status.value
    return row


def _to_record(row: Any) -> RunRecord:
    data = {name: row[name] for name in RECORD_FIELDS if name not in LONG_TEXT}
    for name in LONG_TEXT:
        # `in row` would search an sqlite3.Row's values, not its column names.
        data[name] = row[name] if name in row.keys() else None  # noqa: SIM118
    data["report"] = data["report"] or ""
    data["thinking"] = data["thinking"] or ""
    data["thinking_reported"] = bool(data["thinking_reported"])
    data["started"] = datetime.fromisoformat(data["started"])
    data["tokens_reported"] = bool(data["tokens_reported"])
    data["notes"] = json.loads(data["notes"] or "[]")
    data["verdicts"] = json.loads(data["verdicts"] or "[]")
    data["verdict_counts"] = json.loads(data["verdict_counts"] or "{}")
    data["playbook_problems"] = json.loads(data["playbook_problems"] or "[]")
    data["status"] = RunStatus(data["status"])
    return RunRecord(**data)


def _written(record: RunRecord, now: str) -> list[Any]:
    """The upsert's values: the record's fields, then its heartbeat."""
    row = _to_row(record)
    return [*(row[name] for name in RECORD_FIELDS), now]


def _as_list(value: Sequence[str] | str | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


# A write is a beat: the process writing a run is alive (`lib.store.heartbeat`).
_WRITTEN = [*RECORD_FIELDS, "heartbeat_at"]
_UPSERT = (
    f"INSERT INTO runs ({', '.join(_WRITTEN)}) VALUES ({', '.join('?' * len(_WRITTEN))})"
    " ON CONFLICT (run_id) DO UPDATE SET "
    + ", ".join(f"{name} = excluded.{name}" for name in _WRITTEN if name != "run_id")
    # A run id is never reused, but should one arrive from another owner it changes nothing.
    + " WHERE runs.owner = excluded.owner"
)
_SUMMARY_COLUMNS = ", ".join(name for name in RECORD_FIELDS if name not in LONG_TEXT)


# How many of a model's last runs a time estimate goes by: enough for a median, recent enough
# to be of the server as it is now.
TIMED_RUNS = 20


@dataclass(frozen=True)
class RunTiming:
    """How one finished review went: time to its first answer token, its answer's speed, and
    its answer's tokens (thinking left out: its time is in `ttft_s`) over `calls` model calls."""

    ttft_s: float
    tokens_per_s: float
    answer_tokens: int
    calls: int


class RunLog:
    """The runs one scope may see, in an SQLite file or a PostgreSQL database.

    `RunLog(path)` or `RunLog("postgresql://…")` opens (and migrates) the database with a scope
    that sees everything; `scoped(scope)` is a view of the same database for one viewer.
    """

    def __init__(self, target: Path | str | Database, scope: Scope = EVERYONE) -> None:
        """Raises `StoreUnavailable` when the log cannot be opened or brought up to date."""
        try:
            self.database = open_database(target) if isinstance(target, str | Path) else target
            self.scope = scope
            self.migrated_steps = self.database.migrate(CREATE_V1, MIGRATIONS, SCHEMA_VERSION)
        except driver_errors() as exc:
            raise StoreUnavailable(str(exc)) from exc

    @classmethod
    def _view(cls, database: Database, scope: Scope) -> RunLog:
        view = cls.__new__(cls)
        view.database, view.scope, view.migrated_steps = database, scope, 0
        return view

    def scoped(self, scope: Scope) -> RunLog:
        return RunLog._view(self.database, scope)

    @property
    def path(self) -> Path | None:
        """The SQLite file, or None for a PostgreSQL log."""
        return getattr(self.database, "path", None)

    def describe(self) -> str:
        return self.database.describe()

    def connect(self) -> Any:
        """One connection in autocommit mode, for stores that share this database."""
        return self.database.connect()

    def transaction(self) -> Any:
        return self.database.transaction()

    def _owner_clause(self, clauses: list[str], params: list[Any]) -> None:
        if self.scope.sees is not None:
            clauses.append("owner = ?")
            params.append(self.scope.sees)

    def append(self, record: RunRecord) -> None:
        """Insert or update by run_id: a run is written when it starts and again when it ends."""
        if not record.owner:
            record.owner = self.scope.owner
        with self.connect() as db:
            db.execute(_UPSERT, _written(record, timestamp(datetime.now(UTC))))

    def append_many(self, records: Sequence[RunRecord]) -> None:
        """Several runs in one transaction (imports, benchmarks); each as `append` writes it."""
        for record in records:
            record.owner = record.owner or self.scope.owner
        now = timestamp(datetime.now(UTC))
        with self.transaction() as db:
            db.executemany(_UPSERT, [_written(r, now) for r in records])

    def get(self, run_id: str) -> RunRecord | None:
        clauses, params = ["run_id = ?"], [run_id]
        self._owner_clause(clauses, params)
        with self.connect() as db:
            row = db.execute(f"SELECT * FROM runs WHERE {' AND '.join(clauses)}", params).fetchone()
        return _to_record(row) if row else None

    def _where(
        self,
        provider: Sequence[str] | str | None,
        model: Sequence[str] | str | None,
        status: Sequence[str] | str | None,
        since: datetime | None,
        until: datetime | None,
        document: str | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        self._owner_clause(clauses, params)
        for column, value in (("provider", provider), ("model", model), ("status", status)):
            values = _as_list(value)
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                params.extend(values)
        if since is not None:
            clauses.append("started >= ?")
            params.append(since.isoformat())
        if until is not None:
            clauses.append("started <= ?")
            params.append(until.isoformat())
        if document:
            # lower() on both sides: SQLite's LIKE ignores case and PostgreSQL's does not.
            clauses.append("lower(document_name) LIKE lower(?) ESCAPE '\\'")
            escaped = document.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params.append(f"%{escaped}%")
        return (f"WHERE {' AND '.join(clauses)}" if clauses else ""), params

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
        offset: int = 0,
        with_text: bool = True,
    ) -> list[RunRecord]:
        """Newest first, one page of `limit` from `offset`. List filters match any of their
        values; `document` is a substring. Without text, reports and contracts stay unread."""
        where, params = self._where(provider, model, status, since, until, document)
        columns = "*" if with_text else _SUMMARY_COLUMNS
        sql = f"SELECT {columns} FROM runs {where} ORDER BY started DESC LIMIT ? OFFSET ?"
        with self.connect() as db:
            rows = db.execute(sql, [*params, limit, offset]).fetchall()
        return [_to_record(row) for row in rows]

    def count(
        self,
        *,
        provider: Sequence[str] | str | None = None,
        model: Sequence[str] | str | None = None,
        status: Sequence[str] | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        document: str | None = None,
    ) -> int:
        """How many runs `query` would page through with the same filters."""
        where, params = self._where(provider, model, status, since, until, document)
        with self.connect() as db:
            return int(
                db.execute(f"SELECT COUNT(*) AS n FROM runs {where}", params).fetchone()["n"]
            )

    def distinct(self, column: str) -> list[str]:
        if column not in FILTERABLE:
            raise ValueError(f"cannot list values of {column!r}")
        clauses: list[str] = []
        params: list[Any] = []
        self._owner_clause(clauses, params)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        with self.connect() as db:
            rows = db.execute(
                f"SELECT DISTINCT {column} AS v FROM runs {where} ORDER BY v", params
            ).fetchall()
        return [row["v"] for row in rows]

    def delete(self, run_ids: Sequence[str]) -> int:
        """Removes the rows for real (see the database's `after_delete`); only the scope's own."""
        if not run_ids:
            return 0
        clauses = [f"run_id IN ({', '.join('?' * len(run_ids))})"]
        params: list[Any] = list(run_ids)
        self._owner_clause(clauses, params)
        with self.connect() as db:
            deleted = db.execute(f"DELETE FROM runs WHERE {' AND '.join(clauses)}", params).rowcount
            self.database.after_delete(db)
        return deleted

    def timings(
        self, provider: str, model: str, endpoint: str, limit: int = TIMED_RUNS
    ) -> list[RunTiming]:
        """The pace of this model's last `limit` finished reviews the scope may see, newest
        first: what a run's time estimate goes by. Of the endpoint given (a model's speed is its
        server's), or of none where an older run recorded none. One query, whatever `limit`."""
        clauses = [
            "provider = ?", "model = ?", "(endpoint = ? OR endpoint = '')", "status = ?",
            "kind = ?", "ttft_s IS NOT NULL", "tokens_per_s > 0", "output_tokens > 0",
        ]  # fmt: skip
        params: list[Any] = [provider, model, endpoint, RunStatus.DONE.value, "review"]
        self._owner_clause(clauses, params)
        sql = (
            "SELECT ttft_s, tokens_per_s, output_tokens, thinking_tokens, strategy, parts"
            f" FROM runs WHERE {' AND '.join(clauses)} ORDER BY started DESC LIMIT ?"
        )
        with self.connect() as db:
            rows = db.execute(sql, [*params, limit]).fetchall()
        return [
            RunTiming(
                ttft_s=float(row["ttft_s"]),
                tokens_per_s=float(row["tokens_per_s"]),
                # A focused review's figures are its calls' together: its steps, then the merge.
                calls=1 + (row["parts"] or 0) if row["strategy"] else 1,
                answer_tokens=max(0, int(row["output_tokens"]) - int(row["thinking_tokens"] or 0)),
            )
            for row in rows
        ]

    def beat(self, ids: Collection[str], at: datetime) -> None:
        """Stamp the heartbeat of these runs still running: the process running them is alive.
        Every owner's: the process beats for every session it serves."""
        if not ids:
            return
        marks = ", ".join("?" * len(ids))
        with self.connect() as db:
            db.execute(
                f"UPDATE runs SET heartbeat_at = ? WHERE run_id IN ({marks}) AND status = ?",
                [timestamp(at), *ids, RunStatus.RUNNING.value],
            )

    def end_orphans(self, older_than_s: float | None, now: datetime | None = None) -> int:
        """Mark runs still "running" that no process runs any more as ended by an interruption:
        a restart or a crash left them so, and History counted them as running for ever. A run
        is orphaned once its heartbeat is stale (`lib.store.heartbeat`); a row without one
        (written before there were heartbeats) once it started more than `older_than_s` ago
        (past the run's wall-time cap no process can still be streaming it; None: never). What
        they wrote up to their last save stays. Every owner's: it is the app's housekeeping."""
        now = now or datetime.now(UTC)
        orphaned = "heartbeat_at < ?"
        params: list[Any] = [stale_before(now)]
        if older_than_s is not None:
            orphaned += " OR (heartbeat_at IS NULL AND started < ?)"
            params.append((now - timedelta(seconds=older_than_s)).isoformat())
        with self.connect() as db:
            return db.execute(
                "UPDATE runs SET status = ?, error_kind = ?, error_message = ?"
                f" WHERE status = ? AND ({orphaned})",
                ["error", "interrupted", ORPHAN_MESSAGE, RunStatus.RUNNING.value, *params],
            ).rowcount


ORPHAN_MESSAGE = (
    "The process running it (the app, its API or crs-batch) stopped while this run was streaming "
    "(a restart or a crash); what it wrote up to its last save is kept."
)


def export_json(records: Sequence[RunRecord]) -> bytes:
    """The log's own values, with the characters no file the app writes carries taken out."""
    rows = [
        {name: exportable(v) if isinstance(v, str) else v for name, v in _to_row(r).items()}
        for r in records
    ]
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")


# A table of runs carries the thinking's figures, not its text (the JSON export keeps it all).
CSV_FIELDS = [name for name in RECORD_FIELDS if name != "thinking"]


def export_csv(records: Sequence[RunRecord]) -> bytes:
    """Every field, for a spreadsheet: a run's outcome in the word the pages and every other
    table use ("complete", "stopped"); the JSON export keeps the log's own values."""
    # Column by column, pandas would make a count with one missing value a float ("1402.0").
    rows = [_to_row(r) | {"status": r.status.label} for r in records]
    frame = pd.DataFrame(rows, columns=CSV_FIELDS, dtype=object)
    return csv_bytes(frame, index=False)


def open_run_log(settings: Settings) -> RunLog | None:
    """The configured log (a team's PostgreSQL when CRS_DATABASE_URL names one), or None when the
    operator switched it off; runs a stopped process left "running" are ended (`end_orphans`)."""
    if not settings.history_enabled:
        return None
    return opened(RunLog(log_target(settings)), settings.run_limits.max_run_seconds)


def opened(run_log: RunLog, max_run_seconds: float) -> RunLog:
    """A log as every front end opens it: runs a process that stopped left "running" are ended
    now and at every heartbeat of this process (`end_orphans`): once their heartbeat is stale,
    or, for rows without one, once past the run's wall-time cap and a margin (without a cap
    nothing can be told of those)."""
    older_than_s = (
        max(max_run_seconds + ORPHAN_MARGIN_S, ORPHAN_MIN_AGE_S) if max_run_seconds > 0 else None
    )
    run_log.end_orphans(older_than_s)
    HEARTBEAT.watch(run_log, older_than_s)
    return run_log


# Beyond the wall-time cap: the run's last write (its end) may come a little after it.
ORPHAN_MARGIN_S = 300.0
# Never younger than this: another process on a shared log may allow its runs longer. Only for
# rows without a heartbeat, which say nothing of the process that wrote them.
ORPHAN_MIN_AGE_S = 2 * 3600.0


def log_target(settings: Settings) -> Path | str:
    return settings.database_url or settings.history_db_path
