"""The run log's database: an SQLite file (the default) or a PostgreSQL server shared by a team.

Every statement of the run log and the batch store is written once, in the SQL both databases
speak, with `?` parameters; `Connection.execute` is the one place they are adapted (PostgreSQL's
driver wants `%s`). Schema changes are written once too: `migrate` runs the same scripts on both,
after `ddl` maps the one type name that differs (SQLite's REAL is 8 bytes; PostgreSQL's is 4, so it
becomes DOUBLE PRECISION there). Write migrations with TEXT, INTEGER and REAL columns, no comments
and no semicolons inside statements (scripts are split on them).

Why psycopg 3 with its pool rather than SQLAlchemy: the SQL is already plain and portable, the
SQLite side keeps the standard library driver and its exact pragmas (WAL, secure_delete, an
immediate write lock), and PostgreSQL's advisory lock is one statement — a translation layer would
add a dependency and a second way to spell every query without removing any of this.

The schema version lives where each database keeps it best: SQLite's `PRAGMA user_version`, and a
`schema_version` table (one row per applied step) in PostgreSQL. Migrations run in one transaction
under a lock — SQLite's write lock, a PostgreSQL advisory lock — so when several app processes start
at once, one migrates and the others find the work done.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 10.0
POOL_MAX_SIZE = 8
# A shared database that gives no connection within this is taken as unreachable: the pool's own
# 30 s held every run's start, and every save of its report so far, that long in an outage.
UNREACHABLE_AFTER_S = 5.0
# pg_advisory_xact_lock key for migrations: any constant no other code of ours locks on.
MIGRATION_LOCK_KEY = 0x0C25_1060
Row = Mapping[str, Any]


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


def split_script(script: str) -> list[str]:
    return [statement.strip() for statement in script.split(";") if statement.strip()]


def is_postgres_url(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


@dataclass
class Connection:
    """A driver connection that takes `?` parameters on both databases."""

    raw: Any
    dialect: str

    def _adapt(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return sql.replace("%", "%%").replace("?", "%s")
        return sql

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> Cursor:
        return self.raw.execute(self._adapt(sql), tuple(params or ()))

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Many rows in one call (PostgreSQL's driver pipelines them: one round trip, not N)."""
        self.raw.cursor().executemany(self._adapt(sql), rows)


class Database(Protocol):
    dialect: str

    def connect(self) -> contextlib.AbstractContextManager[Connection]:
        """One connection in autocommit mode: each statement is its own transaction."""
        ...

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """Statements that commit together or not at all (writers wait for each other)."""
        ...

    def migrate(self, create: str, migrations: Mapping[int, str], version: int) -> int: ...

    def after_delete(self, db: Connection) -> None: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


