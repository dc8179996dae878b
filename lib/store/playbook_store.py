"""A team's own playbooks, kept in the run log's database per owner, like scorecards.

A playbook is stored as the TOML text the loader reads (`lib.analysis.playbook.loader`), so what
comes back is validated again by the same rules as an upload. A viewer scoped to one owner
(`lib.store.owners`) lists and deletes only that owner's playbooks; saving under an id the owner
already has replaces that playbook.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.store.run_log import RunLog


@dataclass(frozen=True)
class StoredPlaybook:
    playbook_key: str
    owner: str
    playbook_id: str
    name: str
    updated: datetime
    toml: str


class PlaybookStore:
    def __init__(self, run_log: RunLog) -> None:
        self._log = run_log

    def _mine(self) -> tuple[str, list[Any]]:
        sees = self._log.scope.sees
        return (" AND owner = ?", [sees]) if sees is not None else ("", [])

    def save(self, playbook_id: str, name: str, toml: str) -> str:
        """Keep `toml` (already validated) under this viewer's name; returns its key."""
        owner, now = self._log.scope.owner, datetime.now(UTC).isoformat()
        with self._log.transaction() as db:
            row = db.execute(
                "SELECT playbook_key FROM playbooks WHERE owner = ? AND playbook_id = ?",
                (owner, playbook_id),
            ).fetchone()
            if row is not None:
                db.execute(
                    "UPDATE playbooks SET name = ?, updated = ?, body = ? WHERE playbook_key = ?",
                    (name, now, toml, row["playbook_key"]),
                )
                return str(row["playbook_key"])
            key = uuid.uuid4().hex
            db.execute(
                "INSERT INTO playbooks (playbook_key, owner, playbook_id, name, updated, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, owner, playbook_id, name, now, toml),
            )
        return key

    def list(self, limit: int = 200) -> list[StoredPlaybook]:
        """The playbooks this viewer may see, newest first."""
        mine, params = self._mine()
        with self._log.connect() as db:
            rows = db.execute(
                f"SELECT * FROM playbooks WHERE 1 = 1{mine} ORDER BY updated DESC LIMIT ?",
                (*params, limit),
            ).fetchall()
        return [_stored(row) for row in rows]

    def get(self, playbook_key: str) -> StoredPlaybook | None:
        mine, params = self._mine()
        with self._log.connect() as db:
            row = db.execute(
                f"SELECT * FROM playbooks WHERE playbook_key = ?{mine}", (playbook_key, *params)
            ).fetchone()
        return _stored(row) if row is not None else None

    def delete(self, playbook_key: str) -> None:
        mine, params = self._mine()
        with self._log.connect() as db:
            db.execute(
                f"DELETE FROM playbooks WHERE playbook_key = ?{mine}", (playbook_key, *params)
            )


def _stored(row: Any) -> StoredPlaybook:
    return StoredPlaybook(
        row["playbook_key"],
        row["owner"],
        row["playbook_id"],
        row["name"],
        datetime.fromisoformat(row["updated"]),
        row["body"],
    )
