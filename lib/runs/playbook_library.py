"""The playbooks an analyst may pick: the bundled ones and those kept in the run log for them.

One place turns a stored playbook back into a `Playbook` (validated again by the loader, so a file
kept under older rules is reported, not trusted) and a playbook into what is stored, for the
Playbook page, the API and `crs-batch` alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.analysis.playbook.format import (
    Playbook,
    PlaybookResult,
    Position,
    Severity,
    position_from_dict,
    result_from_dict,
)
from lib.analysis.playbook.loader import (
    PlaybookError,
    bundled_playbooks,
    dump_playbook,
    parse_playbook,
)
from lib.store.owners import SESSION_PREFIX, Scope
from lib.store.playbook_store import PlaybookStore, StoredPlaybook
from lib.store.records import RunRecord, run_maker

SAVED_PREFIX = "saved:"


@dataclass(frozen=True)
class Choice:
    """One playbook on offer: `key` is a bundled id or `saved:<store key>`."""

    key: str
    label: str
    playbook: Playbook | None
    # Why a stored playbook cannot be used any more (the loader's problems).
    problems: tuple[str, ...] = ()


def _keeper(scope: Scope, owner: str) -> str:
    """Whose saves `owner`'s are, as this viewer tells them apart: "" for the viewer's own (every
    browser session's on one analyst's app, `Scope.keeps_as_own`)."""
    return "" if scope.keeps_as_own(owner) else owner


def _saved_choice(stored: StoredPlaybook, scope: Scope) -> Choice:
    """A saved playbook, its label telling two saves apart: the minute it was saved, and who
    saved it when that is not the viewer (an admin sees two analysts' "Team commercial")."""
    key = f"{SAVED_PREFIX}{stored.playbook_key}"
    by = _keeper(scope, stored.owner)
    if by.startswith(SESSION_PREFIX):
        by = "another browser session"
    label = f"{stored.name} (saved {stored.updated:%Y-%m-%d %H:%M} UTC{f' by {by}' if by else ''})"
    try:
        return Choice(key, label, parse_playbook(stored.toml, stored.name))
    except PlaybookError as exc:
        return Choice(key, label, None, tuple(exc.problems))


def choices(store: PlaybookStore | None) -> list[Choice]:
    """Bundled playbooks first, then the viewer's saved ones, newest first (one per id and
    owner: an older save is the same playbook kept before it was replaced)."""
    out = [Choice(k, b.name, b) for k, b in bundled_playbooks().items()]
    if store is None:
        return out
    seen: set[tuple[str, str]] = set()
    for stored in store.list():
        keeper = (_keeper(store.scope, stored.owner), stored.playbook_id)
        if keeper in seen:
            continue
        seen.add(keeper)
        out.append(_saved_choice(stored, store.scope))
    return out


def save(store: PlaybookStore, playbook: Playbook) -> str:
    """Keep `playbook` for this viewer; returns its choice key. An edit of a bundled playbook
    needs an id of its own: under the bundled one's id, `--playbook nda` and the API's
    `"playbook": "nda"` would quietly run the bundled positions, not the edit."""
    if playbook.id in bundled_playbooks():
        raise PlaybookError(
            playbook.name,
            [f"'{playbook.id}' is a bundled playbook's id: give your edit an id of its own"],
        )
    return SAVED_PREFIX + store.save(playbook.id, playbook.name, dump_playbook(playbook))


def find(id_or_key: str, store: PlaybookStore | None) -> Playbook:
    """A bundled playbook's id, a saved playbook's key, or the id of one the viewer saved
    (newest); `PlaybookError` when none is found (naming the ids there are, so a mistyped id
    is put right without opening the page) or it no longer validates."""
    offered = choices(store)
    for choice in offered:
        book = choice.playbook
        if choice.key == id_or_key or (book is not None and book.id == id_or_key):
            if book is None:
                raise PlaybookError(choice.label, list(choice.problems))
            if store is not None and choice.key != id_or_key and choice.key != book.id:
                _saved_by_one(id_or_key, store)
            return book
    known = ", ".join(dict.fromkeys(c.playbook.id if c.playbook else c.key for c in offered))
    raise PlaybookError(
        id_or_key, [f"no bundled or saved playbook has this id; the known ids are {known}"]
    )


def _saved_by_one(playbook_id: str, store: PlaybookStore) -> None:
    """An id several analysts saved names no one playbook for a viewer who sees everyone's
    (`crs-batch` has no identity): taking the newest would run a colleague's positions."""
    newest: dict[str, StoredPlaybook] = {}
    for stored in store.list():
        if stored.playbook_id == playbook_id:
            newest.setdefault(_keeper(store.scope, stored.owner), stored)
    if len(newest) > 1:
        keys = "; ".join(
            f"{SAVED_PREFIX}{s.playbook_key} (saved by {s.owner} {s.updated:%Y-%m-%d})"
            for _, s in sorted(newest.items())
        )
        raise PlaybookError(
            playbook_id,
            [f"{len(newest)} analysts saved a playbook with this id: give its key, {keys}"],
        )


def _as_checked(verdicts: list[dict[str, Any]]) -> tuple[Position, ...] | None:
    """The positions a check was made against, as kept with its verdicts (None for a check
    recorded before they were kept, or a record that does not hold them whole)."""
    try:
        return tuple(position_from_dict(v["checked"]) for v in verdicts) or None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def recorded_result(record: RunRecord, store: PlaybookStore | None) -> PlaybookResult:
    """A stored playbook check's verdicts with the positions it was checked against: those kept
    with its verdicts; for an older record, the playbook as it is now when it still has every
    position checked, else bare positions named by their ids (a playbook edited or deleted since
    is not passed off as the one that was checked)."""
    results = tuple(result_from_dict(v) for v in record.verdicts)
    checked = [r.position_id for r in results]
    as_checked = _as_checked(record.verdicts)
    book: Playbook | None
    try:
        book = find(record.playbook_id or "", store)
        same = (
            book.positions == as_checked
            if as_checked
            else [p.id for p in book.positions] == checked
        )
        if not same:
            book = None
    except PlaybookError:
        book = None
    if book is None:
        positions = as_checked or tuple(
            Position(i, i, "", "", "", Severity.MEDIUM) for i in checked
        )
        book = Playbook(record.playbook_id or "playbook", record.playbook_id or "", "", positions)
    return PlaybookResult(book, results, run_maker(record.provider, record.model))
