"""A team's own playbooks, kept in the run log's database per owner, like scorecards.

A playbook is stored as the TOML text the loader reads (`lib.analysis.playbook.loader`), so what
comes back is validated again by the same rules as an upload. A viewer scoped to one owner
(`lib.store.owners`) lists and deletes only that owner's playbooks; saving under an id the owner
already has replaces that playbook (on one analyst's app, whichever browser session saved it).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lib.store.owners import Scope
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

    @property
    def scope(self) -> Scope:
        return self._log.scope

    def save(self, playbook_id: str, name: str, toml: str) -> str:
        """Keep `toml` (already validated) under this viewer's name; returns its key. It replaces
        every playbook of that id the viewer keeps as their own (`Scope.keeps_as_own`: on one
        analyst's app, those an earlier browser session saved too), so one stays."""
        scope, now = self._log.scope, datetime.now(UTC).isoformat()
        with self._log.transaction() as db:
            rows = db.execute(
                "SELECT playbook_key, owner FROM playbooks WHERE playbook_id = ?"
                " ORDER BY updated DESC",
                (playbook_id,),
            ).fetchall()
            own = [str(r["playbook_key"]) for r in rows if scope.keeps_as_own(r["owner"])]
            if own:
                db.execute(
                    "UPDATE playbooks SET owner = ?, name = ?, updated = ?, body = ?"
                    " WHERE playbook_key = ?",
                    (scope.owner, name, now, toml, own[0]),
                )
                for older in own[1:]:
                    db.execute("DELETE FROM playbooks WHERE playbook_key = ?", (older,))
                return own[0]
            key = uuid.uuid4().hex
            db.execute(
                "INSERT INTO playbooks (playbook_key, owner, playbook_id, name, updated, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (key, scope.owner, playbook_id, name, now, toml),
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