class SqliteDatabase:
    """A file readable by its owner only, in WAL mode, one short connection per call.

    "Delete permanently" must mean it: SQLite keeps deleted rows in free pages and old page images
    in the `-wal` file. Every connection runs with `secure_delete` (freed content is zeroed), and a
    delete ends with a TRUNCATE checkpoint, which copies the zeroed pages home and empties the log.
    """

    dialect = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not self.path.exists():
            # Create the file owner-only before SQLite opens it, so it is never world-readable.
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        self._use_wal()

    def _use_wal(self) -> None:
        """Switch the file to WAL once. The switch needs the file to itself and SQLite reports
        "locked" at once, without waiting, while another process opens the same new file: wait
        for that process as a busy timeout would."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                with self.connect() as db:
                    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
                    if str(mode).lower() != "wal":
                        db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        raw = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        raw.row_factory = sqlite3.Row
        raw.execute("PRAGMA secure_delete = ON")
        try:
            yield Connection(raw, self.dialect)
        finally:
            raw.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def migrate(self, create: str, migrations: Mapping[int, str], version: int) -> int:
        with self.transaction() as db:
            current = db.execute("PRAGMA user_version").fetchone()[0]
            applied = _apply(db, create, migrations, current, version, ddl=lambda s: s)
            db.execute(f"PRAGMA user_version = {int(max(current, version))}")
        return applied

    def after_delete(self, db: Connection) -> None:
        busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            # A long read elsewhere held the log; the next delete or the last close checkpoints it.
            log.warning("run log: the write-ahead log could not be emptied after a delete")

    def describe(self) -> str:
        return f"log file: {self.path.name}"

    def close(self) -> None:
        """Nothing stays open between calls."""


class PostgresDatabase:
    """A pool of connections to a PostgreSQL database several app instances share.

    A DELETE there removes the rows for every reader at once; the disk space of deleted rows is
    reused by later writes after autovacuum passes (VACUUM FULL, or dropping the database, returns
    it to the system and overwrites nothing: see docs on deletion).
    """

    dialect = "postgresql"

    def __init__(self, url: str, max_size: int = POOL_MAX_SIZE) -> None:
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool

        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True, "row_factory": dict_row},
            open=True,
            name="run-log",
            timeout=UNREACHABLE_AFTER_S,
            # A connection the server cut while it was down is found out before it is handed
            # over, not by the first write after the server is back (a run's end, lost).
            check=ConnectionPool.check_connection,
        )
        self.pool.wait(timeout=BUSY_TIMEOUT_S)

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        with self._reachable(), self.pool.connection() as raw:
            yield Connection(raw, self.dialect)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._reachable(), self.pool.connection() as raw, raw.transaction():
            yield Connection(raw, self.dialect)

    @staticmethod
    @contextlib.contextmanager
    def _reachable() -> Iterator[None]:
        """A server that went away mid-session raises the one error front ends catch
        (`StoreUnavailable`), not the driver's: History and the API said "Internal Server
        Error" while it was down. Only a lost connection counts (any other error is a fault to
        report, not to wait out); the driver's words, which name the server, go to the log."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            yield
        except (psycopg.OperationalError, psycopg.InterfaceError, PoolTimeout) as exc:
            log.warning("the run log's database did not answer: %s", exc)
            raise StoreUnavailable("the shared database did not answer") from exc

    def migrate(self, create: str, migrations: Mapping[int, str], version: int) -> int:
        with self.transaction() as db:
            # Held until commit: a second instance starting now waits here, then sees the version.
            db.execute("SELECT pg_advisory_xact_lock(?)", (MIGRATION_LOCK_KEY,))
            db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version"
                " (version INTEGER PRIMARY KEY, applied TEXT NOT NULL)"
            )
            row = db.execute("SELECT COALESCE(MAX(version), 0) AS v FROM schema_version").fetchone()
            current = int(row["v"])
            applied = _apply(db, create, migrations, current, version, ddl=postgres_ddl)
            now = datetime.now(UTC).isoformat()
            for step in range(current + 1, version + 1):
                db.execute(
                    "INSERT INTO schema_version (version, applied) VALUES (?, ?)", (step, now)
                )
        return applied

    def after_delete(self, db: Connection) -> None:
        """A committed DELETE is gone for every reader; nothing to flush."""

    def describe(self) -> str:
        parts = urlsplit(self.url)
        return f"PostgreSQL database {parts.path.lstrip('/') or '(default)'} on {parts.hostname}"

    def close(self) -> None:
        self.pool.close()


def postgres_ddl(statement: str) -> str:
    return re.sub(r"\bREAL\b", "DOUBLE PRECISION", statement)


def _apply(
    db: Connection,
    create: str,
    migrations: Mapping[int, str],
    current: int,
    version: int,
    ddl: Any,
) -> int:
    """Lift the schema from `current` to `version`; how many steps that took (0: already there)."""
    steps = 0
    if current == 0:
        for statement in split_script(create):
            db.execute(ddl(statement))
        current, steps = 1, 1
    while current < version:
        for statement in split_script(migrations[current]):
            db.execute(ddl(statement))
        current += 1
        steps += 1
    return steps


class StoreUnavailable(Exception):
    """The run log cannot be opened (a file the app may not write, a database that does not
    answer): front ends catch this, never a driver's own errors."""


def driver_errors() -> tuple[type[BaseException], ...]:
    """What the drivers raise when a database cannot be reached or used (imported only when one
    is being caught: psycopg loads slowly and serves only teams)."""
    import psycopg
    from psycopg_pool import PoolTimeout

    return (OSError, sqlite3.Error, psycopg.Error, PoolTimeout)


def open_database(target: str | Path) -> Database:
    """`postgresql://…` opens a pool to that server; anything else is an SQLite file path."""
    if is_postgres_url(target):
        return PostgresDatabase(str(target))
    return SqliteDatabase(Path(target))
